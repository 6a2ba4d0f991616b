/*
 * sched_fire.c — the Scheduling Service on the loop: one timer armed for the earliest
 * next fire time of all enabled schedules (never one per schedule), the fire itself and
 * the actions it starts.
 *
 * A fire is one write transaction: the run rows (status 'firing'), the schedule's next
 * fire time and, for an event action, the event in the outbox. Only after the commit
 * does a process or webhook action start, with the run id as its idempotency key; a run
 * still 'firing' at start-up (the server died mid-fire) is started again with the same
 * key, so the engine starts its instance exactly once. Webhooks are at-least-once.
 *
 * After downtime the misfire policy decides once per schedule (skip, fire-once,
 * fire-all bounded by misfireMax); while running, a late tick fires once.
 */
#include "sched_int.h"

#include "../integrations/integ_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_fetch.h"
#include "../../fm_id.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "../../fm_req.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1024          /* schedules per fire transaction */
#define TICK_BUDGET_MS 200  /* a tick fires batch after batch for this long, then yields the loop */

typedef struct sched_loop {
    fm_mod_t *m;
    fm_timer_t *timer;
    int64_t started_ms;
    bool recovered, stopping;
} sched_loop_t;

static sched_loop_t *S;                 /* loop thread */
static fm_db_t *_Atomic running_db;     /* any thread: NULL once stopping */
static atomic_bool rearm_posted;

typedef struct run_job {
    uv_work_t work;
    fm_db_t *db;
    char run_id[40], tenant[80], schedule_id[40];
    int64_t due_ms;
    char *action_json;
    int status;
    char *out;
} run_job_t;

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

/* Records how a run ended (only while it is still 'firing': a run finishes once). */
static void finish_run(fm_db_t *db, const char *run_id, bool ok, const char *instance_id, const char *detail)
{
    fm_dbq_write(db, "UPDATE runs SET status = ?, instance_id = ?, detail = ?, finished_ms = ? "
                     "WHERE id = ? AND status = 'firing'",
                 "sssIs", ok ? "succeeded" : "failed", instance_id, detail, fm_time_unix_ms(), run_id);
}

/* ---- process actions: POST /executions in-process, off the loop ---- */

static void process_call(run_job_t *j)
{
    cJSON *a = cJSON_Parse(j->action_json), *b = cJSON_CreateObject();
    char due[40], key[64];
    sched_format_utc(j->due_ms, due);
    cJSON_AddStringToObject(b, "processId", str_of(a, "processId") ? str_of(a, "processId") : "");
    if (str_of(a, "businessKey"))
        cJSON_AddStringToObject(b, "businessKey", str_of(a, "businessKey"));
    cJSON *vars = cJSON_Duplicate(cJSON_GetObjectItem(a, "variables"), true);
    if (!cJSON_IsObject(vars)) {
        cJSON_Delete(vars);
        vars = cJSON_CreateObject();
    }
    cJSON_DeleteItemFromObject(vars, "scheduleId");
    cJSON_DeleteItemFromObject(vars, "scheduleRunId");
    cJSON_DeleteItemFromObject(vars, "scheduledAt");
    cJSON_AddStringToObject(vars, "scheduleId", j->schedule_id);
    cJSON_AddStringToObject(vars, "scheduleRunId", j->run_id);
    cJSON_AddStringToObject(vars, "scheduledAt", due);
    cJSON_AddItemToObject(b, "variables", vars);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(a);
    cJSON_Delete(b);
    snprintf(key, sizeof(key), "schedule-run:%s", j->run_id);
    const char *hdrs[] = { "Idempotency-Key", key, NULL };
    j->status = 0;
    if (body)
        fm_call_system_h(j->tenant, FM_POST, "/executions", body, hdrs, &j->status, &j->out);
    cJSON_free(body);
}

static void process_done(run_job_t *j)
{
    cJSON *o = j->out ? cJSON_Parse(j->out) : NULL;
    bool ok = j->status == 200 || j->status == 201;
    char detail[400];
    if (!ok)
        snprintf(detail, sizeof(detail), "POST /executions answered %d: %s", j->status,
                 str_of(o, "detail") ? str_of(o, "detail") : "no detail");
    finish_run(j->db, j->run_id, ok, ok ? str_of(o, "id") : NULL, ok ? NULL : detail);
    cJSON_Delete(o);
}

static void job_free(run_job_t *j)
{
    free(j->action_json);
    free(j->out);
    free(j);
}

static void work_cb(uv_work_t *w)
{
    process_call(w->data);
}

