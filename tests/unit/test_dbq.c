/*
 * test_dbq.c — the statement helper (src/fm_dbq.c): every parameter type bound and read
 * back, rows into a struct and into cJSON with type hints, pages, error mapping, the
 * per-connection statement cache (reuse, text keys, nesting, eviction), rollback, and
 * readers given back on every path, also by the stores built on it (registry).
 */
#include "fm_test.h"

#include "bus/bus.h"
#include "fm_db_int.h"
#include "fm_dbq.h"
#include "modules/registry/registry_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE t(id TEXT PRIMARY KEY, i INTEGER, big INTEGER, d REAL, b BLOB, n TEXT, j TEXT, "
    "flag INTEGER, at_ms INTEGER)";

static int setup(void **state)
{
    fm_test_db_t *t = calloc(1, sizeof(*t));
    fm_test_db_open(t, true);
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_non_null(w);
    assert_int_equal(fm_dbq_write_end(w, fm_dbq_run(w, SCHEMA, "")), FM_OK);
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

static const char INS[] = "INSERT INTO t(id, i, big, d, b, n, j, flag, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

static void insert(fm_db_t *db, const char *id, int i, const cJSON *j)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    assert_non_null(w);
    int rc = fm_dbq_run(w, INS, "siIdbnjiI", id, i, (int64_t)1 << 40, 2.5, "\0\1\2", (size_t)3, j, i % 2,
                        (int64_t)86400000);
    assert_int_equal(fm_dbq_write_end(w, rc), FM_OK);
}

typedef struct {
    char id[16];
    int i;
    int64_t big;
    double d;
    unsigned char b[8];
    size_t blen;
    bool n_null;
    cJSON *j;
} row_t;

static int read_row(const fm_dbrow_t *r, void *arg)
{
    row_t *o = arg;
    fm_dbrow_copy(r, 0, o->id, sizeof(o->id));
    o->i = (int)fm_dbrow_int(r, 1);
    o->big = fm_dbrow_int(r, 2);
    o->d = fm_dbrow_double(r, 3);
    const void *p = fm_dbrow_blob(r, 4, &o->blen);
    if (p && o->blen <= sizeof(o->b))
        memcpy(o->b, p, o->blen);
    o->n_null = fm_dbrow_null(r, 5) && !fm_dbrow_text(r, 5) && !strcmp(fm_dbrow_str(r, 5), "");
    o->j = fm_dbrow_json(r, 6);
    return FM_OK;
}

static void binds_every_type_and_reads_a_row_into_a_struct(void **state)
{
    fm_test_db_t *t = *state;
    cJSON *j = cJSON_Parse("{\"a\":[1,2]}");
    insert(t->db, "x1", 7, j);
    fm_dbc_t *c = fm_dbq_reader(t->db);
    assert_non_null(c);
    row_t o = { 0 };
    assert_int_equal(fm_dbq_one(c, "SELECT id, i, big, d, b, n, j FROM t WHERE id = ?", read_row, &o, "s", "x1"),
                     FM_OK);
    assert_string_equal(o.id, "x1");
    assert_int_equal(o.i, 7);
    assert_true(o.big == (int64_t)1 << 40);
    assert_true(o.d == 2.5);
    assert_int_equal(o.blen, 3);
    assert_memory_equal(o.b, "\0\1\2", 3);
    assert_true(o.n_null);
    assert_true(cJSON_Compare(o.j, j, true));
    cJSON_Delete(o.j);
    /* NULL text, NULL JSON and NULL blob bind NULL */
    int64_t n = -1;
    assert_int_equal(fm_dbq_run(NULL, "SELECT 1", ""), FM_EINVAL);
    fm_dbq_reader_done(c);
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_int_equal(fm_dbq_run(w, INS, "siIdbnjiI", "x2", 1, (int64_t)0, 0.0, NULL, (size_t)0, NULL, 0, (int64_t)0),
                     FM_OK);
    assert_int_equal(fm_dbq_changes(w), 1);
    assert_int_equal(fm_dbq_write_end(w, FM_OK), FM_OK);
    c = fm_dbq_reader(t->db);
    assert_int_equal(fm_dbq_int(c, "SELECT count(*) FROM t WHERE id = ? AND b IS NULL AND j IS NULL", &n, "s", "x2"),
                     FM_OK);
    assert_int_equal(n, 1);
    char *s = NULL;
    assert_int_equal(fm_dbq_str(c, "SELECT j FROM t WHERE id = ?", &s, "s", "x1"), FM_OK);
    assert_string_equal(s, "{\"a\":[1,2]}");
    free(s);
    assert_int_equal(fm_dbq_str(c, "SELECT j FROM t WHERE id = ?", &s, "s", "x2"), FM_OK);
    assert_null(s);
    fm_dbq_reader_done(c);
    cJSON_Delete(j);
}

