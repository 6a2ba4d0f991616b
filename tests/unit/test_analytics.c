/*
 * test_analytics.c — Process Analytics' pure parts and its ingestion of one history:
 * RFC 3339 parsing (fractions, offsets, refusals), nearest-rank percentiles, and an
 * engine history (with a parallel split, a repeated element and an incident) turned
 * into element visits, a path, a duration and an incident count; ingesting twice gives
 * the same rows; statistics over them; user tasks' waiting and working time and queues
 * from task events.
 */
#include "fm_test.h"

#include "fm_db.h"
#include "modules/analytics/analytics_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void times(void **state)
{
    (void)state;
    assert_true(an_parse_time("1970-01-01T00:00:00Z") == 0);
    assert_true(an_parse_time("1970-01-01T00:00:01.5Z") == 1500);
    assert_true(an_parse_time("1970-01-01T00:00:01.123456Z") == 1123);
    assert_true(an_parse_time("1970-01-01T01:00:00+01:00") == 0);
    assert_true(an_parse_time("1969-12-31T23:00:00-01:00") == 0);
    assert_true(an_parse_time("2026-12-04T18:00:00.250Z") == 1796407200250LL);
    assert_true(an_parse_time("2026-12-04 18:00:00Z") == -1);
    assert_true(an_parse_time("2026-12-04T18:00:00") == -1);
    assert_true(an_parse_time("2026-12-04T18:00:00Zjunk") == -1);
    assert_true(an_parse_time(NULL) == -1);
}

