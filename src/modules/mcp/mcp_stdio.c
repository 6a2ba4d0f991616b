/*
 * mcp_stdio.c — `flowmaster mcp`: the MCP stdio transport for a client that launches a
 * process (Claude Desktop, IDE agents). It reads newline-delimited JSON-RPC messages on
 * stdin, hands each to a running server's Streamable HTTP endpoint (POST <url>/mcp with
 * the bearer token and tenant, keeping the Mcp-Session-Id and the negotiated
 * MCP-Protocol-Version), and writes only JSON-RPC messages on stdout, one per line; what
 * it has to say goes to stderr. A transport refusal (401, 403, 404 …) for a request
 * becomes a JSON-RPC error for that id. At end of input it ends the session (DELETE).
 * With --data-dir instead of --url it finds the server serving that directory (its
 * run file) and, without a token, signs one from the directory's key ring.
 */
#include "../../fm_cli.h"
#include "../../fm_config.h"
#include "../modules.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
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

static size_t on_body(char *d, size_t s, size_t n, void *u)
{
    return buf_add(u, d, s * n) ? s * n : 0;
}

static char session[128], version[32];

static size_t on_header(char *d, size_t s, size_t n, void *u)
{
    (void)u;
    size_t len = s * n;
    if (len > 15 && !strncasecmp(d, "Mcp-Session-Id:", 15)) {
        const char *v = d + 15;
        while (*v == ' ')
            v++;
        size_t vl = strcspn(v, "\r\n");
        if (vl < sizeof(session))
            snprintf(session, sizeof(session), "%.*s", (int)vl, v);
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
    if (*session) {
        snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session);
        h = curl_slist_append(h, line);
    }
    if (*version) {
        snprintf(line, sizeof(line), "MCP-Protocol-Version: %s", version);
        h = curl_slist_append(h, line);
    }
    out->len = 0;
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
    buf_t in = { 0 }, out = { 0 };
    int c, rc = 0;
    bool eof = false;
    while (!eof && e) {
        in.len = 0;
        in.over = false;
        while ((c = getchar()) != EOF && c != '\n') {
            char ch = (char)c;
            buf_add(&in, &ch, 1);
        }
        eof = c == EOF;
        if (in.over) {
            emit_error(NULL, -32600, "message longer than 4 MiB: not sent");
            continue;
        }
        if (!in.len || strspn(in.p, " \t\r") == in.len)
            continue;
        cJSON *msg = cJSON_ParseWithLength(in.p, in.len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
        const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
        bool request = cJSON_IsString(method) && id;
        long status = 0;
        CURLcode cr = post(e, url, base, in.p, &status, &out);
        if (cr != CURLE_OK) {
            fprintf(stderr, "flowmaster mcp: %s: %s\n", url, curl_easy_strerror(cr));
            if (request)
                emit_error(id, -32603, "the FlowMaster server could not be reached");
            rc = 1;
        } else if (status == 202) {
            /* a notification or response was taken */
        } else if (status == 200 && out.len && out.p[0] != '{' && out.p[0] != '[') {
            emit_sse(out.p);    /* a streamed answer: progress, log messages, the response */
        } else if (out.len && out.p[0] != '{' && out.p[0] != '[') {
            fprintf(stderr, "flowmaster mcp: HTTP %ld: %.300s\n", status, out.p);
        } else if (status == 200 || (out.len && strstr(out.p, "\"jsonrpc\""))) {
            if (request && cJSON_IsString(method) && !strcmp(method->valuestring, "initialize")) {
                cJSON *res = cJSON_ParseWithLength(out.p, out.len);
                const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(res, "result"), "protocolVersion"));
                if (v)
                    snprintf(version, sizeof(version), "%s", v);
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
    }
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
    free(in.p);
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
