/*
 * fm_http.h — the HTTP server: one CivetWeb context listening on every port of the
 * running modules (canonical + offset). Each request goes to the dispatcher with the
 * route table of the port it came in on.
 */
#ifndef FM_HTTP_H
#define FM_HTTP_H

#include "auth/fm_auth.h"
#include "fm_router.h"

#include <stddef.h>

/* Main thread. err names the port when one cannot be bound. */
int fm_http_start(const fm_routing_t *routing, char *err, size_t errlen);
/* Stops accepting, waits for in-flight requests (takes ~2 s: CivetWeb's poll quantum).
 * Never on the loop thread: workers may wait on the loop. */
void fm_http_stop(void);

/* A port whose modules all serve it themselves (FM_M_OWNPORT): CivetWeb does not bind it. */
bool fm_port_own(const fm_port_t *p);

/* A request that arrived on such a port, run through the same router, auth guard and
 * handlers as CivetWeb's: the port's table, the whole response (status line, headers,
 * body) captured in out->raw (caller frees). For an upgrade the token may come as
 * ?access_token= and the tenant defaults to the token's; out->status 101 means the route's
 * handler agreed, and out->principal is the verified caller. Strings in `in` are borrowed
 * for the call. Any thread (the handlers of such a port must not block for long when it
 * is called on the loop thread). */
#define FM_PORT_MAX_HEADERS 32
typedef struct fm_port_req {
    int port;                       /* canonical */
    const char *method, *path, *query, *peer;
    struct { const char *name, *value; } headers[FM_PORT_MAX_HEADERS];
    size_t nheaders;
    bool upgrade;
} fm_port_req_t;
typedef struct fm_port_res {
    int status;
    char *raw;
    size_t len;
    char tenant[72];
    bool has_principal;
    fm_principal_t principal;
} fm_port_res_t;
int fm_http_port_dispatch(const fm_port_req_t *in, fm_port_res_t *out);

#endif
