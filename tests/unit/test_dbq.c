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
#include "fm_log.h"
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
        char id[16];
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

static void id_cursor(const fm_dbrow_t *r, char *out, size_t len)
{
    snprintf(out, len, "%s", fm_dbrow_str(r, 0));
}

static void pages_by_keyset(void **state)
{
    fm_test_db_t *t = *state;
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "k%d", i);
        insert(t->db, id, i, NULL);
    }
    char next[32] = "", after[32] = "";
    fm_dbq_page_t p = { .count_sql = "SELECT count(*) FROM t WHERE ?1 IS NOT NULL",
                        .rows_sql = "SELECT id FROM t WHERE id > ?1 ORDER BY id LIMIT ?2",
                        .hints = "s", .limit = 2, .cursor = id_cursor, .next = next, .next_len = sizeof(next) };
    const char *want[] = { "[{\"id\":\"k0\"},{\"id\":\"k1\"}]", "[{\"id\":\"k2\"},{\"id\":\"k3\"}]",
                           "[{\"id\":\"k4\"}]" };
    const char *want_next[] = { "k1", "k3", "" };
    for (int page = 0; page < 3; page++) {
        cJSON *items = cJSON_CreateArray();
        int total = 0;
        assert_int_equal(fm_dbq_read_page(t->db, &p, items, &total, "s", after), FM_OK);
        char *text = cJSON_PrintUnformatted(items);
        assert_string_equal(text, want[page]);
        free(text);
        cJSON_Delete(items);
        assert_int_equal(total, 5);
        assert_string_equal(next, want_next[page]);
        snprintf(after, sizeof(after), "%s", next);
    }
    /* exactly a page left: no next cursor */
    p.limit = 5;
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    assert_int_equal(fm_dbq_read_page(t->db, &p, items, &total, "s", ""), FM_OK);
    assert_int_equal(cJSON_GetArraySize(items), 5);
    assert_string_equal(next, "");
    cJSON_Delete(items);
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
    /* one value on a reader borrowed for the call, given back on every path */
    n = -1;
    assert_int_equal(fm_dbq_read_int(t->db, "SELECT i FROM t WHERE id = ?", &n, "s", "dup"), FM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(fm_dbq_read_int(t->db, "SELECT i FROM t WHERE id = ?", &n, "s", "none"), FM_ENOTFOUND);
    assert_int_equal(n, 0);
    assert_int_equal(fm_dbq_read_int(t->db, "SELECT i FROM t WHERE id = ?", &n, ""), FM_EDB);
    /* one text into a buffer: cut to fit, "" when absent */
    char buf[3] = "zz";
    assert_int_equal(fm_dbq_read_text(t->db, "SELECT id FROM t WHERE id = ?", buf, sizeof(buf), "s", "dup"), FM_OK);
    assert_string_equal(buf, "du");
    assert_int_equal(fm_dbq_read_text(t->db, "SELECT id FROM t WHERE id = ?", buf, sizeof(buf), "s", "none"),
                     FM_ENOTFOUND);
    assert_string_equal(buf, "");
    assert_int_equal(fm_db_readers_lent(t->db), 0);
    /* one statement in a write of its own: no row changed is FM_ENOTFOUND */
    assert_int_equal(fm_dbq_write(t->db, "UPDATE t SET i = ? WHERE id = ?", "is", 7, "dup"), FM_OK);
    assert_int_equal(fm_dbq_read_int(t->db, "SELECT i FROM t WHERE id = ?", &n, "s", "dup"), FM_OK);
    assert_int_equal(n, 7);
    assert_int_equal(fm_dbq_write(t->db, "UPDATE t SET i = ? WHERE id = ?", "is", 8, "none"), FM_ENOTFOUND);
    assert_int_equal(fm_dbq_write(t->db, INS, "siIdbnjiI", "dup", 1, (int64_t)0, 0.0, NULL, (size_t)0, NULL, 0,
                                  (int64_t)0), FM_ECONFLICT);
    assert_int_equal(fm_dbq_write(t->db, "DELETE FROM t WHERE id = ?", "s", "dup"), FM_OK);
    assert_int_equal(fm_dbq_read_int(t->db, "SELECT count(*) FROM t", &n, ""), FM_OK);
    assert_int_equal(n, 0);
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

/* ---- docs/hacking.md: its C blocks, verbatim, run on its SQL block ---- */

#define NOTE_COLS "id, title, tags, pinned, created_ms AS \"createdAt\""
#define NOTE_HINTS "ssjbt"

static int notes_insert(fm_db_t *db, const char *tenant, const char *id, const char *title, const cJSON *tags,
                        cJSON **item)
{
    *item = NULL;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO notes(id, tenant_id, title, tags, created_ms) VALUES (?, ?, ?, ?, ?)",
                        "sssjI", id, tenant, title, tags, fm_time_unix_ms());
    if (rc == FM_OK)
        rc = fm_dbq_obj(w, "SELECT " NOTE_COLS " FROM notes WHERE tenant_id = ? AND id = ?", NOTE_HINTS, item,
                        "ss", tenant, id);
    if (rc == FM_OK)
        rc = bus_outbox_put(w, "/flowmaster/notes", "notes.note.created", id, tenant, "{}");
    rc = fm_dbq_write_end(w, rc);       /* FM_ECONFLICT: the id is taken */
    if (rc != FM_OK) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return rc;
}

