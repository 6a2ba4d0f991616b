/*
 * eventbus_hooks.c — webhook delivery from the durable log, on the loop thread through
 * fm_fetch (libcurl multi on libuv): no thread per delivery.
 *
 * Each active webhook subscription has at most one request in flight, so its events
 * go out in offset order. A 2xx moves its acknowledged offset (stored before the next
 * event is sent: at least once, resumed where it stopped after a restart). A failure
 * (status ≥ 300, no answer within the timeout, refused connection) is retried after
 * webhook_backoff_ms · 2^(attempt-1), capped, plus up to 25 % jitter; after
 * webhook_max_attempts the event goes to the subscription's dead letters and delivery
 * goes on with the next one. Dead letters marked for redelivery go out first.
 *
 * The subscription set is read from the database when it changed (hooks_kick after a
 * CRUD route) and every few seconds; runtime state (in flight, attempt, next try) is
 * kept per id across reloads.
 */
#include "eventbus_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_fetch.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "../../fm_sign.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUBS 4096           /* webhook subscriptions served at once */
#define SCAN 256                /* log rows looked at per subscription per pump */
#define TICK_MS 100

typedef struct hsub {
    char id[40], tenant[72], types[256];
    char *url, *secret;
    int64_t acked;              /* last offset acknowledged */
    int attempts;               /* failures of the event now being delivered */
    int64_t next_at_ms;         /* no try before */
    bool in_flight, seen, gone;
    bool redeliveries;          /* dead letters may be marked for redelivery */
    bool idle;                  /* at the end of its log when the generation was idle_gen */
    uint64_t idle_gen;
} hsub_t;

typedef struct job {
    hsub_t *s;
    int64_t offset;
    bool redeliver;
} job_t;

static struct {
    fm_mod_t *m;
    fm_timer_t *tick;
    hsub_t **subs;
    size_t n;
    int in_flight;
    bool stopping, pumping, again;
    atomic_bool dirty;
    int64_t loaded_ms;
} H;

/* ---- subscriptions from the database ---- */

static hsub_t *find(const char *id)
{
    for (size_t i = 0; i < H.n; i++)
        if (!strcmp(H.subs[i]->id, id))
            return H.subs[i];
    return NULL;
}

static void sub_free(hsub_t *s)
{
    free(s->url);
    free(s->secret);
    free(s);
}

static int reload_row(const fm_dbrow_t *r, void *arg)
{
    (void)arg;
    const char *id = fm_dbrow_str(r, 0);
    int64_t acked = fm_dbrow_int(r, 5);
    hsub_t *s = find(id);
    if (!s) {
        if (H.n == MAX_SUBS || !(s = calloc(1, sizeof(*s))))
            return FM_OK;
        fm_dbrow_copy(r, 0, s->id, sizeof(s->id));
        fm_dbrow_copy(r, 1, s->tenant, sizeof(s->tenant));
        s->url = strdup(fm_dbrow_str(r, 2));
        s->secret = strdup(fm_dbrow_str(r, 3));
        if (!s->url || !s->secret) {
            sub_free(s);
            return FM_OK;
        }
        s->acked = acked;
        H.subs[H.n++] = s;
    } else if (!s->in_flight && acked != s->acked) {
        s->acked = acked;       /* moved by the API (ack of an internal, or reset) */
        s->attempts = 0;
    }
    fm_dbrow_copy(r, 4, s->types, sizeof(s->types));
    s->redeliveries = true;     /* looked up on its next turn */
    s->idle = false;
    s->seen = true;
    s->gone = false;
    return FM_OK;
}

static void reload(void)
{
    if (!H.subs && !(H.subs = calloc(MAX_SUBS, sizeof(*H.subs))))
        return;
    for (size_t i = 0; i < H.n; i++)
        H.subs[i]->seen = true;     /* kept when the read fails */
    fm_dbc_t *c = fm_dbq_reader(H.m->db);
    if (!c)
        return;
    for (size_t i = 0; i < H.n; i++)
        H.subs[i]->seen = false;
    int rc = fm_dbq_each(c, "SELECT id, tenant_id, url, secret, types, acked FROM subscriptions "
                            "WHERE kind = 'webhook' AND state = 'active' LIMIT ?",
                         reload_row, NULL, "i", MAX_SUBS);
    fm_dbq_reader_done(c);
    if (rc != FM_OK)
        return;
    /* Deleted or paused: dropped now unless a request is out (its callback drops it). */
    for (size_t i = 0; i < H.n;) {
        hsub_t *s = H.subs[i];
        if (s->seen) {
            i++;
            continue;
        }
        if (s->in_flight) {
            s->gone = true;
            i++;
            continue;
        }
        sub_free(s);
        H.subs[i] = H.subs[--H.n];
    }
    H.loaded_ms = fm_time_unix_ms();
}