static void row_to_json_follows_the_hints(void **state)
{
    fm_test_db_t *t = *state;
    cJSON *j = cJSON_Parse("{\"k\":true}");
    insert(t->db, "x1", 3, j);
    insert(t->db, "x2", 4, NULL);
    fm_dbc_t *c = fm_dbq_reader(t->db);
    cJSON *o = NULL;
    static const char sql[] = "SELECT id, i AS \"count\", j AS \"meta\", flag AS \"on\", at_ms AS \"at\", b, "
                              "n AS \"note\", d, j AS \"obj\" FROM t WHERE id = ?";
    assert_int_equal(fm_dbq_obj(c, sql, "sijbt-saJ", &o, "s", "x1"), FM_OK);
    char *text = cJSON_PrintUnformatted(o);
    assert_string_equal(text, "{\"id\":\"x1\",\"count\":3,\"meta\":{\"k\":true},\"on\":true,"
                              "\"at\":\"1970-01-02T00:00:00.000Z\",\"note\":null,\"d\":2.5,\"obj\":{\"k\":true}}");
    free(text);
    cJSON_Delete(o);
    /* NULL JSON: j → null, J → {}; 'a' by stored type; 0 → false */
    assert_int_equal(fm_dbq_obj(c, sql, "sijb", &o, "s", "x2"), FM_OK);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "meta")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "on")));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(o, "at")) == false);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "at")), 86400000);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "obj")) == false);
    cJSON_Delete(o);
    assert_int_equal(fm_dbq_obj(c, sql, "--------J", &o, "s", "x2"), FM_OK);
    assert_string_equal((text = cJSON_PrintUnformatted(o)), "{\"obj\":{}}");
    free(text);
    cJSON_Delete(o);
    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(fm_dbq_array(c, "SELECT id FROM t ORDER BY id", "s", arr, ""), FM_OK);
    assert_string_equal((text = cJSON_PrintUnformatted(arr)), "[{\"id\":\"x1\"},{\"id\":\"x2\"}]");
    free(text);
    cJSON_Delete(arr);
    fm_dbq_reader_done(c);
    cJSON_Delete(j);
}

static cJSON *id_only(const fm_dbrow_t *r, void *arg)
{
    (*(int *)arg)++;
    return cJSON_CreateString(fm_dbrow_text(r, 0));
}

static void pages_count_and_slice(void **state)
{
    fm_test_db_t *t = *state;
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "p%d", i);
        insert(t->db, id, i, NULL);
    }
    fm_dbc_t *c = fm_dbq_reader(t->db);
    fm_dbq_page_t p = { .count_sql = "SELECT count(*) FROM t WHERE i >= ?",
                        .rows_sql = "SELECT id FROM t WHERE i >= ? ORDER BY id LIMIT ? OFFSET ?",
                        .hints = "s", .offset = 1, .limit = 2 };
    cJSON *items = cJSON_CreateArray();
    int total = -1;
    assert_int_equal(fm_dbq_page(c, &p, items, &total, "i", 1), FM_OK);
    assert_int_equal(total, 4);
    char *text = cJSON_PrintUnformatted(items);
    assert_string_equal(text, "[{\"id\":\"p2\"},{\"id\":\"p3\"}]");
    free(text);
    cJSON_Delete(items);
    /* limit 0 counts only */
    p.limit = 0;
    items = cJSON_CreateArray();
    assert_int_equal(fm_dbq_page(c, &p, items, &total, "i", 0), FM_OK);
    assert_int_equal(total, 5);
    assert_int_equal(cJSON_GetArraySize(items), 0);
    /* an item callback, and no count query: total is what was seen up to this page */
    int calls = 0;
    p = (fm_dbq_page_t){ .rows_sql = "SELECT id FROM t ORDER BY id LIMIT ? OFFSET ?", .item = id_only,
                         .arg = &calls, .offset = 3, .limit = 10 };
    assert_int_equal(fm_dbq_page(c, &p, items, &total, ""), FM_OK);
    assert_int_equal(calls, 2);
    assert_int_equal(total, 5);
    assert_string_equal((text = cJSON_PrintUnformatted(items)), "[\"p3\",\"p4\"]");
    free(text);
    cJSON_Delete(items);
    fm_dbq_reader_done(c);
}

