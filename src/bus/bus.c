/*
 * bus.c — the in-memory queue, subscriptions and delivery of the event bus (bus.h).
 *
 * Publishers append to one mutex-protected FIFO and poke a uv_async; the loop's
 * callback takes the whole list at once (a million sends coalesce into a handful of
 * callbacks; DESIGN.md) and delivers each event to a snapshot of the matching
 * subscribers, so a subscriber may subscribe or publish from inside its callback.
 */
#include "bus_int.h"

#include "fm.h"
#include "fm_buf.h"
#include "fm_id.h"
#include "fm_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TYPES 1024      /* distinct types counted by name; more go to "other" */
#define MAX_MATCH 256       /* subscribers one event can reach */

typedef struct sub {
    int id;
    char *pattern;
    bus_fn fn;
    void *arg;
} sub_t;

typedef struct type_count {
    char *type;
    uint64_t count;
} type_count_t;

static struct {
    bool inited;
    uv_loop_t *loop;
    uv_async_t async;
    pthread_t loop_thread;
    pthread_mutex_t lock;       /* queue and subscriptions */
    pthread_cond_t room;
    bus_event_t *head, *tail;
    size_t depth, capacity;
    int publish_timeout_ms;
    sub_t *subs;
    size_t nsubs, subcap;
    int next_sub_id;
    atomic_uint_fast64_t published, delivered, rejected;
    pthread_mutex_t tlock;      /* type counters */
    type_count_t types[MAX_TYPES];
    size_t ntypes;
    uint64_t other_types;
    bool (*on_batch)(void *arg);
    void *on_batch_arg;
} bus;

/* ---- names and patterns ---- */

static bool seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

bool bus_type_valid(const char *type)
{
    if (!type || !*type || strlen(type) > 255)
        return false;
    bool empty = true;
    for (const char *p = type; *p; p++) {
        if (*p == '.') {
            if (empty)
                return false;
            empty = true;
        } else if (seg_char(*p)) {
            empty = false;
        } else {
            return false;
        }
    }
    return !empty;
}

bool bus_pattern_valid(const char *pattern)
{
    if (!pattern || !*pattern || strlen(pattern) > 255)
        return false;
    const char *p = pattern;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0)
            return false;
        if (n == 1 && (*p == '*' || *p == '>')) {
            if (*p == '>' && dot)
                return false;   /* '>' only as the last segment */
        } else {
            for (size_t i = 0; i < n; i++)
                if (!seg_char(p[i]))
                    return false;
        }
        if (!dot)
            return true;
        p = dot + 1;
    }
}

bool bus_pattern_match(const char *pattern, const char *type)
{
    const char *p = pattern, *t = type;
    for (;;) {
        const char *pd = strchr(p, '.'), *td = strchr(t, '.');
        size_t pn = pd ? (size_t)(pd - p) : strlen(p);
        size_t tn = td ? (size_t)(td - t) : strlen(t);
        if (pn == 1 && *p == '>')
            return tn > 0;
        if (!(pn == 1 && *p == '*') && (pn != tn || memcmp(p, t, pn)))
            return false;
        if (!pd || !td)
            return !pd && !td;
        p = pd + 1;
        t = td + 1;
    }
}

/* ---- events ---- */

char *bus_event_json(const char *id, const char *source, const char *type, const char *subject,
                     const char *tenant, const char *time, const char *data_json)
{
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_adds(&b, "{\"specversion\":\"1.0\",\"id\":\"");
    fm_buf_add_json_esc(&b, id);
    fm_buf_adds(&b, "\",\"source\":\"");
    fm_buf_add_json_esc(&b, source);
    fm_buf_adds(&b, "\",\"type\":\"");
    fm_buf_add_json_esc(&b, type);
    fm_buf_adds(&b, "\",\"time\":\"");
    fm_buf_add_json_esc(&b, time);
    fm_buf_adds(&b, "\"");
    if (subject) {
        fm_buf_adds(&b, ",\"subject\":\"");
        fm_buf_add_json_esc(&b, subject);
        fm_buf_adds(&b, "\"");
    }
    fm_buf_adds(&b, ",\"tenantid\":\"");
    fm_buf_add_json_esc(&b, tenant);
    fm_buf_adds(&b, "\",\"datacontenttype\":\"application/json\",\"data\":");
    fm_buf_adds(&b, data_json ? data_json : "null");
    fm_buf_adds(&b, "}");
    return fm_buf_detach(&b, NULL);
}

void bus__event_free(bus_event_t *ev)
{
    if (!ev)
        return;
    free(ev->id);
    free(ev->source);
    free(ev->type);
    free(ev->subject);
    free(ev->tenant);
    free(ev->time);
    free(ev->data);
    free(ev->json);
    free(ev);
}

static bool on_loop_thread(void)
{
    return pthread_equal(pthread_self(), bus.loop_thread);
}

