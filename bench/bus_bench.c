/*
 * bus_bench.c — in-process rates of the event bus and its durable log for `make
 * bench-bus` (bench/bus_bench.sh):
 *   1. publish → deliver in memory: bus_publish from the loop thread itself (one core),
 *      delivered to one `>` subscriber; and from a second thread (publisher + loop);
 *   2. evlog_append straight into eventbus.db (migrated, auto_vacuum=INCREMENTAL,
 *      synchronous=NORMAL, WAL) in batches of 1000;
 *   3. publish → durable log: the Event Bus's `>` subscriber and batch hook (what `serve`
 *      runs), events published from a thread until every one is committed to the log.
 *
 *   bus_bench [events, default 200000; half of that for the log] [memory: section 1 only]
 *
 * Prints one "result NAME rate=… n=…" line per measure. Exit 0 measured, 1 could not run.
 */
#include "bus/bus.h"
#include "fm_db.h"
#include "fm_migrate.h"
#include "fm_mod.h"
#include "modules/eventbus/eventbus_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static atomic_long seen;

static void count(const bus_event_t *ev, void *arg)
{
    (void)ev;
    (void)arg;
    atomic_fetch_add(&seen, 1);
}

static const char DATA[] = "{\"instanceId\":\"ins_0123456789\",\"state\":\"completed\",\"n\":42}";

typedef struct pub_arg {
    long n;
} pub_arg_t;

static void *publisher(void *p)
{
    pub_arg_t *a = p;
    for (long i = 0; i < a->n; i++)
        while (bus_publish("/bench", "execution.instance.completed", "ins_0123456789", "default", DATA) != FM_OK) {
        }
    return NULL;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu0;

/* Wall-clock rate, and the process's CPU seconds since the measure began (on a shared
 * machine the wall clock also counts time the scheduler gave to others). */
static void report(const char *name, long n, double secs)
{
    double c = cpu() - cpu0;
    printf("  %-36s %9.0f events/s wall  %9.0f events/CPU-s  (%ld in %.3f s, %.3f CPU-s)\n",
           name, n / secs, n / c, n, secs, c);
    printf("result %s rate=%.0f cpu_rate=%.0f n=%ld\n", name, n / secs, n / c, n);
    cpu0 = cpu();
}

/* 1a: one thread: publish up to the queue's capacity, deliver, again. */
static void in_memory_one_core(uv_loop_t *loop, long n)
{
    bus_init(loop, 65536, 0);
    int sub = bus_subscribe(">", count, NULL);
    atomic_store(&seen, 0);
    cpu0 = cpu();
    double t0 = now();
    for (long done = 0; done < n;) {
        long k = 0;
        while (done + k < n && bus_publish("/bench", "execution.instance.completed", "ins_0123456789",
                                           "default", DATA) == FM_OK)
            k++;
        bus_flush();
        done += k;
    }
    double t = now() - t0;
    if (atomic_load(&seen) != n)
        fprintf(stderr, "in-memory: %ld delivered of %ld\n", atomic_load(&seen), n);
    report("publish_deliver_memory_1core", n, t);
    bus_unsubscribe(sub);
    bus_shutdown();
    uv_run(loop, UV_RUN_NOWAIT);    /* the bus's async handle closes */
}

/* 1b and 3: a publisher thread, the loop delivering until `done` says so. */
static double run_threaded(uv_loop_t *loop, long n, bool (*done)(long n))
{
    pthread_t th;
    pub_arg_t a = { n };
    cpu0 = cpu();
    double t0 = now();
    pthread_create(&th, NULL, publisher, &a);
    while (!done(n))
        uv_run(loop, UV_RUN_ONCE);
    double t = now() - t0;
    pthread_join(th, NULL);
    return t;
}

static bool all_seen(long n)
{
    return atomic_load(&seen) >= n;
}

static bool all_logged(long n)
{
    return (long)evlog_appended() >= n;
}

static int open_log(const char *dir, fm_db_t **db)
{
    char path[600], err[512];
    snprintf(path, sizeof(path), "%s/eventbus.db", dir);
    fm_db_opts_t o = { false, 512, false, 0 };
    if (fm_db_open(db, path, &o, err, sizeof(err)) ||
        fm_migrate_apply(*db, "eventbus", fm_migrations, fm_nmigrations, NULL, err, sizeof(err)) ||
        evlog_prepare(*db)) {
        fprintf(stderr, "cannot open the log: %s\n", err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n < 1000)
        n = 1000;
    uv_loop_t *loop = uv_default_loop();
    char dir[] = "/tmp/fm-bus-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("== 1. publish -> deliver, in memory (one subscriber '>')\n");
    in_memory_one_core(loop, n);
    bus_init(loop, 65536, 1000);
    int sub = bus_subscribe(">", count, NULL);
    atomic_store(&seen, 0);
    report("publish_deliver_memory_2threads", n, run_threaded(loop, n, all_seen));
    bus_unsubscribe(sub);
    bus_shutdown();
    uv_run(loop, UV_RUN_NOWAIT);    /* the bus's async handle closes */
    if (argc > 2 && !strcmp(argv[2], "memory")) {
        rmdir(dir);
        return 0;
    }

    printf("== 2. durable log: evlog_append, 1000 events per transaction (synchronous=NORMAL, WAL)\n");
    fm_db_t *db = NULL;
    if (open_log(dir, &db))
        return 1;
    long m = n / 2;
    evlog_rec_t *recs = calloc(1000, sizeof(*recs));
    char (*ids)[40] = calloc(1000, 40);
    char *json = bus_event_json("x", "/bench", "execution.instance.completed", "ins_0123456789", "default",
                                "2026-12-04T00:00:00.000Z", DATA);
    cpu0 = cpu();
    double t0 = now();
    for (long done = 0; done < m; done += 1000) {
        for (int i = 0; i < 1000; i++) {
            snprintf(ids[i], 40, "ev-%ld", done + i);
            recs[i] = (evlog_rec_t){ i % 4 ? "default" : "other", ids[i], "/bench",
                                     "execution.instance.completed", "ins_0123456789", NULL, json };
        }
        if (evlog_append(db, recs, 1000, NULL) != FM_OK) {
            fprintf(stderr, "append failed\n");
            return 1;
        }
    }
    report("log_append_batch1000", m, now() - t0);
    free(json);
    free(ids);
    free(recs);

    printf("== 3. publish -> durable log through the bus (group commit per delivery batch)\n");
    bus_init(loop, 65536, 1000);
    fm_mod_t mod;
    memset(&mod, 0, sizeof(mod));
    mod.db = db;
    if (evlog_attach(&mod) != FM_OK) {
        fprintf(stderr, "attach failed\n");
        return 1;
    }
    report("publish_to_log", m, run_threaded(loop, m, all_logged));
    evlog_detach();
    bus_shutdown();
    uv_run(loop, UV_RUN_NOWAIT);    /* the bus's async handle closes */
    printf("  log file: %.1f MiB for %ld events\n", fm_db_size(db) / 1048576.0, 2 * m);
    fm_db_close(db);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
