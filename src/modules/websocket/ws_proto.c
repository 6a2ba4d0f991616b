/*
 * ws_proto.c — what the WebSocket Gateway says (docs/websocket.md): the small JSON
 * protocol (subscribe, unsubscribe, publish, presence, ping; acks carry the client's
 * ids), the same operations as Socket.IO v4 events over Engine.IO v4 (WebSocket
 * transport only), presence join/leave, and the bus subscriber that pushes every event
 * a client may see.
 *
 * Who sees an event: a client of the same tenant, subscribed to a pattern its type
 * matches, holding the read permission of the module the type names ("execution.…" →
 * execution:read, "task.…" → task:read; a conditional grant is decided on the event's
 * data as the resource). Channel messages (clients' publishes, type
 * realtime.channel.message, subject = channel) go to the channel's subscribers.
 * One frame per event and protocol is built once and shared by every client it goes to.
 *
 * Loop thread only.
 */
#include "ws_int.h"

#include "fm_json_check.h"
#include "fm_log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL_TYPE "realtime.channel.message"
#define SIO_PING_MS 25000

/* ---- helpers ---- */

static bool name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (n >= WS_NAME_MAX || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == ':'))
            return false;
    }
    return n > 0;
}

static cJSON *result_ok(void)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "ok", true);
    return r;
}

static cJSON *result_err(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cJSON *result_err(const char *code, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddBoolToObject(r, "ok", false);
    cJSON_AddStringToObject(r, "code", code);
    cJSON_AddStringToObject(r, "message", msg);
    return r;
}

static void send_json(ws_client_t *c, cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    if (t) {
        ws_send_text(c, t, strlen(t));
        cJSON_free(t);
    }
}

/* Socket.IO: 42["name",payload] (takes payload). */
static void sio_emit(ws_client_t *c, const char *name, cJSON *payload)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateString(name));
    cJSON_AddItemToArray(arr, payload);
    char *t = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!t)
        return;
    size_t n = strlen(t);
    char *f = malloc(n + 3);
    if (f) {
        memcpy(f, "42", 2);
        memcpy(f + 2, t, n + 1);
        ws_send_text(c, f, n + 2);
        free(f);
    }
    cJSON_free(t);
}

/* A server-initiated message of type `type` (takes obj). */
static void push(ws_client_t *c, const char *type, cJSON *obj)
{
    if (c->proto == WS_PROTO_SIO) {
        if (c->sio_open)
            sio_emit(c, type, obj);
        else
            cJSON_Delete(obj);
        return;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", type);
    cJSON *it = obj->child;
    while (it) {
        cJSON *next = it->next;
        cJSON_AddItemToObject(j, it->string, cJSON_DetachItemViaPointer(obj, it));
        it = next;
    }
    cJSON_Delete(obj);
    send_json(c, j);
    cJSON_Delete(j);
}

static int find_sub(const ws_client_t *c, bool channel, const char *name)
{
    for (int i = 0; i < c->nsubs; i++)
        if (c->subs[i].channel == channel && !strcmp(c->subs[i].name, name))
            return i;
    return -1;
}

static bool in_channel(const ws_client_t *c, const char *tenant, const char *channel)
{
    return c->established && !c->closing && !strcmp(c->tenant, tenant) && find_sub(c, true, channel) >= 0;
}

/* Join and leave go to every other member: n members joining cost n² frames, so a
 * channel past WS_PRESENCE_PUSH_MAX members stops pushing them (presence still lists). */
static void presence_push(ws_client_t *c, const char *channel, const char *what)
{
    size_t n = 0;
    for (ws_client_t *o = ws_clients(); o; o = o->next)
        n += o != c && in_channel(o, c->tenant, channel);
    if (n >= WS_PRESENCE_PUSH_MAX)
        return;
    for (ws_client_t *o = ws_clients(); o; o = o->next) {
        if (o == c || !in_channel(o, c->tenant, channel))
            continue;
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "channel", channel);
        cJSON_AddStringToObject(p, "event", what);
        cJSON_AddStringToObject(p, "user", c->sub);
        cJSON_AddNumberToObject(p, "connection", (double)c->serial);
        push(o, "presence", p);
    }
}

