/*
 * fm_req.h — what a handler reads from its request and how it answers.
 *
 * Handlers run on a CivetWeb worker thread (or on the caller's thread under fm_call).
 * Everything a getter returns is borrowed until the handler returns. Answer exactly
 * once: fm_reply_json / fm_reply_raw / fm_reply_problem / fm_reply_status; each returns
 * FM_OK so a handler can `return fm_reply_json(...)`. The response (status line,
 * headers, body) goes out in one write.
 */
#ifndef FM_REQ_H
#define FM_REQ_H

#include "fm.h"

#include <cjson/cJSON.h>

const char *fm_req_param(const fm_req_t *r, const char *name);    /* path parameter */
/* Query parameter, URL-decoded; NULL when absent; the first one when repeated. It is
 * copied into buf when it fits; a longer value is returned from request-owned memory
 * (borrowed like the rest), so use the returned pointer, not buf. Values are at most
 * FM_QUERY_MAX bytes: the dispatcher answers 422 naming a longer one before the handler. */
#define FM_QUERY_MAX 8192
const char *fm_req_query(const fm_req_t *r, const char *name, char *buf, size_t len);
const char *fm_req_header(const fm_req_t *r, const char *name);
cJSON *fm_req_json(const fm_req_t *r);              /* parsed body of an FM_R_JSON route */
const char *fm_req_body(const fm_req_t *r, size_t *len);
const char *fm_req_tenant(const fm_req_t *r);
const char *fm_req_id(const fm_req_t *r);           /* X-Request-Id */
fm_method_t fm_req_method(const fm_req_t *r);
const char *fm_req_path(const fm_req_t *r);
fm_mod_t *fm_req_mod(const fm_req_t *r);            /* module owning the route; NULL for core */
int fm_req_port(const fm_req_t *r);                 /* canonical port it came in on, 0 under fm_call */
const char *fm_req_client_ip(const fm_req_t *r);
/* The request asks to become a WebSocket (only on a port its module serves itself,
 * FM_M_OWNPORT): its handler agrees by answering 101 with no body. */
bool fm_req_upgrading(const fm_req_t *r);    /* peer address; under fm_call the caller's, or "in-process" */

/* Routes that read their body themselves (docs/core.md "Request bodies").
 * fm_req_parse_json: the body as one JSON document, or NULL after answering 400
 * Malformed JSON with line, column and offset, as every FM_R_JSON route does.
 * fm_req_body_kind: for routes taking XML or JSON, the Content-Type may be missing,
 * application/x-www-form-urlencoded (curl -d), a JSON or an XML type; the body's first
 * non-blank byte decides ('<' XML, else JSON). Any other type: 415 naming the accepted
 * ones, and FM_REPLIED. *xml tells which; an empty body is JSON.
 * fm_req_if_match: *etag = NULL (no If-Match), "*", or a strong ETag with its quotes;
 * a weak (W/"…") or unquoted value is answered 412 saying why (RFC 9110 §13.1.1: these
 * writes compare strongly), FM_REPLIED. */
cJSON *fm_req_parse_json(fm_req_t *r);
int fm_req_body_kind(fm_req_t *r, bool *xml);
int fm_req_if_match(fm_req_t *r, const char **etag);
/* If-Match for stores whose ETags are "r<revision>": 0 when absent or "*", else the
 * revision; -1 after answering 412 (weak, unquoted, or not one of these ETags; `what`
 * names the resource in the message: "schedule"). */
int fm_req_if_match_rev(fm_req_t *r, const char *what);
/* True when every member of object o (NULL is fine) is named in the NULL-terminated
 * `known`; else answers 422 naming the member's field (`where`/name) and, when doc is
 * set, the page to read ("docs/entities.md"), and returns false. */
bool fm_req_members_known(fm_req_t *r, const cJSON *o, const char *where, const char *const *known,
                          const char *doc);

/* Adds a response header before the reply ("Location", "/services/x"). */
void fm_reply_header(fm_req_t *r, const char *name, const char *value);
int fm_reply_json(fm_req_t *r, int status, cJSON *body);   /* takes body */
int fm_reply_raw(fm_req_t *r, int status, const char *content_type, const void *body, size_t len);
int fm_reply_status(fm_req_t *r, int status);              /* empty body, e.g. 204 */
/* RFC 9457. type NULL → "about:blank"; title NULL → the HTTP reason phrase.
 * ext (taken, may be NULL) is an object whose members are added as extensions. */
