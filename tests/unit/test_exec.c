/*
 * test_exec.c — the execution engine's token machine (src/modules/execution) on its
 * real migration, without the server: definitions compiled from XML and registered in
 * the cache, instances run inside transactions, reloaded from their stored documents
 * between steps. The HTTP suites cover the same elements end to end; these pin down
 * the semantics where a wrong answer would be quiet (joins, scopes, output order).
 */
#include "fm_test.h"

#include "bus/bus.h"
#include "modules/execution/exec_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" " \
             "xmlns:zeebe=\"http://camunda.org/schema/zeebe/1.0\" targetNamespace=\"t\">" \
             "<process id=\"p\" isExecutable=\"true\">"
#define TAIL "</process></definitions>"
#define SCRIPT(id, expr, var) "<scriptTask id=\"" id "\"><extensionElements><zeebe:script expression=\"" expr \
                              "\" resultVariable=\"" var "\"/></extensionElements></scriptTask>"
#define JOB(id, type) "<serviceTask id=\"" id "\"><extensionElements><zeebe:taskDefinition type=\"" type \
                      "\"/></extensionElements></serviceTask>"
#define FLOW(id, a, b) "<sequenceFlow id=\"" id "\" sourceRef=\"" a "\" targetRef=\"" b "\"/>"
#define CFLOW(id, a, b, c) "<sequenceFlow id=\"" id "\" sourceRef=\"" a "\" targetRef=\"" b "\">" \
                           "<conditionExpression>" c "</conditionExpression></sequenceFlow>"

static fm_test_db_t T;
static int nproc;

static int setup(void **state)
{
    (void)state;
    fm_test_db_open(&T, true);
    static const char *const files[] = { "migrations/execution/0001_init.sql",
                                         "migrations/execution/0002_signals.sql",
                                         "migrations/execution/0003_msgbuf.sql",
                                         "migrations/execution/0004_retention.sql" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp = fopen(files[i], "rb");
        assert_non_null(fp);
        static char sql[32768];
        size_t n = fread(sql, 1, sizeof(sql) - 1, fp);
        fclose(fp);
        sql[n] = '\0';
        sqlite3 *w = fm_db_write_begin(T.db);
        char err[256];
        int rc = fm_db_exec(w, sql, err, sizeof(err));
        assert_int_equal(fm_db_write_end(T.db, rc), FM_OK);
    }
    ex_work_set_db(T.db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ex_defs_clear();
    ex_work_set_db(NULL);
    fm_test_db_close(&T);
    return 0;
}

/* Compiles and registers xml; returns its process id. */
static const char *deploy(const char *xml)
{
    static char pid[32];
    char err[400];
    ex_def_t *d = ex_def_compile(xml, strlen(xml), NULL, err, sizeof(err));
    if (!d)
        fail_msg("compile: %s", err);
    snprintf(pid, sizeof(pid), "proc_t%d", ++nproc);
    ex_def_put("default", pid, 1, d);
    return pid;
}

/* Starts an instance; id gets its id; returns the state after the commit. */
static int start(const char *pid, const char *vars, char id[48])
{
    ex_def_t *d;
    const char *field;
    char why[300];
    assert_int_equal(ex_def_get("default", pid, 1, &d, &field, why, sizeof(why)), FM_OK);
    cJSON *v = vars ? cJSON_Parse(vars) : NULL;
    ex_tx_t tx;
    assert_int_equal(ex_tx_begin(&tx, T.db), FM_OK);
    ex_inst_t *in;
    assert_int_equal(ex_start(&tx, d, NULL, v, NULL, NULL, 0, -1, &in), FM_OK);
    snprintf(id, 48, "%s", in->id);
    int st = in->state;
    cJSON_Delete(v);
    assert_int_equal(ex_tx_end(&tx, FM_OK), FM_OK);
    return st;
}

/* The instance as stored (caller deletes). */
static cJSON *get(const char *id)
{
    cJSON *o = NULL;
    assert_int_equal(ex_store_get_json(T.db, "default", id, &o), FM_OK);
    return o;
}

/* "s>a>g" — the element ids of element.left entries, in order. */
static void path_of(const char *id, char *out, size_t len)
{
    out[0] = 0;
    sqlite3 *c = fm_db_reader(T.db);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "SELECT entries, first_seq FROM history WHERE instance_id = ? "
                                           "ORDER BY first_seq", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        ex_hist_expand((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1), 0, 100000, &total,
                       items);
    sqlite3_finalize(st);
    fm_db_reader_done(T.db, c);
    cJSON *e;
    cJSON_ArrayForEach(e, items)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
        const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(e, "elementId"));
        if (type && el && !strcmp(type, "element.left")) {
            if (out[0])
                strncat(out, ">", len - strlen(out) - 1);
            strncat(out, el, len - strlen(out) - 1);
        }
    }
    cJSON_Delete(items);
}

