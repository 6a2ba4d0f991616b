/*
 * fm.h — the core types every module sees: status codes, routes, modules and the
 * request a handler works on. Keep it small: everything here is rebuilt by every file.
 *
 * A module is one `fm_module_t` listed in src/modules/modules.c. Its routes are a
 * static table; the dispatcher (fm_http.c) matches a request to a route, reads and
 * parses the body when the route asks for JSON, and calls the handler on a CivetWeb
 * worker thread. A handler answers through the fm_reply_* helpers (fm_req.h), or returns
 * a negative FM_E* code and the dispatcher answers with the matching problem+json.
 */
#ifndef FM_H
#define FM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FM_VERSION "0.1.0"

/* Status codes: 0 is success, negatives are errors; fm_problem.c maps each to HTTP. */
enum {
    FM_OK = 0,
    FM_REPLIED = 1,      /* not an error: a helper already sent the answer */
    FM_EINVAL = -1,      /* bad input (422) */
    FM_ENOTFOUND = -2,   /* 404 */
    FM_ECONFLICT = -3,   /* 409 */
    FM_ENOMEM = -4,      /* 500 */
    FM_EDB = -5,         /* database error (500) */
    FM_EBUSY = -6,       /* queue full, try later (503) */
    FM_EIO = -7,         /* I/O error (500) */
    FM_ESTALE = -8,      /* If-Match did not match (412) */
    FM_ENOTIMPL = -9,    /* 501 */
    FM_ETOOBIG = -10,    /* 413 */
};

typedef enum {
    FM_GET, FM_POST, FM_PUT, FM_PATCH, FM_DELETE, FM_HEAD, FM_OPTIONS, FM_METHOD_COUNT
} fm_method_t;

typedef struct fm_req fm_req_t;         /* one request; see fm_req.h */
typedef struct fm_mod fm_mod_t;         /* a running module; see fm_mod.h */
typedef struct bus_event bus_event_t;   /* see bus/bus.h */

/* Runs on a worker thread. Answer with fm_reply_*() and return FM_OK, or return an
 * FM_E* code without answering and the dispatcher sends the problem for it. */
typedef int (*fm_handler_fn)(fm_req_t *req);

/* Route flags, checked by the dispatcher so handlers don't have to. */
enum {
    FM_R_PUBLIC = 1u << 0,  /* no token needed (health, login, discovery, assets) */
    FM_R_JSON = 1u << 1,    /* body must be a JSON document; parsed before the handler */
    FM_R_LOCAL = 1u << 2,   /* served on the module's own port only, not via the gateway */
    FM_R_BODY = 1u << 3,    /* body is read (any type) and handed over raw */
    FM_R_ABAC = 1u << 4,    /* a conditional grant may pass: the handler decides with
                               fm_req_authz on the resource (auth/fm_auth.h) */
    FM_R_UPLOAD = 1u << 5,  /* with FM_R_BODY: the body limit is documents.max_upload_mb,
                               not server.body_limit (file uploads) */
};

typedef struct fm_route {
    fm_method_t method;
    const char *pattern;    /* "/services/{id}/heartbeat"; "{*rest}" takes the tail */
    fm_handler_fn handler;  /* NULL: in the catalogue, not built yet → 501 */
    unsigned flags;
    const char *perm;       /* permission the route needs, e.g. "registry:write" */
} fm_route_t;

/* A bus subscription declared by a module; `fn` runs on the loop thread. */
typedef struct fm_sub {
    const char *pattern;    /* "registry.service.*", "execution.>" */
    void (*fn)(const bus_event_t *ev, void *arg);
} fm_sub_t;

/* Module flags. */
enum {
    FM_M_DB = 1u << 0,      /* owns <data-dir>/<name>.db */
    FM_M_GATEWAY = 1u << 1, /* its port serves the union of every module's routes */
    FM_M_WEBAPP = 1u << 2,  /* its port serves web/<name>/ and the API under /api */
    FM_M_NOSTORE = 1u << 3, /* responses carry Cache-Control: no-store (credentials) */
    FM_M_OWNPORT = 1u << 4, /* serves its port itself (not CivetWeb); plain HTTP requests
                               arriving there go through fm_http_port_dispatch */
};

typedef struct fm_module {
    const char *name;       /* short, unique, [a-z]: also the database and web folder name */
    const char *title;      /* as in the service catalogue */
    int port;               /* canonical port */
    unsigned flags;
    const fm_route_t *routes;
    size_t nroutes;
    const fm_sub_t *subs;   /* NULL-pattern terminated, or NULL */
    int (*start)(fm_mod_t *m);  /* loop thread, after migrations, before HTTP; may be NULL */
    void (*stop)(fm_mod_t *m);  /* loop thread, after HTTP stopped; may be NULL */
} fm_module_t;

#define FM_ROUTES(table) table, sizeof(table) / sizeof((table)[0])

const char *fm_method_name(fm_method_t m);
int fm_method_parse(const char *s);  /* FM_METHOD_COUNT when unknown */

#endif