static cJSON *members(const char *tenant, const char *channel)
{
    cJSON *arr = cJSON_CreateArray();
    for (ws_client_t *o = ws_clients(); o; o = o->next)
        if (in_channel(o, tenant, channel)) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "user", o->sub);
            cJSON_AddNumberToObject(m, "connection", (double)o->serial);
            cJSON_AddItemToArray(arr, m);
        }
    return arr;
}

static cJSON *add_sub(ws_client_t *c, bool channel, const char *name)
{
    if (find_sub(c, channel, name) >= 0)
        return result_ok();
    if (c->nsubs >= WS_MAX_SUBS)
        return result_err("too-many-subscriptions", "a connection may hold at most %d subscriptions", WS_MAX_SUBS);
    if (c->nsubs == c->capsubs) {
        int ncap = c->capsubs ? c->capsubs * 2 : 2;
        if (ncap > WS_MAX_SUBS)
            ncap = WS_MAX_SUBS;
        ws_sub_t *n = realloc(c->subs, (size_t)ncap * sizeof(*n));
        if (!n)
            return result_err("internal", "out of memory");
        c->subs = n;
        c->capsubs = ncap;
    }
    c->subs[c->nsubs].channel = channel;
    snprintf(c->subs[c->nsubs].name, sizeof(c->subs[c->nsubs].name), "%s", name);
    c->nsubs++;
    if (channel)
        presence_push(c, name, "join");
    return result_ok();
}

/* ---- operations ---- */

/* The target of subscribe/unsubscribe/publish/presence: "channel" or "events". */
static cJSON *target(const cJSON *args, bool allow_events, bool *channel, const char **name)
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(args, "channel");
    const cJSON *ev = allow_events ? cJSON_GetObjectItemCaseSensitive(args, "events") : NULL;
    if (cJSON_IsString(ch) && !ev) {
        if (!name_ok(ch->valuestring))
            return result_err("invalid-channel",
                              "a channel name is 1 to %d characters of [A-Za-z0-9._:-]", WS_NAME_MAX);
        *channel = true;
        *name = ch->valuestring;
        return NULL;
    }
    if (cJSON_IsString(ev) && !ch) {
        if (strlen(ev->valuestring) > WS_NAME_MAX || !bus_pattern_valid(ev->valuestring))
            return result_err("invalid-pattern",
                              "'%.140s' is not an event-type pattern (dotted segments, '*' one segment, '>' the rest)",
                              ev->valuestring);
        *channel = false;
        *name = ev->valuestring;
        return NULL;
    }
    return result_err("invalid-message", allow_events ? "give exactly one of \"channel\" or \"events\" (strings)"
                                                      : "\"channel\" (a string) is required");
}

static cJSON *op_subscribe(ws_client_t *c, const cJSON *args)
{
    bool channel;
    const char *name;
    cJSON *e = target(args, true, &channel, &name);
    return e ? e : add_sub(c, channel, name);
}

static cJSON *op_unsubscribe(ws_client_t *c, const cJSON *args)
{
    bool channel;
    const char *name;
    cJSON *e = target(args, true, &channel, &name);
    if (e)
        return e;
    int i = find_sub(c, channel, name);
    if (i < 0)
        return result_err("not-subscribed", "not subscribed to %s '%s'", channel ? "channel" : "events", name);
    c->subs[i] = c->subs[--c->nsubs];
    if (channel)
        presence_push(c, name, "leave");
    return result_ok();
}

static cJSON *op_publish(ws_client_t *c, const cJSON *args)
{
    bool channel;
    const char *name;
    cJSON *e = target(args, false, &channel, &name);
    if (e)
        return e;
    if (!c->may_publish)
        return result_err("forbidden", "permission 'realtime:publish' is required to publish");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "channel", name);
    cJSON_AddStringToObject(d, "from", c->sub);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(args, "data");
    cJSON_AddItemToObject(d, "data", data ? cJSON_Duplicate(data, true) : cJSON_CreateNull());
    char *text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!text)
        return result_err("internal", "out of memory");
    int rc = bus_publish("websocket", CHANNEL_TYPE, name, c->tenant, text);
    cJSON_free(text);
    if (rc == FM_EBUSY)
        return result_err("busy", "the event bus is full; try again later");
    if (rc != FM_OK)
        return result_err("internal", "the message could not be published");
    return result_ok();
}