/* The job waiting at element `el`. */
static void job_at(const char *id, const char *el, char job[48])
{
    cJSON *o = get(id);
    cJSON *a;
    job[0] = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(o, "activeElements"))
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "elementId")), el) && !job[0] &&
            cJSON_GetObjectItem(a, "jobId"))
            snprintf(job, 48, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(a, "jobId")));
    }
    cJSON_Delete(o);
    if (!job[0])
        fail_msg("no job waits at %s", el);
}

/* Completes the first job waiting at element `el` with vars. */
static void complete_job(const char *id, const char *el, const char *vars)
{
    cJSON *o = get(id);
    cJSON *a;
    char job[48] = "";
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(o, "activeElements"))
    {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "elementId")), el) && !job[0] &&
            cJSON_GetObjectItem(a, "jobId"))
            snprintf(job, sizeof(job), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(a, "jobId")));
    }
    cJSON_Delete(o);
    if (!job[0])
        fail_msg("no job waits at %s", el);
    cJSON *v = vars ? cJSON_Parse(vars) : NULL;
    char why[300];
    assert_int_equal(ex_job_complete(T.db, "default", job, v, why, sizeof(why)), FM_OK);
    cJSON_Delete(v);
}

static const char *state_of(const char *id, char *buf)
{
    cJSON *o = get(id);
    snprintf(buf, 16, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(o, "state")));
    cJSON_Delete(o);
    return buf;
}

static double num_var(const char *id, const char *name)
{
    cJSON *o = get(id);
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "variables"), name);
    double d = cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsRaw(v) ? atof(v->valuestring) : -1;
    cJSON_Delete(o);
    return d;
}

static void test_compile_refuses_what_it_cannot_run(void **state)
{
    (void)state;
    char err[400];
    static const char *bad[][2] = {
        { HEAD "<startEvent id=\"s\"/>" FLOW("f", "s", "c") "<complexGateway id=\"c\"/>" TAIL, "'c'" },
        { HEAD "<startEvent id=\"s\"/>" FLOW("f", "s", "t") JOB("t", "x") "<serviceTask id=\"u\"/>" TAIL, "'u'" },
        { HEAD "<startEvent id=\"s\"/>" FLOW("f", "s", "a") SCRIPT("a", "=1 +", "x") TAIL, "'a'" },
        { HEAD "<task id=\"t\"/>" TAIL, "start event" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ex_def_t *d = ex_def_compile(bad[i][0], strlen(bad[i][0]), NULL, err, sizeof(err));
        assert_null(d);
        if (!strstr(err, bad[i][1]))
            fail_msg("case %zu: '%s' does not mention %s", i, err, bad[i][1]);
    }
}

static void test_script_gateway_fork_join(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "a") SCRIPT("a", "=x * 2", "y")
                             FLOW("f2", "a", "g") "<exclusiveGateway id=\"g\" default=\"f4\"/>"
                             CFLOW("f3", "g", "fork", "=y &gt; 10") FLOW("f4", "g", "low") "<endEvent id=\"low\"/>"
                             "<parallelGateway id=\"fork\"/>" FLOW("f5", "fork", "b") FLOW("f6", "fork", "c")
                             SCRIPT("b", "=y + 1", "b") SCRIPT("c", "=y + 2", "c") FLOW("f7", "b", "join")
                             FLOW("f8", "c", "join") "<parallelGateway id=\"join\"/>" FLOW("f9", "join", "e")
                             "<endEvent id=\"e\"/>" TAIL);
    char id[48], path[512], st[16];
    assert_int_equal(start(pid, "{\"x\": 7}", id), I_COMPLETED);
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>a>g>fork>b>c>join>e");
    assert_true(num_var(id, "b") == 15 && num_var(id, "c") == 16);
    assert_int_equal(start(pid, "{\"x\": 2}", id), I_COMPLETED);
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>a>g>low");
    assert_string_equal(state_of(id, st), "completed");
}

