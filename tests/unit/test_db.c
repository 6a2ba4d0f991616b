/*
 * test_db.c — the module database: writes behind the write lock, pooled readers that
 * idle out, and background checkpoints (no checkpoint inside a commit when asked; a WAL
 * past wal_truncate_bytes truncated to nothing).
 */
#include "fm_test.h"

#include "fm_db.h"

#include <stdio.h>
#include <string.h>

static void fill(fm_db_t *db, int rows)
{
    sqlite3 *w = fm_db_write_begin(db);
    assert_non_null(w);
    assert_int_equal(fm_db_exec(w, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v BLOB)", NULL, 0), FM_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(w, "INSERT INTO t(v) VALUES (zeroblob(4000))", -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < rows; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(fm_db_write_end(db, FM_OK), FM_OK);
}

static void test_background_checkpoint(void **state)
{
    (void)state;
    char dir[256], path[320], err[256];
    fm_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/bg.db", dir);
    fm_db_opts_t opts = { false, 256, true, 0 };
    fm_db_t *db = NULL;
    assert_int_equal(fm_db_open(&db, path, &opts, err, sizeof(err)), FM_OK);
    /* ~6 MB in many commits: SQLite would checkpoint at 1000 pages (4 MB) on its own */
    for (int i = 0; i < 15; i++)
        fill(db, 100);
    int64_t grown = fm_db_wal_size(db);
    assert_true(grown > 5 * 1024 * 1024);
    assert_int_equal(fm_db_checkpoint(db), FM_OK);
    /* everything was copied: the next commits start the WAL over instead of growing it */
    fill(db, 10);
    assert_int_equal(fm_db_wal_size(db), grown);
    sqlite3 *c = fm_db_reader(db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1510);
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    fm_db_close(db);
    fm_test_rmdir(dir);
}

static void test_large_wal_truncated(void **state)
{
    (void)state;
    char dir[256], path[320], err[256];
    fm_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/big.db", dir);
    /* 4 MiB stands for the 64 MiB default (FM_DB_WAL_TRUNCATE_BYTES) */
    fm_db_opts_t opts = { .cache_kib = 256, .background_checkpoint = true, .wal_truncate_bytes = 4 << 20 };
    fm_db_t *db = NULL;
    assert_int_equal(fm_db_open(&db, path, &opts, err, sizeof(err)), FM_OK);
    fill(db, 500);                              /* ~2 MB: under the limit */
    int64_t small = fm_db_wal_size(db);
    assert_true(small > 1024 * 1024 && small < 4 << 20);
    assert_int_equal(fm_db_checkpoint(db), FM_OK);
    assert_int_equal(fm_db_wal_size(db), small);   /* PASSIVE only: the file stays */
    for (int i = 0; i < 15; i++)                /* ~6 MB more: past it */
        fill(db, 100);
    assert_true(fm_db_wal_size(db) > 4 << 20);
    /* a reader between transactions does not stop it */
    sqlite3 *c = fm_db_reader(db);
    assert_int_equal(fm_db_checkpoint(db), FM_OK);
    assert_int_equal(fm_db_wal_size(db), 0);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2000);
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    /* writes go on in the emptied WAL */
    fill(db, 10);
    assert_true(fm_db_wal_size(db) > 0 && fm_db_wal_size(db) < 1024 * 1024);
    fm_db_close(db);
    fm_test_rmdir(dir);
}

static void test_default_checkpoints_itself(void **state)
{
    (void)state;
    fm_test_db_t t;
    fm_test_db_open(&t, false);
    for (int i = 0; i < 15; i++)
        fill(t.db, 100);
    /* SQLite's own auto-checkpoint reset the WAL along the way: it stays near 4 MB */
    assert_true(fm_db_wal_size(t.db) < 5 * 1024 * 1024);
    fm_test_db_close(&t);
}

static void test_readers_idle_out(void **state)
{
    (void)state;
    fm_test_db_t t;
    fm_test_db_open(&t, false);
    fill(t.db, 1);
    sqlite3 *a = fm_db_reader(t.db), *b = fm_db_reader(t.db);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    fm_db_reader_done(t.db, a);
    fm_db_reader_done(t.db, b);
    fm_db_trim(t.db, 3600);             /* not idle long enough: kept */
    sqlite3 *c = fm_db_reader(t.db);
    assert_true(c == a || c == b);      /* a pooled one came back */
    fm_db_reader_done(t.db, c);
    fm_db_trim(t.db, 0);                /* all closed */
    sqlite3 *d = fm_db_reader(t.db);    /* a fresh one still works */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(d, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    fm_db_reader_done(t.db, d);
    fm_test_db_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_background_checkpoint),
        cmocka_unit_test(test_large_wal_truncated),
        cmocka_unit_test(test_default_checkpoints_itself),
        cmocka_unit_test(test_readers_idle_out),
    };
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
