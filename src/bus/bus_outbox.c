/*
 * bus_outbox.c — the transactional outbox of every module database (bus.h).
 *
 * A module writes its event into `fm_outbox` inside the transaction that makes the
 * change. After the commit, fm_db calls kick() on the committing thread, which marks
 * the outbox pending and wakes the loop. On the loop thread the bus reads rows past the
 * last one it read (never more than the queue has room for: that is the back-pressure),
 * delivers them, and then deletes the delivered rows in one statement per database.
 */
#include "bus_int.h"

#include "fm.h"
#include "fm_id.h"
#include "fm_dbq.h"
#include "fm_log.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct bus_outbox {
    fm_db_t *db;
    char *source;
    atomic_bool pending;
    int64_t last_read;      /* loop thread: highest id enqueued */
    int64_t delivered_max;  /* loop thread: highest id whose delivery finished */
    int64_t deleted_max;    /* loop thread: highest id deleted */
    uint64_t deleted_ms;    /* loop thread: when (monotonic) */
    int64_t durable_max;    /* loop thread: delivered and past the batch hook: deletable */
    struct bus_outbox *next;
} bus_outbox_t;

#define DELETE_MS 100       /* delivered rows wait at most this long to be deleted */

static bus_outbox_t *outboxes;     /* loop thread only */
static atomic_uint_fast64_t drained;

static void kick(void *arg)
{
    bus_outbox_t *ob = arg;
    atomic_store(&ob->pending, true);
    bus__wake();
}

int bus_outbox_attach(fm_db_t *db, const char *source)
{
    bus_outbox_t *ob = calloc(1, sizeof(*ob));
    if (!ob || !(ob->source = strdup(source))) {
        free(ob);
        return FM_ENOMEM;
    }
    ob->db = db;
    atomic_store(&ob->pending, true);   /* a previous run may have left rows */
    ob->next = outboxes;
    outboxes = ob;
    fm_db_on_outbox_commit(db, kick, ob);
    bus__wake();
    return FM_OK;
}

int bus_outbox_add(fm_db_t *db, sqlite3 *w, const char *source, const char *type,
                   const char *subject, const char *tenant, const char *data_json)
{
    if (!source || !*source || !bus_type_valid(type) || !tenant || !*tenant)
        return FM_EINVAL;
    char id[37], ts[32];
    bus__stamp(id, ts);
    char *json = bus_event_json(id, source, type, subject, tenant, ts, data_json);
    if (!json)
        return FM_ENOMEM;
    static const char sql[] = "INSERT INTO fm_outbox(tenant_id, event, created_at) VALUES (?, ?, ?)";
    (void)w;
    sqlite3_stmt *st = fm_db_stmt(db, sql);
    int rc = FM_EDB;
    if (st) {
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE) {
            fm_db_outbox_touched(db);
            rc = FM_OK;
        }
        sqlite3_reset(st);
    }
    free(json);
    return rc;
}

int bus_outbox_put(fm_dbc_t *w, const char *source, const char *type, const char *subject,
                   const char *tenant, const char *data_json)
{
    if (!w || !fm_dbq_is_writer(w))
        return FM_EINVAL;
    return bus_outbox_add(fm_dbq_db(w), NULL, source, type, subject, tenant, data_json);
}

int bus_outbox_put_json(fm_dbc_t *w, const char *source, const char *type, const char *subject,
                        const char *tenant, const cJSON *data)
{
    char *text = cJSON_PrintUnformatted(data);
    int rc = text ? bus_outbox_put(w, source, type, subject, tenant, text) : FM_ENOMEM;
    cJSON_free(text);
    return rc;
}

static char *dup_field(const cJSON *root, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The fields of a row as bus_event_json wrote it, read in place into `buf` (NUL-ended
 * copies); false when the text is not in that exact shape or a value has an escape
 * (then cJSON reads it). f: id, source, type, time, subject (NULL), tenant, data. */
static bool fast_fields(const char *t, char *buf, size_t cap, const char *f[6], const char **data, size_t *dlen)
{
    static const char *const keys[] = { "{\"specversion\":\"1.0\",\"id\":\"", "\",\"source\":\"", "\",\"type\":\"",
                                        "\",\"time\":\"" };
    size_t used = 0;
    for (int k = 0; k < 6; k++) {
        const char *key = k < 4 ? keys[k] : k == 4 ? "\",\"subject\":\"" : "\",\"tenantid\":\"";
        size_t kl = strlen(key);
        if (k == 4 && strncmp(t, key, kl)) {    /* no subject */
            f[4] = NULL;
            continue;
        }
        if (k == 5 && f[4] == NULL && !strncmp(t, key, kl)) {
        } else if (strncmp(t, key, kl)) {
            return false;
        }
        t += kl;
        const char *end = t;
        while (*end && *end != '"' && *end != '\\')
            end++;
        if (*end != '"' || used + (size_t)(end - t) + 1 > cap)
            return false;
        memcpy(buf + used, t, (size_t)(end - t));
        buf[used + (size_t)(end - t)] = 0;
        f[k] = buf + used;
        used += (size_t)(end - t) + 1;
        t = end;
    }
    static const char tail[] = "\",\"datacontenttype\":\"application/json\",\"data\":";
    if (strncmp(t, tail, sizeof(tail) - 1))
        return false;
    t += sizeof(tail) - 1;
    size_t n = strlen(t);
    if (n < 2 || t[n - 1] != '}')
        return false;
    *data = t;
    *dlen = n - 1;
    return true;
}

/* Rebuilds the in-memory event from a stored row; NULL if the row is unusable. */
static bus_event_t *event_from_row(bus_outbox_t *ob, int64_t id, const char *text)
{
    char buf[2048];
    const char *f[6], *data = NULL;
    size_t dlen = 0;
    bus_event_t *ev = NULL;
    if (text && fast_fields(text, buf, sizeof(buf), f, &data, &dlen)) {
        ev = bus__event_new(f[0], f[1], f[2], f[4], f[5], f[3], data, dlen, text);
    } else {
        cJSON *root = cJSON_Parse(text);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "data");
        char *dj = d ? cJSON_PrintUnformatted(d) : NULL;
        const char *eid = dup_field(root, "id"), *src = dup_field(root, "source"), *type = dup_field(root, "type"),
                   *tenant = dup_field(root, "tenantid"), *time = dup_field(root, "time");
        if (root && eid && src && type && tenant && time && (!d || dj))
            ev = bus__event_new(eid, src, type, dup_field(root, "subject"), tenant, time, dj, dj ? strlen(dj) : 0,
                                text);
        cJSON_free(dj);
        cJSON_Delete(root);
    }
    if (!ev)
        return NULL;
    ev->outbox = ob;
    ev->outbox_id = id;
    return ev;
}

