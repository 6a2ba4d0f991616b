/*
 * eventbus_log.c — the durable event log in eventbus.db (eventbus_int.h).
 *
 * Offsets: each tenant's log numbers its events 1, 2, 3, … The next offset of a tenant
 * is cached while the writer lock is held (valid only inside a write transaction,
 * dropped when one rolls back) and recorded in tenant_offsets at the end of each append,
 * so retention emptying a log never makes an offset come back.
 *
 * The bus side: a `>` subscriber copies each event into a buffer (loop thread); the
 * bus's batch hook appends the whole buffer in one transaction before the bus deletes
 * the batch's outbox rows. So the log is group-committed (one commit per delivery
 * batch, however many events) and a kill -9 loses nothing an outbox held: a batch not
 * committed here is still in its outbox and comes again, with the same id, which the
 * log recognises (tenant + id + source) and does not append twice.
 */
#include "eventbus_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEQ_CACHE 64

typedef struct seq_slot {
    char tenant[72];
    int64_t last;       /* last offset handed out */
    bool dirty;         /* changed in this transaction */
} seq_slot_t;

static seq_slot_t seqs[SEQ_CACHE];      /* guarded by the db's writer lock */
static int nseqs;
static atomic_uint_fast64_t generation; /* appends committed so far */

uint64_t evlog_generation(void)
{
    return atomic_load(&generation);
}

/* ---- time ---- */

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int64_t eventbus_parse_time(const char *s)
{
    if (!s || strlen(s) < 20 || strlen(s) > 40)
        return -1;
    int Y = digits(s, 4), M = digits(s + 5, 2), D = digits(s + 8, 2);
    int h = digits(s + 11, 2), m = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (Y < 0 || M < 1 || M > 12 || D < 1 || D > 31 || h < 0 || h > 23 || m < 0 || m > 59 ||
        sec < 0 || sec > 60 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0 || nd > 9)
            return -1;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || om < 0 || p[3] != ':' || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = { 0 };
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    int64_t t = (int64_t)timegm(&tm);
    return (t - (int64_t)off * 60) * 1000 + ms;
}

/* ---- append ---- */

static int last_row(const fm_dbrow_t *r, void *arg)
{
    *(int64_t *)arg = fm_dbrow_int(r, 0);
    return FM_OK;
}

static const char SQL_SEQ_LAST[] = "SELECT last FROM tenant_offsets WHERE tenant_id = ?";

static seq_slot_t *seq_slot(fm_dbc_t *w, const char *tenant)
{
    for (int i = 0; i < nseqs; i++)
        if (!strcmp(seqs[i].tenant, tenant))
            return &seqs[i];
    if (strlen(tenant) >= sizeof(seqs[0].tenant))
        return NULL;
    int i = nseqs < SEQ_CACHE ? nseqs++ : -1;
    if (i < 0) {    /* full: reuse a slot not changed in this transaction */
        for (int k = 0; k < SEQ_CACHE && i < 0; k++)
            if (!seqs[k].dirty)
                i = k;
        if (i < 0)
            return NULL;
    }
    int64_t last = 0;
    int rc = fm_dbq_wone(w, SQL_SEQ_LAST, last_row, &last, "s", tenant);
    if (rc != FM_OK && rc != FM_ENOTFOUND) {
        if (i == nseqs - 1)
            nseqs--;
        return NULL;
    }
    snprintf(seqs[i].tenant, sizeof(seqs[i].tenant), "%s", tenant);
    seqs[i].last = last;
    seqs[i].dirty = false;
    return &seqs[i];
}

static const char SQL_EXISTING[] = "SELECT seq FROM events WHERE tenant_id = ? AND id = ? AND source = ?";
static const char SQL_APPEND[] =
    "INSERT OR IGNORE INTO events(tenant_id, seq, id, source, type, subject, logged_ms, time_ms, event) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SEQ_SAVE[] =
    "INSERT INTO tenant_offsets(tenant_id, last) VALUES (?, ?) "
    "ON CONFLICT(tenant_id) DO UPDATE SET last = excluded.last";

