/*
 * test_tasks_store.c — the Human Task Service's store (src/modules/tasks/tasks_store.c)
 * on its real migration: events go out through the outbox with the task as data
 * (task.completed carries what the engine needs to resume), changes are conditional on
 * the version, tenants do not see each other, and overdue tasks escalate once.
 */
#include "fm_test.h"

#include "bus/bus.h"
#include "modules/tasks/tasks_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    fm_test_db_t db;
    fm_test_loop_t loop;
    cJSON *events;      /* [{type, tenant, subject, data}] */
} fix_t;

static void on_event(const bus_event_t *ev, void *arg)
{
    fix_t *f = arg;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", ev->type);
    cJSON_AddStringToObject(e, "tenant", ev->tenant);
    cJSON_AddStringToObject(e, "subject", ev->subject);
    cJSON_AddItemToObject(e, "data", cJSON_Parse(ev->data));
    cJSON_AddItemToArray(f->events, e);
}

static int setup(void **state)
{
    fix_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    fm_test_db_open(&f->db, true);
    static const char *const files[] = { "migrations/tasks/0001_init.sql", "migrations/tasks/0002_idempotency.sql" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp = fopen(files[i], "rb");
        assert_non_null(fp);
        static char sql[16384];
        size_t n = fread(sql, 1, sizeof(sql) - 1, fp);
        fclose(fp);
        sql[n] = '\0';
        sqlite3 *w = fm_db_write_begin(f->db.db);
        char err[256];
        int rc = fm_db_exec(w, sql, err, sizeof(err));
        assert_int_equal(fm_db_write_end(f->db.db, rc), FM_OK);
    }
    fm_test_loop_init(&f->loop, 1024, 1000);
    f->events = cJSON_CreateArray();
    assert_true(bus_subscribe("task.>", on_event, f) > 0);
    assert_int_equal(bus_outbox_attach(f->db.db, "tasks"), FM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix_t *f = *state;
    assert_int_equal(fm_db_readers_lent(f->db.db), 0);   /* every store call gave its reader back */
    fm_test_loop_done(&f->loop);
    fm_test_db_close(&f->db);
    cJSON_Delete(f->events);
    free(f);
    return 0;
}

static cJSON *new_task(fix_t *f, const char *tenant, const char *assignee, int64_t due_ms)
{
    task_new_t n = { tenant, "Approve", NULL, assignee, "[\"u1\"]", "[\"finance\"]", due_ms, -1, 50,
                     "{\"type\":\"object\"}", "{\"x\":1}", "pi-7", "approve", NULL, NULL };
    cJSON *item = NULL;
    assert_int_equal(tasks_insert(f->db.db, &n, &item), FM_OK);
    assert_non_null(item);
    return item;
}

static const char *s(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t version(const cJSON *t)
{
    return (int64_t)cJSON_GetObjectItem(t, "version")->valuedouble;
}

/* An idempotency key returns the first task, writes nothing, announces nothing. */
static void test_idempotency_key(void **state)
{
    fix_t *f = *state;
    bool replayed = true;
    task_new_t n = { "t1", "Once", NULL, NULL, "[]", "[]", -1, -1, 50, NULL, "{}", "exe_a", "u", "exe_a/3",
                     &replayed };
    cJSON *a = NULL, *b = NULL;
    assert_int_equal(tasks_insert(f->db.db, &n, &a), FM_OK);
    assert_false(replayed);
    n.name = "Twice";
    assert_int_equal(tasks_insert(f->db.db, &n, &b), FM_OK);
    assert_true(replayed);
    assert_string_equal(s(a, "id"), s(b, "id"));
    assert_string_equal(s(b, "name"), "Once");
    assert_int_equal(fm_test_db_int(&f->db, "SELECT COUNT(*) FROM tasks"), 1);
    bus_flush();
    assert_int_equal(cJSON_GetArraySize(f->events), 1);     /* one task.created */
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void test_lifecycle_events(void **state)
{
    fix_t *f = *state;
    cJSON *t = new_task(f, "acme", "alice", -1);
    assert_string_equal(s(t, "status"), "assigned");
    bus_flush();
    assert_int_equal(cJSON_GetArraySize(f->events), 2);
    cJSON *e0 = cJSON_GetArrayItem(f->events, 0), *e1 = cJSON_GetArrayItem(f->events, 1);
    assert_string_equal(s(e0, "type"), TASKS_CREATED);
    assert_string_equal(s(e1, "type"), TASKS_ASSIGNED);
    assert_string_equal(s(e0, "tenant"), "acme");
    assert_string_equal(s(e0, "subject"), s(t, "id"));

    task_change_t done = { "completed", false, NULL, NULL, "{\"ok\":true}", "alice", TASKS_COMPLETED };
    cJSON *after = NULL;
    /* a stale version changes nothing and publishes nothing */
    assert_int_equal(tasks_update(f->db.db, "acme", s(t, "id"), version(t) + 5, &done, &after), FM_ESTALE);
    assert_null(after);
    /* the wrong tenant does not find it */
    assert_int_equal(tasks_update(f->db.db, "other", s(t, "id"), version(t), &done, &after), FM_ENOTFOUND);
    assert_int_equal(tasks_get(f->db.db, "other", s(t, "id"), &after), FM_ENOTFOUND);
    assert_int_equal(tasks_update(f->db.db, "acme", s(t, "id"), version(t), &done, &after), FM_OK);
    assert_string_equal(s(after, "status"), "completed");
    assert_int_equal(version(after), version(t) + 1);
    bus_flush();
    assert_int_equal(cJSON_GetArraySize(f->events), 3);
    cJSON *e2 = cJSON_GetArrayItem(f->events, 2);
    assert_string_equal(s(e2, "type"), TASKS_COMPLETED);
    cJSON *d = cJSON_GetObjectItem(e2, "data");
    assert_string_equal(s(d, "processInstanceId"), "pi-7");
    assert_string_equal(s(d, "elementId"), "approve");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "response"), "ok")));
    assert_string_equal(s(d, "completedBy"), "alice");
    cJSON_Delete(t);
    cJSON_Delete(after);
}

