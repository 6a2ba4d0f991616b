/* test_outbox.c — the transactional outbox (bus_outbox.c): events written inside a
 * write transaction are delivered after the commit, never after a rollback, survive a
 * restart, and drain in order under back-pressure. */
#include "fm_test.h"

#include "bus/bus.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct got {
    int n;
    int cap;
    char (*ids)[40];
    int *seq;       /* data.i, or -1 */
    char (*types)[64];
    char (*tenants)[32];
    char (*subjects)[32];
    int target;
    bool done;
} got_t;

static void got_init(got_t *g, int cap, int target)
{
    memset(g, 0, sizeof(*g));
    g->cap = cap;
    g->target = target;
    g->ids = calloc((size_t)cap, sizeof(*g->ids));
    g->seq = calloc((size_t)cap, sizeof(*g->seq));
    g->types = calloc((size_t)cap, sizeof(*g->types));
    g->tenants = calloc((size_t)cap, sizeof(*g->tenants));
    g->subjects = calloc((size_t)cap, sizeof(*g->subjects));
    assert_non_null(g->ids);
    assert_non_null(g->seq);
    assert_non_null(g->types);
    assert_non_null(g->tenants);
    assert_non_null(g->subjects);
}

static void got_free(got_t *g)
{
    free(g->ids);
    free(g->seq);
    free(g->types);
    free(g->tenants);
    free(g->subjects);
}

static void on_event(const bus_event_t *ev, void *arg)
{
    got_t *g = arg;
    if (g->n < g->cap) {
        snprintf(g->ids[g->n], sizeof(g->ids[0]), "%s", ev->id);
        snprintf(g->types[g->n], sizeof(g->types[0]), "%s", ev->type);
        snprintf(g->tenants[g->n], sizeof(g->tenants[0]), "%s", ev->tenant);
        snprintf(g->subjects[g->n], sizeof(g->subjects[0]), "%s", ev->subject ? ev->subject : "");
        cJSON *d = cJSON_Parse(ev->data);
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(d, "i");
        g->seq[g->n] = cJSON_IsNumber(i) ? i->valueint : -1;
        cJSON_Delete(d);
    }
    g->n++;
    if (g->target && g->n >= g->target)
        g->done = true;
}

/* One write transaction with n events (data {"i": first..first+n-1}); ends with `end`. */
static void write_events(fm_db_t *db, int first, int n, int end)
{
    sqlite3 *w = fm_db_write_begin(db);
    assert_non_null(w);
    char err[256];
    assert_int_equal(fm_db_exec(w, "CREATE TABLE IF NOT EXISTS things (id INTEGER PRIMARY KEY)",
                                err, sizeof(err)), FM_OK);
    for (int i = first; i < first + n; i++) {
        char data[32];
        snprintf(data, sizeof(data), "{\"i\":%d}", i);
        assert_int_equal(fm_db_exec(w, "INSERT INTO things DEFAULT VALUES", err, sizeof(err)), FM_OK);
        assert_int_equal(bus_outbox_add(db, w, "t", "t.thing.created", "thing_1", "acme", data), FM_OK);
    }
    assert_int_equal(fm_db_write_end(db, end), end == FM_OK ? FM_OK : end);
}

typedef struct {
    fm_test_db_t db;
    fm_test_loop_t loop;
    got_t got;
} fix_t;

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    fm_test_db_open(&f->db, true);
    fm_test_loop_init(&f->loop, 1024, 1000);
    got_init(&f->got, 2000, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;
    fm_test_loop_done(&f->loop);    /* the bus goes first: it still points at the db */
    fm_test_db_close(&f->db);
    got_free(&f->got);
    free(f);
    return 0;
}

static long long outbox_rows(fm_test_db_t *db)
{
    return fm_test_db_int(db, "SELECT COUNT(*) FROM fm_outbox");
}