static void after_work_cb(uv_work_t *w, int status)
{
    run_job_t *j = w->data;
    /* after stop the run stays 'firing': the next start finishes it with the same key */
    if (status == 0 && atomic_load(&running_db) == j->db)
        process_done(j);
    job_free(j);
}

/* ---- webhook actions: fm_fetch on the loop ---- */

static void webhook_done(const fm_fetch_result_t *res, void *arg)
{
    run_job_t *j = arg;
    if (atomic_load(&running_db) == j->db) {
        char detail[400];
        bool ok = res->status >= 200 && res->status < 300;
        if (res->refused_address)
            snprintf(detail, sizeof(detail), "webhook refused: %s ([integrations] allow_private is off and the "
                     "schedule's tenant is not the operator's)", res->error ? res->error : "private target");
        else if (res->error)
            snprintf(detail, sizeof(detail), "webhook failed: %s", res->error);
        else
            snprintf(detail, sizeof(detail), "webhook answered HTTP %ld", res->status);
        finish_run(j->db, j->run_id, ok, NULL, detail);
    }
    job_free(j);
}

/* Starts a committed run's action. inline_ok: the caller is a worker thread that may
 * block (manual execute), so a process action runs here rather than in the pool. */
static void dispatch(fm_db_t *db, const char *run_id, const char *tenant, const char *schedule_id,
                     int64_t due_ms, const char *action_json, bool inline_ok)
{
    cJSON *a = cJSON_Parse(action_json);
    const char *kind = str_of(a, "kind");
    run_job_t *j = calloc(1, sizeof(*j));
    if (!j || !kind) {
        free(j);
        cJSON_Delete(a);
        return;
    }
    j->db = db;
    snprintf(j->run_id, sizeof(j->run_id), "%s", run_id);
    snprintf(j->tenant, sizeof(j->tenant), "%s", tenant);
    snprintf(j->schedule_id, sizeof(j->schedule_id), "%s", schedule_id);
    j->due_ms = due_ms;
    j->action_json = strdup(action_json);
    j->work.data = j;
    if (!strcmp(kind, "process")) {
        if (inline_ok) {
            process_call(j);
            process_done(j);
            job_free(j);
        } else if (uv_queue_work(fm_loop(), &j->work, work_cb, after_work_cb) != 0) {
            job_free(j);
        }
    } else if (!strcmp(kind, "webhook")) {
        cJSON *body = cJSON_GetObjectItem(a, "body");
        char *text = body ? (cJSON_IsString(body) ? strdup(body->valuestring) : cJSON_PrintUnformatted(body)) : NULL;
        fm_fetch_req_t req = { .method = str_of(a, "method") ? str_of(a, "method") : "POST",
                               .url = str_of(a, "url"), .body = text,
                               .content_type = cJSON_IsString(body) ? "text/plain" : "application/json",
                               .timeout_ms = 10000,
                               /* the External Integration module's private-address rule */
                               .no_private = !integ_private_allowed(tenant) };
        if (fm_fetch(&req, webhook_done, j) != FM_OK) {
            finish_run(db, run_id, false, NULL, "webhook could not be started");
            job_free(j);
        }
        free(text);
    } else {
        job_free(j);
    }
    cJSON_Delete(a);
}

/* Inside a write transaction: one run row; an event action publishes through the
 * outbox in the same transaction, so it is done when the commit is. */
static const char SQL_RUN_INSERT[] =
    "INSERT INTO runs(id, schedule_id, tenant_id, due_ms, fired_ms, trigger, status, action, detail, finished_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, CASE WHEN ?7 = 'firing' THEN NULL ELSE ?5 END)";

static int insert_run(fm_dbc_t *w, const sched_row_t *r, int64_t due_ms, const char *trigger,
                      const char *skipped_detail, char run_id[40], bool *pending)
{
    fm_id_random("run", run_id, 40);
    int64_t now = fm_time_unix_ms();
    cJSON *a = cJSON_Parse(r->action_json);
    const char *kind = str_of(a, "kind");
    bool event = kind && !strcmp(kind, "event");
    int rc = FM_OK;
    if (event && !skipped_detail) {
        cJSON *data = cJSON_GetObjectItem(a, "data");
        char *text = data ? cJSON_PrintUnformatted(data) : NULL;
        rc = bus_outbox_put(w, SCHED_SOURCE, str_of(a, "type"), r->id, r->tenant, text ? text : "{}");
        cJSON_free(text);
    }
    cJSON_Delete(a);
    if (rc != FM_OK)
        return rc;
    const char *status = skipped_detail ? "skipped" : event ? "succeeded" : "firing";
    rc = fm_dbq_wrun(w, SQL_RUN_INSERT, "sssIIssss", run_id, r->id, r->tenant, due_ms, now, trigger, status,
                     r->action_json, skipped_detail);
    *pending = !strcmp(status, "firing");
    return rc;
}

