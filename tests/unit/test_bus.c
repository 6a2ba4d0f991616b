/* test_bus.c — names and patterns, publish/subscribe on a loop, concurrent publishers,
 * back-pressure and the CloudEvent envelope (bus/bus.h). */
#include "fm_test.h"

#include "bus/bus.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and patterns ---- */

static void test_type_valid(void **state)
{
    (void)state;
    static const char *const good[] = {
        "a", "registry.service.registered", "a-b.c_d.E9", "x.y.z.w.v",
    };
    static const char *const bad[] = {
        "", ".a", "a.", "a..b", "a.*", "a.>", "a b", "a/b", "ä.b", "a.b.",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!bus_type_valid(good[i]))
            fail_msg("type '%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (bus_type_valid(bad[i]))
            fail_msg("type '%s' should be invalid", bad[i]);
    assert_false(bus_type_valid(NULL));
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = 0;
    assert_false(bus_type_valid(longname));
    longname[255] = 0;
    assert_true(bus_type_valid(longname));
}

static void test_pattern_valid(void **state)
{
    (void)state;
    static const char *const good[] = {
        "a", ">", "*", "a.*", "a.>", "*.b.*", "registry.*.expired", "execution.>", "*.>",
    };
    static const char *const bad[] = {
        "", "a.>.b", ">.a", "a..b", ".a", "a.", "a*", "a.b*", "**", ">>", "a.>x", "a b",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!bus_pattern_valid(good[i]))
            fail_msg("pattern '%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (bus_pattern_valid(bad[i]))
            fail_msg("pattern '%s' should be invalid", bad[i]);
    assert_false(bus_pattern_valid(NULL));
}

static void test_pattern_match(void **state)
{
    (void)state;
    static const struct { const char *pattern, *type; bool match; } cases[] = {
        { "a.b.c", "a.b.c", true },
        { "a.b.c", "a.b", false },
        { "a.b", "a.b.c", false },
        { "a.b.c", "a.b.cd", false },
        { "a.b.cd", "a.b.c", false },
        { "a.*", "a.b", true },
        { "a.*", "a.b.c", false },      /* '*' is exactly one segment */
        { "a.*", "a", false },
        { "*.b", "a.b", true },
        { "*", "a", true },
        { "*", "a.b", false },
        { "a.*.c", "a.x.c", true },
        { "a.*.c", "a.x.d", false },
        { "a.*.c", "a.c", false },
        { "a.>", "a.b", true },
        { "a.>", "a.b.c.d", true },     /* '>' is one or more */
        { "a.>", "a", false },
        { "a.>", "b.c", false },
        { ">", "a", true },
        { ">", "a.b.c", true },
        { "*.>", "a.b", true },
        { "*.>", "a", false },
        { "registry.service.*", "registry.service.registered", true },
        { "registry.*.expired", "registry.service.expired", true },
        { "registry.*.expired", "registry.service.registered", false },
        { "execution.>", "execution.instance.completed", true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (bus_pattern_match(cases[i].pattern, cases[i].type) != cases[i].match)
            fail_msg("'%s' vs '%s': expected %s", cases[i].pattern, cases[i].type,
                     cases[i].match ? "match" : "no match");
}

/* ---- the envelope ---- */

static void test_event_json(void **state)
{
    (void)state;
    char *s = bus_event_json("0190a5c4-0000-7000-8000-000000000001", "registry",
                             "registry.service.registered", "svc_\"q\"\n", "acme",
                             "2026-11-26T01:02:03.456Z", "{\"name\":\"billing\",\"n\":[1,2]}");
    assert_non_null(s);
    cJSON *o = cJSON_Parse(s);
    if (!o)
        fail_msg("not JSON: %s", s);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "specversion")->valuestring, "1.0");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring,
                        "0190a5c4-0000-7000-8000-000000000001");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "source")->valuestring, "registry");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring,
                        "registry.service.registered");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "time")->valuestring,
                        "2026-11-26T01:02:03.456Z");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "subject")->valuestring, "svc_\"q\"\n");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "tenantid")->valuestring, "acme");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "datacontenttype")->valuestring,
                        "application/json");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_true(cJSON_IsObject(data));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(data, "name")->valuestring, "billing");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(data, "n")), 2);
    cJSON_Delete(o);
    free(s);

    /* no subject, no data */
    s = bus_event_json("id1", "m", "a.b", NULL, "default", "2026-01-01T00:00:00.000Z", NULL);
    assert_non_null(s);
    o = cJSON_Parse(s);
    assert_non_null(o);
    assert_null(cJSON_GetObjectItemCaseSensitive(o, "subject"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "data")));
    cJSON_Delete(o);
    free(s);
}