static void test_commit_delivers_and_deletes(void **state)
{
    fix_t *f = *state;
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 0);

    write_events(f->db.db, 0, 1, FM_OK);
    assert_int_equal(outbox_rows(&f->db), 1);   /* written with the change */
    assert_int_equal(f->got.n, 0);              /* delivered on the loop, not in the commit */

    /* the commit kicked the loop: running it delivers */
    f->got.target = 1;
    assert_true(fm_test_loop_run_until(&f->loop, &f->got.done, 2000));
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.types[0], "t.thing.created");
    assert_string_equal(f->got.tenants[0], "acme");
    assert_string_equal(f->got.subjects[0], "thing_1");
    assert_int_equal(f->got.seq[0], 0);
    assert_int_equal(strlen(f->got.ids[0]), 36);
    /* and the row is gone once delivered */
    assert_int_equal(outbox_rows(&f->db), 0);
    assert_int_equal(fm_test_db_int(&f->db, "SELECT COUNT(*) FROM things"), 1);
    /* never twice */
    bus_flush();
    assert_int_equal(f->got.n, 1);
    bus_stats_t s = bus_stats();
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.depth, 0);
}

static void test_commit_then_flush(void **state)
{
    fix_t *f = *state;
    assert_true(bus_subscribe("t.thing.*", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    write_events(f->db.db, 0, 3, FM_OK);
    write_events(f->db.db, 3, 2, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(f->got.seq[i], i);
    assert_int_equal(outbox_rows(&f->db), 0);
}

/* Rows are read back without a JSON parser when they are in bus_event_json's own shape;
 * a value with an escape (or no subject) takes the parser: both give the same event. */
static void test_rows_with_escapes_and_without_subject(void **state)
{
    fix_t *f = *state;
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    sqlite3 *w = fm_db_write_begin(f->db.db);
    assert_non_null(w);
    assert_int_equal(bus_outbox_add(f->db.db, w, "t", "t.a", "q\"u\\o", "acme", "{\"i\":0,\"s\":\"\\\"}\"}"), FM_OK);
    assert_int_equal(bus_outbox_add(f->db.db, w, "t", "t.b", NULL, "acme", "{\"i\":1}"), FM_OK);
    assert_int_equal(bus_outbox_add(f->db.db, w, "t", "t.c", "plain", "ac\"me", NULL), FM_OK);
    assert_int_equal(fm_db_write_end(f->db.db, FM_OK), FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 3);
    assert_string_equal(f->got.subjects[0], "q\"u\\o");
    assert_int_equal(f->got.seq[0], 0);
    assert_string_equal(f->got.subjects[1], "");
    assert_int_equal(f->got.seq[1], 1);
    assert_string_equal(f->got.types[2], "t.c");
    assert_string_equal(f->got.tenants[2], "ac\"me");
    assert_string_equal(f->got.subjects[2], "plain");
    assert_int_equal(outbox_rows(&f->db), 0);
}

static void test_rollback_delivers_nothing(void **state)
{
    fix_t *f = *state;
    assert_true(bus_subscribe(">", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    write_events(f->db.db, 0, 3, FM_EDB);
    assert_int_equal(outbox_rows(&f->db), 0);
    bus_flush();
    uv_run(&f->loop.loop, UV_RUN_NOWAIT);
    assert_int_equal(f->got.n, 0);
    assert_int_equal(bus_stats().delivered, 0);
    /* a later commit delivers its own events only */
    write_events(f->db.db, 10, 1, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 1);
    assert_int_equal(f->got.seq[0], 10);
}

/* The batch hook (bus_on_batch, the durable log's group commit) runs after the
 * subscribers and before the outbox rows go: when it fails, the rows stay. */
static int hook_calls;
static bool hook_ok;

static bool batch_hook(void *arg)
{
    (void)arg;
    hook_calls++;
    return hook_ok;
}

static void test_batch_hook_keeps_rows_on_failure(void **state)
{
    fix_t *f = *state;
    assert_true(bus_subscribe(">", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    bus_flush();
    hook_calls = 0;
    hook_ok = false;
    bus_on_batch(batch_hook, NULL);
    write_events(f->db.db, 0, 2, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 2);
    assert_true(hook_calls >= 1);
    assert_int_equal(outbox_rows(&f->db), 2);   /* not durable elsewhere: kept */
    hook_ok = true;
    write_events(f->db.db, 2, 1, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 3);
    assert_int_equal(outbox_rows(&f->db), 0);   /* the next good batch deletes all three */
    bus_on_batch(NULL, NULL);
}

static void test_add_rejects_bad_input(void **state)
{
    fix_t *f = *state;
    sqlite3 *w = fm_db_write_begin(f->db.db);
    assert_non_null(w);
    assert_int_equal(bus_outbox_add(f->db.db, w, "t", "bad..type", NULL, "acme", NULL), FM_EINVAL);
    assert_int_equal(bus_outbox_add(f->db.db, w, "", "a.b", NULL, "acme", NULL), FM_EINVAL);
    assert_int_equal(bus_outbox_add(f->db.db, w, "t", "a.b", NULL, "", NULL), FM_EINVAL);
    assert_int_equal(fm_db_write_end(f->db.db, FM_OK), FM_OK);
    assert_int_equal(outbox_rows(&f->db), 0);
}

/* Committed while no bus drains the outbox (a crash right after the commit): the next
 * start delivers the event exactly once, with the id it was written with. */
static void test_survives_restart(void **state)
{
    fix_t *f = *state;
    /* "first run": the bus is up but this db is not attached, and the process stops */
    write_events(f->db.db, 42, 1, FM_OK);
    assert_int_equal(outbox_rows(&f->db), 1);
    char stored_id[64] = "";
    {
        sqlite3 *c = fm_db_reader(f->db.db);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(c, "SELECT event FROM fm_outbox", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        cJSON *ev = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        assert_non_null(ev);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(ev, "specversion")->valuestring, "1.0");
        snprintf(stored_id, sizeof(stored_id), "%s",
                 cJSON_GetObjectItemCaseSensitive(ev, "id")->valuestring);
        cJSON_Delete(ev);
        sqlite3_finalize(st);
        fm_db_reader_done(f->db.db, c);
    }
    fm_test_loop_done(&f->loop);
    fm_test_db_close_only(&f->db);

    /* "restart": a new loop and bus, the database reopened and attached */
    fm_test_loop_init(&f->loop, 1024, 1000);
    fm_test_db_reopen(&f->db);
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    f->got.target = 1;
    assert_true(fm_test_loop_run_until(&f->loop, &f->got.done, 2000));
    assert_int_equal(f->got.n, 1);
    assert_string_equal(f->got.ids[0], stored_id);
    assert_int_equal(f->got.seq[0], 42);
    assert_int_equal(outbox_rows(&f->db), 0);
    bus_flush();
    assert_int_equal(f->got.n, 1);

    /* a third start finds nothing left to deliver */
    fm_test_loop_done(&f->loop);
    fm_test_db_close_only(&f->db);
    fm_test_loop_init(&f->loop, 1024, 1000);
    fm_test_db_reopen(&f->db);
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 1);
}

/* Rows written by a previous run, then new commits after the attach: old rows first. */
static void test_restart_then_new_events_in_order(void **state)
{
    fix_t *f = *state;
    write_events(f->db.db, 0, 5, FM_OK);    /* not attached: stays in the outbox */
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    write_events(f->db.db, 5, 5, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(f->got.seq[i], i);
    assert_int_equal(outbox_rows(&f->db), 0);
}

static void test_many_events_small_queue(void **state)
{
    fix_t *f = *state;
    fm_test_loop_done(&f->loop);
    fm_test_loop_init(&f->loop, 64, 0);     /* far smaller than the batch */
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    write_events(f->db.db, 0, 1000, FM_OK);
    assert_int_equal(outbox_rows(&f->db), 1000);
    f->got.target = 1000;
    /* the loop drains the outbox no more than 64 at a time */
    assert_true(fm_test_loop_run_until(&f->loop, &f->got.done, 5000));
    assert_int_equal(f->got.n, 1000);
    for (int i = 0; i < 1000; i++)
        if (f->got.seq[i] != i)
            fail_msg("event %d carries i=%d", i, f->got.seq[i]);
    for (int i = 1; i < 1000; i++)
        assert_string_not_equal(f->got.ids[i - 1], f->got.ids[i]);
    bus_flush();
    assert_int_equal(f->got.n, 1000);
    assert_int_equal(outbox_rows(&f->db), 0);
    bus_stats_t s = bus_stats();
    assert_int_equal(s.delivered, 1000);
    assert_int_equal(s.rejected, 0);
    assert_int_equal(s.depth, 0);
}

static void test_many_events_flush(void **state)
{
    fix_t *f = *state;
    fm_test_loop_done(&f->loop);
    fm_test_loop_init(&f->loop, 64, 0);
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    write_events(f->db.db, 0, 1000, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 1000);
    for (int i = 0; i < 1000; i++)
        if (f->got.seq[i] != i)
            fail_msg("event %d carries i=%d", i, f->got.seq[i]);
    assert_int_equal(outbox_rows(&f->db), 0);
}

/* The outbox shares the queue with direct publishes: a full queue makes the drain wait,
 * it never drops or duplicates. */
static void test_outbox_and_direct_publishes(void **state)
{
    fix_t *f = *state;
    fm_test_loop_done(&f->loop);
    fm_test_loop_init(&f->loop, 16, 0);
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    bus_flush();
    for (int i = 0; i < 16; i++)
        assert_int_equal(bus_publish("t", "t.direct", NULL, "acme", "{\"i\":-5}"), FM_OK);
    write_events(f->db.db, 0, 40, FM_OK);
    bus_flush();
    assert_int_equal(f->got.n, 56);
    int next = 0;
    for (int i = 0; i < 56; i++)
        if (!strcmp(f->got.types[i], "t.thing.created"))
            assert_int_equal(f->got.seq[i], next++);
    assert_int_equal(next, 40);
    assert_int_equal(outbox_rows(&f->db), 0);
}

/* Commits from worker threads while the loop delivers: each commit kicks the loop from
 * the committing thread; nothing is lost, duplicated or reordered per writer. */
#define WRITERS 4
#define PER_WRITER 250

typedef struct {
    fm_db_t *db;
    int tid;
    int failed;
} writer_arg_t;

static void *writer(void *arg)
{
    writer_arg_t *a = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        sqlite3 *w = fm_db_write_begin(a->db);
        if (!w) {
            a->failed++;
            continue;
        }
        char data[48];
        snprintf(data, sizeof(data), "{\"i\":%d}", a->tid * PER_WRITER + i);
        int rc = bus_outbox_add(a->db, w, "t", "t.thing.created", NULL, "acme", data);
        if (fm_db_write_end(a->db, rc) != FM_OK)
            a->failed++;
    }
    return NULL;
}

static void test_commits_from_worker_threads(void **state)
{
    fix_t *f = *state;
    fm_test_loop_done(&f->loop);
    fm_test_loop_init(&f->loop, 64, 0);
    f->got.target = WRITERS * PER_WRITER;
    assert_true(bus_subscribe("t.>", on_event, &f->got) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "t"), FM_OK);
    pthread_t th[WRITERS];
    writer_arg_t args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (writer_arg_t){ f->db.db, i, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    bool ok = fm_test_loop_run_until(&f->loop, &f->got.done, 10000);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failed, 0);
    }
    bus_flush();
    assert_true(ok);
    assert_int_equal(f->got.n, WRITERS * PER_WRITER);
    unsigned char seen[WRITERS * PER_WRITER] = { 0 };
    int last[WRITERS] = { -1, -1, -1, -1 };
    for (int i = 0; i < f->got.n; i++) {
        int v = f->got.seq[i];
        assert_true(v >= 0 && v < WRITERS * PER_WRITER);
        assert_int_equal(seen[v]++, 0);
        int tid = v / PER_WRITER;
        assert_true(v > last[tid]);     /* one writer's events in its commit order */
        last[tid] = v;
    }
    assert_int_equal(outbox_rows(&f->db), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_commit_delivers_and_deletes),
        T(test_commit_then_flush),
        T(test_rows_with_escapes_and_without_subject),
        T(test_batch_hook_keeps_rows_on_failure),
        T(test_rollback_delivers_nothing),
        T(test_add_rejects_bad_input),
        T(test_survives_restart),
        T(test_restart_then_new_events_in_order),
        T(test_many_events_small_queue),
        T(test_many_events_flush),
        T(test_outbox_and_direct_publishes),
        T(test_commits_from_worker_threads),
    };
    return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