static int stop_at_first(const fm_dbrow_t *r, void *arg)
{
    (*(int *)arg)++;
    return FM_ESTALE;
}

static void errors_map_once(void **state)
{
    fm_test_db_t *t = *state;
    insert(t->db, "dup", 1, NULL);
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_int_equal(fm_dbq_run(w, INS, "siIdbnjiI", "dup", 1, (int64_t)0, 0.0, NULL, (size_t)0, NULL, 0,
                                (int64_t)0), FM_ECONFLICT);
    /* the format must match the statement's parameters */
    assert_int_equal(fm_dbq_run(w, "DELETE FROM t WHERE id = ? AND i = ?", "s", "dup"), FM_EDB);
    assert_int_equal(fm_dbq_run(w, "DELETE FROM t WHERE id = ?", "x", 1), FM_EDB);
    assert_int_equal(fm_dbq_run(w, "DELETE FROM nosuch WHERE id = ?", "s", "dup"), FM_EDB);
    assert_int_equal(fm_dbq_write_end(w, FM_ECONFLICT), FM_ECONFLICT);
    fm_dbc_t *c = fm_dbq_reader(t->db);
    cJSON *o = (cJSON *)1;
    assert_int_equal(fm_dbq_obj(c, "SELECT id FROM t WHERE id = ?", NULL, &o, "s", "none"), FM_ENOTFOUND);
    assert_null(o);
    int64_t n;
    assert_int_equal(fm_dbq_int(c, "SELECT i FROM t WHERE id = ?", &n, "s", "none"), FM_ENOTFOUND);
    int calls = 0;
    assert_int_equal(fm_dbq_one(c, "SELECT id FROM t WHERE id = ?", stop_at_first, &calls, "s", "none"),
                     FM_ENOTFOUND);
    assert_int_equal(calls, 0);
    /* a callback's error stops the walk and is the answer */
    assert_int_equal(fm_dbq_each(c, "SELECT id FROM t", stop_at_first, &calls, ""), FM_ESTALE);
    assert_int_equal(calls, 1);
    /* readers cannot write */
    assert_int_equal(fm_dbq_run(c, "DELETE FROM t", ""), FM_EDB);
    assert_int_equal(bus_outbox_put(c, "/t", "t.x", "s", "default", "{}"), FM_EINVAL);
    fm_dbq_reader_done(c);
}

static void rollback_keeps_nothing(void **state)
{
    fm_test_db_t *t = *state;
    fm_dbc_t *w = fm_dbq_write_begin(t->db);
    assert_int_equal(fm_dbq_run(w, INS, "siIdbnjiI", "gone", 1, (int64_t)0, 0.0, NULL, (size_t)0, NULL, 0,
                                (int64_t)0), FM_OK);
    assert_int_equal(fm_dbq_write_end(w, FM_ENOTFOUND), FM_ENOTFOUND);
    assert_int_equal(fm_test_db_int(t, "SELECT count(*) FROM t"), 0);
}

typedef struct { fm_dbc_t *c; int depth, rows; } nest_t;

static int nested(const fm_dbrow_t *r, void *arg)
{
    nest_t *x = arg;
    x->rows++;
    if (x->depth++ > 0)
        return FM_OK;
    /* the same SQL again while its cached statement is stepping */
    return fm_dbq_each(x->c, "SELECT id FROM t ORDER BY id", nested, x, "");
}