typedef struct pending_run {
    char run_id[40];
    int64_t due_ms;
    int row;
} pending_run_t;

typedef struct due_rows {
    sched_row_t *rows;
    int n;
} due_rows_t;

static int due_row(const fm_dbrow_t *st, void *arg)
{
    due_rows_t *d = arg;
    return d->n < BATCH ? sched_row_read(st, &d->rows[d->n++]) : FM_OK;
}

static const char SQL_DUE[] = "SELECT " SCHED_COLS " FROM schedules WHERE enabled = 1 AND next_ms IS NOT NULL "
                               "AND next_ms <= ? ORDER BY next_ms LIMIT ?";
static const char SQL_NEXT[] = "UPDATE schedules SET next_ms = CASE WHEN ?1 > 0 THEN ?1 END WHERE id = ?2";

/* Fires (or, after downtime, applies the misfire policy to) up to BATCH schedules due
 * at `now`; *fired gets how many schedules it handled. */
static int fire_due(fm_db_t *db, int64_t now, bool misfire, int *handled)
{
    static sched_row_t rows[BATCH];     /* loop thread only */
    static pending_run_t pend[BATCH * 4];
    int n = 0, np = 0, rc;
    *handled = 0;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    due_rows_t due = { rows, 0 };
    rc = fm_dbq_weach(w, SQL_DUE, due_row, &due, "Ii", now, BATCH);
    n = due.n;
    for (int i = 0; i < n && rc == FM_OK; i++) {
        sched_row_t *r = &rows[i];
        sched_when_t when;
        bool have_when = sched_row_when(r, &when) == FM_OK;
        int64_t dues[SCHED_FIRE_ALL_MAX + 1];
        int nd = 0;
        dues[nd++] = r->next_ms;
        if (misfire && have_when) {
            int64_t t = r->next_ms;
            while (nd <= SCHED_FIRE_ALL_MAX && sched_next_after(&when, t, &t) && t <= now)
                dues[nd++] = t;
        }
        char run_id[40];
        bool pending = false;
        if (!misfire) {
            rc = insert_run(w, r, dues[0], "schedule", NULL, run_id, &pending);
            if (rc == FM_OK && pending && np < BATCH * 4) {
                snprintf(pend[np].run_id, 40, "%s", run_id);
                pend[np].due_ms = dues[0];
                pend[np++].row = i;
            }
        } else if (!strcmp(r->misfire, "skip")) {
            char detail[200], first[40];
            sched_format_utc(dues[0], first);
            snprintf(detail, sizeof(detail), "skipped by misfire policy: %d%s fire time(s) from %s passed while the "
                     "server was down", nd, nd > SCHED_FIRE_ALL_MAX ? "+" : "", first);
            rc = insert_run(w, r, dues[0], "misfire", detail, run_id, &pending);
        } else {
            bool all = !strcmp(r->misfire, "fire-all");
            int from = all ? 0 : nd - 1, to = all ? (nd < r->misfire_max ? nd : r->misfire_max) : nd;
            for (int k = from; k < to && rc == FM_OK; k++) {
                rc = insert_run(w, r, dues[k], "misfire", NULL, run_id, &pending);
                if (rc == FM_OK && pending && np < BATCH * 4) {
                    snprintf(pend[np].run_id, 40, "%s", run_id);
                    pend[np].due_ms = dues[k];
                    pend[np++].row = i;
                }
            }
        }
        int64_t next = -1;
        if (rc == FM_OK && have_when && !sched_next_after(&when, now > r->next_ms ? now : r->next_ms, &next))
            next = -1;
        if (rc == FM_OK)
            rc = fm_dbq_wrun(w, SQL_NEXT, "Is", next, r->id);
    }
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_OK) {
        *handled = n;
        for (int k = 0; k < np; k++) {
            sched_row_t *r = &rows[pend[k].row];
            dispatch(db, pend[k].run_id, r->tenant, r->id, pend[k].due_ms, r->action_json, false);
        }
    }
    for (int i = 0; i < n; i++)
        sched_row_free(&rows[i]);
    return rc;
}

