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

int rules_audit_list(fm_db_t *db, const char *tenant, const char *rule_id, int64_t before, int limit, cJSON *into,
                     bool *more)
{
    /* one row past the page says whether there is more */
    int rc = fm_dbq_read_array(db,
                               "SELECT id, rule_id AS ruleId, version, decision, inputs, outputs, "
                               "matched AS matchedRules, warnings, at FROM rule_audit "
                               "WHERE tenant_id = ?1 AND rule_id = ?2 AND (?3 = 0 OR id < ?3) "
                               "ORDER BY id DESC LIMIT ?4",
                               "isisjjjjs", into, "ssIi", tenant, rule_id, before, limit + 1);
    *more = rc == FM_OK && cJSON_GetArraySize(into) > limit;
    if (*more)
        cJSON_DeleteItemFromArray(into, limit);
    return rc;
}
