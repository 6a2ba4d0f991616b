/*
 * mcp_stdio.c — `flowmaster mcp`: the MCP stdio transport for a client that launches a
 * process (Claude Desktop, IDE agents). It reads newline-delimited JSON-RPC messages on
 * stdin, hands each to a running server's Streamable HTTP endpoint (POST <url>/mcp with
 * the bearer token and tenant, keeping the Mcp-Session-Id and the negotiated
 * MCP-Protocol-Version), and writes only JSON-RPC messages on stdout, one per line; what
 * it has to say goes to stderr. A transport refusal (401, 403, 404 …) for a request
 * becomes a JSON-RPC error for that id. At end of input it ends the session (DELETE).
 * With --data-dir instead of --url it finds the server serving that directory (its
 * run file) and, without a token, signs one from the directory's key ring. A thread
 * reads stdin meanwhile, so a cancellation reaches the server while its call runs, and
 * SSE answers are written event by event as they arrive.
 */
#include "../../fm_cli.h"
#include "../../fm_config.h"
#include "../modules.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES (4L << 20)   /* one message; the server's own limit is lower */

typedef struct buf {
    char *p;
    size_t len, cap;
    bool over;
} buf_t;

static bool buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > (size_t)LINE_MAX_BYTES) {
        b->over = true;
        return false;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return false;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

static char session[128], version[32];     /* written by the main thread under `mu` */
static bool sse;    /* the answer being read is text/event-stream: written out as it comes */

/* stdin is read by a thread of its own into a bounded queue, so that a
 * notifications/cancelled for the request in flight goes out at once (the main thread is
 * waiting for that request's answer); one for a request still queued drops that request. */
#define QUEUE_MAX 64
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *queue[QUEUE_MAX];      /* lines; TOO_LONG for one over the limit */
static size_t qhead, qlen;
static bool in_eof;
static char inflight[96];           /* JSON text of the id of the request being answered */
static const char TOO_LONG[] = "";

static void emit_sse(char *body);

static size_t on_body(char *d, size_t s, size_t n, void *u)
{
    buf_t *b = u;
    if (!buf_add(b, d, s * n))
        return 0;
    if (sse) {  /* each complete event now (progress must reach the client before the answer) */
        char *end;
        while ((end = strstr(b->p, "\n\n"))) {
            size_t used = (size_t)(end - b->p) + 2;
            char keep = b->p[used];
            b->p[used] = 0;
            emit_sse(b->p);
            b->p[used] = keep;
            memmove(b->p, b->p + used, b->len - used + 1);
            b->len -= used;
        }
    }
    return s * n;
}

static size_t on_header(char *d, size_t s, size_t n, void *u)
{
    (void)u;
    size_t len = s * n;
    if (len > 13 && !strncasecmp(d, "Content-Type:", 13))
        sse = strstr(d, "text/event-stream") != NULL;
    if (len > 15 && !strncasecmp(d, "Mcp-Session-Id:", 15)) {
        const char *v = d + 15;
        while (*v == ' ')
            v++;
        size_t vl = strcspn(v, "\r\n");
        pthread_mutex_lock(&mu);
        if (vl < sizeof(session))
            snprintf(session, sizeof(session), "%.*s", (int)vl, v);
        pthread_mutex_unlock(&mu);
    }
    return len;
}

/* POST one message; *status and the body in *out. */
static CURLcode post(CURL *e, const char *url, struct curl_slist *base, const char *msg, long *status, buf_t *out)
{
    struct curl_slist *h = NULL;
    for (struct curl_slist *i = base; i; i = i->next)
        h = curl_slist_append(h, i->data);
    char line[200];
    pthread_mutex_lock(&mu);
    if (*session) {
        snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session);
        h = curl_slist_append(h, line);
    }
    if (*version) {
        snprintf(line, sizeof(line), "MCP-Protocol-Version: %s", version);
        h = curl_slist_append(h, line);
    }
    pthread_mutex_unlock(&mu);
    out->len = 0;
    sse = false;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, msg);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 300L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    return rc;
}