static void test_escalate_once(void **state)
{
    fix_t *f = *state;
    int64_t now = 1800000000000LL;
    cJSON *due = new_task(f, "acme", NULL, now - 1000);
    cJSON *later = new_task(f, "acme", NULL, now + 60000);
    cJSON *other = new_task(f, "beta", "bob", now - 1);
    cJSON *finished = new_task(f, "acme", "carol", now - 1000);
    task_change_t done = { "completed", false, NULL, NULL, "{}", "carol", TASKS_COMPLETED };
    cJSON *tmp = NULL;
    assert_int_equal(tasks_update(f->db.db, "acme", s(finished, "id"), version(finished), &done, &tmp), FM_OK);
    cJSON_Delete(tmp);
    bus_flush();
    int before = cJSON_GetArraySize(f->events), n = -1;
    assert_int_equal(tasks_escalate(f->db.db, now, &n), FM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(tasks_escalate(f->db.db, now + 1, &n), FM_OK);
    assert_int_equal(n, 0);     /* once only */
    bus_flush();
    assert_int_equal(cJSON_GetArraySize(f->events), before + 2);
    cJSON *e = cJSON_GetArrayItem(f->events, before);
    assert_string_equal(s(e, "type"), TASKS_ESCALATED);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "escalated")));
    const char *t0 = s(cJSON_GetArrayItem(f->events, before), "tenant");
    const char *t1 = s(cJSON_GetArrayItem(f->events, before + 1), "tenant");
    assert_true((!strcmp(t0, "acme") && !strcmp(t1, "beta")) || (!strcmp(t0, "beta") && !strcmp(t1, "acme")));
    cJSON *got = NULL;
    assert_int_equal(tasks_get(f->db.db, "acme", s(later, "id"), &got), FM_OK);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(got, "escalated")));
    cJSON_Delete(got);
    cJSON_Delete(due);
    cJSON_Delete(later);
    cJSON_Delete(other);
    cJSON_Delete(finished);
}

static void test_list_filters(void **state)
{
    fix_t *f = *state;
    cJSON *a = new_task(f, "acme", NULL, 1000), *b = new_task(f, "acme", "bob", -1);
    cJSON *c = new_task(f, "beta", NULL, -1);
    task_filter_t all = { NULL, NULL, NULL, NULL, -1 };
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    assert_int_equal(tasks_list(f->db.db, "acme", &all, 0, 10, items, &total), FM_OK);
    assert_int_equal(total, 2);
    assert_string_equal(s(cJSON_GetArrayItem(items, 0), "id"), s(a, "id"));
    cJSON_Delete(items);
    task_filter_t fb = { "bob", "u1", "finance", "assigned", -1 };
    items = cJSON_CreateArray();
    assert_int_equal(tasks_list(f->db.db, "acme", &fb, 0, 10, items, &total), FM_OK);
    assert_int_equal(total, 1);
    assert_string_equal(s(cJSON_GetArrayItem(items, 0), "id"), s(b, "id"));
    cJSON_Delete(items);
    task_filter_t fd = { NULL, NULL, "nobody", NULL, -1 };
    items = cJSON_CreateArray();
    assert_int_equal(tasks_list(f->db.db, "acme", &fd, 0, 10, items, &total), FM_OK);
    assert_int_equal(total, 0);
    cJSON_Delete(items);
    task_filter_t due = { NULL, NULL, NULL, NULL, 2000 };
    items = cJSON_CreateArray();
    assert_int_equal(tasks_list(f->db.db, "acme", &due, 0, 10, items, &total), FM_OK);
    assert_int_equal(total, 1);
    cJSON_Delete(items);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalate_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