static int notes_get(fm_db_t *db, const char *tenant, const char *id, cJSON **item)
{
    /* one read: a reader is borrowed and given back inside the call */
    return fm_dbq_read_obj(db, "SELECT " NOTE_COLS " FROM notes WHERE tenant_id = ? AND id = ?", NOTE_HINTS, item,
                           "ss", tenant, id);  /* FM_ENOTFOUND: the dispatcher answers 404 */
}

/* Several reads that belong together share one reader, given back on every path. */
static int notes_get_two(fm_db_t *db, const char *tenant, const char *a, const char *b, cJSON **pair)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    cJSON *x = NULL, *y = NULL;
    int rc = fm_dbq_obj(c, "SELECT " NOTE_COLS " FROM notes WHERE tenant_id = ? AND id = ?", NOTE_HINTS, &x,
                        "ss", tenant, a);
    if (rc == FM_OK)
        rc = fm_dbq_obj(c, "SELECT " NOTE_COLS " FROM notes WHERE tenant_id = ? AND id = ?", NOTE_HINTS, &y,
                        "ss", tenant, b);
    fm_dbq_reader_done(c);
    *pair = rc == FM_OK ? cJSON_CreateArray() : NULL;
    if (*pair) {
        cJSON_AddItemToArray(*pair, x);
        cJSON_AddItemToArray(*pair, y);
    } else {
        cJSON_Delete(x);
        cJSON_Delete(y);
    }
    return rc;
}

typedef struct note {
    char id[40], title[200];
    bool pinned;
} note_t;

static int note_row(const fm_dbrow_t *r, void *arg)
{
    note_t *n = arg;
    fm_dbrow_copy(r, 0, n->id, sizeof(n->id));
    fm_dbrow_copy(r, 1, n->title, sizeof(n->title));
    n->pinned = fm_dbrow_int(r, 2) != 0;
    return FM_OK;
}

static int notes_pin(fm_db_t *db, const char *tenant, const char *id, note_t *out)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_one(w, "UPDATE notes SET pinned = 1 WHERE tenant_id = ? AND id = ? RETURNING id, title, pinned",
                        note_row, out, "ss", tenant, id);
    return fm_dbq_write_end(w, rc);     /* FM_ENOTFOUND: no such note */
}

static int notes_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *items, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM notes WHERE tenant_id = ?",
        .rows_sql = "SELECT " NOTE_COLS " FROM notes WHERE tenant_id = ? ORDER BY created_ms, id LIMIT ? OFFSET ?",
        .hints = NOTE_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "s", tenant);
}

/* Reads a file whole (caller frees). */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static const size_t max = 1 << 20;
    char *buf = malloc(max);
    assert_non_null(buf);
    size_t n = fread(buf, 1, max - 1, fp);
    fclose(fp);
    buf[n] = 0;
    return buf;
}

