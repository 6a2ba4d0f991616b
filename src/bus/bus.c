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
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TYPES 1024      /* distinct types counted by name; more go to "other" */
#define MAX_MATCH 256       /* subscribers one event can reach */
/* Outbox drains are at least this far apart (bus_flush and bus_deliver_now do not
 * wait): under load a drain then takes many commits' rows at once, so the batch hook
 * (the durable log's append) and the outbox delete are one transaction each per
 * PACE_MS instead of per commit. What it costs: up to PACE_MS more latency. */
#define PACE_MS 5

typedef struct sub {
    int id;
    char *pattern;
    char *except;       /* types matching it are not delivered (NULL: none) */
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
    atomic_uint subs_gen;       /* changes with every subscribe/unsubscribe */
    atomic_uint_fast64_t published, delivered, rejected;
    pthread_mutex_t tlock;      /* type counters */
    type_count_t types[MAX_TYPES];
    size_t ntypes;
    uint64_t other_types;
    bool (*on_batch)(void *arg);
    void *on_batch_arg;
    uv_timer_t pace;            /* the next paced outbox drain */
    uv_timer_t deletes;         /* outbox rows delivered, not yet deleted */
    bool pace_armed;
    uint64_t last_drain_ms;     /* loop thread */
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
    free(ev);   /* one block: the struct and every string (bus__event_new) */
}

/* True when s needs no JSON escaping (bus_event_json would copy it as is); *len is
 * its length either way. */
static bool plain(const char *s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        p++;
    *len = (size_t)((const char *)p - s) + strlen((const char *)p);
    return *p == 0;
}

static char *put(char **q, const char *s, size_t n)
{
    char *at = *q;
    memcpy(at, s, n);
    at[n] = 0;
    *q += n + 1;
    return at;
}

#define CAT(q, lit) do { memcpy(q, lit, sizeof(lit) - 1); q += sizeof(lit) - 1; } while (0)

bus_event_t *bus__event_new(const char *id, const char *source, const char *type, const char *subject,
                            const char *tenant, const char *time, const char *data, size_t ld, const char *json)
{
    if (!data) {
        data = "null";
        ld = 4;
    }
    size_t li, ls, lt, lsu = 0, lte, ltm, lj = 0;
    bool simple = plain(id, &li) & plain(source, &ls) & plain(type, &lt) & plain(tenant, &lte) &
                  plain(time, &ltm) & (subject ? plain(subject, &lsu) : true);
    char *built = NULL;
    if (json) {
        lj = strlen(json);
    } else if (!simple) {   /* escaping needed: the general builder */
        char *d = strndup(data, ld);
        built = d ? bus_event_json(id, source, type, subject, tenant, time, d) : NULL;
        free(d);
        if (!built)
            return NULL;
        json = built;
        lj = strlen(json);
    } else {                /* built in place below */
        lj = sizeof("{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"\",\"type\":\"\",\"time\":\"\"") - 1 +
             li + ls + lt + ltm + (subject ? sizeof(",\"subject\":\"\"") - 1 + lsu : 0) +
             sizeof(",\"tenantid\":\"\",\"datacontenttype\":\"application/json\",\"data\":}") - 1 + lte + ld;
    }
    size_t total = sizeof(bus_event_t) + li + ls + lt + (subject ? lsu + 1 : 0) + lte + ltm + ld + lj + 7;
    bus_event_t *ev = malloc(total);
    if (!ev) {
        free(built);
        return NULL;
    }
    memset(ev, 0, sizeof(*ev));
    char *q = (char *)(ev + 1);
    ev->id = put(&q, id, li);
    ev->source = put(&q, source, ls);
    ev->type = put(&q, type, lt);
    ev->subject = subject ? put(&q, subject, lsu) : NULL;
    ev->tenant = put(&q, tenant, lte);
    ev->time = put(&q, time, ltm);
    ev->data = put(&q, data, ld);
    if (json) {
        ev->json = put(&q, json, lj);
        free(built);
        return ev;
    }
    /* The same text as bus_event_json, without a growing buffer. */
    ev->json = q;
    CAT(q, "{\"specversion\":\"1.0\",\"id\":\"");
    memcpy(q, id, li), q += li;
    CAT(q, "\",\"source\":\"");
    memcpy(q, source, ls), q += ls;
    CAT(q, "\",\"type\":\"");
    memcpy(q, type, lt), q += lt;
    CAT(q, "\",\"time\":\"");
    memcpy(q, time, ltm), q += ltm;
    CAT(q, "\"");
    if (subject) {
        CAT(q, ",\"subject\":\"");
        memcpy(q, subject, lsu), q += lsu;
        CAT(q, "\"");
    }
    CAT(q, ",\"tenantid\":\"");
    memcpy(q, tenant, lte), q += lte;
    CAT(q, "\",\"datacontenttype\":\"application/json\",\"data\":");
    memcpy(q, data, ld), q += ld;
    *q++ = '}';
    *q = 0;
    return ev;
}