static void statements_are_cached_per_connection(void **state)
{
    fm_test_db_t *t = *state;
    insert(t->db, "a", 1, NULL);
    insert(t->db, "b", 2, NULL);
    struct fm_dbc *wc = fm__db_writer(t->db);
    int before = wc->nstmts;
    for (int k = 0; k < 3; k++)
        insert(t->db, k == 0 ? "c" : k == 1 ? "d" : "e", k, NULL);
    assert_int_equal(wc->nstmts, before);       /* INS prepared once */
    fm_dbc_t *c = fm_dbq_reader(t->db);
    int64_t n = 0;
    /* text keyed: one buffer, two statements */
    char sql[64];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE i = ?");
    assert_int_equal(fm_dbq_int(c, sql, &n, "i", 1), FM_OK);
    assert_int_equal(n, 2);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE i > ?");
    assert_int_equal(fm_dbq_int(c, sql, &n, "i", 1), FM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(c->nstmts, 2);
    assert_int_equal(fm_dbq_int(c, "SELECT count(*) FROM t WHERE i = ?", &n, "i", 0), FM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(c->nstmts, 2);
    /* nesting the same SQL gets its own statement */
    nest_t x = { c, 0, 0 };
    assert_int_equal(fm_dbq_each(c, "SELECT id FROM t ORDER BY id", nested, &x, ""), FM_OK);
    assert_int_equal(x.rows, 5 + 5);
    /* more distinct statements than slots: the oldest idle ones make room */
    for (int k = 0; k < FM_DBC_STMTS + 8; k++) {
        snprintf(sql, sizeof(sql), "SELECT %d + count(*) FROM t", k);
        assert_int_equal(fm_dbq_int(c, sql, &n, ""), FM_OK);
        assert_int_equal(n, k + 5);
    }
    assert_int_equal(c->nstmts, FM_DBC_STMTS);
    fm_dbq_reader_done(c);
    /* the reader comes back from the pool with its statements */
    c = fm_dbq_reader(t->db);
    assert_int_equal(c->nstmts, FM_DBC_STMTS);
    assert_int_equal(fm_db_readers_lent(t->db), 1);
    fm_dbq_reader_done(c);
    assert_int_equal(fm_db_readers_lent(t->db), 0);
}

/* A store on the helper gives its reader back on every path (found, not found, list). */
static void registry_store_gives_back_its_readers(void **state)
{
    fm_test_db_t *t = *state;
    FILE *fp = fopen("migrations/registry/0001_init.sql", "rb");
    assert_non_null(fp);
    static char sql[8192];
    size_t n = fread(sql, 1, sizeof(sql) - 1, fp);
    fclose(fp);
    sql[n] = 0;
    sqlite3 *raw = fm_db_write_begin(t->db);
    assert_int_equal(fm_db_write_end(t->db, fm_db_exec(raw, sql, NULL, 0)), FM_OK);
    reg_new_t r = { "default", "svc-a", "http://127.0.0.1:1", NULL, 30, "{}" };
    cJSON *item = NULL;
    assert_int_equal(registry_insert(t->db, &r, &item), FM_OK);
    cJSON_Delete(item);
    item = NULL;
    assert_int_equal(registry_insert(t->db, &r, &item), FM_ECONFLICT);
    assert_null(item);
    assert_int_equal(registry_get(t->db, "default", "svc-a", &item), FM_OK);
    cJSON_Delete(item);
    assert_int_equal(registry_get(t->db, "default", "nope", &item), FM_ENOTFOUND);
    cJSON *arr = cJSON_CreateArray();
    int total = 0;
    assert_int_equal(registry_list(t->db, "default", 0, 10, arr, &total), FM_OK);
    assert_int_equal(total, 1);
    assert_int_equal(cJSON_GetArraySize(arr), 1);
    cJSON_Delete(arr);
    assert_int_equal(registry_delete(t->db, "default", "nope"), FM_ENOTFOUND);
    assert_int_equal(fm_db_readers_lent(t->db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(binds_every_type_and_reads_a_row_into_a_struct, setup, teardown),
        cmocka_unit_test_setup_teardown(row_to_json_follows_the_hints, setup, teardown),
        cmocka_unit_test_setup_teardown(pages_count_and_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_map_once, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(statements_are_cached_per_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(registry_store_gives_back_its_readers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