/* ---- publish / subscribe ---- */

#define MAXREC 64

typedef struct rec {
    int n;
    char types[MAXREC][64];
    char data[MAXREC][64];
    char ids[MAXREC][40];
    char subjects[MAXREC][64];
    bool json_ok[MAXREC];
} rec_t;

static void record(const bus_event_t *ev, void *arg)
{
    rec_t *r = arg;
    if (r->n < MAXREC) {
        snprintf(r->types[r->n], sizeof(r->types[0]), "%s", ev->type);
        snprintf(r->data[r->n], sizeof(r->data[0]), "%s", ev->data);
        snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", ev->id);
        snprintf(r->subjects[r->n], sizeof(r->subjects[0]), "%s", ev->subject ? ev->subject : "");
        /* the envelope carries the same fields */
        cJSON *o = cJSON_Parse(ev->json);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        const cJSON *subject = cJSON_GetObjectItemCaseSensitive(o, "subject");
        r->json_ok[r->n] = o && cJSON_IsString(id) && !strcmp(id->valuestring, ev->id) &&
                           cJSON_IsString(type) && !strcmp(type->valuestring, ev->type) &&
                           (ev->subject ? cJSON_IsString(subject) && !strcmp(subject->valuestring, ev->subject)
                                        : !subject);
        cJSON_Delete(o);
    }
    r->n++;
}

static int loop_setup(void **state)
{
    fm_test_loop_t *t = calloc(1, sizeof(*t));
    if (!t)
        return -1;
    fm_test_loop_init(t, 1024, 1000);
    *state = t;
    return 0;
}

static int loop_teardown(void **state)
{
    fm_test_loop_t *t = *state;
    fm_test_loop_done(t);
    free(t);
    return 0;
}

static void test_publish_order_and_matching(void **state)
{
    fm_test_loop_t *t = *state;
    rec_t all = { 0 }, reg = { 0 }, exact = { 0 }, none = { 0 };
    assert_true(bus_subscribe(">", record, &all) > 0);
    assert_true(bus_subscribe("registry.service.*", record, &reg) > 0);
    assert_true(bus_subscribe("execution.instance.completed", record, &exact) > 0);
    assert_true(bus_subscribe("nobody.*", record, &none) > 0);

    assert_int_equal(bus_publish("registry", "registry.service.registered", "svc_1", "default", "{\"i\":0}"), FM_OK);
    assert_int_equal(bus_publish("execution", "execution.instance.completed", NULL, "default", "{\"i\":1}"), FM_OK);
    assert_int_equal(bus_publish("registry", "registry.service.expired", NULL, "acme", "{\"i\":2}"), FM_OK);
    assert_int_equal(bus_publish("registry", "registry.other", NULL, "default", NULL), FM_OK);
    assert_int_equal(bus_publish("registry", "registry.service.deregistered.extra", NULL, "default", "{\"i\":4}"), FM_OK);
    /* nothing is delivered on the publishing call stack */
    assert_int_equal(all.n, 0);

    /* the loop delivers: run it until the async fired */
    while (all.n < 5)
        uv_run(&t->loop, UV_RUN_ONCE);
    assert_int_equal(all.n, 5);
    assert_string_equal(all.types[0], "registry.service.registered");
    assert_string_equal(all.types[1], "execution.instance.completed");
    assert_string_equal(all.types[2], "registry.service.expired");
    assert_string_equal(all.types[3], "registry.other");
    assert_string_equal(all.data[3], "null");
    assert_string_equal(all.types[4], "registry.service.deregistered.extra");
    for (int i = 0; i < 5; i++)
        assert_true(all.json_ok[i]);
    assert_int_equal(reg.n, 2);
    assert_string_equal(reg.data[0], "{\"i\":0}");
    assert_string_equal(reg.data[1], "{\"i\":2}");
    assert_int_equal(exact.n, 1);
    assert_string_equal(exact.data[0], "{\"i\":1}");
    assert_int_equal(none.n, 0);
    /* every event has its own id */
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            assert_string_not_equal(all.ids[i], all.ids[j]);

    bus_stats_t s = bus_stats();
    assert_int_equal(s.published, 5);
    assert_int_equal(s.delivered, 5);
    assert_int_equal(s.rejected, 0);
    assert_int_equal(s.depth, 0);
    assert_int_equal(s.capacity, 1024);
    assert_int_equal(s.subscribers, 4);
}

