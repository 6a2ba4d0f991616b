/*
 * mcp_stream.c — what the MCP Server says without being asked: the server-message
 * streams of `GET /mcp` (one per session, at most MCP_STREAMS_MAX in all, each holding
 * a worker thread), the resource subscriptions whose `notifications/resources/updated`
 * go out on them, and the register of running tools/call requests that
 * `notifications/cancelled` flags.
 *
 * Everything is in fixed tables under one mutex; a stream's holder thread waits on a
 * condition variable for its queue (bounded: the oldest message is dropped when full),
 * sends a keep-alive comment every MCP_STREAM_PING_S, and leaves when its client is
 * gone, its session ends, a newer GET of the same session replaces it, or the server
 * stops. Updates come from the event bus (process.definition.published,
 * execution.instance.*), subscribed at the first resources/subscribe so that nobody
 * pays for events no one watches.
 */
#include "mcp_int.h"

#include "../../bus/bus.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 64            /* messages waiting per stream */
#define SUBS_PER_SESSION 64
#define SUBS_MAX 4096
#define CALLS_MAX 256
#define URI_MAX 512

typedef struct stream {
    char session[MCP_ID_MAX];   /* "" = free */
    unsigned gen;               /* a holder whose gen differs leaves */
    char *q[QUEUE_MAX];
    size_t head, n;
    unsigned dropped;
} stream_t;

typedef struct sub {
    char session[MCP_ID_MAX];   /* "" = free */
    char tenant[72];
    char uri[URI_MAX];
} sub_t;

typedef struct call {
    char session[MCP_ID_MAX];   /* "" = free */
    char id[MCP_ID_MAX + 16];   /* the request id as JSON text */
    volatile int *flag;
} call_t;

static stream_t streams[MCP_STREAMS_MAX];
static sub_t subs[SUBS_MAX];
static size_t nsubs;            /* live entries in subs[] */
static call_t calls[CALLS_MAX];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool bus_on;

/* ---- streams ---- */

int mcp_stream_open(const char *session, unsigned *gen)
{
    int slot = -1;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MCP_STREAMS_MAX; i++) {
        if (!strcmp(streams[i].session, session)) {     /* a newer GET replaces the stream */
            slot = i;
            break;
        }
        if (slot < 0 && !streams[i].session[0])
            slot = i;
    }
    if (slot >= 0) {
        stream_t *s = &streams[slot];
        snprintf(s->session, sizeof(s->session), "%s", session);
        *gen = ++s->gen;
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&lock);
    return slot >= 0 ? slot : FM_EBUSY;
}

static void drain(stream_t *s)
{
    for (; s->n; s->n--, s->head = (s->head + 1) % QUEUE_MAX) {
        free(s->q[s->head]);
        s->q[s->head] = NULL;
    }
    s->head = 0;
}

int mcp_stream_wait(int slot, unsigned gen, int seconds, char **out, size_t max, size_t *n)
{
    stream_t *s = &streams[slot];
    *n = 0;
    pthread_mutex_lock(&lock);
    /* one-second slices, so that a stopping server is noticed at once */
    for (int left = seconds; left > 0 && s->gen == gen && !s->n && fm_serving(); left--) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        while (s->gen == gen && !s->n && fm_serving())
            if (pthread_cond_timedwait(&cv, &lock, &until))
                break;
    }
    int rc = FM_OK;
    if (s->gen != gen || !fm_serving()) {
        rc = FM_EIO;
    } else {
        for (; s->n && *n < max; s->n--, s->head = (s->head + 1) % QUEUE_MAX) {
            out[(*n)++] = s->q[s->head];
            s->q[s->head] = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void mcp_stream_close(int slot, unsigned gen)
{
    pthread_mutex_lock(&lock);
    stream_t *s = &streams[slot];
    if (s->gen == gen) {
        drain(s);
        s->session[0] = 0;
    }
    pthread_mutex_unlock(&lock);
}

static void enqueue(stream_t *s, char *msg)
{
    if (s->n == QUEUE_MAX) {    /* the client does not keep up: its oldest message goes */
        free(s->q[s->head]);
        s->q[s->head] = NULL;
        s->head = (s->head + 1) % QUEUE_MAX;
        s->n--;
        s->dropped++;
    }
    s->q[(s->head + s->n) % QUEUE_MAX] = msg;
    s->n++;
}

/* Locked. The stream of a session, or NULL. */
static stream_t *stream_of(const char *session)
{
    for (int i = 0; i < MCP_STREAMS_MAX; i++)
        if (streams[i].session[0] && !strcmp(streams[i].session, session))
            return &streams[i];
    return NULL;
}

bool mcp_stream_send(const char *session, cJSON *msg)
{
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (!text)
        return false;
    pthread_mutex_lock(&lock);
    stream_t *s = stream_of(session);
    if (s) {
        enqueue(s, text);
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&lock);
    if (!s)
        free(text);
    return s != NULL;
}

void mcp_session_gone(const char *session)
{
    pthread_mutex_lock(&lock);
    stream_t *s = stream_of(session);
    if (s) {
        s->gen++;
        drain(s);
        s->session[0] = 0;
        pthread_cond_broadcast(&cv);
    }
    for (size_t i = 0; i < SUBS_MAX && nsubs; i++) {
        if (subs[i].session[0] && !strcmp(subs[i].session, session)) {
            subs[i].session[0] = 0;
            nsubs--;
        }
    }
    pthread_mutex_unlock(&lock);
}

/* ---- subscriptions ---- */

static void updated(const char *tenant, const char *uri)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0, seen = 0; i < SUBS_MAX && seen < nsubs; i++) {
        sub_t *sb = &subs[i];
        if (!sb->session[0])
            continue;
        seen++;
        if (strcmp(sb->tenant, tenant) || strcmp(sb->uri, uri))
            continue;
        stream_t *s = stream_of(sb->session);
        if (!s)
            continue;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "jsonrpc", "2.0");
        cJSON_AddStringToObject(m, "method", "notifications/resources/updated");
        cJSON *p = cJSON_AddObjectToObject(m, "params");
        cJSON_AddStringToObject(p, "uri", uri);
        cJSON_AddStringToObject(p, "title", uri);
        char *text = cJSON_PrintUnformatted(m);
        cJSON_Delete(m);
        if (text)
            enqueue(s, text);
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lock);
}