static cJSON *op_presence(ws_client_t *c, const cJSON *args)
{
    bool channel;
    const char *name;
    cJSON *e = target(args, false, &channel, &name);
    if (e)
        return e;
    cJSON *r = result_ok();
    cJSON_AddStringToObject(r, "channel", name);
    cJSON_AddItemToObject(r, "members", members(c->tenant, name));
    return r;
}

static cJSON *run_op(ws_client_t *c, const char *op, const cJSON *args)
{
    if (!cJSON_IsObject(args) && strcmp(op, "ping"))
        return result_err("invalid-message", "the arguments of '%.40s' must be an object", op);
    if (!strcmp(op, "subscribe"))
        return op_subscribe(c, args);
    if (!strcmp(op, "unsubscribe"))
        return op_unsubscribe(c, args);
    if (!strcmp(op, "publish"))
        return op_publish(c, args);
    if (!strcmp(op, "presence"))
        return op_presence(c, args);
    if (!strcmp(op, "ping"))
        return result_ok();
    return result_err("unknown-type", "unknown message type '%.40s' (subscribe, unsubscribe, publish, presence, ping)",
                      op);
}

/* ---- the JSON protocol ---- */

static void json_error(ws_client_t *c, const cJSON *id, cJSON *res)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "type", "error");
    if (id)
        cJSON_AddItemToObject(j, "id", cJSON_Duplicate(id, false));
    cJSON *it = res->child;
    while (it) {
        cJSON *next = it->next;
        cJSON_AddItemToObject(j, it->string, cJSON_DetachItemViaPointer(res, it));
        it = next;
    }
    cJSON_Delete(res);
    send_json(c, j);
    cJSON_Delete(j);
}

/* A parsed JSON text, or NULL after telling the client why (as an error message). */
static cJSON *parse(ws_client_t *c, const char *text, size_t len)
{
    fm_json_err_t e;
    if (fm_json_check(text, len, 16, &e) != FM_JSON_OK) {
        cJSON *r = result_err("invalid-json", e.fault == FM_JSON_TOO_DEEP ? "the message nests deeper than 16 levels"
                                              : "the message holds a NUL or bytes that are not UTF-8");
        if (c->proto == WS_PROTO_SIO)
            sio_emit(c, "error", r);
        else
            json_error(c, NULL, r);
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (j && end)
        while (end < text + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
            end++;
    if (!j || end != text + len) {
        cJSON_Delete(j);
        cJSON *r = result_err("invalid-json", "the message is not one JSON document");
        if (c->proto == WS_PROTO_SIO)
            sio_emit(c, "error", r);
        else
            json_error(c, NULL, r);
        return NULL;
    }
    return j;
}

static void json_message(ws_client_t *c, const char *text, size_t len)
{
    cJSON *j = parse(c, text, len);
    if (!j)
        return;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (id && !(cJSON_IsNumber(id) || (cJSON_IsString(id) && strlen(id->valuestring) <= 64))) {
        json_error(c, NULL, result_err("invalid-message", "\"id\" must be a number or a string of at most 64 characters"));
    } else if (!cJSON_IsObject(j) || !cJSON_IsString(type)) {
        json_error(c, id, result_err("invalid-message", "a message is an object with a string \"type\""));
    } else {
        cJSON *res = run_op(c, type->valuestring, j);
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok"))) {
            json_error(c, id, res);
        } else {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "type", !strcmp(type->valuestring, "ping") ? "pong" : "ack");
            if (id)
                cJSON_AddItemToObject(a, "id", cJSON_Duplicate(id, false));
            cJSON_AddStringToObject(a, "op", type->valuestring);
            cJSON *it = res->child;
            while (it) {
                cJSON *next = it->next;
                cJSON_AddItemToObject(a, it->string, cJSON_DetachItemViaPointer(res, it));
                it = next;
            }
            cJSON_Delete(res);
            send_json(c, a);
            cJSON_Delete(a);
        }
    }
    cJSON_Delete(j);
}