int evlog_append(fm_db_t *db, const evlog_rec_t *recs, size_t n, int64_t *offsets)
{
    if (n == 0)
        return FM_OK;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t now = fm_time_unix_ms();
    int rc = FM_OK;
    for (size_t i = 0; i < n && rc == FM_OK; i++) {
        const evlog_rec_t *r = &recs[i];
        seq_slot_t *s = seq_slot(w, r->tenant);
        if (!s) {
            rc = FM_EDB;
            break;
        }
        int64_t seq = s->last + 1;
        /* The event's own time (replay ?from=); the append time when it has none. */
        int64_t t = r->time ? eventbus_parse_time(r->time) : -1;
        rc = fm_dbq_wrun(w, SQL_APPEND, "sIssssIIs", r->tenant, seq, r->id, r->source, r->type, r->subject, now,
                         t >= 0 ? t : now, r->json);
        if (rc != FM_OK)
            break;
        if (fm_dbq_changes(w) == 1) {
            s->last = seq;
            s->dirty = true;
            if (offsets)
                offsets[i] = seq;
        } else if (offsets) {           /* already logged: a repeat of an outbox row */
            offsets[i] = -1;
            rc = fm_dbq_wone(w, SQL_EXISTING, last_row, &offsets[i], "sss", r->tenant, r->id, r->source);
        }
    }
    for (int i = 0; i < nseqs && rc == FM_OK; i++)
        if (seqs[i].dirty)
            rc = fm_dbq_wrun(w, SQL_SEQ_SAVE, "sI", seqs[i].tenant, seqs[i].last);
    if (rc == FM_OK)
        for (int i = 0; i < nseqs; i++)
            seqs[i].dirty = false;
    else
        nseqs = 0;      /* rolled back: what the cache says is no longer true */
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        nseqs = 0;
    else
        atomic_fetch_add(&generation, 1);
    return rc;
}

/* ---- read ---- */

typedef struct reading {
    const evlog_filter_t *f;
    int limit, taken;
    evlog_fn fn;
    void *arg;
    int64_t *next;
} reading_t;

#define READ_STOP 1     /* a row callback's "enough", not an error */

static int read_row(const fm_dbrow_t *r, void *arg)
{
    reading_t *rd = arg;
    if (rd->taken >= rd->limit)
        return READ_STOP;
    evlog_entry_t e = {
        fm_dbrow_int(r, 0), fm_dbrow_int(r, 1), fm_dbrow_text(r, 2), fm_dbrow_text(r, 3), fm_dbrow_text(r, 4),
    };
    int64_t time_ms = fm_dbrow_int(r, 5);
    const evlog_filter_t *f = rd->f;
    bool pass = (!f || !f->types || bus_pattern_match(f->types, e.type)) &&
                (!f || !f->subject || (e.subject && !strcmp(f->subject, e.subject))) &&
                (!f || f->since_ms < 0 || time_ms >= f->since_ms);
    if (pass) {
        if (!rd->fn(&e, rd->arg))
            return READ_STOP;
        rd->taken++;
    }
    *rd->next = e.offset + 1;
    return FM_OK;
}