/* Runs left 'firing' by a previous process: start them again with the same key. */
static int redispatch_row(const fm_dbrow_t *st, void *arg)
{
    dispatch(arg, fm_dbrow_str(st, 0), fm_dbrow_str(st, 1), fm_dbrow_str(st, 2), fm_dbrow_int(st, 3),
             fm_dbrow_str(st, 4), false);
    return FM_OK;
}

static void redispatch_firing(fm_db_t *db)
{
    fm_dbq_read_each(db, "SELECT id, tenant_id, schedule_id, due_ms, action FROM runs WHERE status = 'firing' "
                         "LIMIT 10000", redispatch_row, db, "");
}

static void tick(void *arg);

/* min(next_ms) into *arg, -1 when NULL (nothing to fire). */
static int min_row(const fm_dbrow_t *st, void *arg)
{
    *(int64_t *)arg = fm_dbrow_null(st, 0) ? -1 : fm_dbrow_int(st, 0);
    return FM_OK;
}

static void arm(sched_loop_t *s, int64_t floor_delay)
{
    if (s->timer) {
        fm_timer_stop(s->timer);
        s->timer = NULL;
    }
    int64_t next = -1;
    /* a bare min() so that SQLite reads it off the schedules_due index (one step) */
    if (fm_dbq_read_one(s->m->db, "SELECT min(next_ms) FROM schedules WHERE enabled = 1 AND next_ms IS NOT NULL",
                        min_row, &next, "") != FM_OK)
        next = fm_time_unix_ms() + 1000;   /* try again in a second */
    if (next < 0)
        return;
    int64_t delay = next - fm_time_unix_ms();
    if (delay < floor_delay)
        delay = floor_delay;
    s->timer = fm_timer_start((uint64_t)delay, 0, tick, s);
}

static void tick(void *arg)
{
    sched_loop_t *s = arg;
    fm_db_t *db = s->m->db;
    int handled = 0;
    if (!s->recovered) {
        s->recovered = true;
        redispatch_firing(db);
        do {
            if (fire_due(db, s->started_ms, true, &handled) != FM_OK)
                break;
        } while (handled == BATCH);
    }
    /* a burst (thousands due at once) is fired in one go rather than one batch per turn
     * of the loop, with the bus's outbox and the re-arm query between every two */
    int64_t t0 = fm_time_unix_ms();
    do {
        if (fire_due(db, fm_time_unix_ms(), false, &handled) != FM_OK) {
            fm_log_msg(FM_LOG_ERROR, "scheduling: firing due schedules failed; retrying in a second", NULL);
            arm(s, 1000);
            return;
        }
    } while (handled == BATCH && fm_time_unix_ms() - t0 < TICK_BUDGET_MS);
    arm(s, 0);
}

static void rearm_cb(void *arg)
{
    (void)arg;
    atomic_store(&rearm_posted, false);
    if (S && !S->stopping && S->recovered)
        arm(S, 0);
}

void sched_fire_rearm(void)
{
    if (!atomic_exchange(&rearm_posted, true) && fm_loop_post(rearm_cb, NULL) != FM_OK)
        atomic_store(&rearm_posted, false);
}

int sched_fire_start(fm_mod_t *m)
{
    sched_loop_t *s = calloc(1, sizeof(*s));
    if (!s)
        return FM_ENOMEM;
    s->m = m;
    s->started_ms = fm_time_unix_ms();
    /* the first tick (recovery, misfires) runs once the loop turns, after every start hook */
    s->timer = fm_timer_start(0, 0, tick, s);
    m->state = s;
    S = s;
    atomic_store(&running_db, m->db);
    return s->timer ? FM_OK : FM_ENOMEM;
}

void sched_fire_stop(fm_mod_t *m)
{
    sched_loop_t *s = m->state;
    if (!s)
        return;
    atomic_store(&running_db, NULL);
    s->stopping = true;
    fm_timer_stop(s->timer);
    S = NULL;
    free(s);
    m->state = NULL;
}

static int run_row(const fm_dbrow_t *st, void *arg)
{
    *(cJSON **)arg = sched_run_row_json(st);
    return FM_OK;
}

int sched_fire_now(fm_db_t *db, const sched_row_t *r, cJSON **run)
{
    char run_id[40];
    bool pending = false;
    int64_t now = fm_time_unix_ms();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = insert_run(w, r, now, "manual", NULL, run_id, &pending);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        return rc;
    if (pending)
        dispatch(db, run_id, r->tenant, r->id, now, r->action_json, true);
    return fm_dbq_read_one(db, "SELECT " SCHED_RUN_COLS " FROM runs WHERE id = ?", run_row, run, "s", run_id);
}
