/*
 * fm_fetch.c — libcurl multi-socket on libuv (the pattern of curl's multi-uv.c example).
 * curl tells us which sockets to watch (on_socket) and when to time out (on_timeout);
 * uv_poll and uv_timer call curl_multi_socket_action back; finished transfers are
 * collected in check_done and handed to their callbacks.
 */
#include "fm_fetch.h"

#include "fm.h"
#include "fm_buf.h"
#include "fm_log.h"
#include "fm_loop.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RESPONSE (4u << 20)

typedef struct job {
    CURL *easy;
    fm_fetch_cb cb;
    void *arg;
    char *method, *url, *body, *ctype;
    long timeout_ms, connect_ms;
    size_t max_response;
    int max_redirects;
    bool insecure, no_private, too_big, refused;
    char *ca_file;
    struct curl_slist *headers;
    bool smtp;                  /* an SMTP upload of body */
    char *mail_from, *username, *password;
    struct curl_slist *rcpt;
    int use_ssl;
    size_t upload_pos;
    fm_buf_t resp, resp_headers;
    char errbuf[CURL_ERROR_SIZE];
    struct job *next;       /* list of live jobs, for shutdown */
} job_t;

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
} sock_ctx_t;

static CURLM *multi;
static uv_timer_t timer;
static job_t *jobs;
static bool running;

static void job_free(job_t *j)
{
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    curl_slist_free_all(j->rcpt);
    free(j->mail_from);
    free(j->username);
    free(j->password);
    fm_buf_release(&j->resp);
    fm_buf_release(&j->resp_headers);
    free(j->ca_file);
    free(j->method);
    free(j->url);
    free(j->body);
    free(j->ctype);
    free(j);
}

static void unlink_job(job_t *j)
{
    for (job_t **p = &jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            return;
        }
}

static void finish(job_t *j, CURLcode code)
{
    fm_fetch_result_t res = { 0, j->resp.data ? j->resp.data : "", j->resp.len, NULL, 0,
                              j->resp_headers.data ? j->resp_headers.data : "", j->resp_headers.len,
                              j->too_big, j->refused };
    if (code == CURLE_OK) {
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &res.status);
    } else if (j->too_big) {
        res.error = "the response is larger than the limit";
    } else if (j->refused) {
        res.error = "the target address is loopback, private or link-local, which this request may not reach";
    } else {
        res.error = j->errbuf[0] ? j->errbuf : curl_easy_strerror(code);
    }
    curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME, &res.seconds);
    unlink_job(j);
    j->cb(&res, j->arg);
    job_free(j);
}

static void check_done(void)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        job_t *j = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        CURLcode code = msg->data.result;
        curl_multi_remove_handle(multi, msg->easy_handle);
        finish(j, code);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_ctx_t *s = p->data;
    int flags = status < 0 ? CURL_CSELECT_ERR
                           : ((events & UV_READABLE) ? CURL_CSELECT_IN : 0) |
                             ((events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0);
    int still;
    curl_multi_socket_action(multi, s->fd, flags, &still);
    check_done();
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    int still;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &still);
    check_done();
}

static int on_timeout(CURLM *m, long ms, void *u)
{
    (void)m;
    (void)u;
    if (ms < 0)
        uv_timer_stop(&timer);
    else
        uv_timer_start(&timer, on_timer, (uint64_t)ms, 0);
    return 0;
}

static void free_sock(uv_handle_t *h)
{
    free(h->data);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *u, void *sockp)
{
    (void)e;
    (void)u;
    sock_ctx_t *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, free_sock);
            curl_multi_assign(multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->fd = fd;
        uv_poll_init_socket(fm_loop(), &s->poll, fd);
        s->poll.data = s;
        curl_multi_assign(multi, fd, s);
    }
    int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *u)
{
    job_t *j = u;
    size_t len = size * n;
    if (j->resp.len + len > j->max_response) {
        j->too_big = true;
        return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    fm_buf_add(&j->resp, p, len);
    return j->resp.oom ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t n, void *u)
{
    job_t *j = u;
    size_t len = size * n;
    /* a new status line (after a followed redirect or a 100) starts a new header set */
    if (len > 5 && !memcmp(p, "HTTP/", 5))
        j->resp_headers.len = 0;
    if (j->resp_headers.len + len <= 65536)
        fm_buf_add(&j->resp_headers, p, len);
    return len;
}

/* Loopback, private (RFC 1918, RFC 4193), link-local, unspecified, CGNAT, mapped v4. */
static bool addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 24) == 0 || (a >> 20) == 0xAC1 ||
               (a >> 16) == 0xC0A8 || (a >> 16) == 0xA9FE || (a >> 22) == (100u << 2 | 1);
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t zero[16];
        if (!memcmp(b, zero, 15) && (b[15] == 1 || b[15] == 0))
            return true;
        if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
            return true;
        if (!memcmp(b, zero, 10) && b[10] == 0xff && b[11] == 0xff) {
            struct sockaddr_in v4 = { .sin_family = AF_INET };
            memcpy(&v4.sin_addr, b + 12, 4);
            return addr_private((const struct sockaddr *)&v4);
        }
        return false;
    }
    return true;
}

/* The check runs on the address curl is about to connect to, after DNS: a name that
 * resolves to 127.0.0.1 is refused like the literal. */
static curl_socket_t on_open_socket(void *u, curlsocktype purpose, struct curl_sockaddr *a)
{
    job_t *j = u;
    (void)purpose;
    if (j->no_private && addr_private(&a->addr)) {
        j->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

int fm_fetch_init(void)
{
    uv_timer_init(fm_loop(), &timer);
    running = true;
    return FM_OK;
}

/* Loop thread. libcurl (and the TLS library under it) is set up on the first transfer:
 * an instance that never calls out does not pay ~3 MB of resident memory for it. */
static bool curl_ready(void)
{
    if (multi)
        return true;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(multi = curl_multi_init()))
        return false;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timeout);
    return true;
}

