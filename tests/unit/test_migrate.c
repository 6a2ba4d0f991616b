/* test_migrate.c — applying, counting and reporting migrations (fm_migrate.h). */
#include "fm_test.h"

#include "fm_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fm_migration_t two[] = {
    { "t", 1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);" },
    { "u", 1, "0001_other", "CREATE TABLE other_module (x);" },   /* another module's */
    { "t", 2, "0002_b", "CREATE TABLE b (y TEXT); INSERT INTO b VALUES ('two');" },
};

static const fm_migration_t three[] = {
    { "t", 1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);" },
    { "u", 1, "0001_other", "CREATE TABLE other_module (x);" },
    { "t", 2, "0002_b", "CREATE TABLE b (y TEXT); INSERT INTO b VALUES ('two');" },
    { "t", 3, "0003_c", "ALTER TABLE a ADD COLUMN z TEXT; UPDATE a SET z = 'three';" },
    { NULL, 0, NULL, NULL },    /* a terminator ends the list before n */
    { "t", 4, "0004_never", "CREATE TABLE never (x);" },
};

static const fm_migration_t failing[] = {
    { "t", 1, "0001_a", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);" },
    { "t", 2, "0002_b", "CREATE TABLE b (y TEXT);" },
    { "t", 3, "0003_broken", "CREATE TABLE c (z); INSERT INTO nosuchtable VALUES (1);" },
};

static int setup(void **state)
{
    fm_test_db_t *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    fm_test_db_open(t, false);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    fm_test_db_t *t = *state;
    fm_test_db_close(t);
    free(t);
    return 0;
}

static bool has_table(fm_test_db_t *t, const char *name)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='%s'", name);
    return fm_test_db_int(t, sql) == 1;
}

static void test_apply_creates_and_records(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    int applied = -1;
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(applied, 2);
    assert_true(has_table(t, "a"));
    assert_true(has_table(t, "b"));
    assert_false(has_table(t, "other_module"));
    assert_int_equal(fm_test_db_int(t, "SELECT x FROM a"), 1);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM schema_migrations"), 2);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM schema_migrations "
                                       "WHERE version = 1 AND name = '0001_a'"), 1);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM schema_migrations "
                                       "WHERE version = 2 AND name = '0002_b' "
                                       "AND applied_at LIKE '____-__-__T__:__:__.___Z'"), 1);

    /* second run: nothing to do, nothing re-run (the INSERT would duplicate the row) */
    applied = -1;
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM a"), 1);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM schema_migrations"), 2);

    /* applied may be NULL */
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, NULL, err, sizeof(err)), FM_OK);
}

static void test_apply_incremental(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    int applied = -1;
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(applied, 2);
    /* the terminator stops the list: 0004 is never applied */
    assert_int_equal(fm_migrate_apply(t->db, "t", three, 6, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(applied, 1);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM a WHERE z = 'three'"), 1);
    assert_false(has_table(t, "never"));
    assert_int_equal(fm_test_db_int(t, "SELECT MAX(version) FROM schema_migrations"), 3);
}

static void test_counts(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    int applied = -1, pending = -1;
    /* before anything: no schema_migrations table, everything pending */
    assert_int_equal(fm_migrate_counts(t->db, "t", three, 6, &applied, &pending), FM_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(pending, 3);
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, NULL, err, sizeof(err)), FM_OK);
    assert_int_equal(fm_migrate_counts(t->db, "t", three, 6, &applied, &pending), FM_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(pending, 1);
    assert_int_equal(fm_migrate_counts(t->db, "u", three, 6, &applied, &pending), FM_OK);
    assert_int_equal(applied + pending, 1);
    assert_int_equal(fm_migrate_counts(t->db, "nobody", three, 6, &applied, &pending), FM_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(pending, 0);
}

static void test_failure_rolls_back_everything(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    int applied = -1;
    assert_int_equal(fm_migrate_apply(t->db, "t", failing, 3, &applied, err, sizeof(err)), FM_EDB);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "t/0003_broken.sql"));
    assert_non_null(strstr(err, "nosuchtable"));    /* SQLite's reason */
    /* 0001 and 0002 ran in the same transaction: gone too, as is the core schema */
    assert_false(has_table(t, "a"));
    assert_false(has_table(t, "b"));
    assert_false(has_table(t, "c"));
    assert_false(has_table(t, "schema_migrations"));
    int pending = -1;
    assert_int_equal(fm_migrate_counts(t->db, "t", failing, 3, &applied, &pending), FM_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(pending, 3);

    /* the database is still usable: a good batch applies afterwards */
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(applied, 2);
}

static void test_failure_keeps_earlier_batch(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    int applied = -1;
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, &applied, err, sizeof(err)), FM_OK);
    static const fm_migration_t more[] = {
        { "t", 1, "0001_a", "CREATE TABLE a (x INTEGER);" },
        { "t", 2, "0002_b", "CREATE TABLE b (y TEXT);" },
        { "t", 3, "0003_c", "CREATE TABLE c (z);" },
        { "t", 4, "0004_bad", "THIS IS NOT SQL;" },
    };
    assert_int_equal(fm_migrate_apply(t->db, "t", more, 4, &applied, err, sizeof(err)), FM_EDB);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "t/0004_bad.sql"));
    assert_false(has_table(t, "c"));
    assert_true(has_table(t, "a"));
    assert_true(has_table(t, "b"));
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM schema_migrations"), 2);
}

