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
    struct bus_outbox *next;
} bus_outbox_t;

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
    fm_uuid7(id);
    fm_time_rfc3339(ts);
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

static char *dup_field(const cJSON *root, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* Rebuilds the in-memory event from a stored row; NULL if the row is unusable. */
static bus_event_t *event_from_row(bus_outbox_t *ob, int64_t id, const char *text)
{
    cJSON *root = cJSON_Parse(text);
    bus_event_t *ev = calloc(1, sizeof(*ev));
    if (!root || !ev)
        goto fail;
    ev->id = dup_field(root, "id");
    ev->source = dup_field(root, "source");
    ev->type = dup_field(root, "type");
    ev->subject = dup_field(root, "subject");
    ev->tenant = dup_field(root, "tenantid");
    ev->time = dup_field(root, "time");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    ev->data = data ? cJSON_PrintUnformatted(data) : strdup("null");
    ev->json = strdup(text);
    if (!ev->id || !ev->source || !ev->type || !ev->tenant || !ev->time || !ev->data || !ev->json)
        goto fail;
    ev->outbox = ob;
    ev->outbox_id = id;
    cJSON_Delete(root);
    return ev;
fail:
    cJSON_Delete(root);
    bus__event_free(ev);
    return NULL;
}

/* Enqueues up to `room` rows of ob; returns how many rows it read. */
static size_t drain_one(bus_outbox_t *ob, size_t room)
{
    sqlite3 *c = fm_db_reader(ob->db);
    if (!c)
        return 0;
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    if (sqlite3_prepare_v2(c, "SELECT id, event FROM fm_outbox WHERE id > ? ORDER BY id LIMIT ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, ob->last_read);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)room);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            bus_event_t *ev = event_from_row(ob, id, (const char *)sqlite3_column_text(st, 1));
            ob->last_read = id;
            n++;
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
        }
    }
    sqlite3_finalize(st);
    fm_db_reader_done(ob->db, c);
    return n;
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

void bus__outbox_commit_deletes(void)
{
    for (bus_outbox_t *ob = outboxes; ob; ob = ob->next) {
        if (ob->delivered_max <= ob->deleted_max)
            continue;
        sqlite3 *w = fm_db_write_begin(ob->db);
        if (!w)
            continue;
        sqlite3_stmt *st = NULL;
        int rc = FM_EDB;
        if (sqlite3_prepare_v2(w, "DELETE FROM fm_outbox WHERE id <= ?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, ob->delivered_max);
            if (sqlite3_step(st) == SQLITE_DONE)
                rc = FM_OK;
        }
        sqlite3_finalize(st);
        if (fm_db_write_end(ob->db, rc) == FM_OK)
            ob->deleted_max = ob->delivered_max;
    }
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