static void count_type(const char *type)
{
    pthread_mutex_lock(&bus.tlock);
    size_t i;
    for (i = 0; i < bus.ntypes; i++)
        if (!strcmp(bus.types[i].type, type))
            break;
    if (i == bus.ntypes && bus.ntypes < MAX_TYPES && (bus.types[i].type = strdup(type)))
        bus.ntypes++;
    if (i < bus.ntypes)
        bus.types[i].count++;
    else
        bus.other_types++;
    pthread_mutex_unlock(&bus.tlock);
}

/* ---- queue ---- */

void bus__wake(void)
{
    if (bus.inited)
        uv_async_send(&bus.async);
}

size_t bus__room(void)
{
    pthread_mutex_lock(&bus.lock);
    size_t room = bus.depth < bus.capacity ? bus.capacity - bus.depth : 0;
    pthread_mutex_unlock(&bus.lock);
    return room;
}

static void append_locked(bus_event_t *ev)
{
    ev->next = NULL;
    if (bus.tail)
        bus.tail->next = ev;
    else
        bus.head = ev;
    bus.tail = ev;
    bus.depth++;
}

void bus__enqueue_nowait(bus_event_t *ev)
{
    pthread_mutex_lock(&bus.lock);
    append_locked(ev);
    pthread_mutex_unlock(&bus.lock);
    atomic_fetch_add(&bus.published, 1);
}

int bus_publish(const char *source, const char *type, const char *subject, const char *tenant,
                const char *data_json)
{
    return bus_publish_ce(NULL, NULL, source, type, subject, tenant, data_json, NULL);
}

void bus_on_batch(bool (*fn)(void *arg), void *arg)
{
    bus.on_batch = fn;
    bus.on_batch_arg = arg;
}

int bus_publish_ce(const char *given_id, const char *given_time, const char *source,
                   const char *type, const char *subject, const char *tenant,
                   const char *data_json, const char *json)
{
    if (!bus.inited)
        return FM_EBUSY;
    if (!source || !*source || !bus_type_valid(type) || !tenant || !*tenant)
        return FM_EINVAL;
    bus_event_t *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return FM_ENOMEM;
    char gid[37], gts[32];
    fm_uuid7(gid);
    fm_time_rfc3339(gts);
    const char *id = given_id ? given_id : gid, *ts = given_time ? given_time : gts;
    ev->id = strdup(id);
    ev->source = strdup(source);
    ev->type = strdup(type);
    ev->subject = subject ? strdup(subject) : NULL;
    ev->tenant = strdup(tenant);
    ev->time = strdup(ts);
    ev->data = strdup(data_json ? data_json : "null");
    ev->json = json ? strdup(json) : bus_event_json(id, source, type, subject, tenant, ts, data_json);
    if (!ev->id || !ev->source || !ev->type || (subject && !ev->subject) || !ev->tenant ||
        !ev->time || !ev->data || !ev->json) {
        bus__event_free(ev);
        return FM_ENOMEM;
    }

    pthread_mutex_lock(&bus.lock);
    if (bus.depth >= bus.capacity && !on_loop_thread() && bus.publish_timeout_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += bus.publish_timeout_ms / 1000;
        until.tv_nsec += (long)(bus.publish_timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (bus.depth >= bus.capacity && bus.inited)
            if (pthread_cond_timedwait(&bus.room, &bus.lock, &until))
                break;
    }
    if (bus.depth >= bus.capacity || !bus.inited) {
        pthread_mutex_unlock(&bus.lock);
        atomic_fetch_add(&bus.rejected, 1);
        bus__event_free(ev);
        return FM_EBUSY;
    }
    append_locked(ev);
    pthread_mutex_unlock(&bus.lock);
    atomic_fetch_add(&bus.published, 1);
    uv_async_send(&bus.async);
    return FM_OK;
}

/* ---- subscriptions ---- */

int bus_subscribe(const char *pattern, bus_fn fn, void *arg)
{
    if (!bus_pattern_valid(pattern) || !fn)
        return FM_EINVAL;
    char *copy = strdup(pattern);
    if (!copy)
        return FM_ENOMEM;
    pthread_mutex_lock(&bus.lock);
    if (bus.nsubs == bus.subcap) {
        size_t cap = bus.subcap ? bus.subcap * 2 : 16;
        sub_t *v = realloc(bus.subs, cap * sizeof(*v));
        if (!v) {
            pthread_mutex_unlock(&bus.lock);
            free(copy);
            return FM_ENOMEM;
        }
        bus.subs = v;
        bus.subcap = cap;
    }
    int id = ++bus.next_sub_id;
    bus.subs[bus.nsubs++] = (sub_t){ id, copy, fn, arg };
    pthread_mutex_unlock(&bus.lock);
    return id;
}

bool bus_wants(const char *type)
{
    bool yes = false;
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs && !yes; i++)
        yes = bus_pattern_match(bus.subs[i].pattern, type);
    pthread_mutex_unlock(&bus.lock);
    return yes;
}

