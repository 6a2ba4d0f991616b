/*
 * fm_fetch.h — outbound HTTP from the loop: libcurl's multi-socket API driven by libuv
 * polls and one timer, so any number of requests share the loop thread without
 * blocking it. Used by the registry's health probes now, and by webhooks, connectors
 * and LLM providers later.
 *
 * Only http and https, redirects not followed, responses capped at 4 MiB, unless the
 * request asks otherwise with the fields after timeout_ms (connectors of the
 * integrations module use them; zero values keep the defaults above).
 *
 * Mail goes the same way: an smtp:// (or smtps://) URL with `mail_from` and `mail_rcpt`
 * set uploads `body` (an RFC 5322 message, CRLF lines) to the server; `status` is then
 * the server's last SMTP reply code (250 when accepted) and `body` of the result is
 * empty. `use_ssl` asks for STARTTLS, `username`/`password` for AUTH (also HTTP basic
 * auth on http URLs).
 */
#ifndef FM_FETCH_H
#define FM_FETCH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fm_fetch_result {
    long status;            /* HTTP status, 0 when the transfer failed */
    const char *body;       /* borrowed for the callback */
    size_t len;
    const char *error;      /* NULL on success, else curl's reason */
    double seconds;
    const char *headers;    /* raw response header lines of the last response, borrowed */
    size_t headers_len;
    bool too_big;           /* the body went over max_response: cut, and error is set */
    bool refused_address;   /* the target resolved to an address no_private refuses */
} fm_fetch_result_t;

typedef void (*fm_fetch_cb)(const fm_fetch_result_t *res, void *arg);

typedef struct fm_fetch_req {
    const char *method;     /* "GET" when NULL */
    const char *url;
    const char *body;       /* may be NULL */
    const char *content_type;
    long timeout_ms;
    /* Optional, zero = default: */
    const char *const *headers;     /* NULL-terminated "Name: value" lines */
    long connect_timeout_ms;        /* default: timeout_ms */
    size_t max_response;            /* default 4 MiB */
    int max_redirects;              /* 0: a 3xx is the answer; n: follow up to n */
    bool tls_insecure;              /* skip certificate and host verification */
    const char *ca_file;            /* PEM bundle to verify with instead of the system's */
    bool no_private;                /* refuse loopback, private, link-local targets */
    /* SMTP (smtp:// and smtps:// URLs only): */
    const char *mail_from;          /* envelope sender (MAIL FROM) */
    const char *const *mail_rcpt;   /* NULL-terminated envelope recipients (RCPT TO) */
    const char *username, *password;
    int use_ssl;                    /* FM_FETCH_TLS_* */
} fm_fetch_req_t;

enum { FM_FETCH_TLS_OFF = 0, FM_FETCH_TLS_TRY = 1, FM_FETCH_TLS_REQUIRED = 2 };

int fm_fetch_init(void);        /* loop thread */
void fm_fetch_shutdown(void);   /* loop thread: aborts transfers (callbacks get an error) */

/* Any thread. Everything in req is copied. cb runs on the loop thread exactly once,
 * unless fm_fetch returns an error, in which case it never runs. */
int fm_fetch(const fm_fetch_req_t *req, fm_fetch_cb cb, void *arg);

#endif