int evlog_read(fm_db_t *db, const char *tenant, int64_t from, const evlog_filter_t *f,
               int limit, int scan, evlog_fn fn, void *arg, int64_t *next)
{
    *next = from;
    reading_t rd = { f, limit, 0, fn, arg, next };
    int rc = fm_dbq_read_each(db, "SELECT seq, logged_ms, type, subject, event, time_ms FROM events "
                                  "WHERE tenant_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                              read_row, &rd, "sIi", tenant, from, scan);
    return rc == READ_STOP ? FM_OK : rc;
}

int evlog_last(fm_db_t *db, const char *tenant, int64_t *last)
{
    *last = 0;
    int rc = fm_dbq_read_int(db, "SELECT last FROM tenant_offsets WHERE tenant_id = ?", last, "s", tenant);
    return rc == FM_ENOTFOUND ? FM_OK : rc;
}

int evlog_offset_at(fm_db_t *db, const char *tenant, int64_t unix_ms, int64_t *offset)
{
    int64_t last = 0;
    int rc = evlog_last(db, tenant, &last);
    if (rc != FM_OK)
        return rc;
    /* By the events' own time (index events_evtime covers it): the first offset whose
     * event is at or after unix_ms; later offsets may still hold earlier times, which
     * the reader's since_ms filter leaves out. */
    rc = fm_dbq_read_int(db, "SELECT COALESCE(MIN(seq), ?) FROM events WHERE tenant_id = ? AND time_ms >= ?",
                         offset, "IsI", last + 1, tenant, unix_ms);
    return rc;
}

typedef struct got {
    cJSON *item;
} got_t;

static int get_row(const fm_dbrow_t *r, void *arg)
{
    got_t *g = arg;
    g->item = fm_dbrow_json(r, 1);
    if (!g->item)
        return FM_EDB;
    cJSON_AddNumberToObject(g->item, "offset", (double)fm_dbrow_int(r, 0));
    return FM_OK;
}

int evlog_get(fm_db_t *db, const char *tenant, const char *id, cJSON **item)
{
    got_t g = { NULL };
    int rc = fm_dbq_read_one(db, "SELECT seq, event FROM events WHERE tenant_id = ? AND id = ? ORDER BY seq LIMIT 1",
                             get_row, &g, "ss", tenant, id);
    *item = g.item;
    return rc;
}

int evlog_ack(fm_db_t *db, const char *tenant, const char *sub_id, int64_t offset)
{
    return fm_dbq_write(db, "UPDATE subscriptions SET acked = MAX(acked, ?) WHERE id = ? AND tenant_id = ?", "Iss",
                        offset, sub_id, tenant);
}

/* ---- retention ---- */

#define RETAIN_CHUNK 20000      /* rows deleted per transaction */

static int64_t pages_used(fm_db_t *db)
{
    int64_t pc = 0, ps = 0, fl = 0;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return -1;
    int rc = fm_dbq_int(c, "PRAGMA page_count", &pc, "");
    if (rc == FM_OK)
        rc = fm_dbq_int(c, "PRAGMA page_size", &ps, "");
    if (rc == FM_OK)
        rc = fm_dbq_int(c, "PRAGMA freelist_count", &fl, "");
    fm_dbq_reader_done(c);
    return rc == FM_OK ? (pc - fl) * ps : -1;
}

int evlog_retain(fm_db_t *db, int retain_days, int retain_mb, int *deleted)
{
    *deleted = 0;
    int64_t cutoff = retain_days > 0 ? fm_time_unix_ms() - (int64_t)retain_days * 86400000 : -1;
    int64_t limit_bytes = (int64_t)retain_mb << 20;
    for (int round = 0; round < 50; round++) {
        int64_t used = retain_mb > 0 ? pages_used(db) : 0;
        bool over = retain_mb > 0 && used > limit_bytes;
        /* Over the size: about as many of the oldest rows as the excess holds (rows
         * estimated from the span of pos), at least one, at most a chunk. */
        int64_t span = 0, by_size_rows = 1;
        if (over && fm_dbq_read_int(db, "SELECT COALESCE(MAX(pos) - MIN(pos) + 1, 0) FROM events", &span, "") == FM_OK &&
            span > 0)
            by_size_rows = (used - limit_bytes) / (used / span + 1) + 1;
        if (by_size_rows > RETAIN_CHUNK)
            by_size_rows = RETAIN_CHUNK;
        fm_dbc_t *w = fm_dbq_write_begin(db);
        if (!w)
            return FM_EDB;
        int rc = FM_OK;
        int64_t n = 0;
        if (cutoff >= 0) {
            rc = fm_dbq_run(w, "DELETE FROM events WHERE pos IN "
                               "(SELECT pos FROM events WHERE logged_ms < ? ORDER BY pos LIMIT ?)",
                            "Ii", cutoff, RETAIN_CHUNK);
            n += rc == FM_OK ? fm_dbq_changes(w) : 0;
        }
        if (rc == FM_OK && n == 0 && over) {
            rc = fm_dbq_run(w, "DELETE FROM events WHERE pos IN (SELECT pos FROM events ORDER BY pos LIMIT ?)", "I",
                            by_size_rows);
            n += rc == FM_OK ? fm_dbq_changes(w) : 0;
        }
        /* Free what the delete left on the freelist, a bounded number of pages. */
        if (rc == FM_OK && n > 0)
            rc = fm_dbq_run(w, "PRAGMA incremental_vacuum(4000)", "");
        if (fm_dbq_write_end(w, rc) != FM_OK)
            return FM_EDB;
        *deleted += (int)n;
        if (n == 0)
            break;
    }
    return FM_OK;
}

int evlog_prepare(fm_db_t *db)
{
    /* Raw sqlite3 here: switching auto_vacuum needs VACUUM, which cannot run inside the
     * helper's BEGIN IMMEDIATE transactions, so a connection of its own does it. */
    sqlite3 *c = NULL;
    if (sqlite3_open_v2(fm_db_path(db), &c, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(c);
        return FM_EDB;
    }
    sqlite3_busy_timeout(c, 5000);
    sqlite3_stmt *st = NULL;
    int mode = -1;
    if (sqlite3_prepare_v2(c, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int rc = FM_OK;
    if (mode != 2) {    /* set before the first event: VACUUM of a small file */
        char *err = NULL;
        if (sqlite3_exec(c, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;", NULL, NULL, &err) != SQLITE_OK) {
            fm_log_msg(FM_LOG_ERROR, "eventbus: cannot switch to incremental vacuum", err);
            rc = FM_EDB;
        }
        sqlite3_free(err);
    }
    sqlite3_close(c);
    return rc;
}

/* ---- the bus side ---- */

typedef struct pending {
    evlog_rec_t *recs;      /* pointers into the batch's events (valid until on_batch) */
    size_t n, cap;
} pending_t;

static struct {
    fm_mod_t *m;
    int sub;
    pending_t p;
    atomic_uint_fast64_t appended;
} L;

static void on_event(const bus_event_t *ev, void *arg)
{
    (void)arg;
    pending_t *p = &L.p;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        evlog_rec_t *r = realloc(p->recs, cap * sizeof(*r));
        if (!r) {
            fm_log_msg(FM_LOG_ERROR, "eventbus: out of memory; event not logged", ev->id);
            return;
        }
        p->recs = r;
        p->cap = cap;
    }
    p->recs[p->n++] = (evlog_rec_t){ ev->tenant, ev->id, ev->source, ev->type, ev->subject, ev->time, ev->json };
}

static bool on_batch(void *arg)
{
    (void)arg;
    if (L.p.n == 0)
        return true;
    int rc = evlog_append(L.m->db, L.p.recs, L.p.n, NULL);
    size_t n = L.p.n;
    L.p.n = 0;
    if (rc != FM_OK) {
        /* The outbox rows stay; events published straight to the bus are lost for the
         * log (they were never durable anywhere). */
        fm_log_msg(FM_LOG_ERROR, "eventbus: log append failed; outbox rows kept", NULL);
        return false;
    }
    atomic_fetch_add(&L.appended, n);
    hooks_kick(false);
    return true;
}

int evlog_attach(fm_mod_t *m)
{
    L.m = m;
    /* [eventbus] log_skip: types left out of the log, and so not written to an outbox
     * for the log's sake (bus_wants): by default the engine's per-step events. */
    const char *skip = fm_cfg()->eventbus_log_skip;
    L.sub = bus_subscribe_except(">", *skip ? skip : NULL, on_event, NULL);
    if (L.sub < 0) {
        fm_log_msg(FM_LOG_ERROR, "eventbus: [eventbus] log_skip is not an event type pattern", skip);
        return L.sub;
    }
    bus_on_batch(on_batch, NULL);
    return FM_OK;
}

void evlog_detach(void)
{
    if (!L.m)
        return;
    bus_flush();            /* what the modules stopped before us left, into the log */
    bus_on_batch(NULL, NULL);
    if (L.sub > 0)
        bus_unsubscribe(L.sub);
    free(L.p.recs);
    memset(&L.p, 0, sizeof(L.p));
    L.m = NULL;
}

uint64_t evlog_appended(void)
{
    return atomic_load(&L.appended);
}
