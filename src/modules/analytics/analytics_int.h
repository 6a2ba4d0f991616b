/*
 * analytics_int.h — private to Process Analytics (9014): ingestion of ended instances
 * from the engine's events and history, with a resumable backfill (analytics_ingest.c),
 * the statistics read from the module's tables (analytics_stats.c), and the routes
 * (analytics.c). docs/analytics.md is the contract.
 */
#ifndef ANALYTICS_INT_H
#define ANALYTICS_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* History entries read for one instance; a longer history is cut there (and said so in
 * the instance's path). */
#define AN_HISTORY_MAX 20000
/* Instances and element visits one statistics answer reads; past that the answer says
 * "sampled": the newest are used. */
#define AN_READ_MAX 200000

/* ---- analytics_ingest.c ---- */
int an_ingest_start(fm_mod_t *m);
void an_ingest_stop(fm_mod_t *m);
/* The ingestion's state for GET /analytics/status: queue depth, backfill done, dropped. */
cJSON *an_ingest_status(void);
/* 'YYYY-MM-DDTHH:MM:SS[.fff](Z|±hh:mm)' → epoch ms; -1 when it is not one. */
int64_t an_parse_time(const char *s);
/* Ingests one instance's history (the engine's GET /executions/{id}/history entries):
 * visits, path, duration, incidents, state. Public for the unit test and the bench. */
int an_ingest_history(fm_db_t *db, const char *tenant, const char *instance, const char *process, int version,
                      const cJSON *entries);
/* Several in one transaction (the worker batches ends that arrive together); a history
 * without a start is skipped. */
typedef struct an_history {
    const char *tenant, *instance, *process;
    int version;
    const cJSON *entries;
} an_history_t;
int an_ingest_histories(fm_db_t *db, const an_history_t *h, int n);

/* Records one task.* event (type "task.created" …, the task as the Human Task Service
 * sends it) of a task of an instance of process/version: created, first assignee, end. */
int an_ingest_task(fm_db_t *db, const char *tenant, const char *type, const cJSON *task, const char *process,
                   int version);
/* Several in one transaction, in order (the worker batches events that arrive together);
 * one without an instance or creation time is skipped. */
typedef struct an_task {
    const char *tenant, *type;
    const cJSON *task;
    const char *process;
    int version;
} an_task_t;
int an_ingest_tasks(fm_db_t *db, const an_task_t *t, int n);

/* ---- analytics_stats.c ---- */
typedef struct an_window {
    const char *tenant, *process;
    int64_t from_ms, to_ms;     /* started within [from, to) */
    int version;                /* 0: all */
} an_window_t;

/* GET /analytics/processes/{id}: counts, durations, SLA, series, versions, elements. */
int an_process_metrics(fm_db_t *db, const an_window_t *w, int64_t period_ms, cJSON **out);
/* Elements ranked by share of cycle time, with the numbers behind the ranking. */
int an_bottlenecks(fm_db_t *db, const an_window_t *w, int limit, cJSON **out);
/* Path variants with counts and durations. */
int an_paths(fm_db_t *db, const an_window_t *w, int limit, cJSON **out);
/* Per-element visit counts or mean durations (ms) for the heatmap. */
int an_element_values(fm_db_t *db, const an_window_t *w, bool durations, cJSON **out);
int an_dashboard(fm_db_t *db, const char *tenant, int64_t from_ms, int64_t to_ms, cJSON **out);
/* Rows of a report: kind "instances" or "elements". */
int an_report_rows(fm_db_t *db, const an_window_t *w, const char *kind, cJSON *rows);
int an_sla_set(fm_db_t *db, const char *tenant, const char *process, int64_t target_ms);

/* ---- analytics_report.c ---- */
/* The event a report schedule's Scheduling action publishes: data {reportScheduleId}. */
#define AN_REPORT_DUE "analytics.report.due"
struct fm_buf;
/* Rows (objects with the same keys) as CSV with a header line. */
void an_rows_csv(const cJSON *rows, struct fm_buf *b);
int an_schedule_create(fm_req_t *r, fm_db_t *db);
int an_schedule_list(fm_req_t *r, fm_db_t *db);
int an_schedule_delete(fm_req_t *r, fm_db_t *db);
/* Worker thread: renders report schedule id of tenant and mails it to its recipients
 * through 9009; event_id keys the sends (a redelivered event sends nothing twice). */
int an_report_fire(fm_db_t *db, const char *tenant, const char *id, const char *event_id);

/* Percentile p (0..100) of n sorted values, nearest rank. */
double an_percentile(const int64_t *sorted, size_t n, double p);

#endif
