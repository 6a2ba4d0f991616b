/*
 * fm_http.c — CivetWeb glue and the dispatcher.
 *
 * on_request (a CivetWeb worker thread) turns the connection into an fm_req_t: request
 * id, tenant, the port's table (the API table under /api/ on web-app ports), then
 * fm__dispatch matches the route, enforces the route's flags (body limit, JSON), runs
 * the handler, and records metrics and one log line. fm_call runs the same dispatcher
 * on a request built in memory, so an in-process call sees exactly what HTTP sees.
 */
#include "fm_http.h"

#include "auth/auth_int.h"
#include "feel/feel.h"
#include "fm_config.h"
#include "fm_http_int.h"
#include "fm_id.h"
#include "fm_json_check.h"
#include "fm_log.h"
#include "fm_mod.h"

#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mg_context *ctx;
static const fm_routing_t *served;          /* set before CivetWeb starts */
static fm_route_stats_t unmatched_stats;    /* 404/405/413 before any route */

static bool id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == ':';
}

static bool token_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || !id_char(s[n]))
            return false;
    return n > 0;
}

static void allow_header(fm_req_t *r, unsigned allow)
{
    char buf[96] = "";
    for (int m = 0; m < FM_METHOD_COUNT; m++)
        if (allow & (1u << m)) {
            if (*buf)
                strcat(buf, ", ");
            strcat(buf, fm_method_name(m));
        }
    fm_reply_header(r, "Allow", buf);
}

/* The body limit of a route: server.body_limit, or documents.max_upload_mb for
 * FM_R_UPLOAD routes; the edge (on_request) lets the larger of the two through. */
static long route_body_limit(const fm_req_t *r)
{
    if (r->route && (r->route->def->flags & FM_R_UPLOAD))
        return (long)fm_cfg()->documents_max_upload_mb << 20;
    return fm_cfg()->body_limit;
}

static long edge_body_limit(void)
{
    long up = (long)fm_cfg()->documents_max_upload_mb << 20;
    return up > fm_cfg()->body_limit ? up : fm_cfg()->body_limit;
}

/* Reads the whole body from the connection, up to the route's limit. */
static int read_body(fm_req_t *r)
{
    if (!r->conn)
        return FM_OK;
    long limit = route_body_limit(r);
    fm_buf_t b = FM_BUF_INIT;
    char chunk[16384];
    int n;
    while ((n = mg_read(r->conn, chunk, sizeof(chunk))) > 0) {
        if ((long)(b.len + (size_t)n) > limit) {
            fm_buf_release(&b);
            return FM_ETOOBIG;
        }
        fm_buf_add(&b, chunk, (size_t)n);
    }
    if (b.oom) {
        fm_buf_release(&b);
        return FM_ENOMEM;
    }
    r->body = fm_buf_detach(&b, &r->body_len);
    r->body_owned = true;
    return r->body ? FM_OK : FM_ENOMEM;
}

static void reply_too_large(fm_req_t *r, long limit)
{
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddNumberToObject(ext, "limit", (double)limit);
    fm_reply_header(r, "Connection", "close");
    fm_reply_problem(r, 413, NULL, NULL, ext, "request body exceeds the limit of %ld bytes", limit);
}