static void test_publish_invalid(void **state)
{
    fm_test_loop_t *t = *state;
    (void)t;
    assert_int_equal(bus_publish("m", "bad..type", NULL, "default", NULL), FM_EINVAL);
    assert_int_equal(bus_publish("m", "a.*", NULL, "default", NULL), FM_EINVAL);
    assert_int_equal(bus_publish("", "a.b", NULL, "default", NULL), FM_EINVAL);
    assert_int_equal(bus_publish(NULL, "a.b", NULL, "default", NULL), FM_EINVAL);
    assert_int_equal(bus_publish("m", "a.b", NULL, "", NULL), FM_EINVAL);
    assert_int_equal(bus_publish("m", "a.b", NULL, NULL, NULL), FM_EINVAL);
    rec_t r = { 0 };
    assert_int_equal(bus_subscribe("a..b", record, &r), FM_EINVAL);
    assert_int_equal(bus_subscribe("a.>.b", record, &r), FM_EINVAL);
    assert_int_equal(bus_subscribe("a.b", NULL, &r), FM_EINVAL);
    assert_int_equal(bus_stats().published, 0);
    assert_int_equal(bus_stats().subscribers, 0);
}

static void test_unsubscribe(void **state)
{
    (void)state;
    rec_t gone = { 0 }, kept = { 0 };
    int a = bus_subscribe("a.>", record, &gone);
    int b = bus_subscribe("a.>", record, &kept);
    assert_true(a > 0);
    assert_true(b > a);
    assert_int_equal(bus_publish("m", "a.one", NULL, "default", NULL), FM_OK);
    bus_flush();
    assert_int_equal(gone.n, 1);
    assert_int_equal(kept.n, 1);
    /* queued before the unsubscribe, delivered after: not seen */
    assert_int_equal(bus_publish("m", "a.two", NULL, "default", NULL), FM_OK);
    bus_unsubscribe(a);
    assert_int_equal(bus_stats().subscribers, 1);
    bus_flush();
    assert_int_equal(gone.n, 1);
    assert_int_equal(kept.n, 2);
    bus_unsubscribe(9999);     /* unknown id: nothing happens */
    bus_unsubscribe(b);
    assert_int_equal(bus_publish("m", "a.three", NULL, "default", NULL), FM_OK);
    bus_flush();
    assert_int_equal(kept.n, 2);
    assert_int_equal(bus_stats().delivered, 3);     /* delivered, to no one */
}

/* A subscription with an exception: not delivered, and bus_wants does not count it
 * (the durable log leaves out the engine's per-step events this way). */