/* ---- writes ---- */

static void store_result(hsub_t *s, int64_t offset, bool ok, bool dead, bool redeliver,
                         const char *event, const char *error)
{
    fm_dbc_t *w = fm_dbq_write_begin(H.m->db);
    if (!w)
        return;
    int rc;
    char now[32];
    fm_time_rfc3339(now);
    if (ok && redeliver) {
        rc = fm_dbq_run(w, "UPDATE subscriptions SET failures = 0, last_error = NULL, delivered = delivered + 1, "
                           "last_delivered_at = ? WHERE id = ?", "ss", now, s->id);
        if (rc == FM_OK)
            rc = fm_dbq_run(w, "DELETE FROM dead_letters WHERE subscription_id = ? AND seq = ?", "sI", s->id, offset);
    } else if (ok) {
        rc = fm_dbq_run(w, "UPDATE subscriptions SET acked = MAX(acked, ?), failures = 0, last_error = NULL, "
                           "delivered = delivered + 1, last_delivered_at = ? WHERE id = ?", "Iss", offset, now, s->id);
    } else {
        /* A dead letter of the log moves the cursor past it; a redelivery does not. */
        rc = fm_dbq_run(w, "UPDATE subscriptions SET failures = failures + 1, last_error = ?, acked = MAX(acked, ?) "
                           "WHERE id = ?", "sIs", error, dead && !redeliver ? offset : (int64_t)0, s->id);
        if (rc == FM_OK && dead)
            rc = fm_dbq_run(w, "INSERT INTO dead_letters(subscription_id, seq, event, attempts, last_error, dead_at) "
                               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(subscription_id, seq) DO UPDATE SET "
                               "attempts = attempts + excluded.attempts, last_error = excluded.last_error, "
                               "dead_at = excluded.dead_at, redeliver = 0",
                            "sIsiss", s->id, offset, event ? event : "null", s->attempts, error, now);
    }
    if (fm_dbq_write_end(w, rc) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "eventbus: storing a delivery result failed", s->id);
}

/* ---- sending ---- */

static void pump_one(hsub_t *s, int64_t now);

typedef struct sending {
    job_t *job;
    char *event;        /* kept for a dead letter */
} sending_t;

static int64_t backoff_ms(int attempts)
{
    const fm_config_t *c = fm_cfg();
    int64_t d = c->eventbus_webhook_backoff_ms;
    for (int i = 1; i < attempts && d < c->eventbus_webhook_backoff_max_ms; i++)
        d *= 2;
    if (d > c->eventbus_webhook_backoff_max_ms)
        d = c->eventbus_webhook_backoff_max_ms;
    return d + (int64_t)randombytes_uniform((uint32_t)(d / 4 + 1));
}

static void on_done(const fm_fetch_result_t *res, void *arg)
{
    sending_t *sd = arg;
    job_t *j = sd->job;
    hsub_t *s = j->s;
    H.in_flight--;
    s->in_flight = false;
    if (H.stopping) {
        free(sd->event);
        free(sd);
        free(j);
        if (H.in_flight == 0) {
            for (size_t i = 0; i < H.n; i++)
                sub_free(H.subs[i]);
            free(H.subs);
            memset(&H, 0, sizeof(H));
        }
        return;
    }
    bool ok = res->status >= 200 && res->status < 300;
    char why[300];
    if (res->error)
        snprintf(why, sizeof(why), "%s", res->error);
    else
        snprintf(why, sizeof(why), "HTTP %ld", res->status);
    if (ok) {
        s->attempts = 0;
        if (!j->redeliver)
            s->acked = j->offset;
        store_result(s, j->offset, true, false, j->redeliver, NULL, NULL);
    } else {
        s->attempts++;
        bool dead = s->attempts >= fm_cfg()->eventbus_webhook_max_attempts;
        store_result(s, j->offset, false, dead, j->redeliver, sd->event, why);
        if (dead) {
            if (!j->redeliver)
                s->acked = j->offset;
            s->attempts = 0;
        } else {
            s->next_at_ms = fm_time_unix_ms() + backoff_ms(s->attempts);
        }
    }
    free(sd->event);
    free(sd);
    free(j);
    if (s->gone) {
        for (size_t i = 0; i < H.n; i++)
            if (H.subs[i] == s) {
                H.subs[i] = H.subs[--H.n];
                break;
            }
        sub_free(s);
        return;
    }
    /* Only this subscription's next event: the others have their own requests out,
     * or the tick and the kicks take care of them. */
    if (!H.pumping) {
        H.pumping = true;
        for (int i = 0; i < 16 && !s->in_flight; i++) {
            int64_t before = s->acked;
            pump_one(s, fm_time_unix_ms());
            if (s->acked == before)
                break;
        }
        H.pumping = false;
    }
}