/* The inclusive join waits for a branch that is still running, not for one not taken. */
static void test_inclusive_join(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "or") "<inclusiveGateway id=\"or\"/>"
                             CFLOW("fa", "or", "ja", "=a") CFLOW("fb", "or", "jb", "=b") CFLOW("fc", "or", "sc", "=c")
                             JOB("ja", "ja") JOB("jb", "jb") SCRIPT("sc", "=1", "c1")
                             FLOW("ga", "ja", "m") FLOW("gb", "jb", "m") FLOW("gc", "sc", "m")
                             "<inclusiveGateway id=\"m\"/>" FLOW("f9", "m", "e") "<endEvent id=\"e\"/>" TAIL);
    char id[48], path[512], st[16];
    /* a and c: c reaches the join at once; it must wait for a */
    assert_int_equal(start(pid, "{\"a\": true, \"b\": false, \"c\": true}", id), I_ACTIVE);
    cJSON *o = get(id);
    int njoin = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "activeElements"))
        njoin += !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "waitingFor")), "join");
    cJSON_Delete(o);
    assert_int_equal(njoin, 1);
    complete_job(id, "ja", NULL);
    assert_string_equal(state_of(id, st), "completed");
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>or>sc>ja>m>e");
    /* only b: one token, no waiting */
    assert_int_equal(start(pid, "{\"a\": false, \"b\": true, \"c\": false}", id), I_ACTIVE);
    complete_job(id, "jb", NULL);
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>or>jb>m>e");
}

/* Parallel multi-instance: outputs land in input order whatever order iterations end;
 * the element variable is local to each iteration and survives a reload. */
static void test_multi_instance_outputs_in_order(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "w")
                             "<serviceTask id=\"w\"><extensionElements><zeebe:taskDefinition type=\"w\"/>"
                             "</extensionElements><multiInstanceLoopCharacteristics><extensionElements>"
                             "<zeebe:loopCharacteristics inputCollection=\"=items\" inputElement=\"item\" "
                             "outputCollection=\"out\" outputElement=\"=r\"/></extensionElements>"
                             "</multiInstanceLoopCharacteristics></serviceTask>"
                             FLOW("f2", "w", "e") "<endEvent id=\"e\"/>" TAIL);
    char id[48], st[16];
    assert_int_equal(start(pid, "{\"items\": [10, 20, 30]}", id), I_ACTIVE);
    /* answer the iterations last to first: each job sees its own item */
    sqlite3 *c = fm_db_reader(T.db);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "SELECT id, token_id FROM jobs WHERE instance_id = ? ORDER BY rowid DESC",
                                        -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    char jobs[3][48];
    int toks[3], n = 0;
    while (n < 3 && sqlite3_step(q) == SQLITE_ROW) {
        snprintf(jobs[n], 48, "%s", sqlite3_column_text(q, 0));
        toks[n++] = sqlite3_column_int(q, 1);
    }
    sqlite3_finalize(q);
    fm_db_reader_done(T.db, c);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        cJSON *vars = NULL;
        assert_int_equal(ex_store_token_vars(T.db, "default", id, toks[i], &vars), FM_OK);
        cJSON *item = cJSON_GetObjectItem(vars, "item");
        char r[64];
        snprintf(r, sizeof(r), "{\"r\": %d}", (int)item->valuedouble + 1);
        cJSON_Delete(vars);
        cJSON *rv = cJSON_Parse(r);
        char why[300];
        assert_int_equal(ex_job_complete(T.db, "default", jobs[i], rv, why, sizeof(why)), FM_OK);
        cJSON_Delete(rv);
    }
    assert_string_equal(state_of(id, st), "completed");
    cJSON *o = get(id);
    char *out = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "variables"), "out"));
    assert_string_equal(out, "[11,21,31]");
    free(out);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "variables"), "item"));   /* stayed local */
    cJSON_Delete(o);
}

