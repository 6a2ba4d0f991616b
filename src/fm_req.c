/*
 * fm_req.c — the request getters and reply helpers of fm_req.h. A reply is assembled
 * in one buffer and written with one mg_write (DESIGN.md: ten small writes per request
 * capped throughput at ~20k req/s; one write reached 35k).
 */
#include "fm_http_int.h"

#include "fm_json_check.h"
#include "fm_log.h"

#include <civetweb.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *fm_req_param(const fm_req_t *r, const char *name)
{
    for (size_t i = 0; i < r->params.n; i++)
        if (!strcmp(r->params.v[i].name, name))
            return r->params.v[i].value;
    return NULL;
}

const char *fm_req_query(const fm_req_t *r, const char *name, char *buf, size_t len)
{
    for (size_t i = 0; i < r->nq; i++)
        if (!strcasecmp(r->qv[i].name, name)) {     /* as CivetWeb's mg_get_var did */
            const char *v = r->qv[i].value;
            size_t n = strlen(v);
            if (buf && n < len) {
                memcpy(buf, v, n + 1);
                return buf;
            }
            return v;
        }
    return NULL;
}

const char *fm_req_header(const fm_req_t *r, const char *name)
{
    if (r->conn)
        return mg_get_header(r->conn, name);
    for (size_t i = 0; i < r->ncall_headers; i++)
        if (!strcasecmp(r->call_headers[i].name, name))
            return r->call_headers[i].value;
    return NULL;
}

/* Media type of Content-Type without parameters: ct == want, or the structured suffix
 * ("application/vnd.x+json" for "+json"). */
static bool media_is(const char *ct, size_t n, const char *want)
{
    size_t w = strlen(want);
    if (*want == '+')
        return n > w && !strncasecmp(ct + n - w, want, w);
    return n == w && !strncasecmp(ct, want, w);
}

int fm_req_body_kind(fm_req_t *r, bool *xml)
{
    const char *ct = fm_req_header(r, "Content-Type");
    size_t n = 0;
    while (ct && ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
        n++;
    if (ct && n && !media_is(ct, n, "application/x-www-form-urlencoded") && !media_is(ct, n, "application/json") &&
        !media_is(ct, n, "+json") && !media_is(ct, n, "application/xml") && !media_is(ct, n, "text/xml") &&
        !media_is(ct, n, "+xml")) {
        cJSON *ext = cJSON_CreateObject();
        cJSON *acc = cJSON_AddArrayToObject(ext, "accepted");
        static const char *const types[] = { "application/json", "application/xml", "text/xml",
                                             "application/x-www-form-urlencoded" };
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            cJSON_AddItemToArray(acc, cJSON_CreateString(types[i]));
        fm_reply_problem(r, 415, NULL, NULL, ext,
                         "Content-Type %.*s is not accepted here: send XML or JSON as application/xml, text/xml or "
                         "application/json (a missing Content-Type or curl -d's application/x-www-form-urlencoded is "
                         "read by the body's first character)", (int)(n > 100 ? 100 : n), ct);
        return FM_REPLIED;
    }
    size_t i = 0;
    while (i < r->body_len && (r->body[i] == ' ' || r->body[i] == '\t' || r->body[i] == '\n' || r->body[i] == '\r'))
        i++;
    *xml = i < r->body_len && r->body[i] == '<';
    return FM_OK;
}

int fm_req_if_match(fm_req_t *r, const char **etag)
{
    const char *h = fm_req_header(r, "If-Match");
    *etag = h;
    if (!h || !strcmp(h, "*"))
        return FM_OK;
    size_t n = strlen(h);
    const char *why = NULL;
    for (const char *p = h; *p && !why;) {      /* a list: every member strong */
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *q = p[0] == '"' ? strchr(p + 1, '"') : NULL;
        if (!strncmp(p, "W/", 2))
            why = "is a weak ETag; these writes compare strongly: send the ETag as the server gave it out";
        else if (!q)
            why = "is not a quoted ETag; send it as the server gave it out, with its double quotes";
        else {
            p = q + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p && *p != ',')
                why = "is not a quoted ETag; send it as the server gave it out, with its double quotes";
        }
    }
    if (!why)
        return FM_OK;
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddStringToObject(ext, "ifMatch", n > 200 ? "(too long)" : h);
    fm_reply_problem(r, 412, NULL, NULL, ext, "If-Match %.*s %s (e.g. If-Match: \"r3\")", (int)(n > 100 ? 100 : n), h,
                     why);
    return FM_REPLIED;
}