static void emit(const char *json)
{
    fputs(json, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* Each event's data of an SSE body, one JSON-RPC message a line (events without data,
 * comments and the priming event are skipped). */
static void emit_sse(char *body)
{
    buf_t ev = { 0 };
    for (char *line = body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = 0;
        if (!strncmp(line, "data:", 5)) {
            const char *d = line + 5 + (line[5] == ' ');
            buf_add(&ev, d, strlen(d));
        } else if (!n) {
            if (ev.len)
                emit(ev.p);
            ev.len = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (ev.len)
        emit(ev.p);
    free(ev.p);
}

static void emit_error(const cJSON *id, int code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 0) : cJSON_CreateNull());
    cJSON *er = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(er, "code", code);
    cJSON_AddStringToObject(er, "message", message);
    char *t = cJSON_PrintUnformatted(o);
    if (t)
        emit(t);
    free(t);
    cJSON_Delete(o);
}

static size_t discard(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

typedef struct reader {
    const char *url;
    struct curl_slist *base;
} reader_t;

/* Reader thread: a cancel of the request in flight is posted now, on its own handle. */
static void post_now(const reader_t *rd, const char *msg)
{
    CURL *e = curl_easy_init();
    if (!e)
        return;
    struct curl_slist *h = NULL;
    for (struct curl_slist *i = rd->base; i; i = i->next)
        h = curl_slist_append(h, i->data);
    char line[200];
    pthread_mutex_lock(&mu);
    snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session);
    h = curl_slist_append(h, line);
    if (*version) {
        snprintf(line, sizeof(line), "MCP-Protocol-Version: %s", version);
        h = curl_slist_append(h, line);
    }
    pthread_mutex_unlock(&mu);
    curl_easy_setopt(e, CURLOPT_URL, rd->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, msg);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(e);
    if (rc != CURLE_OK)
        fprintf(stderr, "flowmaster mcp: the cancellation did not go out: %s\n", curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
}

/* Locked. A line that cancels the request in flight (true: post it now), or one still
 * queued (that request is dropped: it was never sent). */
static bool cancels_inflight(const char *line, size_t len)
{
    cJSON *m = cJSON_ParseWithLength(line, len);
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "method"));
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "params"), "requestId");
    char *idt = method && !strcmp(method, "notifications/cancelled") && rid ? cJSON_PrintUnformatted(rid) : NULL;
    bool now = false;
    if (idt && *session) {
        now = !strcmp(idt, inflight);
        for (size_t i = 0; !now && i < qlen; i++) {
            char **q = &queue[(qhead + i) % QUEUE_MAX];
            if (*q == TOO_LONG)
                continue;
            cJSON *r = cJSON_Parse(*q);
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
            char *t = id && cJSON_GetObjectItemCaseSensitive(r, "method") ? cJSON_PrintUnformatted(id) : NULL;
            if (t && !strcmp(t, idt)) {
                free(*q);
                *q = strdup("");    /* dropped: a blank line, which the main loop skips */
            }
            cJSON_free(t);
            cJSON_Delete(r);
        }
    }
    cJSON_free(idt);
    cJSON_Delete(m);
    return now;
}

static void *read_stdin(void *arg)
{
    const reader_t *rd = arg;
    buf_t in = { 0 };
    int c = 0;
    while (c != EOF) {
        in.len = 0;
        in.over = false;
        while ((c = getchar()) != EOF && c != '\n') {
            char ch = (char)c;
            buf_add(&in, &ch, 1);
        }
        if (!in.over && (!in.len || strspn(in.p, " \t\r") == in.len))
            continue;
        pthread_mutex_lock(&mu);
        bool now = !in.over && cancels_inflight(in.p, in.len);
        if (!now) {
            while (qlen == QUEUE_MAX)
                pthread_cond_wait(&cv, &mu);
            queue[(qhead + qlen++) % QUEUE_MAX] = in.over ? (char *)TOO_LONG : strdup(in.p);
            pthread_cond_broadcast(&cv);
        }
        pthread_mutex_unlock(&mu);
        if (now)
            post_now(rd, in.p);
    }
    pthread_mutex_lock(&mu);
    in_eof = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    free(in.p);
    return NULL;
}