/* The bus (loop thread): a published process or a changed instance. */
static void on_event(const bus_event_t *ev, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    size_t any = nsubs;
    pthread_mutex_unlock(&lock);
    if (!any || !ev->tenant)
        return;
    char uri[URI_MAX];
    if (!strcmp(ev->type, "process.definition.published")) {
        if (!ev->subject)
            return;
        snprintf(uri, sizeof(uri), "flowmaster://processes/%s", ev->subject);
        updated(ev->tenant, uri);
        return;
    }
    cJSON *d = cJSON_Parse(ev->data);
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "executionId"));
    if (id) {
        snprintf(uri, sizeof(uri), "flowmaster://executions/%s/history", id);
        updated(ev->tenant, uri);
        snprintf(uri, sizeof(uri), "flowmaster://executions/%s", id);
        updated(ev->tenant, uri);
    }
    cJSON_Delete(d);
}

int mcp_subscribe(const char *session, const char *tenant, const char *uri, bool on)
{
    if (strlen(uri) >= URI_MAX)
        return FM_EINVAL;
    int rc = FM_OK;
    bool first = false;
    pthread_mutex_lock(&lock);
    size_t mine = 0, free_slot = SUBS_MAX;
    for (size_t i = 0; i < SUBS_MAX; i++) {
        sub_t *sb = &subs[i];
        if (!sb->session[0]) {
            if (free_slot == SUBS_MAX)
                free_slot = i;
            continue;
        }
        if (strcmp(sb->session, session))
            continue;
        if (!strcmp(sb->uri, uri)) {
            if (!on) {
                sb->session[0] = 0;
                nsubs--;
            }
            pthread_mutex_unlock(&lock);
            return FM_OK;       /* subscribing twice is once */
        }
        mine++;
    }
    if (on) {
        if (mine >= SUBS_PER_SESSION || free_slot == SUBS_MAX) {
            rc = FM_EBUSY;
        } else {
            sub_t *sb = &subs[free_slot];
            snprintf(sb->session, sizeof(sb->session), "%s", session);
            snprintf(sb->tenant, sizeof(sb->tenant), "%s", tenant);
            snprintf(sb->uri, sizeof(sb->uri), "%s", uri);
            nsubs++;
            first = !bus_on;
            bus_on = true;
        }
    }
    pthread_mutex_unlock(&lock);
    if (first) {
        int a = bus_subscribe("process.definition.published", on_event, NULL);
        int b = bus_subscribe("execution.instance.*", on_event, NULL);
        if (a < 0 || b < 0)
            fm_log_msg(FM_LOG_ERROR, "mcp", "cannot subscribe to the event bus: no resource updates");
    }
    return rc;
}

/* ---- running calls ---- */

int mcp_call_register(const char *session, const cJSON *id, volatile int *flag)
{
    char *text = cJSON_PrintUnformatted(id);
    int slot = -1;
    if (text && strlen(text) < sizeof(calls[0].id)) {
        pthread_mutex_lock(&lock);
        for (int i = 0; i < CALLS_MAX; i++) {
            if (!calls[i].session[0]) {
                snprintf(calls[i].session, sizeof(calls[i].session), "%s", session);
                snprintf(calls[i].id, sizeof(calls[i].id), "%s", text);
                calls[i].flag = flag;
                slot = i;
                break;
            }
        }
        pthread_mutex_unlock(&lock);
    }
    cJSON_free(text);
    return slot;
}

void mcp_call_unregister(int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&lock);
    calls[slot].session[0] = 0;
    calls[slot].flag = NULL;
    pthread_mutex_unlock(&lock);
}

void mcp_call_cancel(const char *session, const cJSON *id)
{
    char *text = cJSON_PrintUnformatted(id);
    if (!text)
        return;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < CALLS_MAX; i++)
        if (calls[i].session[0] && !strcmp(calls[i].session, session) && !strcmp(calls[i].id, text))
            *calls[i].flag = 1;
    pthread_mutex_unlock(&lock);
    cJSON_free(text);
}
