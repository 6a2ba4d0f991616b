/*
 * analytics_bench.c — Process Analytics in process, on a temporary database:
 * (1) ingestion rate: engine histories of 20 entries (start, 8 elements entered and
 *     left, end) written through an_ingest_history, counted in history events per
 *     second; (2) dashboard and process-metrics latency with N recorded instances
 *     (default 1,000,000 over 50 processes and 30 days), p50/p99 over 20 calls;
 * (3) task events (created, assigned, completed; one in ten left open) for every
 *     instance of one process through an_ingest_tasks, in events per second, and that
 *     process's metrics again with the waiting/working split and queues computed.
 *
 *   build/bench/analytics_bench [instances]
 */
#include "fm_db.h"
#include "fm_dbq.h"
#include "fm_log.h"
#include "modules/analytics/analytics_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void apply(fm_db_t *db, const char *file)
{
    FILE *fp = fopen(file, "rb");
    static char sql[16384];
    size_t n = fp ? fread(sql, 1, sizeof(sql) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    sql[n] = '\0';
    sqlite3 *w = fm_db_write_begin(db);
    char err[256];
    fm_db_write_end(db, fm_db_exec(w, sql, err, sizeof(err)));
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char dir[] = "/tmp/fm-anbench-XXXXXX", path[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/analytics.db", dir);
    fm_db_t *db = NULL;
    fm_db_opts_t opts = { false, 8192, false, 0 };
    char err[200];
    if (fm_db_open(&db, path, &opts, err, sizeof(err)) != FM_OK)
        return 1;
    apply(db, "migrations/analytics/0001_init.sql");
    apply(db, "migrations/analytics/0002_task_times.sql");

    /* (1) ingestion, 64 instances per transaction as the worker batches them */
    int hist = 2048;
    an_history_t batch[64];
    cJSON *keep[64];
    char ids[64][40];
    int nb = 0;
    double t0 = now_s();
    for (int i = 0; i < hist; i++) {
        cJSON *h = cJSON_CreateArray();
        char at[40], id[40];
        for (int k = 0; k < 20; k++) {
            cJSON *e = cJSON_CreateObject();
            snprintf(at, sizeof(at), "2026-01-01T00:00:%02d.%03dZ", k, i % 1000);
            const char *type = k == 0 ? "instance.started" : k == 19 ? "instance.completed"
                                                           : (k % 2) ? "element.entered" : "element.left";
            cJSON_AddStringToObject(e, "type", type);
            cJSON_AddStringToObject(e, "at", at);
            snprintf(id, sizeof(id), "el%d", (k - 1) / 2);
            cJSON_AddStringToObject(e, "elementId", id);
            cJSON_AddStringToObject(e, "elementType", "serviceTask");
            cJSON_AddNumberToObject(e, "tokenId", 1);
            cJSON_AddItemToArray(h, e);
        }
        snprintf(ids[nb], sizeof(ids[nb]), "exe_%d", i);
        batch[nb] = (an_history_t){ "bench", ids[nb], "proc_ingest", 1, h };
        keep[nb++] = h;
        if (nb == 64) {
            an_ingest_histories(db, batch, nb);
            for (int k = 0; k < nb; k++)
                cJSON_Delete(keep[k]);
            nb = 0;
        }
    }
    double dt = now_s() - t0;
    printf("ingestion (64 per transaction): %d instances (20 history events each) in %.2f s: %.0f instances/s, %.0f events/s\n", hist,
           dt, hist / dt, hist * 20 / dt);

    /* (2) N instances over 50 processes and 30 days, written directly */
    int64_t base = 1796000000000LL, span = 30LL * 86400 * 1000;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    for (long i = 0; i < n; i++) {
        char id[32], proc[32];
        snprintf(id, sizeof(id), "exe_b%ld", i);
        snprintf(proc, sizeof(proc), "proc_%ld", i % 50);
        int64_t st = base + (int64_t)((double)i / (double)n * (double)span);
        int done = i % 10 != 0;
        fm_dbq_run(w,
                   "INSERT INTO instances(tenant_id, id, process_id, version, state, started_ms, ended_ms, "
                   "duration_ms, ingested) VALUES ('t', ?, ?, 1, ?, ?, ?, ?, 1)",
                   "sssIII", id, proc, done ? "completed" : "active", st, done ? st + 1000 + i % 5000 : st,
                   (int64_t)(done ? 1000 + i % 5000 : 0));
        fm_dbq_run(w,
                   "INSERT INTO daily(tenant_id, process_id, day_ms, started, completed, duration_ms) VALUES "
                   "('t', ?1, ?2, 1, ?3, ?4) ON CONFLICT(tenant_id, day_ms, process_id) DO UPDATE SET "
                   "started = started + 1, completed = completed + ?3, duration_ms = duration_ms + ?4",
                   "sIiI", proc, st - st % 86400000LL, done, (int64_t)(done ? 1000 + i % 5000 : 0));
    }
    fm_dbq_write_end(w, FM_OK);
    double lat[20], lp[20];
    for (int k = 0; k < 20; k++) {
        cJSON *o = NULL;
        double a = now_s();
        an_dashboard(db, "t", base, base + span, &o);
        lat[k] = (now_s() - a) * 1000;
        cJSON_Delete(o);
        an_window_t win = { "t", "proc_7", base, base + span, 0 };
        a = now_s();
        an_process_metrics(db, &win, 86400000LL, &o);
        lp[k] = (now_s() - a) * 1000;
        cJSON_Delete(o);
    }
    qsort(lat, 20, sizeof(double), cmp_d);
    qsort(lp, 20, sizeof(double), cmp_d);
    printf("dashboard over %ld instances (30 days, 50 processes): p50 %.1f ms, p99 %.1f ms\n", n, lat[10], lat[19]);
    printf("process metrics (%ld instances of one process): p50 %.1f ms, p99 %.1f ms\n", n / 50, lp[10], lp[19]);

    /* (3) user tasks of proc_7's instances: 3 events each (1 in 10 left open, never claimed) */
    long nt = n / 50;
    double a = now_s();
    long events = 0;
    an_task_t tb[64];
    cJSON *docs[64];
    int tn = 0;
    for (long i = 7; i < n; i += 50) {
        int64_t st = base + (int64_t)((double)i / (double)n * (double)span);
        char json[512], created[32], claimed[32], done[32];
        fm_time_rfc3339_at(st + 100, created);
        fm_time_rfc3339_at(st + 100 + i % 700, claimed);
        fm_time_rfc3339_at(st + 900 + i % 900, done);
        for (int e = 0; e < ((i / 50) % 10 ? 3 : 1); e++) {
            snprintf(json, sizeof(json),
                     "{\"id\":\"tsk_%ld\",\"processInstanceId\":\"exe_b%ld\",\"elementId\":\"review\","
                     "\"assignee\":%s,\"createdAt\":\"%s\",\"updatedAt\":\"%s\",\"completedAt\":%s%s%s}",
                     i, i, e ? "\"u1\"" : "null", created, e ? claimed : created, e == 2 ? "\"" : "",
                     e == 2 ? done : "null", e == 2 ? "\"" : "");
            docs[tn] = cJSON_Parse(json);
            tb[tn] = (an_task_t){ "t", e == 0 ? "task.created" : e == 1 ? "task.assigned" : "task.completed",
                                     docs[tn], "proc_7", 1 };
            if (++tn == 64 || (i + 50 >= n && e == ((i / 50) % 10 ? 2 : 0))) {
                an_ingest_tasks(db, tb, tn);
                for (int k = 0; k < tn; k++)
                    cJSON_Delete(docs[k]);
                events += tn;
                tn = 0;
            }
        }
    }
    double el = now_s() - a;
    printf("task events (64 per transaction, as the worker batches them): %ld in %.2f s: %.0f events/s\n", events, el, events / el);
    for (int k = 0; k < 20; k++) {
        cJSON *o = NULL;
        an_window_t win = { "t", "proc_7", base, base + span, 0 };
        a = now_s();
        an_process_metrics(db, &win, 86400000LL, &o);
        lp[k] = (now_s() - a) * 1000;
        cJSON_Delete(o);
    }
    qsort(lp, 20, sizeof(double), cmp_d);
    printf("process metrics with %ld user tasks (waiting/working, queue now and most in window): p50 %.1f ms, "
           "p99 %.1f ms\n", nt, lp[10], lp[19]);
    fm_db_close(db);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