/* An event id (UUIDv7: time, then random bits) and time stamp without a getrandom(2)
 * per event: random bits from splitmix64 over a per-thread state seeded once from the
 * CSPRNG (ids need to be unique, not secret). */
void bus__stamp(char id[37], char ts[32])
{
    static _Thread_local uint64_t state;
    if (!state)
        while (!state)
            randombytes_buf(&state, sizeof(state));
    int64_t ms = fm_time_unix_ms();
    unsigned char b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
    for (int k = 0; k < 2; k++) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (int i = 0; i < 5; i++)
            b[6 + k * 5 + i] = (unsigned char)(z >> (8 * i));
    }
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    static const char hx[] = "0123456789abcdef";
    char *o = id;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hx[b[i] >> 4];
        *o++ = hx[b[i] & 15];
    }
    *o = 0;
    fm_time_rfc3339_at(ms, ts);     /* cached per second on this thread */
}

static bool on_loop_thread(void)
{
    return pthread_equal(pthread_self(), bus.loop_thread);
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
    char gid[37], gts[32];
    if (!given_id || !given_time)
        bus__stamp(gid, gts);
    bus_event_t *ev = bus__event_new(given_id ? given_id : gid, source, type, subject, tenant,
                                     given_time ? given_time : gts, data_json,
                                     data_json ? strlen(data_json) : 0, json);
    if (!ev)
        return FM_ENOMEM;

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

int bus_subscribe_except(const char *pattern, const char *except, bus_fn fn, void *arg)
{
    if (!bus_pattern_valid(pattern) || !fn || (except && !bus_pattern_valid(except)))
        return FM_EINVAL;
    char *copy = strdup(pattern), *ex = except ? strdup(except) : NULL;
    if (!copy || (except && !ex)) {
        free(copy);
        free(ex);
        return FM_ENOMEM;
    }
    pthread_mutex_lock(&bus.lock);
    if (bus.nsubs == bus.subcap) {
        size_t cap = bus.subcap ? bus.subcap * 2 : 16;
        sub_t *v = realloc(bus.subs, cap * sizeof(*v));
        if (!v) {
            pthread_mutex_unlock(&bus.lock);
            free(copy);
            free(ex);
            return FM_ENOMEM;
        }
        bus.subs = v;
        bus.subcap = cap;
    }
    int id = ++bus.next_sub_id;
    bus.subs[bus.nsubs++] = (sub_t){ id, copy, ex, fn, arg };
    atomic_fetch_add(&bus.subs_gen, 1);
    pthread_mutex_unlock(&bus.lock);
    return id;
}

int bus_subscribe(const char *pattern, bus_fn fn, void *arg)
{
    return bus_subscribe_except(pattern, NULL, fn, arg);
}

static bool sub_matches(const sub_t *s, const char *type)
{
    return bus_pattern_match(s->pattern, type) && !(s->except && bus_pattern_match(s->except, type));
}

bool bus_wants(const char *type)
{
    bool yes = false;
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs && !yes; i++)
        yes = sub_matches(&bus.subs[i], type);
    pthread_mutex_unlock(&bus.lock);
    return yes;
}