typedef struct draining {
    bus_outbox_t *ob;
    size_t n;
} draining_t;

static int drain_row(const fm_dbrow_t *r, void *arg)
{
    draining_t *d = arg;
    bus_outbox_t *ob = d->ob;
    int64_t id = fm_dbrow_int(r, 0);
    bus_event_t *ev = event_from_row(ob, id, fm_dbrow_text(r, 1));
    ob->last_read = id;
    d->n++;
    if (ev) {
        bus__enqueue_nowait(ev);
        atomic_fetch_add(&drained, 1);
    } else {
        fm_log_t l;
        fm_log_begin(&l, FM_LOG_ERROR, "outbox row unreadable, dropped");
        fm_log_str(&l, "source", ob->source);
        fm_log_int(&l, "id", id);
        fm_log_end(&l);
        if (id > ob->delivered_max)
            ob->delivered_max = id;
    }
    return FM_OK;
}

/* Enqueues up to `room` rows of ob; returns how many rows it read. */
static size_t drain_one(bus_outbox_t *ob, size_t room)
{
    draining_t d = { ob, 0 };
    fm_dbq_read_each(ob->db, "SELECT id, event FROM fm_outbox WHERE id > ? ORDER BY id LIMIT ?", drain_row, &d,
                     "II", ob->last_read, (int64_t)room);
    return d.n;
}

bool bus__outbox_drain(void)
{
    bool more = false;
    for (bus_outbox_t *ob = outboxes; ob; ob = ob->next) {
        if (!atomic_load(&ob->pending))
            continue;
        size_t room = bus__room();
        if (room == 0) {
            more = true;
            continue;
        }
        /* Clear before reading: a commit racing with the read sets it again. */
        atomic_store(&ob->pending, false);
        if (drain_one(ob, room) == room) {
            atomic_store(&ob->pending, true);
            more = true;
        }
    }
    return more;
}

void bus__outbox_delivered(const bus_event_t *ev)
{
    bus_outbox_t *ob = ev->outbox;
    if (ev->outbox_id > ob->delivered_max)
        ob->delivered_max = ev->outbox_id;
}

void bus__outbox_durable(void)
{
    for (bus_outbox_t *ob = outboxes; ob; ob = ob->next)
        ob->durable_max = ob->delivered_max;
}

bool bus__outbox_commit_deletes(bool force)
{
    bool left = false;
    for (bus_outbox_t *ob = outboxes; ob; ob = ob->next) {
        if (ob->durable_max <= ob->deleted_max)
            continue;
        /* At most one delete transaction per DELETE_MS per database (it takes the
         * module's writer lock, which its own requests wait for); a crash before it
         * delivers those rows again, with their ids, which the durable log recognises. */
        uint64_t now = uv_hrtime() / 1000000;
        if (!force && now - ob->deleted_ms < DELETE_MS) {
            left = true;
            continue;
        }
        fm_dbc_t *w = fm_dbq_write_begin(ob->db);
        if (!w)
            continue;
        int64_t upto = ob->durable_max;
        int rc = fm_dbq_run(w, "DELETE FROM fm_outbox WHERE id <= ?", "I", upto);
        if (fm_dbq_write_end(w, rc) == FM_OK) {
            ob->deleted_max = upto;
            ob->deleted_ms = now;
        }
    }
    return left;
}

void bus__outbox_free_all(void)
{
    while (outboxes) {
        bus_outbox_t *ob = outboxes;
        outboxes = ob->next;
        fm_db_on_outbox_commit(ob->db, NULL, NULL);
        free(ob->source);
        free(ob);
    }
}

uint64_t bus__outbox_drained(void)
{
    return atomic_load(&drained);
}