/* An error thrown by a job is caught by the boundary of an enclosing subprocess; with
 * nobody to catch it the instance fails. */
static void test_errors_propagate_through_scopes(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<error id=\"E\" errorCode=\"BAD\"/>" "<startEvent id=\"s\"/>" FLOW("f1", "s", "sub")
                             "<subProcess id=\"sub\"><startEvent id=\"ss\"/>" FLOW("g1", "ss", "j") JOB("j", "j")
                             FLOW("g2", "j", "se") "<endEvent id=\"se\"/></subProcess>"
                             "<boundaryEvent id=\"b\" attachedToRef=\"sub\"><errorEventDefinition errorRef=\"E\"/>"
                             "</boundaryEvent>" FLOW("f2", "sub", "ok") "<endEvent id=\"ok\"/>"
                             FLOW("f3", "b", "handled") "<endEvent id=\"handled\"/>" TAIL);
    char id[48], path[512], st[16], why[300];
    assert_int_equal(start(pid, NULL, id), I_ACTIVE);
    char jid[48];
    job_at(id, "j", jid);
    assert_int_equal(ex_job_fail(T.db, "default", jid, "no", -1, -1, "BAD", why, sizeof(why)), FM_OK);
    assert_string_equal(state_of(id, st), "completed");
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>ss>sub>b>handled");
    /* another code: nobody catches it */
    assert_int_equal(start(pid, NULL, id), I_ACTIVE);
    job_at(id, "j", jid);
    /* the boundary has errorRef BAD: OTHER is not caught */
    assert_int_equal(ex_job_fail(T.db, "default", jid, "no", -1, -1, "OTHER", why, sizeof(why)), FM_OK);
    assert_string_equal(state_of(id, st), "failed");
}

/* A loop without a wait state stops at the step limit with an incident, and the
 * transaction still commits (the instance is inspectable, nothing hangs). */
static void test_endless_loop_becomes_incident(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "a") SCRIPT("a", "=1", "x")
                             FLOW("f2", "a", "a") TAIL);
    char id[48];
    assert_int_equal(start(pid, NULL, id), I_ACTIVE);
    cJSON *o = get(id);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "incidents")), 1);
    cJSON_Delete(o);
}

/* Token and scope lookups go through an index kept up to date while tokens are added
 * and removed (removal moves the last token into the gap): after 20,000 tokens and
 * removals in a scattered order every id still finds its own token, and the busy
 * counts of scopes follow. */