/* ---- Socket.IO v4 over Engine.IO v4 ---- */

static void sio_message(ws_client_t *c, const char *text, size_t len)
{
    if (!len) {
        ws_close(c, WS_CLOSE_POLICY, "empty Engine.IO packet");
        return;
    }
    switch (text[0]) {
    case '2':       /* ping from the client (probe or v3 habit): pong */
        ws_send_text(c, "3", 1);
        return;
    case '3':       /* pong to our ping */
    case '6':       /* noop */
        return;
    case '1':
        ws_close(c, 1000, "closed by the client");
        return;
    case '4':
        break;
    default:
        ws_close(c, WS_CLOSE_POLICY, "unknown Engine.IO packet type");
        return;
    }
    const char *p = text + 1, *end = text + len;
    if (p == end) {
        ws_close(c, WS_CLOSE_POLICY, "empty Socket.IO packet");
        return;
    }
    char kind = *p++;
    if (p < end && *p == '/') {     /* a namespace other than "/" */
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t nl = comma ? (size_t)(comma - p) : (size_t)(end - p);
        if (!(nl == 1 && *p == '/')) {
            char out[200];
            int n = snprintf(out, sizeof(out), "44%.*s,{\"message\":\"Invalid namespace\"}", (int)(nl > 100 ? 100 : nl), p);
            ws_send_text(c, out, (size_t)n);
            return;
        }
        p = comma ? comma + 1 : end;
    }
    if (kind == '0') {              /* CONNECT to "/": the token was checked at the upgrade */
        char out[96];
        int n = snprintf(out, sizeof(out), "40{\"sid\":\"fm%llu\"}", (unsigned long long)c->serial);
        ws_send_text(c, out, (size_t)n);
        c->sio_open = true;
        if (c->first_channel[0])
            cJSON_Delete(add_sub(c, true, c->first_channel));
        return;
    }
    if (kind == '1') {              /* DISCONNECT from the namespace */
        ws_close(c, 1000, "disconnected by the client");
        return;
    }
    if (kind == '3')                /* an ack of something we emitted (we ask for none) */
        return;
    if (kind != '2') {
        sio_emit(c, "error", result_err("invalid-message", "unsupported Socket.IO packet type '%c'", kind));
        return;
    }
    long ack = -1;
    if (p < end && *p >= '0' && *p <= '9') {
        ack = 0;
        while (p < end && *p >= '0' && *p <= '9' && ack < 1000000000L)
            ack = ack * 10 + (*p++ - '0');
    }
    cJSON *arr = parse(c, p, (size_t)(end - p));
    if (!arr)
        return;
    const cJSON *name = cJSON_GetArrayItem(arr, 0);
    cJSON *res;
    if (!cJSON_IsArray(arr) || !cJSON_IsString(name))
        res = result_err("invalid-message", "an event is [\"name\", arguments]");
    else
        res = run_op(c, name->valuestring, cJSON_GetArrayItem(arr, 1));
    if (ack >= 0) {
        cJSON *wrap = cJSON_CreateArray();
        cJSON_AddItemToArray(wrap, res);
        char *t = cJSON_PrintUnformatted(wrap);
        cJSON_Delete(wrap);
        if (t) {
            size_t n = strlen(t);
            char *f = malloc(n + 24);
            if (f) {
                int h = snprintf(f, 24, "43%ld", ack);
                memcpy(f + h, t, n + 1);
                ws_send_text(c, f, (size_t)h + n);
                free(f);
            }
            cJSON_free(t);
        }
    } else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "ok"))) {
        sio_emit(c, "error", res);
    } else {
        cJSON_Delete(res);
    }
    cJSON_Delete(arr);
}

/* ---- the transport's calls ---- */

