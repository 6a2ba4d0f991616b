/*
 * exec_http_bench.c — HTTP load generator for `make bench-exec` (bench/exec_bench.sh):
 * POST /executions against a running `flowmaster serve` on 127.0.0.1 (only; there is no
 * host argument), over keep-alive connections, one thread, poll(). Every answer is
 * checked: status 201 and a JSON body whose "state" is "completed" (the bench process
 * runs to its end inside the request). Any other answer makes the run INVALID: it is
 * counted, the first one is printed, and the exit status is 3.
 *
 *   exec_http_bench closed PORT TOKEN PROCESS_ID CONNECTIONS SECONDS [WARMUP_SECONDS]
 *       closed loop: each connection sends its next request when the answer arrives;
 *       prints instances/s and the latency distribution.
 *   exec_http_bench open PORT TOKEN PROCESS_ID RATE SECONDS [CONNECTIONS]
 *       open loop: request i is due at t0 + i/RATE whatever the answers do (after a
 *       0.5 s unreported warm-up at the same rate). Latency runs from the moment a
 *       request was due to its last byte received, so a stalled server shows up as
 *       latency (no coordinated omission): a request due while every connection is busy
 *       waits, and that wait counts.
 *
 * The body of each request: {"processId": PROCESS_ID, "variables": {"amount": 120,
 * "customer": "acme"}}. Output: human lines, then one "result ..." line of key=value
 * pairs for the script. Exit: 0 measured, 3 measured but some answers were wrong,
 * 1 could not run (connect failed, bad arguments).
 */
#include <cjson/cJSON.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define RBUF      65536

typedef struct {
    int fd;
    int busy;              /* a request is out, its answer not complete */
    size_t sent, reqlen;   /* bytes of the request written so far */
    size_t have;           /* bytes of the answer read so far */
    double due;            /* when the request was due (open) or sent (closed) */
    char rbuf[RBUF];
} conn_t;

static int g_port;
static char *g_req;
static size_t g_reqlen;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- results --------------------------------------------------------------------- */
typedef struct {
    double *lat;           /* seconds */
    size_t n, cap;
    long ok, bad, errors;  /* errors: connection failures (each also counts bad) */
    int recording;
    char first_bad[512];
} stats_t;

static stats_t st;

static void record(double latency)
{
    if (!st.recording)
        return;
    if (st.n == st.cap) {
        st.cap = st.cap ? st.cap * 2 : 4096;
        st.lat = realloc(st.lat, st.cap * sizeof *st.lat);
        if (!st.lat) {
            perror("realloc");
            exit(1);
        }
    }
    st.lat[st.n++] = latency;
}

static void note_bad(const char *what, const char *body, size_t len)
{
    if (st.recording)
        st.bad++;
    if (!st.first_bad[0])
        snprintf(st.first_bad, sizeof st.first_bad, "%s: %.*s", what,
                 (int)(len > 300 ? 300 : len), body ? body : "");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double p)
{
    if (!st.n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)st.n);
    if (i >= st.n)
        i = st.n - 1;
    return st.lat[i] * 1000.0;
}

/* ---- connections ----------------------------------------------------------------- */
static int conn_open(conn_t *c)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);   /* 127.0.0.1, always */
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    c->busy = 0;
    c->have = 0;
    return 0;
}

static void conn_reset(conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->busy = 0;
    if (conn_open(c) < 0) {
        fprintf(stderr, "exec_http_bench: reconnect to 127.0.0.1:%d failed: %s\n", g_port,
                strerror(errno));
        exit(1);
    }
}

/* Write what is left of the request; blocking socket, requests are < 1 KB. */
static int conn_send(conn_t *c, double due)
{
    c->busy = 1;
    c->due = due;
    c->have = 0;
    c->sent = 0;
    while (c->sent < g_reqlen) {
        ssize_t w = write(c->fd, g_req + c->sent, g_reqlen - c->sent);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c->sent += (size_t)w;
    }
    return 0;
}

static void check_answer(conn_t *c, int status, const char *body, size_t blen)
{
    if (status != 201) {
        char what[32];
        snprintf(what, sizeof what, "status %d", status);
        note_bad(what, body, blen);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(body, blen);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "state");
    if (cJSON_IsString(s) && !strcmp(s->valuestring, "completed")) {
        if (st.recording)
            st.ok++;
    } else {
        note_bad("201 but state is not \"completed\"", body, blen);
    }
    cJSON_Delete(j);
}

/* Read what is there. Returns 1 when an answer completed, 0 when more is needed,
 * -1 when the connection failed or closed (the request is counted as bad). */
