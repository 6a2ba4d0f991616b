/*
 * fm_fetch.h — outbound HTTP from the loop: libcurl's multi-socket API driven by libuv
 * polls and one timer, so any number of requests share the loop thread without
 * blocking it. Used by the registry's health probes now, and by webhooks, connectors
 * and LLM providers later.
 *
 * Only http and https, redirects not followed, responses capped at 4 MiB.
 */
#ifndef FM_FETCH_H
#define FM_FETCH_H

#include <stddef.h>

typedef struct fm_fetch_result {
    long status;            /* HTTP status, 0 when the transfer failed */
    const char *body;       /* borrowed for the callback */
    size_t len;
    const char *error;      /* NULL on success, else curl's reason */
    double seconds;
} fm_fetch_result_t;

typedef void (*fm_fetch_cb)(const fm_fetch_result_t *res, void *arg);

typedef struct fm_fetch_req {
    const char *method;     /* "GET" when NULL */
    const char *url;
    const char *body;       /* may be NULL */
    const char *content_type;
    long timeout_ms;
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
} fm_fetch_req_t;

int fm_fetch_init(void);        /* loop thread */
void fm_fetch_shutdown(void);   /* loop thread: aborts transfers (callbacks get an error) */

/* Any thread. Everything in req is copied. cb runs on the loop thread exactly once,
 * unless fm_fetch returns an error, in which case it never runs. */
int fm_fetch(const fm_fetch_req_t *req, fm_fetch_cb cb, void *arg);

#endif