static void percentiles(void **state)
{
    (void)state;
    int64_t v[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
    assert_true(an_percentile(v, 10, 50) == 50);
    assert_true(an_percentile(v, 10, 90) == 90);
    assert_true(an_percentile(v, 10, 99) == 100);
    assert_true(an_percentile(v, 10, 0) == 10);
    assert_true(an_percentile(v, 1, 99) == 10);
    assert_true(an_percentile(v, 0, 50) == 0);
}

static void apply(fm_test_db_t *t, const char *file)
{
    FILE *fp = fopen(file, "rb");
    assert_non_null(fp);
    static char sql[16384];
    size_t n = fread(sql, 1, sizeof(sql) - 1, fp);
    fclose(fp);
    sql[n] = '\0';
    sqlite3 *w = fm_db_write_begin(t->db);
    char err[256];
    int rc = fm_db_exec(w, sql, err, sizeof(err));
    assert_int_equal(fm_db_write_end(t->db, rc), FM_OK);
}

/* start(0 s) → split → a (1 s) ∥ b (3 s) → join → loop x twice (0.5 s each) → end at 5 s */
static const char HISTORY[] = "["
    "{\"type\":\"instance.started\",\"at\":\"2026-01-01T00:00:00Z\"},"
    "{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:00Z\",\"elementId\":\"s\",\"elementType\":\"startEvent\",\"tokenId\":1},"
    "{\"type\":\"element.left\",\"at\":\"2026-01-01T00:00:00Z\",\"elementId\":\"s\",\"elementType\":\"startEvent\",\"tokenId\":1},"
    "{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:00Z\",\"elementId\":\"a\",\"elementType\":\"serviceTask\",\"tokenId\":2},"
    "{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:00Z\",\"elementId\":\"b\",\"elementType\":\"userTask\",\"tokenId\":3},"
    "{\"type\":\"incident.created\",\"at\":\"2026-01-01T00:00:00.500Z\",\"elementId\":\"a\"},"
    "{\"type\":\"element.left\",\"at\":\"2026-01-01T00:00:01Z\",\"elementId\":\"a\",\"elementType\":\"serviceTask\",\"tokenId\":2},"
    "{\"type\":\"element.left\",\"at\":\"2026-01-01T00:00:03Z\",\"elementId\":\"b\",\"elementType\":\"userTask\",\"tokenId\":3},"
    "{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:03Z\",\"elementId\":\"x\",\"elementType\":\"scriptTask\",\"tokenId\":4},"
    "{\"type\":\"element.left\",\"at\":\"2026-01-01T00:00:03.500Z\",\"elementId\":\"x\",\"elementType\":\"scriptTask\",\"tokenId\":4},"
    "{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:03.500Z\",\"elementId\":\"x\",\"elementType\":\"scriptTask\",\"tokenId\":4},"
    "{\"type\":\"element.left\",\"at\":\"2026-01-01T00:00:04Z\",\"elementId\":\"x\",\"elementType\":\"scriptTask\",\"tokenId\":4},"
    "{\"type\":\"variables.changed\",\"at\":\"2026-01-01T00:00:04Z\"},"
    "{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:05Z\",\"elementId\":\"e\",\"elementType\":\"endEvent\",\"tokenId\":4},"
    "{\"type\":\"element.left\",\"at\":\"2026-01-01T00:00:05Z\",\"elementId\":\"e\",\"elementType\":\"endEvent\",\"tokenId\":4},"
    "{\"type\":\"instance.completed\",\"at\":\"2026-01-01T00:00:05Z\"}]";

static void ingest_one_history(void **state)
{
    (void)state;
    fm_test_db_t t;
    fm_test_db_open(&t, true);
    apply(&t, "migrations/analytics/0001_init.sql");
    apply(&t, "migrations/analytics/0002_task_times.sql");
    cJSON *h = cJSON_Parse(HISTORY);
    assert_non_null(h);
    for (int round = 0; round < 2; round++)     /* twice: the same rows */
        assert_int_equal(an_ingest_history(t.db, "t1", "exe_1", "proc_1", 3, h), FM_OK);
    assert_int_equal(fm_test_db_int(&t, "SELECT count(*) FROM element_visits"), 6);
    assert_int_equal(fm_test_db_int(&t, "SELECT duration_ms FROM instances WHERE id = 'exe_1'"), 5000);
    assert_int_equal(fm_test_db_int(&t, "SELECT incidents FROM instances WHERE id = 'exe_1'"), 1);
    /* the rollups count the instance once although it was ingested twice */
    assert_int_equal(fm_test_db_int(&t, "SELECT started FROM daily"), 1);
    assert_int_equal(fm_test_db_int(&t, "SELECT completed FROM daily"), 1);
    assert_int_equal(fm_test_db_int(&t, "SELECT duration_ms FROM daily"), 5000);
    assert_int_equal(fm_test_db_int(&t, "SELECT visits FROM element_daily WHERE element_id = 'x'"), 2);
    assert_int_equal(fm_test_db_int(&t, "SELECT total_ms FROM element_daily WHERE element_id = 'b'"), 3000);
    assert_int_equal(fm_test_db_int(&t, "SELECT duration_ms FROM element_visits WHERE element_id = 'b'"), 3000);
    assert_int_equal(fm_test_db_int(&t, "SELECT sum(duration_ms) FROM element_visits WHERE element_id = 'x'"), 1000);
    an_window_t w = { "t1", "proc_1", 0, INT64_MAX / 2, 0 };
    cJSON *m = NULL;
    assert_int_equal(an_process_metrics(t.db, &w, 0, &m), FM_OK);
    char *txt = cJSON_PrintUnformatted(m);
    assert_non_null(strstr(txt, "\"completed\":1"));
    assert_non_null(strstr(txt, "\"incidentRate\":1"));
    free(txt);
    cJSON *b = NULL;
    assert_int_equal(an_bottlenecks(t.db, &w, 3, &b), FM_OK);
    const cJSON *top = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "items"), 0);
    assert_string_equal(cJSON_GetObjectItem(top, "elementId")->valuestring, "b");
    assert_true(cJSON_GetObjectItem(top, "shareOfCycleTime")->valuedouble == 0.6);
    cJSON *p = NULL;
    assert_int_equal(an_paths(t.db, &w, 5, &p), FM_OK);
    txt = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "items"), 0), "path"));
    assert_string_equal(txt, "[\"s\",\"a\",\"b\",\"x\",\"x\",\"e\"]");
    free(txt);
    /* another tenant sees nothing */
    an_window_t w2 = { "t2", "proc_1", 0, INT64_MAX / 2, 0 };
    cJSON *m2 = NULL;
    assert_int_equal(an_process_metrics(t.db, &w2, 0, &m2), FM_OK);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(m2, "instances"), "started")->valuedouble == 0);
    /* a history without a start is refused and stores nothing */
    cJSON *empty = cJSON_Parse("[{\"type\":\"element.entered\",\"at\":\"2026-01-01T00:00:00Z\",\"elementId\":\"q\"}]");
    assert_int_equal(an_ingest_history(t.db, "t1", "exe_2", "proc_1", 1, empty), FM_EINVAL);
    assert_int_equal(fm_test_db_int(&t, "SELECT count(*) FROM instances WHERE id = 'exe_2'"), 0);
    assert_int_equal(fm_db_readers_lent(t.db), 0);
    cJSON_Delete(empty);
    cJSON_Delete(m);
    cJSON_Delete(m2);
    cJSON_Delete(b);
    cJSON_Delete(p);
    cJSON_Delete(h);
    fm_test_db_close(&t);
}

static void task_event(fm_db_t *db, const char *type, const char *json)
{
    cJSON *t = cJSON_Parse(json);
    assert_non_null(t);
    assert_int_equal(an_ingest_task(db, "t1", type, t, "proc_q", 1), FM_OK);
    cJSON_Delete(t);
}

#define TASK(id, assignee, created, updated, completed)                                                             \
    "{\"id\":\"" id "\",\"processInstanceId\":\"exe_" id "\",\"elementId\":\"review\",\"assignee\":" assignee \
    ",\"createdAt\":\"" created "\",\"updatedAt\":\"" updated "\",\"completedAt\":" completed "}"