void fm_fetch_shutdown(void)
{
    if (!running)
        return;
    running = false;
    while (jobs) {
        job_t *j = jobs;
        curl_multi_remove_handle(multi, j->easy);
        finish(j, CURLE_ABORTED_BY_CALLBACK);
    }
    uv_timer_stop(&timer);
    uv_close((uv_handle_t *)&timer, NULL);
    if (multi) {
        curl_multi_cleanup(multi);
        multi = NULL;
        curl_global_cleanup();
    }
}

static size_t on_upload(char *p, size_t size, size_t n, void *u)
{
    job_t *j = u;
    size_t left = j->body ? strlen(j->body + j->upload_pos) : 0, want = size * n;
    if (want > left)
        want = left;
    memcpy(p, j->body + j->upload_pos, want);
    j->upload_pos += want;
    return want;
}

/* The SMTP part of start_job: envelope, upload, STARTTLS, AUTH. */
static void setup_smtp(job_t *j, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->mail_from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(e, CURLOPT_READDATA, j);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(j->body ? strlen(j->body) : 0));
    curl_easy_setopt(e, CURLOPT_USE_SSL, j->use_ssl == FM_FETCH_TLS_REQUIRED ? (long)CURLUSESSL_ALL
                                         : j->use_ssl == FM_FETCH_TLS_TRY    ? (long)CURLUSESSL_TRY
                                                                             : (long)CURLUSESSL_NONE);
}

/* Loop thread: the job becomes a live transfer. */
static void start_job(void *arg)
{
    job_t *j = arg;
    if (!running) {
        fm_fetch_result_t res = { .body = "", .error = "shutting down" };
        j->cb(&res, j->arg);
        job_free(j);
        return;
    }
    CURL *e = curl_ready() ? (j->easy = curl_easy_init()) : NULL;
    if (!e) {
        fm_fetch_result_t res = { .body = "", .error = "out of memory" };
        j->cb(&res, j->arg);
        job_free(j);
        return;
    }
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    if (j->smtp)
        setup_smtp(j, e);
    else
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (j->username) {
        curl_easy_setopt(e, CURLOPT_USERNAME, j->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, j->password ? j->password : "");
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, j->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, j->connect_ms);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
    if (j->no_private) {
        /* the check must see the real target, on a connection of its own (a pooled one
         * to the same host was opened without the check) */
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    if (j->max_redirects > 0) {
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)j->max_redirects);
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    if (j->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (j->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, j->ca_file);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    if (!j->smtp) {
        curl_easy_setopt(e, CURLOPT_USERAGENT, "flowmaster/" FM_VERSION);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, j->method);
    }
    if (!j->smtp && !strcmp(j->method, "HEAD"))
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (j->body && !j->smtp) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
    }
    if (j->ctype) {
        char h[256];
        snprintf(h, sizeof(h), "Content-Type: %s", j->ctype);
        j->headers = curl_slist_append(j->headers, h);
    }
    if (j->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    j->next = jobs;
    jobs = j;
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
        unlink_job(j);
        fm_fetch_result_t res = { .body = "", .error = "could not start the transfer" };
        j->cb(&res, j->arg);
        job_free(j);
    }
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

int fm_fetch(const fm_fetch_req_t *req, fm_fetch_cb cb, void *arg)
{
    bool smtp = req->url && (!strncmp(req->url, "smtp://", 7) || !strncmp(req->url, "smtps://", 8));
    if (!req->url || !cb || (!smtp && strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8)) ||
        (smtp && (!req->mail_from || !req->mail_rcpt || !req->mail_rcpt[0])))
        return FM_EINVAL;
    job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return FM_ENOMEM;
    bool oom = false;
    j->cb = cb;
    j->arg = arg;
    j->method = dup_or_null(req->method ? req->method : "GET", &oom);
    j->url = dup_or_null(req->url, &oom);
    j->body = dup_or_null(req->body, &oom);
    j->ctype = dup_or_null(req->content_type, &oom);
    j->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 10000;
    j->connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : j->timeout_ms;
    j->max_response = req->max_response > 0 ? req->max_response : MAX_RESPONSE;
    j->max_redirects = req->max_redirects;
    j->insecure = req->tls_insecure;
    j->no_private = req->no_private;
    j->ca_file = dup_or_null(req->ca_file, &oom);
    j->smtp = smtp;
    j->mail_from = dup_or_null(req->mail_from, &oom);
    j->username = dup_or_null(req->username, &oom);
    j->password = dup_or_null(req->password, &oom);
    j->use_ssl = req->use_ssl;
    for (const char *const *r = smtp ? req->mail_rcpt : NULL; r && *r && !oom; r++) {
        struct curl_slist *n = curl_slist_append(j->rcpt, *r);
        if (n)
            j->rcpt = n;
        else
            oom = true;
    }
    for (const char *const *h = req->headers; h && *h && !oom; h++) {
        struct curl_slist *n = curl_slist_append(j->headers, *h);
        if (n)
            j->headers = n;
        else
            oom = true;
    }
    if (oom) {
        job_free(j);
        return FM_ENOMEM;
    }
    if (fm_on_loop_thread()) {
        start_job(j);
        return FM_OK;
    }
    int rc = fm_loop_post(start_job, j);
    if (rc != FM_OK)
        job_free(j);
    return rc;
}