static void test_subscribe_except(void **state)
{
    (void)state;
    rec_t r = { 0 };
    assert_int_equal(bus_subscribe_except(">", "a..b", record, &r), FM_EINVAL);
    assert_true(bus_subscribe_except(">", "execution.element.>", record, &r) > 0);
    assert_false(bus_wants("execution.element.entered"));
    assert_true(bus_wants("execution.instance.completed"));
    assert_true(bus_wants("execution.element"));
    assert_int_equal(bus_publish("m", "execution.element.entered", NULL, "default", NULL), FM_OK);
    assert_int_equal(bus_publish("m", "execution.instance.completed", NULL, "default", NULL), FM_OK);
    bus_flush();
    assert_int_equal(r.n, 1);
    assert_string_equal(r.types[0], "execution.instance.completed");
    rec_t all = { 0 };
    assert_true(bus_subscribe(">", record, &all) > 0);
    assert_true(bus_wants("execution.element.entered"));
}

/* A callback that unsubscribes a later subscriber of the same event: that one is not
 * called for it (after bus_unsubscribe returns its fn is not called again). Values
 * that need escaping still make a valid envelope. */
static int victim_sub;

static void unsubscriber(const bus_event_t *ev, void *arg)
{
    (void)ev;
    (void)arg;
    if (victim_sub > 0) {
        bus_unsubscribe(victim_sub);
        victim_sub = 0;
    }
}

static void test_unsubscribe_from_callback(void **state)
{
    (void)state;
    rec_t victim = { 0 }, last = { 0 };
    assert_true(bus_subscribe("u.>", unsubscriber, NULL) > 0);
    victim_sub = bus_subscribe("u.>", record, &victim);
    assert_true(bus_subscribe("u.*", record, &last) > 0);
    assert_int_equal(bus_publish("m", "u.one", "sub\"ject\\\n", "default", "{\"q\":\"\\\"\"}"), FM_OK);
    assert_int_equal(bus_publish("m", "u.two", NULL, "default", NULL), FM_OK);
    bus_flush();
    assert_int_equal(victim.n, 0);
    assert_int_equal(last.n, 2);
    assert_true(last.json_ok[0] && last.json_ok[1]);
    assert_string_equal(last.subjects[0], "sub\"ject\\\n");
    assert_string_equal(last.data[0], "{\"q\":\"\\\"\"}");
}

/* A subscriber may publish and subscribe from inside its callback. */
static int chained_sub;
static rec_t chained_rec;

static void republish(const bus_event_t *ev, void *arg)
{
    (void)arg;
    if (!strcmp(ev->type, "chain.start")) {
        assert_int_equal(bus_publish("m", "chain.next", NULL, "default", "1"), FM_OK);
        chained_sub = bus_subscribe("chain.next", record, &chained_rec);
        assert_true(chained_sub > 0);
    }
}

static void test_publish_from_callback(void **state)
{
    (void)state;
    memset(&chained_rec, 0, sizeof(chained_rec));
    assert_true(bus_subscribe("chain.*", republish, NULL) > 0);
    assert_int_equal(bus_publish("m", "chain.start", NULL, "default", NULL), FM_OK);
    bus_flush();
    assert_int_equal(chained_rec.n, 1);
    assert_string_equal(chained_rec.types[0], "chain.next");
    assert_int_equal(bus_stats().delivered, 2);
}

static void count_type_fn(const char *type, uint64_t count, void *arg)
{
    int *n = arg;
    if (!strcmp(type, "x.a"))
        n[0] = (int)count;
    else if (!strcmp(type, "x.b"))
        n[1] = (int)count;
}

static void test_each_type(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(bus_publish("m", "x.a", NULL, "default", NULL), FM_OK);
    assert_int_equal(bus_publish("m", "x.b", NULL, "default", NULL), FM_OK);
    bus_flush();
    int n[2] = { 0, 0 };
    bus_each_type(count_type_fn, n);
    assert_int_equal(n[0], 3);
    assert_int_equal(n[1], 1);
}

/* ---- concurrent publishers ---- */

#define NTHREADS 4
#define PER_THREAD 5000

typedef struct {
    fm_test_loop_t *t;
    int next[NTHREADS];         /* next sequence number expected per thread */
    int total, bad, dup;
    unsigned char seen[NTHREADS][PER_THREAD];
    bool done;
} conc_t;