static void line_col(const fm_req_t *r, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < r->body_len; i++) {
        if (r->body[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

static void reply_bad_json(fm_req_t *r, const char *end)
{
    size_t off = end && end >= r->body ? (size_t)(end - r->body) : 0;
    int line, col;
    line_col(r, off, &line, &col);
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddNumberToObject(ext, "line", line);
    cJSON_AddNumberToObject(ext, "column", col);
    cJSON_AddNumberToObject(ext, "offset", (double)off);
    if (r->body_len == 0)
        fm_reply_problem(r, 400, "urn:flowmaster:problem:malformed-json", "Malformed JSON", ext,
                         "the request body is empty; a JSON document was expected");
    else
        fm_reply_problem(r, 400, "urn:flowmaster:problem:malformed-json", "Malformed JSON", ext,
                         "the body is not valid JSON: error at line %d, column %d (byte %zu)",
                         line, col, off);
}

/* The parse of a route that reads its JSON body itself (XML-or-JSON routes, optional
 * bodies): one document, nothing after it but whitespace; otherwise the same 400 as an
 * FM_R_JSON route (line, column, offset) and NULL. */
cJSON *fm_req_parse_json(fm_req_t *r)
{
    const char *end = NULL;
    cJSON *j = r->body_len ? cJSON_ParseWithLengthOpts(r->body, r->body_len, &end, 0) : NULL;
    if (j && end) {
        while (end < r->body + r->body_len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end < r->body + r->body_len) {
            cJSON_Delete(j);
            j = NULL;
        }
    }
    if (!j)
        reply_bad_json(r, end ? end : cJSON_GetErrorPtr());
    return j;
}

/* Decodes the query string once for fm_req_query ('+' is a space, as in forms; a part
 * without '=' is not a parameter). FM_OK, FM_ENOMEM, or answered 422 naming a parameter
 * longer than FM_QUERY_MAX, which used to be dropped without a word. */
static int parse_query(fm_req_t *r)
{
    if (!r->query || !*r->query)
        return FM_OK;
    size_t qlen = strlen(r->query), n = 1;
    for (const char *p = r->query; *p; p++)
        n += *p == '&';
    /* decoding never grows a part; each part gets a second NUL where '=' was */
    char *mem = malloc(n * sizeof(fm_qparam_t) + qlen + 2 * n);
    if (!mem)
        return FM_ENOMEM;
    r->qv = (fm_qparam_t *)(void *)mem;
    char *out = mem + n * sizeof(fm_qparam_t);
    for (const char *p = r->query; *p;) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && eq > p) {
            int nl = mg_url_decode(p, (int)(eq - p), out, (int)(eq - p) + 1, 1);
            char *name = out;
            out += nl + 1;
            int vl = mg_url_decode(eq + 1, (int)(end - eq - 1), out, (int)(end - eq), 1);
            if (nl < 0 || vl < 0)   /* cannot happen: the room is the encoded length */
                return FM_ENOMEM;
            r->qv[r->nq++] = (fm_qparam_t){ name, out };
            out += vl + 1;
            if ((size_t)nl > FM_QUERY_MAX || (size_t)vl > FM_QUERY_MAX) {
                char detail[80];
                snprintf(detail, sizeof(detail), "is longer than %d bytes, the limit for a query parameter", FM_QUERY_MAX);
                fm_reply_invalid(r, (size_t)nl > 64 ? "(a query parameter name)" : name, detail);
                return FM_REPLIED;
            }
        }
        p = amp ? amp + 1 : end;
    }
    return FM_OK;
}

/* The pre-parse check of a JSON body (fm_json_check.h): FM_OK, or answered 400 with the
 * pointer and byte of the fault. In-process calls get room for the server's envelopes. */
static int check_json_body(fm_req_t *r)
{
    int max = FM_JSON_MAX_DEPTH + (r->conn ? 0 : FM_JSON_CALL_EXTRA_DEPTH);
    fm_json_err_t e;
    if (fm_json_check(r->body, r->body_len, max, &e) == FM_JSON_OK)
        return FM_OK;
    int line, col;
    line_col(r, e.offset, &line, &col);
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddStringToObject(ext, "pointer", e.pointer);
    cJSON_AddNumberToObject(ext, "offset", (double)e.offset);
    cJSON_AddNumberToObject(ext, "line", line);
    cJSON_AddNumberToObject(ext, "column", col);
    const char *where = *e.pointer ? e.pointer : "the top level", *under = e.cut ? "under " : "";
    if (e.fault == FM_JSON_TOO_DEEP) {
        cJSON_AddNumberToObject(ext, "limit", max);
        fm_reply_problem(r, 400, "urn:flowmaster:problem:json-too-deep", "JSON Nested Too Deeply", ext,
                         "the JSON body nests deeper than %d levels at %s%s (byte %zu)", max, under, where,
                         e.offset);
    } else if (e.fault == FM_JSON_BAD_UTF8) {
        fm_reply_problem(r, 400, "urn:flowmaster:problem:malformed-json", "Malformed JSON", ext,
                         "a string at %s%s holds bytes that are not UTF-8 (byte %zu)", under, where, e.offset);
    } else {
        fm_reply_problem(r, 400, "urn:flowmaster:problem:nul-in-json", "NUL in JSON String", ext,
                         "a string at %s%s holds NUL (\\u0000, byte %zu), which is not accepted", under, where,
                         e.offset);
    }
    return FM_REPLIED;
}

/* FM_R_BODY routes take JSON or other formats (BPMN/DMN XML, forms): a body that opens
 * like JSON gets the JSON check too, since the module will hand it to cJSON. */
static bool looks_json(const fm_req_t *r)
{
    for (size_t i = 0; i < r->body_len; i++) {
        char c = r->body[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return c == '{' || c == '[';
    }
    return false;
}

static void log_request(const fm_req_t *r, double ms)
{
    if (!fm_cfg()->log_requests)
        return;
    fm_log_t l;
    fm_log_begin(&l, FM_LOG_INFO, "request");
    fm_log_str(&l, "rid", r->rid);
    fm_log_str(&l, "method", r->method_text);
    fm_log_str(&l, "path", r->path);
    if (r->port)
        fm_log_int(&l, "port", r->port->port);
    else
        fm_log_str(&l, "via", "fm_call");
    fm_log_str(&l, "module", r->route ? r->route->module_name : "-");
    fm_log_str(&l, "route", r->route ? r->route->def->pattern : "-");
    fm_log_str(&l, "tenant", r->tenant);
    fm_log_int(&l, "status", r->status);
    fm_log_int(&l, "bytes", (int64_t)r->bytes_out);
    fm_log_num(&l, "ms", ms);
    fm_log_end(&l);
}

void fm__dispatch(fm_req_t *r, const fm_rtable_t *table)
{
    double t0 = fm_time_mono();
    unsigned allow = 0;
    r->route = r->method < FM_METHOD_COUNT
                   ? fm_rtable_match(table, r->method, r->path, &r->params, &allow)
                   : NULL;
    if (!r->route) {
        if (r->method >= FM_METHOD_COUNT) {     /* unknown method: allow what exists */
            unsigned other;
            for (int m = 0; m < FM_METHOD_COUNT; m++)
                if (m != FM_HEAD && fm_rtable_match(table, (fm_method_t)m, r->path, NULL, &other))
                    allow |= 1u << m;
        }
        if (allow) {
            allow_header(r, allow);
            fm_reply_problem(r, 405, NULL, NULL, NULL, "%s is not allowed on %s",
                             r->method_text, r->path);
        } else {
            fm_reply_problem(r, 404, NULL, NULL, NULL, "no route for %s %s", r->method_text, r->path);
        }
        goto done;
    }
    const fm_route_t *def = r->route->def;
    if (fm__guard_route(r) != FM_OK)
        goto done;
    if (r->route->mod && (r->route->mod->def->flags & FM_M_NOSTORE))
        fm_reply_header(r, "Cache-Control", "no-store");
    if (!def->handler) {
        char route[300];
        snprintf(route, sizeof(route), "%s %s", fm_method_name(def->method), def->pattern);
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddStringToObject(ext, "module", r->route->module_name);
        cJSON_AddStringToObject(ext, "route", route);
        fm_reply_problem(r, 501, "urn:flowmaster:problem:not-implemented", "Not Implemented", ext,
                         "%s: %s is in the catalogue but not built yet", r->route->module_name, route);
        goto done;
    }
    int qrc = parse_query(r);
    if (qrc != FM_OK) {
        if (qrc != FM_REPLIED)
            fm_reply_error(r, qrc, NULL);
        goto done;
    }
    if (def->flags & (FM_R_JSON | FM_R_BODY)) {
        int rc = read_body(r);
        if (rc == FM_ETOOBIG) {
            reply_too_large(r, route_body_limit(r));
            goto done;
        }
        if (rc != FM_OK) {
            fm_reply_error(r, rc, "could not read the request body");
            goto done;
        }
    }
    if (r->body_len && ((def->flags & FM_R_JSON) || ((def->flags & FM_R_BODY) && looks_json(r))) &&
        check_json_body(r) != FM_OK)
        goto done;
    if (def->flags & FM_R_JSON) {
        const char *end = NULL;
        r->json = r->body_len ? cJSON_ParseWithLengthOpts(r->body, r->body_len, &end, 0) : NULL;
        if (r->json && end) {   /* one document only: nothing but whitespace after it */
            while (end < r->body + r->body_len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
                end++;
            if (end < r->body + r->body_len) {
                cJSON_Delete(r->json);
                r->json = NULL;
            }
        }
        if (!r->json) {
            reply_bad_json(r, end ? end : cJSON_GetErrorPtr());
            goto done;
        }
    }
    int rc = def->handler(r);
    if (!r->replied)
        fm_reply_error(r, rc < 0 ? rc : FM_EIO, rc < 0 ? NULL : "the handler gave no answer");
done:;
    double secs = fm_time_mono() - t0;
    fm_route_stats_add(r->route ? (fm_route_stats_t *)&r->route->stats : &unmatched_stats, r->status);
    if (r->route && r->route->mod)
        fm_hist_observe(&r->route->mod->latency, secs);
    log_request(r, secs * 1000.0);
}

void fm__req_release(fm_req_t *r)
{
    if (r->body_owned)
        free(r->body);
    free(r->qv);
    cJSON_Delete(r->json);
    fm_buf_release(&r->hdrs);
}

/* Shared front half of a request: request id and tenant. FM_OK or replied. */
static int req_identity(fm_req_t *r)
{
    const char *rid = fm_req_header(r, "X-Request-Id");
    if (rid && token_ok(rid, 128))
        snprintf(r->rid, sizeof(r->rid), "%s", rid);
    else
        fm_id_fast("req", r->rid, sizeof(r->rid));
    const char *tenant = fm_req_header(r, "X-Tenant-Id");
    if (!tenant) {
        snprintf(r->tenant, sizeof(r->tenant), "default");
    } else if (!token_ok(tenant, 64)) {
        fm_reply_problem(r, 400, NULL, NULL, NULL,
                         "X-Tenant-Id must be 1 to 64 characters of [A-Za-z0-9._:-]");
        return FM_REPLIED;
    } else {
        snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
    }
    return FM_OK;
}

/* CivetWeb's begin_request callback: we answer every request ourselves, so the
 * dispatcher is in place from the first accepted connection on. */
static int on_request(struct mg_connection *conn)
{
    fm__start_wait();
    const fm_routing_t *routing = served;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    fm_req_t r;
    memset(&r, 0, sizeof(r));
    r.conn = conn;
    r.method_text = ri->request_method;
    r.method = (fm_method_t)fm_method_parse(ri->request_method);
    r.path = ri->local_uri ? ri->local_uri : "/";
    r.query = ri->query_string;
    r.port = fm_routing_port(routing, ri->server_port - fm_cfg()->port_offset);
    if (!r.port) {      /* cannot happen: we listen only on known ports */
        mg_write(conn, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n", 57);
        return 500;
    }
    if (req_identity(&r) == FM_OK && fm__guard_edge(&r, ri->remote_addr) == FM_OK) {
        if (ri->content_length > edge_body_limit()) {
            double t0 = fm_time_mono();
            reply_too_large(&r, edge_body_limit());
            fm_route_stats_add(&unmatched_stats, r.status);
            log_request(&r, (fm_time_mono() - t0) * 1000.0);
        } else {
            const fm_rtable_t *table = fm_port_table(routing, r.port);
            if (r.port->webapp && !strncmp(r.path, "/api/", 5)) {
                table = &routing->api;
                r.path += 4;
            }
            fm__dispatch(&r, table);
            feel_eval_thread_release();     /* an idle worker keeps no FEEL arena */
        }
    }
    int status = r.status ? r.status : 500;
    fm__req_release(&r);
    return status;
}

static int call(const fm_req_t *caller, const char *system_tenant, fm_method_t method, const char *path,
                const char *body_json, const char *const *extra, int *status, char **out);

int fm_call(const fm_req_t *caller, fm_method_t method, const char *path, const char *body_json,
            int *status, char **out)
{
    /* An internal caller's calls are internal too, in its tenant. */
    const char *system = !caller ? "default" : caller->internal ? caller->tenant : NULL;
    return call(caller, system, method, path, body_json, NULL, status, out);
}

int fm_call_system(const char *tenant, fm_method_t method, const char *path, const char *body_json,
                   int *status, char **out)
{
    return call(NULL, tenant, method, path, body_json, NULL, status, out);
}

int fm_call_system_h(const char *tenant, fm_method_t method, const char *path, const char *body_json,
                     const char *const *headers, int *status, char **out)
{
    return call(NULL, tenant, method, path, body_json, headers, status, out);
}

int fm_call_h(const fm_req_t *caller, fm_method_t method, const char *path, const char *body_json,
              const char *const *headers, int *status, char **out)
{
    const char *system = !caller ? "default" : caller->internal ? caller->tenant : NULL;
    return call(caller, system, method, path, body_json, headers, status, out);
}

static int call(const fm_req_t *caller, const char *system_tenant, fm_method_t method, const char *path,
                const char *body_json, const char *const *extra, int *status, char **out)
{
    const fm_routing_t *routing = fm__routing();
    *status = 0;
    *out = NULL;
    if (!routing)
        return FM_EBUSY;
    char *copy = strdup(path);
    if (!copy)
        return FM_ENOMEM;
    fm_hdr_t hdrs[5 + FM_CALL_MAX_HEADERS];
    size_t nh = 0;
    const char *names[] = { "Authorization", "X-Tenant-Id", "X-Request-Id" };
    for (size_t i = 0; i < 3; i++) {
        const char *v = caller ? fm_req_header(caller, names[i]) : NULL;
        if (v)
            hdrs[nh++] = (fm_hdr_t){ names[i], v };
    }
    const fm_mod_t *cm = caller ? fm_req_mod(caller) : NULL;
    hdrs[nh++] = (fm_hdr_t){ "X-Service-Name", cm ? cm->def->name : "core" };
    if (system_tenant)
        hdrs[nh++] = (fm_hdr_t){ "X-Tenant-Id", system_tenant };
    /* after the identity headers: a lookup takes the first, so these cannot replace them */
    for (size_t i = 0; extra && extra[i] && extra[i + 1] && i < 2 * FM_CALL_MAX_HEADERS; i += 2)
        hdrs[nh++] = (fm_hdr_t){ extra[i], extra[i + 1] };

    fm_req_t r;
    memset(&r, 0, sizeof(r));
    fm_buf_t cap = FM_BUF_INIT;
    r.capture = &cap;
    r.method = method;
    r.method_text = fm_method_name(method);
    r.path = copy;
    char *q = strchr(copy, '?');
    if (q) {
        *q = 0;
        r.query = q + 1;
    }
    r.call_headers = hdrs;
    r.ncall_headers = nh;
    r.body = (char *)body_json;
    r.body_len = body_json ? strlen(body_json) : 0;
    r.internal = system_tenant != NULL;
    r.peer = caller ? fm_req_client_ip(caller) : NULL;
    if (req_identity(&r) == FM_OK) {
        if (caller)
            snprintf(r.rid, sizeof(r.rid), "%s", caller->rid);
        fm__dispatch(&r, &routing->api);
    }
    *status = r.status;
    *out = fm_buf_detach(&cap, NULL);
    fm__req_release(&r);
    free(copy);
    return *out ? FM_OK : FM_ENOMEM;
}

bool fm_port_own(const fm_port_t *p)
{
    if (!p->nmods)
        return false;
    for (size_t i = 0; i < p->nmods; i++)
        if (!(p->mods[i]->def->flags & FM_M_OWNPORT))
            return false;
    return true;
}

/* "Bearer <token>" of an upgrade: the Authorization header, else ?access_token= (browsers
 * cannot set headers on a WebSocket). The tenant is the token's when X-Tenant-Id is not
 * sent. Writes into auth/tenant; false when there is no token at all. */
static void upgrade_identity(fm_req_t *r, fm_hdr_t *hdrs, size_t *nh, char *auth, size_t alen,
                             char *tenant, size_t tlen)
{
    const char *a = fm_req_header(r, "Authorization");
    if (!a) {
        const char *t = fm_req_query(r, "access_token", NULL, 0);
        if (!t || strlen(t) + 8 > alen)
            return;
        snprintf(auth, alen, "Bearer %s", t);
        hdrs[(*nh)++] = (fm_hdr_t){ "Authorization", auth };
        a = auth;
    }
    if (fm_req_header(r, "X-Tenant-Id") || strncasecmp(a, "Bearer ", 7))
        return;
    fm_principal_t *p = malloc(sizeof(*p));
    char why[96];
    if (p && fm_principal_from_token(a + 7, p, why, sizeof(why)) == FM_OK) {
        snprintf(tenant, tlen, "%s", p->tenant);
        hdrs[(*nh)++] = (fm_hdr_t){ "X-Tenant-Id", tenant };
    }
    free(p);
}

int fm_http_port_dispatch(const fm_port_req_t *in, fm_port_res_t *out)
{
    const fm_routing_t *routing = fm__routing();
    memset(out, 0, sizeof(*out));
    const fm_port_t *port = routing ? fm_routing_port(routing, in->port) : NULL;
    if (!port)
        return FM_ENOTFOUND;
    fm_hdr_t hdrs[FM_PORT_MAX_HEADERS + 2];
    size_t nh = 0;
    for (size_t i = 0; i < in->nheaders && nh < FM_PORT_MAX_HEADERS; i++)
        hdrs[nh++] = (fm_hdr_t){ in->headers[i].name, in->headers[i].value };
    fm_req_t r;
    memset(&r, 0, sizeof(r));
    fm_buf_t cap = FM_BUF_INIT;
    r.capture = &cap;
    r.capture_whole = true;
    r.upgrade = in->upgrade;
    r.method_text = in->method;
    r.method = (fm_method_t)fm_method_parse(in->method);
    r.path = in->path;
    r.query = in->query;
    r.port = port;
    r.call_headers = hdrs;
    r.ncall_headers = nh;
    r.peer = in->peer;
    char auth[4096 + 8], tenant[72];
    int rc = FM_OK;
    if (in->upgrade) {
        /* the query is decoded by the dispatcher; decode it here once for the token */
        rc = parse_query(&r);
        if (rc == FM_OK) {
            upgrade_identity(&r, hdrs, &nh, auth, sizeof(auth), tenant, sizeof(tenant));
            r.ncall_headers = nh;
            free(r.qv);
            r.qv = NULL;
            r.nq = 0;
        }
    }
    if (rc == FM_OK && req_identity(&r) == FM_OK && fm__guard_edge(&r, in->peer) == FM_OK)
        fm__dispatch(&r, fm_port_table(routing, port));
    out->status = r.status;
    if (r.has_principal) {
        out->principal = r.principal;
        out->has_principal = true;
    }
    snprintf(out->tenant, sizeof(out->tenant), "%s", r.tenant);
    out->raw = fm_buf_detach(&cap, &out->len);
    fm__req_release(&r);
    if (rc == FM_REPLIED)
        return FM_OK;
    if (rc != FM_OK)
        return rc;
    return out->raw ? FM_OK : FM_ENOMEM;
}

static char bind_error[256];   /* CivetWeb's first "cannot bind" message, for the exit line */

static int on_log(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    if (!strncmp(message, "cannot bind to ", 15)) {   /* one line for all of them: fm_http_start */
        if (!bind_error[0])
            snprintf(bind_error, sizeof(bind_error), "%s", message + 15);
        return 1;
    }
    if (bind_error[0] && !strcmp(message, "Failed to setup server ports"))
        return 1;
    fm_log_msg(FM_LOG_WARN, "civetweb", message);
    return 1;
}

int fm_http_start(const fm_routing_t *routing, char *err, size_t errlen)
{
    const fm_config_t *c = fm_cfg();
    fm_buf_t ports = FM_BUF_INIT;
    for (size_t i = 0; i < routing->nports; i++)
        if (!fm_port_own(&routing->ports[i]))
            fm_buf_addf(&ports, "%s%s:%d", ports.len ? "," : "", c->listen,
                        routing->ports[i].port + c->port_offset);
    char threads[16], timeout[16];
    snprintf(threads, sizeof(threads), "%d", c->threads);
    snprintf(timeout, sizeof(timeout), "%d", c->request_timeout_ms);
    const char *opts[] = {
        "listening_ports", ports.data ? ports.data : "",
        "num_threads", threads,
        "tcp_nodelay", "1",
        "enable_keep_alive", "yes",
        /* CivetWeb's default is 500 ms; Node's fetch reuses an idle connection for 4 s, so
         * a client pausing between requests (an MCP agent thinking) hit a closed socket */
        "keep_alive_timeout_ms", "5000",
        "request_timeout_ms", timeout,
        NULL, NULL,
    };
    struct mg_callbacks cbs;
    memset(&cbs, 0, sizeof(cbs));
    cbs.log_message = on_log;
    cbs.begin_request = on_request;
    served = routing;
    struct mg_init_data init = { &cbs, NULL, opts };
    char text[512] = "";
    unsigned code = 0;
    struct mg_error_data e = { &code, text, sizeof(text) };
    mg_init_library(0);
    ctx = mg_start2(&init, &e);
    fm_buf_release(&ports);
    if (!ctx) {
        /* "127.0.0.1:9003: 98 (Address already in use)" */
        const char *why = strstr(bind_error, ": ");
        const char *digits = why;
        while (digits && digits > bind_error && digits[-1] >= '0' && digits[-1] <= '9')
            digits--;
        if (why && atoi(why + 2) == EADDRINUSE && digits < why)
            fm__port_busy_line(routing, atoi(digits), err, errlen);
        else if (bind_error[0])
            snprintf(err, errlen, "cannot listen on port %s (port offset %d)", bind_error, c->port_offset);
        else
            snprintf(err, errlen, "cannot start HTTP on %s: %s", c->listen, *text ? text : "unknown error");
        mg_exit_library();
        return FM_EIO;
    }
    return FM_OK;
}

void fm_http_stop(void)
{
    if (!ctx)
        return;
    mg_stop(ctx);
    ctx = NULL;
    mg_exit_library();
}