int fm_req_if_match_rev(fm_req_t *r, const char *what)
{
    const char *tag;
    if (fm_req_if_match(r, &tag) != FM_OK)
        return -1;
    if (!tag || !strcmp(tag, "*"))
        return 0;
    char *end = NULL;
    long n = tag[0] == '"' && tag[1] == 'r' ? strtol(tag + 2, &end, 10) : 0;
    if (n < 1 || n > 1000000000 || strcmp(end, "\"")) {
        fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                         "If-Match must be the %s's current ETag (\"r<revision>\"); read it again", what);
        return -1;
    }
    return (int)n;
}

bool fm_req_members_known(fm_req_t *r, const cJSON *o, const char *where, const char *const *known,
                          const char *doc)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, o)
    {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = !strcmp(*k, x->string);
        if (ok)
            continue;
        size_t w = strlen(where);
        char f[200], d[200];
        snprintf(f, sizeof(f), "%.120s%s%.60s", where, w && where[w - 1] != '/' ? "/" : "", x->string);
        snprintf(d, sizeof(d), "unknown member '%.60s'%s%s", x->string, doc ? "; see " : "", doc ? doc : "");
        fm_reply_invalid(r, f, d);
        return false;
    }
    return true;
}

cJSON *fm_req_json(const fm_req_t *r) { return r->json; }
const char *fm_req_tenant(const fm_req_t *r) { return r->tenant; }
const char *fm_req_id(const fm_req_t *r) { return r->rid; }
fm_method_t fm_req_method(const fm_req_t *r) { return r->method; }
const char *fm_req_path(const fm_req_t *r) { return r->path; }
fm_mod_t *fm_req_mod(const fm_req_t *r) { return r->route ? r->route->mod : NULL; }
int fm_req_port(const fm_req_t *r) { return r->port ? r->port->port : 0; }
bool fm_replied(const fm_req_t *r) { return r->replied; }
bool fm_req_upgrading(const fm_req_t *r) { return r->upgrade; }

const char *fm_req_client_ip(const fm_req_t *r)
{
    /* Under fm_call the callee sees the caller's peer, so per-IP limits (login
     * throttling) still apply to the real client. */
    return r->conn ? mg_get_request_info(r->conn)->remote_addr : r->peer ? r->peer : "in-process";
}

const char *fm_req_body(const fm_req_t *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body;
}

void fm_reply_header(fm_req_t *r, const char *name, const char *value)
{
    /* Header injection guard: values never carry CR or LF. */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    fm_buf_addf(&r->hdrs, "%s: %s\r\n", name, value);
}

int fm_reply_raw(fm_req_t *r, int status, const char *content_type, const void *body, size_t len)
{
    if (r->replied) {
        fm_log_msg(FM_LOG_ERROR, "handler answered twice", r->route ? r->route->def->pattern : r->path);
        return FM_OK;
    }
    r->replied = true;
    r->status = status;
    /* JSON never goes out with bytes that are not UTF-8 (echoed ids and paths, data
     * stored before input was checked): each such byte is sent as \ufffd. */
    char *fixed = NULL;
    if (content_type && strstr(content_type, "json")) {
        size_t flen = 0;
        fixed = fm_json_fix_utf8(body, len, &flen);
        if (fixed) {
            body = fixed;
            len = flen;
        }
    }
    if (r->capture && !r->capture_whole) {
        fm_buf_add(r->capture, body, len);
        r->bytes_out = len;
        free(fixed);
        return FM_OK;
    }
    fm_buf_t out = FM_BUF_INIT;
    fm_buf_addf(&out, "HTTP/1.1 %d %s\r\n", status, fm__reason(status));
    if (content_type)
        fm_buf_addf(&out, "Content-Type: %s\r\n", content_type);
    fm_buf_addf(&out, "Content-Length: %zu\r\nX-Request-Id: %s\r\n"
                      "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n", len, r->rid);
    if (r->hdrs.len)
        fm_buf_add(&out, r->hdrs.data, r->hdrs.len);
    const char *c = fm_req_header(r, "Connection");
    if (c && !strcasecmp(c, "close"))
        fm_buf_adds(&out, "Connection: close\r\n");
    fm_buf_adds(&out, "\r\n");
    if (r->method != FM_HEAD)
        fm_buf_add(&out, body, len);
    if (r->capture_whole)
        fm_buf_add(r->capture, out.data, out.len);
    else if (!out.oom)
        mg_write(r->conn, out.data, out.len);
    r->bytes_out = len;
    fm_buf_release(&out);
    free(fixed);
    return FM_OK;
}