static int conn_read(conn_t *c, double *done_at)
{
    ssize_t r = read(c->fd, c->rbuf + c->have, sizeof c->rbuf - 1 - c->have);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (r <= 0) {
        if (st.recording)
            st.errors++;
        note_bad("connection closed or failed before the answer", "", 0);
        return -1;
    }
    c->have += (size_t)r;
    c->rbuf[c->have] = 0;
    char *eoh = strstr(c->rbuf, "\r\n\r\n");
    if (!eoh) {
        if (c->have >= sizeof c->rbuf - 1) {
            note_bad("header too large", c->rbuf, 200);
            return -1;
        }
        return 0;
    }
    size_t hlen = (size_t)(eoh - c->rbuf) + 4;
    int status = atoi(c->rbuf + 9);   /* "HTTP/1.1 201 ..." */
    long clen = -1;
    int close_after = 0;
    for (char *l = strstr(c->rbuf, "\r\n"); l && l < eoh; l = strstr(l + 2, "\r\n")) {
        if (!strncasecmp(l + 2, "Content-Length:", 15))
            clen = atol(l + 17);
        else if (!strncasecmp(l + 2, "Connection: close", 17))
            close_after = 1;
    }
    if (clen < 0) {
        note_bad("answer without Content-Length", c->rbuf, c->have);
        return -1;
    }
    if (hlen + (size_t)clen >= sizeof c->rbuf) {
        note_bad("answer too large", c->rbuf, 200);
        return -1;
    }
    if (c->have < hlen + (size_t)clen)
        return 0;
    *done_at = now();
    check_answer(c, status, c->rbuf + hlen, (size_t)clen);
    c->busy = 0;
    c->have = 0;
    if (close_after)
        conn_reset(c);
    return 1;
}

/* ---- the two loops --------------------------------------------------------------- */
static conn_t *conns;
static int nconns;

/* An idle keep-alive connection became readable: the server closed it (CivetWeb drops
 * connections idle for keep_alive_timeout_ms, 500 ms by default). Reconnect now, so no
 * request is written into a socket the server has already closed. */
static void idle_event(conn_t *c)
{
    char b[256];
    ssize_t r = read(c->fd, b, sizeof b);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    conn_reset(c);
}

/* Closed loop for `secs`; recording only when st.recording. Returns answers completed. */
static long run_closed(double secs)
{
    struct pollfd pfd[MAX_CONNS];
    long answers = 0;
    double t = now();
    for (int i = 0; i < nconns; i++)
        if (!conns[i].busy && conn_send(&conns[i], t) < 0)
            conn_reset(&conns[i]);
    double until = now() + secs;
    while (1) {
        int out = 0;
        for (int i = 0; i < nconns; i++) {
            pfd[i].fd = conns[i].fd;
            pfd[i].events = POLLIN;
            out += conns[i].busy;
        }
        if (!out)
            break;
        if (poll(pfd, (nfds_t)nconns, 1000) < 0 && errno != EINTR) {
            perror("poll");
            exit(1);
        }
        double tnow = now();
        for (int i = 0; i < nconns; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!conns[i].busy) {
                idle_event(&conns[i]);
                continue;
            }
            double done;
            int r = conn_read(&conns[i], &done);
            if (r == 0)
                continue;
            if (r > 0) {
                record(done - conns[i].due);
                answers++;
            } else {
                conn_reset(&conns[i]);
            }
            if (tnow < until && conn_send(&conns[i], now()) < 0)
                conn_reset(&conns[i]);
        }
    }
    return answers;
}

/* Open loop at `rate` for `secs`. Returns requests sent. */
static long run_open(double rate, double secs)
{
    struct pollfd pfd[MAX_CONNS];
    double t0 = now(), until = t0 + secs;
    long due_n = 0;             /* requests that have fallen due */
    long sent = 0;              /* requests handed to a connection */
    long total = (long)(rate * secs);
    static int rr;              /* next connection to try */
    while (1) {
        double tnow = now();
        while (due_n < total && t0 + (double)due_n / rate <= tnow)
            due_n++;
        /* hand every due request to a free connection, oldest request first, connections
         * in turn (each is used every nconns/rate seconds, well inside the keep-alive) */
        for (int k = 0; k < nconns && sent < due_n; k++) {
            conn_t *c = &conns[rr];
            rr = (rr + 1) % nconns;
            if (c->busy)
                continue;
            if (conn_send(c, t0 + (double)sent / rate) < 0) {
                conn_reset(c);
                continue;
            }
            sent++;
        }
        int out = 0;
        for (int i = 0; i < nconns; i++) {
            pfd[i].fd = conns[i].fd;
            pfd[i].events = POLLIN;
            out += conns[i].busy;
        }
        if (due_n >= total && sent >= total && !out)
            break;
        if (due_n >= total && now() > until + 10.0) {
            fprintf(stderr, "exec_http_bench: answers still missing 10 s after the run\n");
            break;
        }
        double next = due_n < total ? t0 + (double)due_n / rate : tnow + 0.1;
        int timeout_ms = (int)((next - now()) * 1000.0);
        if (timeout_ms < 0)
            timeout_ms = 0;
        /* a due request waiting for a connection: only answers can make progress */
        if (poll(pfd, (nfds_t)nconns, timeout_ms) < 0 && errno != EINTR) {
            perror("poll");
            exit(1);
        }
        for (int i = 0; i < nconns; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!conns[i].busy) {
                idle_event(&conns[i]);
                continue;
            }
            double done;
            int r = conn_read(&conns[i], &done);
            if (r > 0)
                record(done - conns[i].due);
            else if (r < 0)
                conn_reset(&conns[i]);
        }
    }
    return sent;
}