/* Main thread: the next line (caller frees; TOO_LONG not), or NULL at end of input. */
static char *next_line(void)
{
    pthread_mutex_lock(&mu);
    while (!qlen && !in_eof)
        pthread_cond_wait(&cv, &mu);
    char *l = NULL;
    if (qlen) {
        l = queue[qhead];
        qhead = (qhead + 1) % QUEUE_MAX;
        qlen--;
        pthread_cond_broadcast(&cv);
    }
    pthread_mutex_unlock(&mu);
    return l;
}

/* Without --url: the server that serves the data directory, from its run file
 * (FM_RUN_FILE: pid, listen, port offset). The config then takes that listen address
 * and offset, so a token minted here has the server's issuer. */
static int find_server(char *url, size_t len)
{
    const fm_config_t *c = fm_cfg();
    char path[700];
    snprintf(path, sizeof(path), "%s/" FM_RUN_FILE, c->data_dir);
    FILE *f = fopen(path, "r");
    char text[1024] = "";
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = 0;
    cJSON *run = cJSON_Parse(text);
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(run, "pid");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(run, "portOffset");
    const char *listen = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(run, "listen"));
    bool alive = cJSON_IsNumber(pid) && pid->valuedouble > 1 && pid->valuedouble < 1e9 &&
                 (kill((pid_t)pid->valuedouble, 0) == 0 || errno == EPERM);
    if (!alive || !cJSON_IsNumber(off) || !listen || strlen(listen) >= sizeof(c->listen)) {
        fprintf(stderr, "flowmaster mcp: no server is serving %s (%s); start one with "
                "'flowmaster serve --data-dir %s', or pass --url\n", c->data_dir,
                !f ? "no " FM_RUN_FILE : "its " FM_RUN_FILE " names no running process", c->data_dir);
        cJSON_Delete(run);
        return FM_ENOTFOUND;
    }
    fm_config_t mine = *c;
    mine.port_offset = (int)off->valuedouble;
    snprintf(mine.listen, sizeof(mine.listen), "%s", listen);
    fm_config_install(&mine);
    cJSON_Delete(run);
    fm_local_url(9000, "/mcp", url, len);
    return FM_OK;
}