typedef struct {
    int n;
    int versions[8];
    bool applied[8];
    char names[8][32];
    char at[8][40];
} rows_t;

static void row_fn(const fm_migration_t *m, const char *applied_at, void *arg)
{
    rows_t *r = arg;
    if (r->n < 8) {
        r->versions[r->n] = m->version;
        r->applied[r->n] = applied_at != NULL;
        snprintf(r->names[r->n], sizeof(r->names[0]), "%s", m->name);
        snprintf(r->at[r->n], sizeof(r->at[0]), "%s", applied_at ? applied_at : "");
    }
    r->n++;
}

static void test_status_null_db(void **state)
{
    (void)state;
    rows_t r = { 0 };
    assert_int_equal(fm_migrate_status(NULL, "t", three, 6, row_fn, &r), FM_OK);
    assert_int_equal(r.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r.versions[i], i + 1);
        assert_false(r.applied[i]);
    }
    assert_string_equal(r.names[2], "0003_c");
    int applied = -1, pending = -1;
    assert_int_equal(fm_migrate_counts(NULL, "t", three, 6, &applied, &pending), FM_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(pending, 3);
}

static void test_status_rows(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    assert_int_equal(fm_migrate_apply(t->db, "t", two, 3, NULL, err, sizeof(err)), FM_OK);
    rows_t r = { 0 };
    assert_int_equal(fm_migrate_status(t->db, "t", three, 6, row_fn, &r), FM_OK);
    assert_int_equal(r.n, 3);
    assert_true(r.applied[0]);
    assert_true(r.applied[1]);
    assert_false(r.applied[2]);
    assert_int_equal(strlen(r.at[0]), 24);      /* 2026-11-26T01:02:03.456Z */
    assert_int_equal(r.at[0][10], 'T');
    assert_int_equal(r.at[0][23], 'Z');
}

static void test_outbox_table_exists(void **state)
{
    fm_test_db_t *t = *state;
    char err[512] = "";
    int applied = -1;
    /* a module with no migrations at all still gets the core schema */
    assert_int_equal(fm_migrate_apply(t->db, "empty", NULL, 0, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(applied, 0);
    assert_true(has_table(t, "fm_outbox"));
    assert_true(has_table(t, "schema_migrations"));
    /* with the columns the bus writes */
    sqlite3 *w = fm_db_write_begin(t->db);
    assert_non_null(w);
    assert_int_equal(fm_db_exec(w, "INSERT INTO fm_outbox(tenant_id, event, created_at) "
                                   "VALUES ('default', '{}', '2026-01-01T00:00:00.000Z')",
                                err, sizeof(err)), FM_OK);
    assert_int_equal(fm_db_write_end(t->db, FM_OK), FM_OK);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM fm_outbox"), 1);
    /* and applying again keeps its rows */
    assert_int_equal(fm_migrate_apply(t->db, "empty", NULL, 0, &applied, err, sizeof(err)), FM_OK);
    assert_int_equal(fm_test_db_int(t, "SELECT COUNT(*) FROM fm_outbox"), 1);
}

static void test_embedded_list(void **state)
{
    fm_test_db_t *t = *state;
    assert_true(fm_nmigrations >= 1);
    const fm_migration_t *reg = NULL;
    for (size_t i = 0; i < fm_nmigrations && fm_migrations[i].module; i++) {
        const fm_migration_t *m = &fm_migrations[i];
        assert_non_null(m->name);
        assert_non_null(m->sql);
        assert_true(m->version > 0);
        assert_int_equal(atoi(m->name), m->version);    /* NNNN_ prefix is the version */
        if (!strcmp(m->module, "registry") && !strcmp(m->name, "0001_init"))
            reg = m;
    }
    assert_non_null(reg);
    assert_int_equal(reg->version, 1);
    assert_true(strlen(reg->sql) > 0);
    /* and the embedded SQL applies cleanly */
    char err[512] = "";
    int applied = -1, pending = -1;
    if (fm_migrate_apply(t->db, "registry", fm_migrations, fm_nmigrations, &applied, err, sizeof(err)))
        fail_msg("%s", err);
    assert_true(applied >= 1);
    assert_int_equal(fm_migrate_counts(t->db, "registry", fm_migrations, fm_nmigrations, &applied,
                                       &pending), FM_OK);
    assert_int_equal(pending, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_apply_creates_and_records),
        T(test_apply_incremental),
        T(test_counts),
        T(test_failure_rolls_back_everything),
        T(test_failure_keeps_earlier_batch),
        cmocka_unit_test(test_status_null_db),
        T(test_status_rows),
        T(test_outbox_table_exists),
        T(test_embedded_list),
    };
    return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