int fm_reply_stream_begin(fm_req_t *r, int status, const char *content_type)
{
    if (r->replied) {
        fm_log_msg(FM_LOG_ERROR, "handler answered twice", r->route ? r->route->def->pattern : r->path);
        return FM_EINVAL;
    }
    r->replied = true;
    r->status = status;
    if (r->capture)
        return FM_OK;
    fm_buf_t out = FM_BUF_INIT;
    fm_buf_addf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n"
                      "Cache-Control: no-cache\r\nX-Request-Id: %s\r\nX-Content-Type-Options: nosniff\r\n",
                status, fm__reason(status), content_type, r->rid);
    if (r->hdrs.len)
        fm_buf_add(&out, r->hdrs.data, r->hdrs.len);
    fm_buf_adds(&out, "\r\n");
    int rc = !out.oom && mg_write(r->conn, out.data, out.len) > 0 ? FM_OK : FM_EIO;
    fm_buf_release(&out);
    return rc;
}

int fm_reply_stream_write(fm_req_t *r, const void *data, size_t len)
{
    if (!len)
        return FM_OK;
    r->bytes_out += len;
    if (r->capture) {
        fm_buf_add(r->capture, data, len);
        return FM_OK;
    }
    fm_buf_t out = FM_BUF_INIT;
    fm_buf_addf(&out, "%zx\r\n", len);
    fm_buf_add(&out, data, len);
    fm_buf_adds(&out, "\r\n");
    int rc = !out.oom && mg_write(r->conn, out.data, out.len) > 0 ? FM_OK : FM_EIO;
    fm_buf_release(&out);
    return rc;
}

int fm_reply_stream_end(fm_req_t *r)
{
    if (r->capture)
        return FM_OK;
    return mg_write(r->conn, "0\r\n\r\n", 5) > 0 ? FM_OK : FM_EIO;
}

int fm_reply_json(fm_req_t *r, int status, cJSON *body)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text)
        return fm_reply_raw(r, 500, "application/problem+json",
                            "{\"title\":\"out of memory\",\"status\":500}", 37);
    int rc = fm_reply_raw(r, status, "application/json", text, strlen(text));
    cJSON_free(text);
    return rc;
}

int fm_reply_status(fm_req_t *r, int status)
{
    return fm_reply_raw(r, status, NULL, "", 0);
}

/* ---- field checks ---- */

static const char *type_name(fm_ftype_t t)
{
    switch (t) {
    case FM_F_STRING: return "a string";
    case FM_F_URL: return "an http(s) URL";
    case FM_F_INT: return "a whole number";
    case FM_F_BOOL: return "a boolean";
    case FM_F_OBJECT: return "an object";
    case FM_F_ARRAY: return "an array";
    }
    return "?";
}