static int run(const fm_cli_opts_t *o)
{
    const char *token = o->token ? o->token : getenv("FLOWMASTER_MCP_TOKEN");
    char url[1024], *minted = NULL;
    if (o->url) {
        size_t ul = strlen(o->url);
        snprintf(url, sizeof(url), "%.*s%s", (int)(ul && o->url[ul - 1] == '/' ? ul - 1 : ul), o->url,
                 strstr(o->url, "/mcp") ? "" : "/mcp");
    } else {
        if (find_server(url, sizeof(url)) != FM_OK)
            return 1;
        if (!token || !*token) {    /* whoever may read the data directory may act for it */
            minted = fm_cli_service_token("mcp", o->tenant ? o->tenant : "default", "mcp-stdio");
            if (!minted)
                return 1;
            token = minted;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *e = curl_easy_init();
    struct curl_slist *base = NULL;
    char line[2200];
    base = curl_slist_append(base, "Content-Type: application/json");
    base = curl_slist_append(base, "Accept: application/json, text/event-stream");
    if (token && *token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
        base = curl_slist_append(base, line);
    }
    free(minted);
    if (o->tenant) {
        snprintf(line, sizeof(line), "X-Tenant-Id: %s", o->tenant);
        base = curl_slist_append(base, line);
    }
    fprintf(stderr, "flowmaster mcp: forwarding stdin to %s\n", url);
    buf_t out = { 0 };
    int rc = 0;
    reader_t rd = { url, base };
    pthread_t reader;
    bool started = e && pthread_create(&reader, NULL, read_stdin, &rd) == 0;
    if (e && !started) {
        fprintf(stderr, "flowmaster mcp: cannot start the stdin reader\n");
        curl_easy_cleanup(e);
        e = NULL;
    }
    char *l;
    while (e && (l = next_line())) {
        if (l == TOO_LONG) {
            emit_error(NULL, -32600, "message longer than 4 MiB: not sent");
            continue;
        }
        buf_t in = { l, strlen(l), strlen(l) + 1, false };
        if (!in.len) {      /* a request dropped by its cancellation */
            free(l);
            continue;
        }
        cJSON *msg = cJSON_ParseWithLength(in.p, in.len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
        const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
        bool request = cJSON_IsString(method) && id;
        char *idt = request ? cJSON_PrintUnformatted(id) : NULL;
        pthread_mutex_lock(&mu);
        snprintf(inflight, sizeof(inflight), "%s", idt && strlen(idt) < sizeof(inflight) ? idt : "");
        pthread_mutex_unlock(&mu);
        cJSON_free(idt);
        long status = 0;
        CURLcode cr = post(e, url, base, in.p, &status, &out);
        pthread_mutex_lock(&mu);
        inflight[0] = 0;
        pthread_mutex_unlock(&mu);
        if (cr != CURLE_OK) {
            fprintf(stderr, "flowmaster mcp: %s: %s\n", url, curl_easy_strerror(cr));
            if (request)
                emit_error(id, -32603, "the FlowMaster server could not be reached");
            rc = 1;
        } else if (status == 202) {
            /* a notification or response was taken */
        } else if (sse) {
            if (out.len)
                emit_sse(out.p);    /* the last event, when the stream ended without a blank line */
        } else if (out.len && out.p[0] != '{' && out.p[0] != '[') {
            fprintf(stderr, "flowmaster mcp: HTTP %ld: %.300s\n", status, out.p);
        } else if (status == 200 || (out.len && strstr(out.p, "\"jsonrpc\""))) {
            if (request && cJSON_IsString(method) && !strcmp(method->valuestring, "initialize")) {
                cJSON *res = cJSON_ParseWithLength(out.p, out.len);
                const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(res, "result"), "protocolVersion"));
                pthread_mutex_lock(&mu);
                if (v)
                    snprintf(version, sizeof(version), "%s", v);
                pthread_mutex_unlock(&mu);
                cJSON_Delete(res);
            }
            emit(out.p);
        } else {
            /* a transport refusal (problem+json): the id gets an error with its detail */
            cJSON *p = cJSON_ParseWithLength(out.p ? out.p : "", out.len);
            const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "detail"));
            char text[600];
            snprintf(text, sizeof(text), "HTTP %ld from the FlowMaster server: %s", status, detail ? detail : "");
            fprintf(stderr, "flowmaster mcp: %s\n", text);
            if (request)
                emit_error(id, status == 401 || status == 403 ? -32001 : -32603, text);
            cJSON_Delete(p);
        }
        cJSON_Delete(msg);
        free(l);
    }
    if (started)
        pthread_join(reader, NULL);
    if (*session && e) {    /* end the session */
        struct curl_slist *h = NULL;
        for (struct curl_slist *i = base; i; i = i->next)
            h = curl_slist_append(h, i->data);
        snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session);
        h = curl_slist_append(h, line);
        curl_easy_reset(e);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
        curl_easy_perform(e);
        curl_slist_free_all(h);
    }
    free(out.p);
    curl_slist_free_all(base);
    if (e)
        curl_easy_cleanup(e);
    curl_global_cleanup();
    return rc;
}

const fm_cmd_t fm_cmd_mcp = {
    "mcp", "MCP over stdio: forwards newline-delimited JSON-RPC to a running server's /mcp",
    "mcp --url http://127.0.0.1:9000 [--token T] [--tenant T]\n"
    "mcp [--data-dir D] [--tenant T] [--config F]\n\n"
    "Reads MCP JSON-RPC messages, one per line, on stdin and writes the answers, one per\n"
    "line, on stdout (logs on stderr). The token may come from FLOWMASTER_MCP_TOKEN instead\n"
    "of --token (which other users can see in the process list). Without --tenant the\n"
    "token's tenant is used. Without --url it finds the server serving the data directory\n"
    "(its serve.json) and, without a token, signs one itself for service account\n"
    "'mcp-stdio' (role service) of --tenant (default 'default'): reading the data\n"
    "directory is all it takes.",
    FL_URL | FL_TOKEN | FL_TENANT | FL_CONFIG | FL_DATA_DIR, run,
};
