/*
 * test_dbq_hot.c — the statement helper's writer hot path (fm_dbq_wrun/wone/weach, src/fm_dbq.c):
 * statements kept by the address of their static SQL, the same error mapping as the
 * text-keyed calls, the fallback once the writer's address cache is full, and the rowid
 * of the last insert; fm_dbq_vpage, a page whose parameters come as a va_list.
 */
#include "fm_test.h"

#include "fm_dbq.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    fm_test_db_t *t = calloc(1, sizeof(*t));
    fm_test_db_open(t, false);
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_non_null(w);
    assert_int_equal(fm_dbq_write_end(w, fm_dbq_run(w, "CREATE TABLE h(k INTEGER PRIMARY KEY, name TEXT UNIQUE, "
                                                       "n INTEGER NOT NULL)", "")), FM_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fm_test_db_t *t = *state;
    assert_int_equal(fm_db_readers_lent(t->db), 0);
    fm_test_db_close(t);
    free(t);
    return 0;
}

static const char INS[] = "INSERT INTO h(name, n) VALUES (?, ?)";
static const char GET[] = "SELECT name, n FROM h WHERE name = ?";
static const char ALL[] = "SELECT name, n FROM h ORDER BY k";
static const char BUMP[] = "UPDATE h SET n = n + ? WHERE n >= ?";

static int sum_row(const fm_dbrow_t *r, void *arg)
{
    *(int64_t *)arg += fm_dbrow_int(r, 1);
    return FM_OK;
}

static int name_row(const fm_dbrow_t *r, void *arg)
{
    fm_dbrow_copy(r, 0, arg, 16);
    return FM_OK;
}

static void hot_statements_run_read_and_count(void **state)
{
    fm_test_db_t *t = *state;
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_non_null(w);
    for (int i = 0; i < 5; i++) {      /* the same statement again and again: reset, rebound */
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(fm_dbq_wrun(w, INS, "si", name, i), FM_OK);
        assert_int_equal(fm_dbq_last_id(w), i + 1);
    }
    assert_int_equal(fm_dbq_wrun(w, BUMP, "ii", 10, 3), FM_OK);
    assert_int_equal(fm_dbq_changes(w), 2);
    char got[16] = "";
    assert_int_equal(fm_dbq_wone(w, GET, name_row, got, "s", "n4"), FM_OK);
    assert_string_equal(got, "n4");
    assert_int_equal(fm_dbq_wone(w, GET, name_row, got, "s", "none"), FM_ENOTFOUND);
    int64_t sum = 0;
    assert_int_equal(fm_dbq_weach(w, ALL, sum_row, &sum, ""), FM_OK);
    assert_int_equal(sum, 0 + 1 + 2 + 13 + 14);
    assert_int_equal(fm_dbq_write_end(w, FM_OK), FM_OK);
    /* what the writer committed, read on a reader by the text-keyed calls */
    int64_t n = 0;
    fm_dbc_t *c = fm_dbq_reader(t->db);
    assert_int_equal(fm_dbq_int(c, "SELECT count(*) FROM h", &n, ""), FM_OK);
    fm_dbq_reader_done(c);
    assert_int_equal(n, 5);
}

static void hot_statements_map_errors(void **state)
{
    fm_test_db_t *t = *state;
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_int_equal(fm_dbq_wrun(w, INS, "si", "a", 1), FM_OK);
    assert_int_equal(fm_dbq_wrun(w, INS, "si", "a", 2), FM_ECONFLICT);      /* unique name */
    assert_int_equal(fm_dbq_wrun(w, INS, "sn", "b"), FM_EDB);               /* NOT NULL */
    assert_int_equal(fm_dbq_wrun(w, INS, "s", "c"), FM_EDB);                /* format too short */
    assert_int_equal(fm_dbq_wrun(w, INS, "si", "d", 4), FM_OK);             /* still usable */
    assert_int_equal(fm_dbq_write_end(w, FM_ECONFLICT), FM_ECONFLICT);      /* rolled back */
    int64_t n = -1;
    fm_dbc_t *c = fm_dbq_reader(t->db);
    assert_int_equal(fm_dbq_wrun(c, INS, "si", "e", 5), FM_EINVAL);         /* not the writer */
    assert_int_equal(fm_dbq_int(c, "SELECT count(*) FROM h", &n, ""), FM_OK);
    fm_dbq_reader_done(c);
    assert_int_equal(n, 0);
}

/* More static statements than the writer keeps by address: the rest still run (on the
 * text-keyed cache), each one right. */
static char many[100][80];

static void hot_statements_past_the_cache_still_run(void **state)
{
    fm_test_db_t *t = *state;
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    for (int i = 0; i < 100; i++) {
        snprintf(many[i], sizeof(many[i]), "INSERT INTO h(name, n) VALUES (?, %d)", i);
        char name[16];
        snprintf(name, sizeof(name), "m%d", i);
        assert_int_equal(fm_dbq_wrun(w, many[i], "s", name), FM_OK);
    }
    for (int i = 0; i < 100; i += 33) {     /* again, after the caches filled */
        char name[16];
        snprintf(name, sizeof(name), "x%d", i);
        assert_int_equal(fm_dbq_wrun(w, many[i], "s", name), FM_OK);
    }
    int64_t sum = 0;
    assert_int_equal(fm_dbq_weach(w, ALL, sum_row, &sum, ""), FM_OK);
    assert_int_equal(sum, 99 * 100 / 2 + 0 + 33 + 66 + 99);
    assert_int_equal(fm_dbq_write_end(w, FM_OK), FM_OK);
}

/* A store's own variadic list call, as execution.c's reply_rows. */
static int page_of(fm_db_t *db, cJSON *into, int *total, int limit, int offset, const char *fmt, ...)
{
    fm_dbq_page_t p = { .count_sql = "SELECT count(*) FROM h WHERE (?1 IS NULL OR name >= ?1) AND n >= ?2",
                        .rows_sql = "SELECT name, n FROM h WHERE (?1 IS NULL OR name >= ?1) AND n >= ?2 "
                                    "ORDER BY k LIMIT ?3 OFFSET ?4",
                        .hints = "si", .offset = offset, .limit = limit };
    fm_dbc_t *c = fm_dbq_reader(db);
    va_list ap;
    va_start(ap, fmt);
    int rc = fm_dbq_vpage(c, &p, into, total, fmt, ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

static void a_page_from_a_va_list(void **state)
{
    fm_test_db_t *t = *state;
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%d", i);
        assert_int_equal(fm_dbq_wrun(w, INS, "si", name, i), FM_OK);
    }
    assert_int_equal(fm_dbq_write_end(w, FM_OK), FM_OK);
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    assert_int_equal(page_of(t->db, items, &total, 2, 1, "sI", NULL, (int64_t)2), FM_OK);   /* NULL: no filter */
    assert_int_equal(total, 4);
    assert_int_equal(cJSON_GetArraySize(items), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "name")->valuestring, "p3");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 1), "n")->valueint, 4);
    cJSON_Delete(items);
    items = cJSON_CreateArray();
    assert_int_equal(page_of(t->db, items, &total, 10, 0, "sI", "p5", (int64_t)0), FM_OK);
    assert_int_equal(total, 1);
    assert_int_equal(cJSON_GetArraySize(items), 1);
    assert_int_equal(page_of(t->db, items, &total, 10, 0, "s", "p5"), FM_EDB);     /* format too short */
    cJSON_Delete(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hot_statements_run_read_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(hot_statements_map_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(hot_statements_past_the_cache_still_run, setup, teardown),
        cmocka_unit_test_setup_teardown(a_page_from_a_va_list, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