/* Waiting = created -> first assignee, working = first assignee -> completed; an unclaim
 * does not restart the wait; redelivered events change nothing; queue now and its most
 * in the window. */
static void task_split(void **state)
{
    (void)state;
    fm_test_db_t t;
    fm_test_db_open(&t, true);
    apply(&t, "migrations/analytics/0001_init.sql");
    apply(&t, "migrations/analytics/0002_task_times.sql");
    /* A: created 0 s, claimed 10 s, unclaimed 12 s, claimed 15 s, completed 40 s */
    task_event(t.db, "task.created", TASK("A", "null", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "null"));
    for (int round = 0; round < 2; round++)
        task_event(t.db, "task.assigned", TASK("A", "\"u1\"", "2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z", "null"));
    task_event(t.db, "task.assigned", TASK("A", "null", "2026-01-01T00:00:00Z", "2026-01-01T00:00:12Z", "null"));
    task_event(t.db, "task.assigned", TASK("A", "\"u2\"", "2026-01-01T00:00:00Z", "2026-01-01T00:00:15Z", "null"));
    task_event(t.db, "task.completed",
               TASK("A", "\"u2\"", "2026-01-01T00:00:00Z", "2026-01-01T00:00:40Z", "\"2026-01-01T00:00:40Z\""));
    /* B: assigned at creation (5 s), completed 25 s: no wait */
    task_event(t.db, "task.created", TASK("B", "\"u1\"", "2026-01-01T00:00:05Z", "2026-01-01T00:00:05Z", "null"));
    task_event(t.db, "task.completed",
               TASK("B", "\"u1\"", "2026-01-01T00:00:05Z", "2026-01-01T00:00:25Z", "\"2026-01-01T00:00:25Z\""));
    /* C: created 30 s, still open, never claimed */
    task_event(t.db, "task.created", TASK("C", "null", "2026-01-01T00:00:30Z", "2026-01-01T00:00:30Z", "null"));
    an_window_t w = { "t1", "proc_q", 0, INT64_MAX / 2, 0 };
    cJSON *m = NULL;
    assert_int_equal(an_process_metrics(t.db, &w, 86400000LL * 365 * 100, &m), FM_OK);
    const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "elements"), 0);
    assert_string_equal(cJSON_GetObjectItem(r, "elementId")->valuestring, "review");
    const cJSON *wt = cJSON_GetObjectItem(r, "waiting"), *wk = cJSON_GetObjectItem(r, "working");
    const cJSON *q = cJSON_GetObjectItem(r, "queue");
    assert_true(cJSON_GetObjectItem(wt, "count")->valuedouble == 2);
    assert_true(cJSON_GetObjectItem(wt, "totalMs")->valuedouble == 10000);
    assert_true(cJSON_GetObjectItem(wt, "p50Ms")->valuedouble == 0);
    assert_true(cJSON_GetObjectItem(wt, "maxMs")->valuedouble == 10000);
    assert_true(cJSON_GetObjectItem(wk, "totalMs")->valuedouble == 50000);
    assert_true(cJSON_GetObjectItem(wk, "maxMs")->valuedouble == 30000);
    assert_true(cJSON_GetObjectItem(q, "now")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(q, "waitingNow")->valuedouble == 1);
    assert_true(cJSON_GetObjectItem(q, "workingNow")->valuedouble == 0);
    /* open at once: A and B from 5 s to 25 s, then A and C from 30 s to 40 s */
    assert_true(cJSON_GetObjectItem(q, "maxInWindow")->valuedouble == 2);
    /* a window from 26 s: A (open then) and C */
    an_window_t late = { "t1", "proc_q", an_parse_time("2026-01-01T00:00:26Z"), INT64_MAX / 2, 0 };
    cJSON *m2 = NULL;
    assert_int_equal(an_process_metrics(t.db, &late, 86400000LL * 365 * 100, &m2), FM_OK);
    r = cJSON_GetArrayItem(cJSON_GetObjectItem(m2, "elements"), 0);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "queue"), "maxInWindow")->valuedouble == 2);
    assert_null(cJSON_GetObjectItem(r, "waiting"));   /* no task created in the window has ended */
    /* a task without an instance is refused and stores nothing */
    cJSON *bad = cJSON_Parse("{\"id\":\"Z\",\"elementId\":\"review\",\"createdAt\":\"2026-01-01T00:00:00Z\"}");
    assert_int_equal(an_ingest_task(t.db, "t1", "task.created", bad, "proc_q", 1), FM_EINVAL);
    assert_int_equal(fm_test_db_int(&t, "SELECT count(*) FROM task_times"), 3);
    assert_int_equal(fm_db_readers_lent(t.db), 0);
    cJSON_Delete(bad);
    cJSON_Delete(m);
    cJSON_Delete(m2);
    fm_test_db_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(times),
        cmocka_unit_test(percentiles),
        cmocka_unit_test(ingest_one_history),
        cmocka_unit_test(task_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
