/*
 * sched_int.h — private to the Scheduling Service: fire-time arithmetic (sched_time.c),
 * the store of schedules and runs (sched_store.c), the loop side that arms one timer and
 * fires actions (sched_fire.c) and the routes (scheduling.c).
 */
#ifndef SCHED_INT_H
#define SCHED_INT_H

#include "../modules.h"
#include "../../fm_dbq.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define SCHED_CRON_MAX 200
#define SCHED_ZONE_MAX 64
#define SCHED_CRON_STEPS 200000         /* search steps for one fire time (cron-parser: 10000) */
#define SCHED_INTERVAL_MAX_MS (366LL * 86400000)
#define SCHED_NEXT_MAX 100              /* GET …/next?count= */
#define SCHED_FIRE_ALL_MAX 100          /* misfire fire-all: at most this many catch-up runs */
#define SCHED_OFF_CACHE 64

#define SCHED_SOURCE "/flowmaster/scheduling"

/* ---- sched_time.c ---- */

typedef struct sched_cron {
    uint64_t sec, min;
    uint32_t hour, dom;     /* dom: bits 1..31 */
    uint16_t mon;           /* bits 1..12 */
    uint8_t dow;            /* bits 0..6, Sunday 0 */
    uint8_t dow_last;       /* weekdays written nL: the last of them in the month */
    bool dom_last;          /* L in dayOfMonth */
    bool dom_wild, dow_wild;
    int nth;                /* dayOfWeek d#n: n, else 0 */
    int nhours;             /* how many hours are listed (cron-parser's DST rules look at it) */
} sched_cron_t;

/* Parses a cron expression; on error err names the field ("dayOfMonth field: …") and
 * *field (may be NULL) points at its name, or NULL for the expression as a whole. */
int sched_cron_parse(const char *expr, sched_cron_t *c, char *err, size_t errlen, const char **field);
bool sched_zone_valid(const char *zone);

typedef struct sched_date {
    int64_t t;              /* UTC, ms */
    int32_t o;              /* zone offset at t, seconds */
    int dst_start, dst_end; /* CronDate's DST notes, -1 when none */
    int64_t y;
    int mo, d, h, mi, s, ms, wd;
} sched_date_t;

typedef struct sched_iter {
    const sched_cron_t *c;
    char zone[SCHED_ZONE_MAX];
    sched_date_t d;
    int64_t cache_key[SCHED_OFF_CACHE];
    int32_t cache_off[SCHED_OFF_CACHE];
} sched_iter_t;

/* cron-parser's iterator: next() from `from_ms`, repeatedly (DST notes carry over). */
void sched_iter_init(sched_iter_t *it, const sched_cron_t *c, const char *zone, int64_t from_ms);
bool sched_iter_next(sched_iter_t *it, int64_t *out_ms);

enum { SCHED_CRON = 1, SCHED_INTERVAL, SCHED_AT };

typedef struct sched_when {
    int kind;
    sched_cron_t cron;
    char zone[SCHED_ZONE_MAX];
    int64_t interval_ms, anchor_ms;     /* interval: anchor + k * interval, k >= 0 */
    int64_t at_ms;
    int64_t start_ms, end_ms;           /* 0: none */
} sched_when_t;

/* The first fire time strictly after after_ms; false when there is none. */
bool sched_next_after(const sched_when_t *w, int64_t after_ms, int64_t *out_ms);

int sched_parse_instant(const char *s, int64_t *ms);   /* RFC 3339 with Z or an offset */
int sched_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen);
void sched_format_utc(int64_t ms, char out[40]);
void sched_format_local(int64_t ms, const char *zone, char out[40]);

/* ---- sched_store.c ---- */

typedef struct sched_row {
    char id[40], tenant[80], name[200];
    char *cron, *interval, *at, *action_json;
    char zone[SCHED_ZONE_MAX];
    char misfire[16];
    int misfire_max;
    bool enabled;
    int64_t start_ms, end_ms, anchor_ms, next_ms;   /* next_ms -1: none */
    int revision;
    char created_at[32], updated_at[32];
} sched_row_t;

void sched_row_free(sched_row_t *r);
#define SCHED_COLS "id, tenant_id, name, cron, interval, at, timezone, action, misfire, misfire_max, enabled, " \
                   "start_ms, end_ms, anchor_ms, next_ms, revision, created_at, updated_at"
/* A row of SCHED_COLS into *arg (a sched_row_t; free it with sched_row_free). */
int sched_row_read(const fm_dbrow_t *row, void *arg);
/* The when-part of a stored row (it was validated when written). */
int sched_row_when(const sched_row_t *r, sched_when_t *w);
cJSON *sched_row_json(const sched_row_t *r);

int sched_insert(fm_db_t *db, sched_row_t *r);
int sched_update(fm_db_t *db, sched_row_t *r, int if_rev);   /* if_rev 0: any */
int sched_get(fm_db_t *db, const char *tenant, const char *id, sched_row_t *r);
int sched_delete(fm_db_t *db, const char *tenant, const char *id, int if_rev);
int sched_list(fm_db_t *db, const char *tenant, int enabled, const char *kind, int offset, int limit,
               cJSON *into, int *total);
#define SCHED_RUN_COLS "id, schedule_id, due_ms, fired_ms, trigger, status, instance_id, detail, finished_ms"
cJSON *sched_run_row_json(const fm_dbrow_t *row);   /* a row of SCHED_RUN_COLS */
int sched_runs(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *into, int *total);

/* ---- sched_fire.c (loop thread unless said otherwise) ---- */

int sched_fire_start(fm_mod_t *m);
void sched_fire_stop(fm_mod_t *m);
/* Any thread: the earliest fire time may have changed; re-arm soon. */
void sched_fire_rearm(void);
/* Any thread: records a manual run of r now and starts its action; *run gets the run. */
int sched_fire_now(fm_db_t *db, const sched_row_t *r, cJSON **run);

/* ---- sched_ptimer.c: timer start events of published processes (read-only) ---- */

#define SCHED_PTIMER_PREFIX "process-timer:"
bool sched_ptimer_is(const char *id);
/* The engine's start timers of the tenant as `process-timer` entries (an empty array
 * when the engine does not answer). Worker threads (fm_call). */
cJSON *sched_ptimers(const char *tenant);
cJSON *sched_ptimer_find(const char *tenant, const char *id);   /* NULL: none */
/* 409 problem: the entry comes from its process (404 when there is no such entry). */
int sched_ptimer_refuse(fm_req_t *r);

#endif