typedef struct {
    int tid;
    atomic_int failed;
} pub_arg_t;

static void *publisher(void *arg)
{
    pub_arg_t *a = arg;
    char data[64];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(data, sizeof(data), "{\"t\":%d,\"seq\":%d}", a->tid, i);
        if (bus_publish("test", "load.event", NULL, "default", data) != FM_OK)
            atomic_fetch_add(&a->failed, 1);
    }
    return NULL;
}

static void on_load(const bus_event_t *ev, void *arg)
{
    conc_t *c = arg;
    int tid = -1, seq = -1;
    if (sscanf(ev->data, "{\"t\":%d,\"seq\":%d}", &tid, &seq) != 2 || tid < 0 || tid >= NTHREADS ||
        seq < 0 || seq >= PER_THREAD) {
        c->bad++;
        return;
    }
    if (c->seen[tid][seq]++)
        c->dup++;
    if (seq != c->next[tid])    /* one thread's events arrive in its publish order */
        c->bad++;
    c->next[tid] = seq + 1;
    if (++c->total == NTHREADS * PER_THREAD) {
        c->done = true;
        uv_stop(&c->t->loop);
    }
}

static void test_concurrent_publishers(void **state)
{
    (void)state;
    fm_test_loop_t t;
    /* a queue smaller than the flood: publishers wait for room while the loop drains */
    fm_test_loop_init(&t, 1024, 5000);
    conc_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->t = &t;
    assert_true(bus_subscribe("load.*", on_load, c) > 0);
    pthread_t th[NTHREADS];
    pub_arg_t args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i].tid = i;
        atomic_init(&args[i].failed, 0);
        assert_int_equal(pthread_create(&th[i], NULL, publisher, &args[i]), 0);
    }
    bool ok = fm_test_loop_run_until(&t, &c->done, 10000);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    bus_flush();    /* anything still queued (there should be none) */
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(atomic_load(&args[i].failed), 0);
    assert_true(ok);
    assert_int_equal(c->total, NTHREADS * PER_THREAD);
    assert_int_equal(c->dup, 0);
    assert_int_equal(c->bad, 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(c->next[i], PER_THREAD);
    bus_stats_t s = bus_stats();
    assert_int_equal(s.published, NTHREADS * PER_THREAD);
    assert_int_equal(s.delivered, NTHREADS * PER_THREAD);
    assert_int_equal(s.rejected, 0);
    assert_int_equal(s.depth, 0);
    fm_test_loop_done(&t);
    free(c);
}

/* ---- back-pressure ---- */

typedef struct {
    int n, ok, busy, other;
} bp_arg_t;

static void *bp_publisher(void *arg)
{
    bp_arg_t *a = arg;
    for (int i = 0; i < a->n; i++) {
        int rc = bus_publish("test", "bp.event", NULL, "default", "{}");
        if (rc == FM_OK)
            a->ok++;
        else if (rc == FM_EBUSY)
            a->busy++;
        else
            a->other++;
    }
    return NULL;
}