static void test_token_index_after_removals(void **state)
{
    (void)state;
    ex_inst_t *in = calloc(1, sizeof(*in));
    assert_non_null(in);
    int sc = ex_scope_new(in, S_SUB, 0, 0, 0);
    enum { N = 20000 };
    static int ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = ex_tok_new(in, i % 7, i % 2 ? sc : 0, -1);
    assert_true(ex_scope_busy(in, sc) && ex_scope_busy(in, 0));
    /* remove every third in a scattered order (a stride coprime to N) */
    static bool gone[N];
    for (int k = 0, i = 0; k < N; k++, i = (i + 7919) % N)
        if (i % 3 == 0) {
            ex_tok_remove(in, ids[i]);
            gone[i] = true;
        }
    for (int i = 0; i < N; i++) {
        ex_tok_t *t = ex_tok(in, ids[i]);
        if (gone[i])
            assert_null(t);
        else {
            assert_non_null(t);
            assert_int_equal(t->id, ids[i]);
            assert_int_equal(t->node, i % 7);
        }
    }
    /* moving tokens between scopes keeps the counts */
    for (int i = 0; i < N; i++)
        if (!gone[i] && i % 2)
            ex_tok_set_scope(in, ids[i], 0);
    assert_false(ex_scope_busy(in, sc));
    for (int i = 0; i < N; i++)
        if (!gone[i])
            ex_tok_remove(in, ids[i]);
    assert_int_equal(in->ntoks, 0);
    assert_false(ex_scope_busy(in, 0));
    ex_scope_remove(in, sc);
    assert_null(ex_scope(in, sc));
    ex_inst_free(in);
}

/* The engine puts into a FEEL context only the names an expression mentions
 * (feel_expr_names): variables anywhere in it, inside paths, filters, loops and
 * function bodies, once each. */
static void test_expression_names(void **state)
{
    (void)state;
    feel_perr_t pe;
    feel_expr_t *e = feel_parse("a + b.c * count(list[item > lim]) + (for x in xs return x + a) + "
                                "{f: function(p) p + q}.f(1)", FEEL_EXPR, NULL, &pe);
    assert_non_null(e);
    const char *names[16];
    int n = feel_expr_names(e, names, 16);
    const char *want[] = { "a", "b", "count", "list", "item", "lim", "xs", "x", "p", "q" };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;
        for (int j = 0; j < n; j++)
            found = found || !strcmp(names[j], want[i]);
        if (!found)
            fail_msg("name '%s' not reported", want[i]);
    }
    for (int j = 0; j < n; j++)
        for (int k = j + 1; k < n; k++)
            assert_string_not_equal(names[j], names[k]);
    assert_int_equal(feel_expr_names(e, names, 3), -1);      /* more than max */
    feel_expr_free(e);
}

/* A parallel multi-instance subprocess over 3,000 items starts its iterations in
 * slices: the start commits the first, each "mi" timer the next; the output collection
 * comes out in input order. */
static void test_multi_instance_in_slices(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "sub")
                             "<subProcess id=\"sub\"><multiInstanceLoopCharacteristics><extensionElements>"
                             "<zeebe:loopCharacteristics inputCollection=\"=items\" inputElement=\"item\" "
                             "outputCollection=\"out\" outputElement=\"=y\"/></extensionElements>"
                             "</multiInstanceLoopCharacteristics><startEvent id=\"ss\"/>" FLOW("g1", "ss", "k")
                             SCRIPT("k", "=item * 3", "y") FLOW("g2", "k", "se") "<endEvent id=\"se\"/>"
                             "</subProcess>" FLOW("f2", "sub", "e") "<endEvent id=\"e\"/>" TAIL);
    enum { N = 3000 };
    char vars[N * 8 + 32], *p = vars, id[48], st[16];
    p += sprintf(p, "{\"items\": [");
    for (int i = 0; i < N; i++)
        p += sprintf(p, "%s%d", i ? "," : "", i);
    sprintf(p, "]}");
    assert_int_equal(start(pid, vars, id), I_ACTIVE);
    int slices = 1;
    for (; slices < 100; slices++) {
        /* the "mi" timer row the last slice left, fired as the worker would */
        sqlite3 *c = fm_db_reader(T.db);
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_prepare_v2(c, "SELECT scope_id, element FROM timers WHERE instance_id = ? AND "
                                               "kind = 'mi'", -1, &q, NULL), SQLITE_OK);
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        int scope = -1;
        char el[64] = "";
        if (sqlite3_step(q) == SQLITE_ROW) {
            scope = sqlite3_column_int(q, 0);
            snprintf(el, sizeof(el), "%s", sqlite3_column_text(q, 1));
        }
        sqlite3_finalize(q);
        fm_db_reader_done(T.db, c);
        if (scope < 0)
            break;
        ex_tx_t tx;
        assert_int_equal(ex_tx_begin(&tx, T.db), FM_OK);
        assert_int_equal(fm_dbq_run(tx.w, "DELETE FROM timers WHERE instance_id = ? AND kind = 'mi'", "s", id), FM_OK);
        ex_inst_t *in;
        assert_int_equal(ex_load(&tx, "default", id, &in), FM_OK);
        assert_int_equal(ex_trigger(&tx, in, "mi", 0, scope, el, NULL), FM_OK);
        assert_int_equal(ex_tx_end(&tx, FM_OK), FM_OK);
    }
    assert_int_equal(slices, N / EX_MI_SLICE);
    cJSON *o = get(id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "state")), "completed");
    cJSON *out = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "variables"), "out");
    assert_int_equal(cJSON_GetArraySize(out), N);
    int i = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, out) assert_int_equal((int)cJSON_GetNumberValue(x), 3 * i++);
    cJSON_Delete(o);
    (void)st;
}