void ws_proto_open(ws_client_t *c)
{
    if (c->proto == WS_PROTO_SIO) {
        char out[200];
        int n = snprintf(out, sizeof(out),
                         "0{\"sid\":\"fm%llu\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":20000,"
                         "\"maxPayload\":%d}",
                         (unsigned long long)c->serial, SIO_PING_MS, WS_MSG_MAX);
        ws_send_text(c, out, (size_t)n);
        return;
    }
    cJSON *w = cJSON_CreateObject();
    cJSON_AddNumberToObject(w, "connection", (double)c->serial);
    cJSON_AddStringToObject(w, "user", c->sub);
    cJSON_AddStringToObject(w, "tenant", c->tenant);
    if (c->first_channel[0]) {
        cJSON_Delete(add_sub(c, true, c->first_channel));
        cJSON_AddStringToObject(w, "channel", c->first_channel);
    }
    push(c, "welcome", w);
}

void ws_proto_message(ws_client_t *c, const char *text, size_t len)
{
    uint64_t sec = (uint64_t)fm_time_mono();
    if (sec != c->rate_sec) {
        c->rate_sec = sec;
        c->rate_n = 0;
    }
    if (++c->rate_n > WS_RATE_MAX) {
        if (c->rate_n == WS_RATE_MAX + 1) {
            cJSON *r = result_err("rate-limited", "more than %d messages in a second; the rest of this second's are dropped",
                                  WS_RATE_MAX);
            if (c->proto == WS_PROTO_SIO)
                sio_emit(c, "error", r);
            else
                json_error(c, NULL, r);
        }
        return;
    }
    if (c->proto == WS_PROTO_SIO)
        sio_message(c, text, len);
    else
        json_message(c, text, len);
}

void ws_proto_closed(ws_client_t *c)
{
    for (int i = 0; i < c->nsubs; i++)
        if (c->subs[i].channel)
            presence_push(c, c->subs[i].name, "leave");
    c->nsubs = 0;
}

void ws_proto_tick(void)
{
    static unsigned ticks;
    bool ping = ++ticks % (SIO_PING_MS / WS_TICK_MS) == 0;
    int64_t now = fm_time_unix_ms() / 1000;
    for (ws_client_t *c = ws_clients(), *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (c->who->exp && c->who->exp <= now)     /* no event outlives its token */
            ws_close(c, WS_CLOSE_POLICY, "the access token expired; connect again with a new one");
        else if (ping && c->proto == WS_PROTO_SIO && c->sio_open)
            ws_send_text(c, "2", 1);
    }
}

/* The read permission for events of this type: "<first segment>:read", with the few
 * modules whose permission is named differently. */
static void read_perm(const char *type, char *out, size_t len)
{
    static const struct { const char *seg, *perm; } alias[] = {
        { "realtime", "realtime:connect" }, { "tasks", "task:read" }, { "scheduling", "schedule:read" },
        { "notifications", "notification:read" }, { "integrations", "integration:read" },
        { "entities", "entity:read" }, { "agents", "agent:read" }, { "eventbus", "event:read" },
        { "design", "process:read" },
    };
    const char *dot = strchr(type, '.');
    size_t n = dot ? (size_t)(dot - type) : strlen(type);
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (strlen(alias[i].seg) == n && !strncmp(alias[i].seg, type, n)) {
            snprintf(out, len, "%s", alias[i].perm);
            return;
        }
    snprintf(out, len, "%.*s:read", (int)(n > 60 ? 60 : n), type);
}

typedef struct fanout {
    const bus_event_t *ev;
    char perm[72];
    cJSON *data;                /* parsed lazily, for conditional grants */
    bool data_tried;
    ws_msg_t *ev_json, *ev_sio, *ch_json, *ch_sio;
} fanout_t;

static bool may_read(ws_client_t *c, fanout_t *f)
{
    fm_authz_t a = fm_authz_static(c->who, f->perm);
    if (a == FM_AUTHZ_ALLOW)
        return true;
    if (a == FM_AUTHZ_DENY)
        return false;
    if (!f->data_tried) {
        f->data_tried = true;
        f->data = f->ev->data ? cJSON_Parse(f->ev->data) : NULL;
    }
    return f->data && fm_authz(c->who, f->perm, f->data);
}