void bus_unsubscribe(int id)
{
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs; i++) {
        if (bus.subs[i].id == id) {
            free(bus.subs[i].pattern);
            memmove(&bus.subs[i], &bus.subs[i + 1], (bus.nsubs - i - 1) * sizeof(sub_t));
            bus.nsubs--;
            break;
        }
    }
    pthread_mutex_unlock(&bus.lock);
}

/* ---- delivery (loop thread) ---- */

static void deliver(bus_event_t *ev)
{
    struct { bus_fn fn; void *arg; } hit[MAX_MATCH];
    size_t n = 0;
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs && n < MAX_MATCH; i++)
        if (bus_pattern_match(bus.subs[i].pattern, ev->type)) {
            hit[n].fn = bus.subs[i].fn;
            hit[n++].arg = bus.subs[i].arg;
        }
    pthread_mutex_unlock(&bus.lock);
    for (size_t i = 0; i < n; i++)
        hit[i].fn(ev, hit[i].arg);
    atomic_fetch_add(&bus.delivered, 1);
    count_type(ev->type);
}

/* Delivers one batch: outbox rows that fit, then the whole queue. Returns true when
 * something was delivered or an outbox still has rows waiting. */
static bool deliver_batch(void)
{
    bool more = bus__outbox_drain();
    pthread_mutex_lock(&bus.lock);
    bus_event_t *ev = bus.head;
    size_t n = bus.depth;
    bus.head = bus.tail = NULL;
    pthread_mutex_unlock(&bus.lock);
    if (!ev)
        return more;
    while (ev) {
        bus_event_t *next = ev->next;
        deliver(ev);
        if (ev->outbox)
            bus__outbox_delivered(ev);
        bus__event_free(ev);
        ev = next;
    }
    pthread_mutex_lock(&bus.lock);
    bus.depth -= n;
    pthread_cond_broadcast(&bus.room);
    pthread_mutex_unlock(&bus.lock);
    if (!bus.on_batch || bus.on_batch(bus.on_batch_arg))
        bus__outbox_commit_deletes();
    return true;
}

static void on_async(uv_async_t *h)
{
    (void)h;
    /* A bounded number of batches, so a flood of publishes cannot starve the loop's
     * timers and I/O; what is left pokes the async again. */
    for (int i = 0; i < 64; i++)
        if (!deliver_batch())
            return;
    bus__wake();
}

void bus_flush(void)
{
    if (!bus.inited)
        return;
    while (deliver_batch()) {
    }
}

void bus_deliver_now(void)
{
    if (!bus.inited)
        return;
    for (int i = 0; i < 4; i++)     /* bounded, unlike bus_flush: a flood cannot hold the loop */
        if (!deliver_batch())
            return;
}

int bus_init(uv_loop_t *loop, size_t capacity, int publish_timeout_ms)
{
    memset(&bus, 0, sizeof(bus));
    bus.loop = loop;
    bus.loop_thread = pthread_self();
    bus.capacity = capacity ? capacity : 1;
    bus.publish_timeout_ms = publish_timeout_ms;
    pthread_mutex_init(&bus.lock, NULL);
    pthread_mutex_init(&bus.tlock, NULL);
    pthread_cond_init(&bus.room, NULL);
    if (uv_async_init(loop, &bus.async, on_async) < 0)
        return FM_EIO;
    bus.inited = true;
    return FM_OK;
}

void bus_shutdown(void)
{
    if (!bus.inited)
        return;
    bus_flush();
    pthread_mutex_lock(&bus.lock);
    bus.inited = false;
    pthread_cond_broadcast(&bus.room);
    pthread_mutex_unlock(&bus.lock);
    uv_close((uv_handle_t *)&bus.async, NULL);
    bus__outbox_free_all();
    for (size_t i = 0; i < bus.nsubs; i++)
        free(bus.subs[i].pattern);
    free(bus.subs);
    bus.subs = NULL;
    bus.nsubs = bus.subcap = 0;
    for (size_t i = 0; i < bus.ntypes; i++)
        free(bus.types[i].type);
    bus.ntypes = 0;
}

bus_stats_t bus_stats(void)
{
    bus_stats_t s;
    s.published = atomic_load(&bus.published);
    s.delivered = atomic_load(&bus.delivered);
    s.rejected = atomic_load(&bus.rejected);
    s.outbox_drained = bus__outbox_drained();
    pthread_mutex_lock(&bus.lock);
    s.depth = bus.depth;
    s.capacity = bus.capacity;
    s.subscribers = bus.nsubs;
    pthread_mutex_unlock(&bus.lock);
    return s;
}

void bus_each_type(void (*fn)(const char *type, uint64_t count, void *arg), void *arg)
{
    pthread_mutex_lock(&bus.tlock);
    for (size_t i = 0; i < bus.ntypes; i++)
        fn(bus.types[i].type, bus.types[i].count, arg);
    if (bus.other_types)
        fn("other", bus.other_types, arg);
    pthread_mutex_unlock(&bus.tlock);
}
