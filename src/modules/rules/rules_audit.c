/*
 * rules_audit.c — group commit for the evaluation audit log. A handler hands its
 * audit row (and the rules.decision.evaluated event) to one writer thread and waits
 * until the transaction holding it has committed; the writer puts every row that is
 * waiting into a single transaction, so concurrent evaluations share one commit instead
 * of queueing for the write lock one by one. The semantics stay synchronous: when
 * rules_audit_submit returns FM_OK, the row and its outbox event are committed.
 * Started and stopped by the module's hooks (loop thread); submit from any thread.
 * rules_audit_list reads the rows back (GET /rules/{id}/audit).
 */
#include "rules_int.h"

#include "../../fm_dbq.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 512

typedef struct item {
    struct item *next;
    const char *tenant, *rule_id, *decision, *inputs, *outputs, *matched, *warnings, *event;
    int version;
    int rc;
    bool done;
} item_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, committed;
    item_t *head, *tail;
    fm_db_t *db;
    pthread_t thread;
    bool running, stopping;
} q = { .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER, .committed = PTHREAD_COND_INITIALIZER };

/* One transaction for the whole batch; FM_OK or the first error (all roll back). */
static int write_batch(fm_db_t *db, item_t *batch)
{
    char now[32];
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_OK;
    for (item_t *it = batch; it && rc == FM_OK; it = it->next)
        rc = rules_audit_put(w, it->tenant, it->rule_id, it->version, it->decision, it->inputs, it->outputs,
                             it->matched, it->warnings, it->event, now);
    return fm_dbq_write_end(w, rc);
}

static void *writer(void *arg)
{
    pthread_mutex_lock(&q.mu);
    for (;;) {
        while (!q.head && !q.stopping)
            pthread_cond_wait(&q.work, &q.mu);
        if (!q.head && q.stopping)
            break;
        item_t *batch = q.head, *last = q.head;
        int n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        q.head = last->next;
        if (!q.head)
            q.tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&q.mu);
        int rc = write_batch(q.db, batch);
        pthread_mutex_lock(&q.mu);
        for (item_t *it = batch, *next; it; it = next) {
            next = it->next;    /* the submitter owns the item once done is set */
            it->rc = rc;
            it->done = true;
        }
        pthread_cond_broadcast(&q.committed);
    }
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

int rules_audit_start(fm_db_t *db)
{
    pthread_mutex_lock(&q.mu);
    q.db = db;
    q.stopping = false;
    int rc = pthread_create(&q.thread, NULL, writer, NULL) == 0 ? FM_OK : FM_ENOMEM;
    q.running = rc == FM_OK;
    pthread_mutex_unlock(&q.mu);
    return rc;
}

void rules_audit_stop(void)
{
    pthread_mutex_lock(&q.mu);
    bool was = q.running;
    q.stopping = true;
    pthread_cond_signal(&q.work);
    pthread_mutex_unlock(&q.mu);
    if (was)
        pthread_join(q.thread, NULL);   /* the writer drains what is queued first */
    pthread_mutex_lock(&q.mu);
    q.running = false;
    pthread_mutex_unlock(&q.mu);
}

int rules_audit_submit(fm_db_t *db, const char *tenant, const char *rule_id, int version, const char *decision,
                       const char *inputs, const char *outputs, const char *matched, const char *warnings,
                       const char *event_json)
{
    item_t it = { NULL, tenant, rule_id, decision, inputs, outputs, matched, warnings, event_json, version, 0, false };
    pthread_mutex_lock(&q.mu);
    if (!q.running || q.stopping || q.db != db) {
        pthread_mutex_unlock(&q.mu);
        /* no writer (a test harness, or shutting down): write it ourselves */
        return rules_audit(db, tenant, rule_id, version, decision, inputs, outputs, matched, warnings, event_json);
    }
    if (q.tail)
        q.tail->next = &it;
    else
        q.head = &it;
    q.tail = &it;
    pthread_cond_signal(&q.work);
    while (!it.done)
        pthread_cond_wait(&q.committed, &q.mu);
    pthread_mutex_unlock(&q.mu);
    return it.rc;
}

static cJSON *parsed_or_null(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    return j ? j : cJSON_CreateNull();
}

int rules_audit_list(fm_db_t *db, const char *tenant, const char *rule_id, int64_t before, int limit, cJSON *into,
                     bool *more)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    sqlite3_stmt *st = NULL;
    int rc = FM_EDB, step = SQLITE_DONE, n = 0;
    *more = false;
    if (sqlite3_prepare_v2(c, "SELECT id, version, decision, inputs, outputs, matched, warnings, at FROM rule_audit "
                              "WHERE tenant_id = ?1 AND rule_id = ?2 AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rule_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, before);
    sqlite3_bind_int(st, 4, limit + 1);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == limit) {
            *more = true;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
        cJSON_AddStringToObject(o, "ruleId", rule_id);
        cJSON_AddNumberToObject(o, "version", sqlite3_column_int(st, 1));
        if (sqlite3_column_type(st, 2) == SQLITE_NULL)
            cJSON_AddNullToObject(o, "decision");
        else
            cJSON_AddStringToObject(o, "decision", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddItemToObject(o, "inputs", parsed_or_null(st, 3));
        cJSON_AddItemToObject(o, "outputs", parsed_or_null(st, 4));
        cJSON_AddItemToObject(o, "matchedRules", parsed_or_null(st, 5));
        cJSON_AddItemToObject(o, "warnings", parsed_or_null(st, 6));
        cJSON_AddStringToObject(o, "at", (const char *)sqlite3_column_text(st, 7));
        cJSON_AddItemToArray(into, o);
    }
    rc = step == SQLITE_DONE || step == SQLITE_ROW ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}