/* The text of the next fenced block opened by `open` (e.g. "```sql\n") at or after *at. */
static char *next_block(const char *doc, const char **at, const char *open)
{
    const char *p = strstr(*at, open);
    if (!p)
        return NULL;
    p += strlen(open);
    const char *e = strstr(p, "```");
    assert_non_null(e);
    *at = e + 3;
    return strndup(p, (size_t)(e - p));
}

static void hacking_md_shows_tested_code(void **state)
{
    (void)state;
    char *doc = slurp("docs/hacking.md"), *src = slurp("tests/unit/test_dbq.c");
    const char *at = doc;
    char *b;
    int n = 0;
    while ((b = next_block(doc, &at, "```c\n"))) {
        if (!strstr(src, b))
            fail_msg("a C block of docs/hacking.md is not in tests/unit/test_dbq.c:\n%s", b);
        free(b);
        n++;
    }
    assert_true(n >= 3);
    free(doc);
    free(src);
}

static void hacking_md_examples_run(void **state)
{
    fm_test_db_t *t = *state;
    char *doc = slurp("docs/hacking.md");
    const char *at = doc;
    char *schema = next_block(doc, &at, "```sql\n");
    assert_non_null(schema);
    sqlite3 *raw = fm_db_write_begin(t->db);
    assert_int_equal(fm_db_write_end(t->db, fm_db_exec(raw, schema, NULL, 0)), FM_OK);
    free(schema);
    free(doc);

    cJSON *tags = cJSON_Parse("[\"a\",\"b\"]"), *item = NULL;
    assert_int_equal(notes_insert(t->db, "default", "n1", "First", tags, &item), FM_OK);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(item, "title")), "First");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(item, "tags"), tags, true));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(item, "pinned")));
    assert_non_null(strchr(cJSON_GetStringValue(cJSON_GetObjectItem(item, "createdAt")), 'T'));
    cJSON_Delete(item);
    assert_int_equal(notes_insert(t->db, "default", "n1", "Again", tags, &item), FM_ECONFLICT);
    assert_null(item);
    assert_int_equal(notes_insert(t->db, "default", "n2", "Second", NULL, &item), FM_EDB);   /* tags NOT NULL */
    assert_int_equal(fm_test_db_int(t, "SELECT count(*) FROM fm_outbox"), 1);   /* the event of n1 only */
    cJSON_Delete(tags);

    assert_int_equal(notes_get(t->db, "default", "n1", &item), FM_OK);
    cJSON_Delete(item);
    assert_int_equal(notes_get(t->db, "other", "n1", &item), FM_ENOTFOUND);
    assert_null(item);
    assert_int_equal(notes_get_two(t->db, "default", "n1", "nope", &item), FM_ENOTFOUND);
    assert_null(item);
    assert_int_equal(notes_get_two(t->db, "default", "n1", "n1", &item), FM_OK);
    assert_int_equal(cJSON_GetArraySize(item), 2);
    cJSON_Delete(item);

    note_t n;
    assert_int_equal(notes_pin(t->db, "default", "n1", &n), FM_OK);
    assert_string_equal(n.title, "First");
    assert_true(n.pinned);
    assert_int_equal(notes_pin(t->db, "default", "nope", &n), FM_ENOTFOUND);

    cJSON *items = cJSON_CreateArray();
    int total = 0;
    assert_int_equal(notes_list(t->db, "default", 0, 10, items, &total), FM_OK);
    assert_int_equal(total, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "pinned")));
    cJSON_Delete(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(binds_every_type_and_reads_a_row_into_a_struct, setup, teardown),
        cmocka_unit_test_setup_teardown(row_to_json_follows_the_hints, setup, teardown),
        cmocka_unit_test_setup_teardown(pages_count_and_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(pages_by_keyset, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_map_once, setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(statements_are_cached_per_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(registry_store_gives_back_its_readers, setup, teardown),
        cmocka_unit_test(hacking_md_shows_tested_code),
        cmocka_unit_test_setup_teardown(hacking_md_examples_run, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