/* zeebe:ioMapping on a task: inputs are the task's own variables (its job sees them,
 * the instance does not), what the worker sends stays local, only outputs go out. */
static void test_io_mapping_on_tasks(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "j")
                             "<serviceTask id=\"j\"><extensionElements><zeebe:taskDefinition type=\"io\"/>"
                             "<zeebe:ioMapping><zeebe:input source=\"=order.total\" target=\"amount\"/>"
                             "<zeebe:output source=\"=fee + amount\" target=\"charged\"/></zeebe:ioMapping>"
                             "</extensionElements></serviceTask>" FLOW("f2", "j", "a")
                             "<scriptTask id=\"a\"><extensionElements><zeebe:script expression=\"=k * 2\" "
                             "resultVariable=\"r\"/><zeebe:ioMapping><zeebe:input source=\"=charged\" target=\"k\"/>"
                             "</zeebe:ioMapping></extensionElements></scriptTask>"
                             FLOW("f3", "a", "e") "<endEvent id=\"e\"/>" TAIL);
    char id[48], job[48], st[16];
    assert_int_equal(start(pid, "{\"order\": {\"total\": 40}}", id), I_ACTIVE);
    job_at(id, "j", job);
    /* the job sees its input; the instance's variables do not have it */
    sqlite3 *c = fm_db_reader(T.db);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(c, "SELECT token_id FROM jobs WHERE id = ?", -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_text(q, 1, job, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int token = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    fm_db_reader_done(T.db, c);
    cJSON *vars = NULL;
    assert_int_equal(ex_store_token_vars(T.db, "default", id, token, &vars), FM_OK);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(vars, "amount")), 40);
    cJSON_Delete(vars);
    assert_true(num_var(id, "amount") == -1);
    complete_job(id, "j", "{\"fee\": 2}");
    assert_string_equal(state_of(id, st), "completed");
    assert_true(num_var(id, "charged") == 42);
    assert_true(num_var(id, "r") == 84);        /* the script's input k was local... */
    assert_true(num_var(id, "k") == -1);        /* ...and stayed so */
    assert_true(num_var(id, "fee") == -1);      /* kept by the task: it has outputs */
}

static void on_event(const bus_event_t *ev, void *arg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", ev->type);
    cJSON_AddStringToObject(o, "subject", ev->subject);
    cJSON_AddItemToObject(o, "data", cJSON_Parse(ev->data));
    cJSON_AddItemToArray(arg, o);
}

/* With a subscriber, every lifecycle change goes out through the outbox, in order,
 * with the instance, element and token; without one nothing is written. */