/* The HTTP binary mode of CloudEvents: attributes as ce- headers, data as the body. */
static int send_event(hsub_t *s, int64_t offset, const char *event_json, bool redeliver)
{
    cJSON *ev = cJSON_Parse(event_json);
    if (!ev)
        return FM_EINVAL;
    const cJSON *data = cJSON_GetObjectItem(ev, "data");
    char *body = data ? cJSON_PrintUnformatted(data) : strdup("null");
    const cJSON *ct = cJSON_GetObjectItem(ev, "datacontenttype");
    enum { NH = 24 };
    char *lines[NH + 1] = { 0 };
    int nh = 0;
    cJSON *a;
    cJSON_ArrayForEach(a, ev) {
        if (nh >= NH - 4 || !strcmp(a->string, "data") || !strcmp(a->string, "datacontenttype"))
            continue;
        char val[1100];
        if (cJSON_IsString(a))
            snprintf(val, sizeof(val), "%s", a->valuestring);
        else if (cJSON_IsNumber(a))
            snprintf(val, sizeof(val), "%.17g", a->valuedouble);
        else if (cJSON_IsBool(a))
            snprintf(val, sizeof(val), "%s", cJSON_IsTrue(a) ? "true" : "false");
        else
            continue;
        for (char *p = val; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        size_t len = strlen(a->string) + strlen(val) + 8;
        if ((lines[nh] = malloc(len)))
            snprintf(lines[nh++], len, "ce-%s: %s", a->string, val);
    }
    char off[64], sig[200], val[160];
    snprintf(off, sizeof(off), "X-FlowMaster-Offset: %lld", (long long)offset);
    lines[nh++] = off;
    lines[nh++] = (char *)"Expect:";
    fm_sign_value(s->secret, body, fm_time_unix_ms() / 1000, val, sizeof(val));
    snprintf(sig, sizeof(sig), FM_SIGN_HEADER ": %s", val);
    lines[nh++] = sig;
    lines[nh] = NULL;

    job_t *j = calloc(1, sizeof(*j));
    sending_t *sd = calloc(1, sizeof(*sd));
    int rc = FM_ENOMEM;
    if (j && sd && body && (sd->event = strdup(event_json))) {
        j->s = s;
        j->offset = offset;
        j->redeliver = redeliver;
        sd->job = j;
        /* the same private-address rule as External Integration's connectors: only the
         * operator's tenant (or [integrations] allow_private) may deliver to loopback and
         * private addresses */
        fm_fetch_req_t req = {
            .method = "POST", .url = s->url, .body = body,
            .content_type = cJSON_IsString(ct) ? ct->valuestring : "application/json",
            .timeout_ms = fm_cfg()->eventbus_webhook_timeout_ms, .headers = (const char *const *)lines,
            .no_private = !fm_cfg()->integrations_allow_private && strcmp(s->tenant, "default") != 0,
        };
        s->in_flight = true;
        H.in_flight++;
        rc = fm_fetch(&req, on_done, sd);
        if (rc != FM_OK) {
            s->in_flight = false;
            H.in_flight--;
        }
    }
    if (rc != FM_OK) {
        if (sd)
            free(sd->event);
        free(sd);
        free(j);
    }
    for (int i = 0; i < nh - 3; i++)
        free(lines[i]);
    cJSON_free(body);
    cJSON_Delete(ev);
    return rc;
}

typedef struct found {
    int64_t offset;
    char *json;
} found_t;

static bool take_first(const evlog_entry_t *e, void *arg)
{
    found_t *f = arg;
    f->offset = e->offset;
    f->json = strdup(e->json);
    return true;
}

/* A dead letter marked for redelivery, oldest first: 1 found, 0 none. */
static int redelivery_row(const fm_dbrow_t *r, void *arg)
{
    found_t *f = arg;
    f->offset = fm_dbrow_int(r, 0);
    f->json = fm_dbrow_dup(r, 1);
    return f->json ? FM_OK : FM_ENOMEM;
}

static int next_redelivery(hsub_t *s, found_t *f)
{
    return fm_dbq_read_one(H.m->db, "SELECT seq, event FROM dead_letters WHERE subscription_id = ? "
                                    "AND redeliver = 1 ORDER BY seq LIMIT 1",
                           redelivery_row, f, "s", s->id) == FM_OK;
}

static void pump_one(hsub_t *s, int64_t now)
{
    if (s->in_flight || s->gone || now < s->next_at_ms)
        return;
    found_t f = { 0, NULL };
    bool redeliver = s->redeliveries && next_redelivery(s, &f) == 1;
    if (!redeliver)
        s->redeliveries = false;
    if (!redeliver) {
        uint64_t gen = evlog_generation();
        if (s->idle && s->idle_gen == gen)
            return;     /* nothing appended since it last reached the end */
        evlog_filter_t filt = { s->types, NULL, -1 };
        int64_t next = s->acked + 1;
        if (evlog_read(H.m->db, s->tenant, s->acked + 1, &filt, 1, SCAN, take_first, &f, &next) != FM_OK)
            return;
        if (!f.json) {
            /* Nothing for it in what was scanned: skip those rows (in memory; stored
             * with the next acknowledgement, and rescanning after a restart is harmless). */
            if (next - 1 > s->acked) {
                s->acked = next - 1;
                H.again = true;
            } else {
                s->idle = true;
                s->idle_gen = gen;
            }
            return;
        }
        s->idle = false;
    }
    if (send_event(s, f.offset, f.json, redeliver) != FM_OK) {
        s->next_at_ms = now + backoff_ms(1);
        fm_log_msg(FM_LOG_WARN, "eventbus: webhook not sent", s->id);
    }
    free(f.json);
}

static void pump(void)
{
    if (H.stopping || !H.m)
        return;
    if (H.pumping) {        /* fm_fetch may call back at once, from inside send_event */
        H.again = true;
        return;
    }
    H.pumping = true;
    int rounds = 0;
    do {
        H.again = false;
        if (atomic_exchange(&H.dirty, false) || fm_time_unix_ms() - H.loaded_ms > 5000)
            reload();
        int64_t now = fm_time_unix_ms();
        for (size_t i = 0; i < H.n; i++)
            pump_one(H.subs[i], now);
    } while (H.again && ++rounds < 16);
    H.pumping = false;
}

static void on_tick(void *arg)
{
    (void)arg;
    pump();
}

static void kick_on_loop(void *arg)
{
    (void)arg;
    pump();
}

void hooks_kick(bool subs_changed)
{
    if (!H.m || (!subs_changed && H.n == 0))
        return;
    if (subs_changed)
        atomic_store(&H.dirty, true);
    if (fm_on_loop_thread())
        pump();
    else
        fm_loop_post(kick_on_loop, NULL);
}

int hooks_start(fm_mod_t *m)
{
    memset(&H, 0, sizeof(H));
    H.m = m;
    atomic_store(&H.dirty, true);
    H.tick = fm_timer_start(TICK_MS, TICK_MS, on_tick, NULL);
    return H.tick ? FM_OK : FM_ENOMEM;
}

void hooks_stop(void)
{
    if (!H.m)
        return;
    fm_timer_stop(H.tick);
    H.tick = NULL;
    H.stopping = true;
    /* Requests still out finish or are aborted by fm_fetch_shutdown; the last frees. */
    if (H.in_flight == 0) {
        for (size_t i = 0; i < H.n; i++)
            sub_free(H.subs[i]);
        free(H.subs);
        memset(&H, 0, sizeof(H));
    }
}
