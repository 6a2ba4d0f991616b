/*
 * fm_http.h — the HTTP server: one CivetWeb context listening on every port of the
 * running modules (canonical + offset). Each request goes to the dispatcher with the
 * route table of the port it came in on.
 */
#ifndef FM_HTTP_H
#define FM_HTTP_H

#include "fm_router.h"

#include <stddef.h>

/* Main thread. err names the port when one cannot be bound. */
int fm_http_start(const fm_routing_t *routing, char *err, size_t errlen);
/* Stops accepting, waits for in-flight requests (takes ~2 s: CivetWeb's poll quantum).
 * Never on the loop thread: workers may wait on the loop. */
void fm_http_stop(void);

#endif