static void test_lifecycle_events(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "a") SCRIPT("a", "=1", "x")
                             FLOW("f2", "a", "e") "<endEvent id=\"e\"/>" TAIL);
    char id[48];
    assert_int_equal(start(pid, NULL, id), I_COMPLETED);
    assert_int_equal(fm_test_db_int(&T, "SELECT COUNT(*) FROM fm_outbox"), 0);

    fm_test_loop_t loop;
    fm_test_loop_init(&loop, 1024, 1000);
    cJSON *got = cJSON_CreateArray();
    int sub = bus_subscribe("execution.>", on_event, got);
    assert_true(sub > 0);
    assert_int_equal(bus_outbox_attach(T.db, "execution"), FM_OK);
    assert_int_equal(start(pid, NULL, id), I_COMPLETED);
    bus_flush();
    static const char *want[] = {
        "execution.instance.started", "execution.element.entered", "execution.element.left",
        "execution.element.entered", "execution.element.left", "execution.element.entered",
        "execution.element.left", "execution.instance.completed",
    };
    assert_int_equal(cJSON_GetArraySize(got), 8);
    for (int i = 0; i < 8; i++) {
        cJSON *e = cJSON_GetArrayItem(got, i);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), want[i]);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "subject")), id);
        cJSON *d = cJSON_GetObjectItem(e, "data");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "executionId")), id);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "processId")), pid);
    }
    cJSON *third = cJSON_GetObjectItem(cJSON_GetArrayItem(got, 3), "data");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(third, "elementId")), "a");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(third, "elementType")), "scriptTask");
    assert_int_equal(fm_test_db_int(&T, "SELECT COUNT(*) FROM fm_outbox"), 0);   /* delivered and deleted */
    bus_unsubscribe(sub);
    fm_test_loop_done(&loop);
    cJSON_Delete(got);
}

/* Zeebe runs processes without end events: an element with no outgoing flow ends its
 * token, and the instance completes when its last token has ended (issue 11 item 5). */
static void test_no_end_event(void **state)
{
    (void)state;
    const char *pid = deploy(HEAD "<startEvent id=\"s\"/>" FLOW("f1", "s", "fork") "<parallelGateway id=\"fork\"/>"
                             FLOW("f2", "fork", "a") FLOW("f3", "fork", "j") SCRIPT("a", "=x + 1", "y")
                             JOB("j", "audit") TAIL);
    char id[48], path[512], st[16];
    assert_int_equal(start(pid, "{\"x\": 1}", id), I_ACTIVE);     /* the job still runs */
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>fork>a");
    complete_job(id, "j", "{\"done\": true}");
    assert_string_equal(state_of(id, st), "completed");
    path_of(id, path, sizeof(path));
    assert_string_equal(path, "s>fork>a>j");
    assert_true(num_var(id, "y") == 2);
}

/* isExecutable="false": modelled for documentation, refused (issue 11 item 9). */
static void test_not_executable_refused(void **state)
{
    (void)state;
    static const char xml[] = "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" "
                              "targetNamespace=\"t\"><process id=\"doc_only\" isExecutable=\"false\">"
                              "<startEvent id=\"s\"/>" FLOW("f", "s", "e") "<endEvent id=\"e\"/>" TAIL;
    char err[400];
    ex_def_t *d = ex_def_compile(xml, strlen(xml), NULL, err, sizeof(err));
    assert_null(d);
    if (!strstr(err, "'doc_only'") || !strstr(err, "not executable"))
        fail_msg("'%s' does not name the process and the reason", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_refuses_what_it_cannot_run),
        cmocka_unit_test(test_script_gateway_fork_join),
        cmocka_unit_test(test_inclusive_join),
        cmocka_unit_test(test_multi_instance_outputs_in_order),
        cmocka_unit_test(test_errors_propagate_through_scopes),
        cmocka_unit_test(test_endless_loop_becomes_incident),
        cmocka_unit_test(test_lifecycle_events),
        cmocka_unit_test(test_io_mapping_on_tasks),
        cmocka_unit_test(test_no_end_event),
        cmocka_unit_test(test_not_executable_refused),
        cmocka_unit_test(test_token_index_after_removals),
        cmocka_unit_test(test_expression_names),
        cmocka_unit_test(test_multi_instance_in_slices),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