static ws_msg_t *wrap(const char *pre, const char *body, const char *post)
{
    size_t a = strlen(pre), b = strlen(body), d = strlen(post);
    char *t = malloc(a + b + d + 1);
    if (!t)
        return NULL;
    memcpy(t, pre, a);
    memcpy(t + a, body, b);
    memcpy(t + a + b, post, d + 1);
    ws_msg_t *m = ws_msg_new(t, a + b + d);
    free(t);
    return m;
}

/* The channel message frame: {"type":"message","channel","from","data","id","time"}. */
static ws_msg_t *channel_msg(const bus_event_t *ev, bool sio)
{
    cJSON *d = ev->data ? cJSON_Parse(ev->data) : NULL;
    if (!cJSON_IsObject(d)) {
        cJSON_Delete(d);
        return NULL;
    }
    cJSON_AddStringToObject(d, "id", ev->id);
    if (ev->time)
        cJSON_AddStringToObject(d, "time", ev->time);
    char *t = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!t)
        return NULL;
    ws_msg_t *m = sio ? wrap("42[\"message\",", t, "]") : wrap("{\"type\":\"message\",", t + 1, "");
    cJSON_free(t);
    return m;
}

static void send_lazy(ws_client_t *c, ws_msg_t **slot, ws_msg_t *(*make)(const bus_event_t *, bool),
                      const bus_event_t *ev, bool sio)
{
    if (!*slot)
        *slot = make(ev, sio);
    if (*slot)
        ws_send(c, *slot);
}

static ws_msg_t *event_msg(const bus_event_t *ev, bool sio)
{
    return sio ? wrap("42[\"event\",", ev->json, "]") : wrap("{\"type\":\"event\",\"event\":", ev->json, "}");
}

void ws_proto_event(const bus_event_t *ev, void *arg)
{
    (void)arg;
    if (!ws_clients() || !ev->json)
        return;
    double t0 = fm_log_enabled(FM_LOG_DEBUG) ? fm_time_mono() : 0;
    size_t sent = 0;
    fanout_t f;
    memset(&f, 0, sizeof(f));
    f.ev = ev;
    read_perm(ev->type, f.perm, sizeof(f.perm));
    const char *tenant = ev->tenant ? ev->tenant : "default";
    bool chan = ev->subject && !strcmp(ev->type, CHANNEL_TYPE);
    for (ws_client_t *c = ws_clients(), *next; c; c = next) {
        next = c->next;     /* ws_send may close c, never unlink it here */
        if (c->closing || !c->nsubs || strcmp(c->tenant, tenant) ||
            (c->proto == WS_PROTO_SIO && !c->sio_open))
            continue;
        bool sio = c->proto == WS_PROTO_SIO, pattern = false, member = false;
        for (int i = 0; i < c->nsubs && !(pattern && member); i++) {
            if (c->subs[i].channel)
                member = member || (chan && !strcmp(c->subs[i].name, ev->subject));
            else
                pattern = pattern || bus_pattern_match(c->subs[i].name, ev->type);
        }
        if ((!pattern && !member) || !may_read(c, &f))
            continue;
        if (pattern)
            send_lazy(c, sio ? &f.ev_sio : &f.ev_json, event_msg, ev, sio);
        if (member && !c->closing)
            send_lazy(c, sio ? &f.ch_sio : &f.ch_json, channel_msg, ev, sio);
        sent++;
    }
    if (t0 > 0 && sent) {   /* debug: the server's share of a fan-out (bench-ws reads it) */
        fm_log_t l;
        fm_log_begin(&l, FM_LOG_DEBUG, "websocket: fan-out");
        fm_log_str(&l, "type", ev->type);
        fm_log_int(&l, "clients", (int64_t)sent);
        fm_log_num(&l, "ms", (fm_time_mono() - t0) * 1000.0);
        fm_log_end(&l);
    }
    ws_msg_unref(f.ev_json);
    ws_msg_unref(f.ev_sio);
    ws_msg_unref(f.ch_json);
    ws_msg_unref(f.ch_sio);
    cJSON_Delete(f.data);
}
