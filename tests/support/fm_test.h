/*
 * fm_test.h — fixtures shared by the cmocka unit tests (tests/unit/test_*.c):
 * temporary directories, a module database in one, and a libuv loop carrying the bus
 * with a teardown in the spirit of libuv's MAKE_VALGRIND_HAPPY (every handle closed,
 * uv_loop_close() == 0).
 *
 * Include after <cmocka.h>'s prerequisites; every helper fails the running test
 * (cmocka assert) rather than returning an error.
 */
#ifndef FM_TEST_H
#define FM_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fm.h"
#include "fm_db.h"

#include <stdbool.h>
#include <uv.h>

/* mkdtemp under /tmp ("/tmp/fm-test-XXXXXX"); out gets the path. */
void fm_test_tmpdir(char *out, size_t len);
/* Removes path and everything under it (nftw, depth first). Missing path is fine. */
void fm_test_rmdir(const char *path);

/* A module database in its own temporary directory, opened with {false, 256}. */
typedef struct fm_test_db {
    char dir[256];
    char path[320];     /* <dir>/test.db */
    fm_db_t *db;
} fm_test_db_t;

/* Makes the directory and opens <dir>/test.db; with `migrate`, applies the core schema
 * (schema_migrations, fm_outbox) through fm_migrate_apply with an empty list. */
void fm_test_db_open(fm_test_db_t *t, bool migrate);
/* Closes the database only (the files stay, for reopen tests). */
void fm_test_db_close_only(fm_test_db_t *t);
/* Reopens <dir>/test.db after fm_test_db_close_only. */
void fm_test_db_reopen(fm_test_db_t *t);
/* Closes the database and removes the directory. */
void fm_test_db_close(fm_test_db_t *t);
/* SELECT that yields one integer (e.g. COUNT(*)) on a reader connection. */
long long fm_test_db_int(fm_test_db_t *t, const char *sql);

/* A private libuv loop with the bus on it. */
typedef struct fm_test_loop {
    uv_loop_t loop;
    bool bus_up;
} fm_test_loop_t;

/* uv_loop_init + bus_init(capacity, publish_timeout_ms) on the calling thread. */
void fm_test_loop_init(fm_test_loop_t *t, size_t capacity, int publish_timeout_ms);
/* bus_shutdown, closes whatever else is open, runs the loop, asserts uv_loop_close()==0. */
void fm_test_loop_done(fm_test_loop_t *t);
/* Runs the loop until *flag is true or timeout_ms passed (a timer guards it);
 * returns *flag. Callbacks set the flag and may call uv_stop. */
bool fm_test_loop_run_until(fm_test_loop_t *t, volatile bool *flag, int timeout_ms);

/* Writes text to <dir>/<name>; out gets the full path. */
void fm_test_write_file(const char *dir, const char *name, const char *text, char *out, size_t len);

#endif