static void build_request(const char *token, const char *process_id)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "processId", process_id);
    cJSON *v = cJSON_AddObjectToObject(b, "variables");
    cJSON_AddNumberToObject(v, "amount", 120);
    cJSON_AddStringToObject(v, "customer", "acme");
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    if (!body)
        exit(1);
    size_t cap = strlen(body) + strlen(token) + 512;
    g_req = malloc(cap);
    if (!g_req)
        exit(1);
    int n = snprintf(g_req, cap,
                     "POST /executions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     "Authorization: Bearer %s\r\nX-Tenant-Id: default\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     g_port, token, strlen(body), body);
    g_reqlen = (size_t)n;
    cJSON_free(body);
}

static void print_latency(const char *label)
{
    qsort(st.lat, st.n, sizeof *st.lat, cmp_double);
    printf("%s latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  (%zu answers)\n", label,
           pct(50), pct(90), pct(99), st.n ? st.lat[st.n - 1] * 1000.0 : 0.0, st.n);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: exec_http_bench closed PORT TOKEN PROCESS_ID CONNECTIONS SECONDS [WARMUP]\n"
            "       exec_http_bench open   PORT TOKEN PROCESS_ID RATE SECONDS [CONNECTIONS]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 7)
        usage();
    int closed = !strcmp(argv[1], "closed");
    if (!closed && strcmp(argv[1], "open"))
        usage();
    g_port = atoi(argv[2]);
    build_request(argv[3], argv[4]);
    double secs = atof(argv[6]);
    double rate = closed ? 0 : atof(argv[5]);
    nconns = closed ? atoi(argv[5]) : (argc > 7 ? atoi(argv[7]) : 8);
    double warm = closed ? (argc > 7 ? atof(argv[7]) : 1.0) : 0.5;
    if (g_port <= 0 || nconns <= 0 || nconns > MAX_CONNS || secs <= 0 || (!closed && rate <= 0))
        usage();
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns)
        return 1;
    for (int i = 0; i < nconns; i++) {
        if (conn_open(&conns[i]) < 0) {
            fprintf(stderr, "exec_http_bench: connect 127.0.0.1:%d: %s\n", g_port, strerror(errno));
            return 1;
        }
    }

    if (closed) {
        st.recording = 0;
        if (warm > 0)
            run_closed(warm);
        st.recording = 1;
        double t = now();
        long n = run_closed(secs);
        double dt = now() - t;
        printf("closed loop: %ld answers in %.2f s over %d keep-alive connections = %.0f instances/s "
               "(completed %ld, wrong %ld)\n", n, dt, nconns, (double)st.ok / dt, st.ok, st.bad);
        print_latency("closed loop");
        printf("result rate=%.0f ok=%ld bad=%ld p50=%.3f p99=%.3f\n", (double)st.ok / dt, st.ok,
               st.bad, pct(50), pct(99));
    } else {
        st.recording = 0;
        run_open(rate, warm);
        st.recording = 1;
        double t = now();
        long n = run_open(rate, secs);
        double dt = now() - t;
        printf("open loop: %ld requests at %.0f/s for %.1f s (%.1f s with the last answers) "
               "over %d connections (completed %ld, wrong %ld)\n", n, rate, secs, dt, nconns,
               st.ok, st.bad);
        print_latency("open loop");
        printf("result p50=%.3f p90=%.3f p99=%.3f max=%.3f ok=%ld bad=%ld\n", pct(50), pct(90),
               pct(99), st.n ? st.lat[st.n - 1] * 1000.0 : 0.0, st.ok, st.bad);
    }
    if (st.bad) {
        printf("INVALID: %ld wrong answers; first: %s\n", st.bad, st.first_bad);
        return 3;
    }
    return 0;
}