int fm_reply_problem(fm_req_t *r, int status, const char *type, const char *title,
                     cJSON *ext, const char *detail_fmt, ...) __attribute__((format(printf, 6, 7)));
/* The problem for an FM_E* code (fm_problem.c's table). */
int fm_reply_error(fm_req_t *r, int code, const char *detail);
bool fm_replied(const fm_req_t *r);

/* Streamed replies (Server-Sent Events and the like), for a handler that answers over
 * time: begin writes the status line and headers (with the fm_reply_header ones) and
 * `Transfer-Encoding: chunked`, so the connection stays usable afterwards; each write
 * sends one chunk at once and returns FM_EIO when the client is gone (the handler then
 * stops); end sends the last chunk. Exactly one begin … end instead of another fm_reply_*.
 * Under fm_call the chunks are captured as the body. A stream holds its worker thread:
 * the caller bounds how many it keeps open. */
int fm_reply_stream_begin(fm_req_t *r, int status, const char *content_type);
int fm_reply_stream_write(fm_req_t *r, const void *data, size_t len);
int fm_reply_stream_end(fm_req_t *r);

/* Field checks for JSON bodies ("OrReply" style): on any problem, answers 422 with one
 * `errors[]` entry per field and returns FM_REPLIED; otherwise FM_OK. */
typedef enum { FM_F_STRING, FM_F_INT, FM_F_BOOL, FM_F_OBJECT, FM_F_ARRAY, FM_F_URL } fm_ftype_t;
typedef struct fm_field {
    const char *name;
    fm_ftype_t type;
    bool required;
    long min, max;          /* string: length; int: value; 0,0 = unbounded */
    const char *charset;    /* strings: allowed characters, NULL = any */
} fm_field_t;
int fm_req_check(fm_req_t *r, const fm_field_t *fields, size_t n);
/* 422 with one errors[] entry for `field` (pointer "/field"); returns FM_OK. */
int fm_reply_invalid(fm_req_t *r, const char *field, const char *detail);

/* ?limit= (1..500, default def) and ?cursor= (opaque, ≤ 256 chars). Answers 422 and
 * returns FM_REPLIED when bad. cursor gets "" when absent. */
int fm_req_page(fm_req_t *r, int def, int *limit, char *cursor, size_t cursor_len);
/* The same for lists paged by position, whose cursors are "o<offset>" as made by
 * fm_reply_page; a cursor of any other shape is a 422. */
int fm_req_page_offset(fm_req_t *r, int def, int *limit, int *offset);
/* Answers {items, nextCursor, total} for a page that starts at `offset` (takes items). */
int fm_reply_page(fm_req_t *r, cJSON *items, int offset, int total);
/* The same after a store call: rc FM_OK answers the page, else items is freed and rc
 * returned (for the router to map). */
int fm_reply_page_rc(fm_req_t *r, int rc, cJSON *items, int offset, int total);
/* 201 with `Location` (printf-style) and body (taken). */
int fm_reply_created(fm_req_t *r, cJSON *body, const char *location_fmt, ...);

/* In-process call of a public route with the caller's identity and tenant (DESIGN.md
 * "Modules never reach into each other"). body_json may be NULL. *out gets the
 * response body (caller frees), *status the HTTP status. Any thread but the loop's
 * (a handler may block). */
int fm_call(const fm_req_t *caller, fm_method_t method, const char *path, const char *body_json,
            int *status, char **out);
/* The same on the platform's own behalf (timers, the engine): no token is checked;
 * the callee sees tenant `tenant`. caller == NULL in fm_call means this with "default". */
int fm_call_system(const char *tenant, fm_method_t method, const char *path, const char *body_json,
                   int *status, char **out);
/* The same with request headers: NULL-terminated name/value pairs, at most
 * FM_CALL_MAX_HEADERS of them ({"Idempotency-Key", key, NULL}). Identity headers are
 * the call's own and cannot be overridden this way. */
#define FM_CALL_MAX_HEADERS 4
int fm_call_system_h(const char *tenant, fm_method_t method, const char *path, const char *body_json,
                     const char *const *headers, int *status, char **out);
/* fm_call with request headers (as above): the caller's own identity headers come first,
 * so an X-Tenant-Id here only counts when the caller sent none (the MCP Server passes the
 * token's tenant this way). */
int fm_call_h(const fm_req_t *caller, fm_method_t method, const char *path, const char *body_json,
              const char *const *headers, int *status, char **out);

#endif