void bus_unsubscribe(int id)
{
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs; i++) {
        if (bus.subs[i].id == id) {
            free(bus.subs[i].pattern);
            free(bus.subs[i].except);
            memmove(&bus.subs[i], &bus.subs[i + 1], (bus.nsubs - i - 1) * sizeof(sub_t));
            bus.nsubs--;
            atomic_fetch_add(&bus.subs_gen, 1);
            break;
        }
    }
    pthread_mutex_unlock(&bus.lock);
}

/* ---- delivery (loop thread) ---- */

/* Who gets the events of one type: worked out once per run of events of the same type
 * and again only when the subscriptions changed (a callback may subscribe or
 * unsubscribe; after bus_unsubscribe returns, its fn is not called again). */
typedef struct hits {
    unsigned gen;
    char type[256];
    size_t n;
    struct { bus_fn fn; void *arg; } to[MAX_MATCH];
} hits_t;

static hits_t hits;     /* loop thread only */

static void hits_for(const char *type, unsigned gen)
{
    hits.gen = gen;
    hits.n = 0;
    snprintf(hits.type, sizeof(hits.type), "%s", type);
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs && hits.n < MAX_MATCH; i++)
        if (sub_matches(&bus.subs[i], type)) {
            hits.to[hits.n].fn = bus.subs[i].fn;
            hits.to[hits.n++].arg = bus.subs[i].arg;
        }
    pthread_mutex_unlock(&bus.lock);
}

/* Type counters of a batch: runs of one type counted together, one lock per run. */
typedef struct run {
    char type[256];
    uint64_t n;
} run_t;

static void run_flush(run_t *r)
{
    if (!r->n)
        return;
    pthread_mutex_lock(&bus.tlock);
    size_t i;
    for (i = 0; i < bus.ntypes; i++)
        if (!strcmp(bus.types[i].type, r->type))
            break;
    if (i == bus.ntypes && bus.ntypes < MAX_TYPES && (bus.types[i].type = strdup(r->type)))
        bus.ntypes++;
    if (i < bus.ntypes)
        bus.types[i].count += r->n;
    else
        bus.other_types += r->n;
    pthread_mutex_unlock(&bus.tlock);
    r->n = 0;
}

static bool still_subscribed(bus_fn fn, void *arg, const char *type)
{
    bool yes = false;
    pthread_mutex_lock(&bus.lock);
    for (size_t i = 0; i < bus.nsubs && !yes; i++)
        yes = bus.subs[i].fn == fn && bus.subs[i].arg == arg && sub_matches(&bus.subs[i], type);
    pthread_mutex_unlock(&bus.lock);
    return yes;
}

static void deliver(bus_event_t *ev, run_t *run)
{
    unsigned gen = atomic_load(&bus.subs_gen);
    if (gen != hits.gen || strcmp(hits.type, ev->type))
        hits_for(ev->type, gen);
    /* A copy: a callback may flush the bus (and so redo `hits`). */
    struct { bus_fn fn; void *arg; } to[MAX_MATCH];
    size_t n = hits.n;
    memcpy(to, hits.to, n * sizeof(to[0]));
    for (size_t i = 0; i < n; i++) {
        /* subscriptions changed by a callback: the rest only if still subscribed */
        if (atomic_load(&bus.subs_gen) != gen && !still_subscribed(to[i].fn, to[i].arg, ev->type))
            continue;
        to[i].fn(ev, to[i].arg);
    }
    if (run->n && strcmp(run->type, ev->type))
        run_flush(run);
    if (!run->n)
        snprintf(run->type, sizeof(run->type), "%s", ev->type);
    run->n++;
}

static void on_pace(uv_timer_t *t);

/* Outbox rows now (force), or when the last drain is PACE_MS old; else the pace timer
 * comes back for them. Returns whether rows wait beyond the queue's room. */
static bool drain_outboxes(bool force)
{
    uint64_t now = uv_hrtime() / 1000000;
    if (!force && now - bus.last_drain_ms < PACE_MS) {
        if (!bus.pace_armed) {
            bus.pace_armed = true;
            uv_timer_start(&bus.pace, on_pace, PACE_MS - (now - bus.last_drain_ms), 0);
        }
        return false;
    }
    bus.last_drain_ms = now;
    return bus__outbox_drain();
}

