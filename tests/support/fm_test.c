/* fm_test.c — the shared unit-test fixtures; see fm_test.h. */
#define _XOPEN_SOURCE 700
#include "fm_test.h"

#include "bus/bus.h"
#include "fm_migrate.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fm_test_tmpdir(char *out, size_t len)
{
    assert_true(len >= sizeof("/tmp/fm-test-XXXXXX"));
    snprintf(out, len, "/tmp/fm-test-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void fm_test_rmdir(const char *path)
{
    if (!path || !*path || access(path, F_OK) != 0)
        return;
    assert_int_equal(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

void fm_test_db_reopen(fm_test_db_t *t)
{
    fm_db_opts_t opts = { false, 256, false, 0 };
    char err[512] = "";
    int rc = fm_db_open(&t->db, t->path, &opts, err, sizeof(err));
    if (rc != 0)
        fail_msg("fm_db_open(%s): %s", t->path, err);
    assert_non_null(t->db);
}

void fm_test_db_open(fm_test_db_t *t, bool migrate)
{
    memset(t, 0, sizeof(*t));
    fm_test_tmpdir(t->dir, sizeof(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/test.db", t->dir);
    fm_test_db_reopen(t);
    if (migrate) {
        char err[512] = "";
        int applied = -1;
        int rc = fm_migrate_apply(t->db, "t", NULL, 0, &applied, err, sizeof(err));
        if (rc != 0)
            fail_msg("fm_migrate_apply: %s", err);
        assert_int_equal(applied, 0);
    }
}

void fm_test_db_close_only(fm_test_db_t *t)
{
    fm_db_close(t->db);
    t->db = NULL;
}

void fm_test_db_close(fm_test_db_t *t)
{
    fm_test_db_close_only(t);
    fm_test_rmdir(t->dir);
    t->dir[0] = 0;
}

long long fm_test_db_int(fm_test_db_t *t, const char *sql)
{
    sqlite3 *c = fm_db_reader(t->db);
    assert_non_null(c);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(c));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    fm_db_reader_done(t->db, c);
    return v;
}

void fm_test_loop_init(fm_test_loop_t *t, size_t capacity, int publish_timeout_ms)
{
    memset(t, 0, sizeof(*t));
    assert_int_equal(uv_loop_init(&t->loop), 0);
    assert_int_equal(bus_init(&t->loop, capacity, publish_timeout_ms), 0);
    t->bus_up = true;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void fm_test_loop_done(fm_test_loop_t *t)
{
    if (t->bus_up)
        bus_shutdown();
    t->bus_up = false;
    uv_walk(&t->loop, close_walk, NULL);
    assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&t->loop), 0);
}

static void on_deadline(uv_timer_t *h)
{
    *(bool *)h->data = true;
}

static void on_timer_closed(uv_handle_t *h)
{
    *(bool *)h->data = true;
}

bool fm_test_loop_run_until(fm_test_loop_t *t, volatile bool *flag, int timeout_ms)
{
    uv_timer_t timer;
    bool timed_out = false;
    assert_int_equal(uv_timer_init(&t->loop, &timer), 0);
    timer.data = &timed_out;
    assert_int_equal(uv_timer_start(&timer, on_deadline, (uint64_t)timeout_ms, 0), 0);
    while (!*flag && !timed_out)
        uv_run(&t->loop, UV_RUN_ONCE);
    bool closed = false;
    timer.data = &closed;
    uv_close((uv_handle_t *)&timer, on_timer_closed);
    while (!closed)     /* the timer lives on this stack frame: wait for its close */
        uv_run(&t->loop, UV_RUN_NOWAIT);
    return *flag;
}

void fm_test_write_file(const char *dir, const char *name, const char *text, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}