static void field_error(cJSON *errs, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void field_error(cJSON *errs, const char *name, const char *fmt, ...)
{
    char detail[256], ptr[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(ptr, sizeof(ptr), "/%s", name);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "pointer", ptr);
    cJSON_AddStringToObject(e, "detail", detail);
    cJSON_AddItemToArray(errs, e);
}

static bool type_ok(const cJSON *v, fm_ftype_t t)
{
    switch (t) {
    case FM_F_STRING:
    case FM_F_URL: return cJSON_IsString(v);
    case FM_F_INT: return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
    case FM_F_BOOL: return cJSON_IsBool(v);
    case FM_F_OBJECT: return cJSON_IsObject(v);
    case FM_F_ARRAY: return cJSON_IsArray(v);
    }
    return false;
}

static void check_one(cJSON *errs, const cJSON *v, const fm_field_t *f)
{
    if (!type_ok(v, f->type)) {
        field_error(errs, f->name, "must be %s", type_name(f->type));
        return;
    }
    if (f->type == FM_F_STRING || f->type == FM_F_URL) {
        const char *s = v->valuestring;
        long len = (long)strlen(s);
        if ((f->min || f->max) && (len < f->min || len > f->max)) {
            field_error(errs, f->name, "must be %ld to %ld characters long", f->min, f->max);
            return;
        }
        if (f->charset)
            for (const char *p = s; *p; p++)
                if (!strchr(f->charset, *p)) {
                    field_error(errs, f->name, "may hold only these characters: %s", f->charset);
                    return;
                }
        if (f->type == FM_F_URL && strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
            field_error(errs, f->name, "must be %s", type_name(f->type));
    } else if (f->type == FM_F_INT && (f->min || f->max)) {
        if (v->valuedouble < (double)f->min || v->valuedouble > (double)f->max)
            field_error(errs, f->name, "must be between %ld and %ld", f->min, f->max);
    }
}

int fm_req_check(fm_req_t *r, const fm_field_t *fields, size_t n)
{
    if (!cJSON_IsObject(r->json))
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed",
                                NULL, "the body must be a JSON object"), FM_REPLIED;
    cJSON *errs = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, fields[i].name);
        if (!v || cJSON_IsNull(v)) {
            if (fields[i].required)
                field_error(errs, fields[i].name, "is required");
            continue;
        }
        check_one(errs, v, &fields[i]);
    }
    int nerr = cJSON_GetArraySize(errs);
    if (!nerr) {
        cJSON_Delete(errs);
        return FM_OK;
    }
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "errors", errs);
    fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                     "%d field%s failed validation", nerr, nerr == 1 ? "" : "s");
    return FM_REPLIED;
}

int fm_reply_invalid(fm_req_t *r, const char *field, const char *detail)
{
    cJSON *ext = cJSON_CreateObject();
    cJSON *errs = cJSON_AddArrayToObject(ext, "errors");
    field_error(errs, field, "%s", detail);
    return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                            "'%s' is invalid: %s", field, detail);
}

int fm_req_page(fm_req_t *r, int def, int *limit, char *cursor, size_t cursor_len)
{
    char buf[300];
    *limit = def;
    cursor[0] = 0;
    const char *l = fm_req_query(r, "limit", buf, sizeof(buf));
    if (l) {
        char *end;
        long n = strtol(l, &end, 10);
        if (!*l || *end || n < 1 || n > 500) {
            fm_reply_invalid(r, "limit", "must be a whole number from 1 to 500");
            return FM_REPLIED;
        }
        *limit = (int)n;
    }
    const char *c = fm_req_query(r, "cursor", buf, sizeof(buf));
    if (c) {
        if (strlen(c) > 256 || strlen(c) >= cursor_len) {
            fm_reply_invalid(r, "cursor", "is not a cursor this server gave out");
            return FM_REPLIED;
        }
        snprintf(cursor, cursor_len, "%s", c);
    }
    return FM_OK;
}

int fm_req_page_offset(fm_req_t *r, int def, int *limit, int *offset)
{
    char cursor[300];
    *offset = 0;
    if (fm_req_page(r, def, limit, cursor, sizeof(cursor)))
        return FM_REPLIED;
    if (!*cursor)
        return FM_OK;
    char *end;
    long n = strtol(cursor + 1, &end, 10);
    if (cursor[0] != 'o' || end == cursor + 1 || *end || n < 0 || n > 100000000) {
        fm_reply_invalid(r, "cursor", "is not a cursor this server gave out");
        return FM_REPLIED;
    }
    *offset = (int)n;
    return FM_OK;
}

int fm_reply_page_rc(fm_req_t *r, int rc, cJSON *items, int offset, int total)
{
    if (rc == FM_OK)
        return fm_reply_page(r, items, offset, total);
    cJSON_Delete(items);
    return rc;
}

int fm_reply_created(fm_req_t *r, cJSON *body, const char *location_fmt, ...)
{
    char loc[512];
    va_list ap;
    va_start(ap, location_fmt);
    vsnprintf(loc, sizeof(loc), location_fmt, ap);
    va_end(ap);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, body);
}

int fm_reply_page(fm_req_t *r, cJSON *items, int offset, int total)
{
    int next = offset + cJSON_GetArraySize(items);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    if (next < total) {
        char c[32];
        snprintf(c, sizeof(c), "o%d", next);
        cJSON_AddStringToObject(o, "nextCursor", c);
    } else {
        cJSON_AddNullToObject(o, "nextCursor");
    }
    cJSON_AddNumberToObject(o, "total", total);
    return fm_reply_json(r, 200, o);
}