static void test_backpressure_worker_no_wait(void **state)
{
    (void)state;
    fm_test_loop_t t;
    fm_test_loop_init(&t, 16, 0);
    rec_t r = { 0 };
    assert_true(bus_subscribe("bp.*", record, &r) > 0);
    bp_arg_t a = { 40, 0, 0, 0 };
    pthread_t th;
    /* the loop does not run while the worker publishes */
    assert_int_equal(pthread_create(&th, NULL, bp_publisher, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.ok, 16);
    assert_int_equal(a.busy, 24);
    assert_int_equal(a.other, 0);
    bus_stats_t s = bus_stats();
    assert_int_equal(s.rejected, 24);
    assert_int_equal(s.published, 16);
    assert_int_equal(s.depth, 16);
    bus_flush();
    assert_int_equal(r.n, 16);      /* rejected events are never delivered */
    assert_int_equal(bus_stats().depth, 0);
    /* room again */
    a = (bp_arg_t){ 16, 0, 0, 0 };
    assert_int_equal(pthread_create(&th, NULL, bp_publisher, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.ok, 16);
    assert_int_equal(a.busy, 0);
    fm_test_loop_done(&t);
}

static void test_backpressure_loop_thread_never_waits(void **state)
{
    (void)state;
    fm_test_loop_t t;
    fm_test_loop_init(&t, 16, 5000);    /* a worker would wait 5 s; the loop thread must not */
    for (int i = 0; i < 16; i++)
        assert_int_equal(bus_publish("test", "bp.event", NULL, "default", NULL), FM_OK);
    double t0 = uv_hrtime() / 1e9;
    assert_int_equal(bus_publish("test", "bp.event", NULL, "default", NULL), FM_EBUSY);
    assert_true(uv_hrtime() / 1e9 - t0 < 0.5);
    assert_int_equal(bus_stats().rejected, 1);
    fm_test_loop_done(&t);
}

typedef struct {
    fm_test_loop_t *t;
    bp_arg_t a;
    atomic_bool finished;
} wait_arg_t;

static void *waiting_publisher(void *arg)
{
    wait_arg_t *w = arg;
    bp_publisher(&w->a);
    atomic_store(&w->finished, true);
    return NULL;
}

typedef struct {
    int n, target;
    bool done;
} counter_t;

static void count_until(const bus_event_t *ev, void *arg)
{
    (void)ev;
    counter_t *c = arg;
    if (++c->n >= c->target)
        c->done = true;
}

static void test_backpressure_worker_waits_for_room(void **state)
{
    (void)state;
    fm_test_loop_t t;
    fm_test_loop_init(&t, 16, 5000);
    counter_t cnt = { 0, 20, false };
    assert_true(bus_subscribe("bp.*", count_until, &cnt) > 0);
    wait_arg_t w = { &t, { 20, 0, 0, 0 }, false };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, waiting_publisher, &w), 0);
    /* the worker fills the queue, then waits; the loop makes room */
    bool ok = fm_test_loop_run_until(&t, &cnt.done, 5000);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(ok);
    assert_true(atomic_load(&w.finished));
    assert_int_equal(w.a.ok, 20);
    assert_int_equal(w.a.busy, 0);
    assert_int_equal(cnt.n, 20);
    assert_int_equal(bus_stats().rejected, 0);
    fm_test_loop_done(&t);
}

static void test_publish_after_shutdown(void **state)
{
    (void)state;
    fm_test_loop_t t;
    fm_test_loop_init(&t, 16, 0);
    rec_t r = { 0 };
    assert_true(bus_subscribe(">", record, &r) > 0);
    assert_int_equal(bus_publish("m", "a.b", NULL, "default", NULL), FM_OK);
    fm_test_loop_done(&t);  /* bus_shutdown delivers what is queued */
    assert_int_equal(r.n, 1);
    assert_int_equal(bus_publish("m", "a.b", NULL, "default", NULL), FM_EBUSY);
    bus_flush();            /* harmless without a bus */
    bus_shutdown();
}

int main(void)
{
#define L(fn) cmocka_unit_test_setup_teardown(fn, loop_setup, loop_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_valid),
        cmocka_unit_test(test_pattern_valid),
        cmocka_unit_test(test_pattern_match),
        cmocka_unit_test(test_event_json),
        L(test_publish_order_and_matching),
        L(test_publish_invalid),
        L(test_unsubscribe),
        L(test_publish_from_callback),
        L(test_each_type),
        cmocka_unit_test(test_concurrent_publishers),
        L(test_subscribe_except),
        L(test_unsubscribe_from_callback),
        cmocka_unit_test(test_backpressure_worker_no_wait),
        cmocka_unit_test(test_backpressure_loop_thread_never_waits),
        cmocka_unit_test(test_backpressure_worker_waits_for_room),
        cmocka_unit_test(test_publish_after_shutdown),
    };
    return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