/* Delivers one batch: outbox rows that fit, then the whole queue. Returns true when
 * something was delivered or an outbox still has rows waiting. */
static void on_deletes(uv_timer_t *t)
{
    (void)t;
    if (bus__outbox_commit_deletes(false))
        uv_timer_start(&bus.deletes, on_deletes, 20, 0);
}

static bool deliver_batch(bool force)
{
    bool more = drain_outboxes(force);
    pthread_mutex_lock(&bus.lock);
    bus_event_t *ev = bus.head;
    size_t n = bus.depth;
    bus.head = bus.tail = NULL;
    pthread_mutex_unlock(&bus.lock);
    if (!ev)
        return more;
    run_t run = { "", 0 };
    for (bus_event_t *e = ev; e; e = e->next) {
        deliver(e, &run);
        if (e->outbox)
            bus__outbox_delivered(e);
    }
    run_flush(&run);
    atomic_fetch_add(&bus.delivered, n);
    pthread_mutex_lock(&bus.lock);
    bus.depth -= n;
    pthread_cond_broadcast(&bus.room);
    pthread_mutex_unlock(&bus.lock);
    /* The events stay valid until the batch hook has run: a subscriber that buffers
     * (the durable log) keeps pointers, not copies. */
    if (!bus.on_batch || bus.on_batch(bus.on_batch_arg)) {
        bus__outbox_durable();
        if (bus__outbox_commit_deletes(force) && !uv_is_active((uv_handle_t *)&bus.deletes))
            uv_timer_start(&bus.deletes, on_deletes, 20, 0);
    }
    while (ev) {
        bus_event_t *next = ev->next;
        bus__event_free(ev);
        ev = next;
    }
    return true;
}

static void deliver_some(void)
{
    /* A bounded number of batches, so a flood of publishes cannot starve the loop's
     * timers and I/O; what is left pokes the async again. */
    for (int i = 0; i < 64; i++)
        if (!deliver_batch(false))
            return;
    bus__wake();
}

static void on_async(uv_async_t *h)
{
    (void)h;
    deliver_some();
}

static void on_pace(uv_timer_t *t)
{
    (void)t;
    bus.pace_armed = false;
    deliver_some();
}

void bus_flush(void)
{
    if (!bus.inited)
        return;
    while (deliver_batch(true)) {
    }
    bus__outbox_commit_deletes(true);
}

void bus_deliver_now(void)
{
    if (!bus.inited)
        return;
    for (int i = 0; i < 4; i++)     /* bounded, unlike bus_flush: a flood cannot hold the loop */
        if (!deliver_batch(true))
            return;
}

int bus_init(uv_loop_t *loop, size_t capacity, int publish_timeout_ms)
{
    memset(&bus, 0, sizeof(bus));
    memset(&hits, 0, sizeof(hits));
    bus.loop = loop;
    bus.loop_thread = pthread_self();
    bus.capacity = capacity ? capacity : 1;
    bus.publish_timeout_ms = publish_timeout_ms;
    pthread_mutex_init(&bus.lock, NULL);
    pthread_mutex_init(&bus.tlock, NULL);
    pthread_cond_init(&bus.room, NULL);
    if (uv_async_init(loop, &bus.async, on_async) < 0)
        return FM_EIO;
    if (uv_timer_init(loop, &bus.pace) < 0 || uv_timer_init(loop, &bus.deletes) < 0) {
        uv_close((uv_handle_t *)&bus.async, NULL);
        return FM_EIO;
    }
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
    uv_close((uv_handle_t *)&bus.pace, NULL);
    uv_close((uv_handle_t *)&bus.deletes, NULL);
    bus.pace_armed = false;
    bus__outbox_free_all();
    for (size_t i = 0; i < bus.nsubs; i++) {
        free(bus.subs[i].pattern);
        free(bus.subs[i].except);
    }
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
