/*
 * mcp_bench.c — load generator for `make bench-mcp` (bench/mcp_bench.sh): MCP tools/call
 * round trips over Streamable HTTP against a running `flowmaster serve` on 127.0.0.1.
 * Each of N threads opens one keep-alive connection, initializes its own MCP session,
 * then calls the read tool `get_process` (one process) in a closed loop for SECONDS.
 * Every answer is checked (HTTP 200, a JSON-RPC result without isError); any other
 * answer makes the run INVALID (exit 3).
 *
 *   mcp_bench PORT TOKEN PROCESS_ID SESSIONS SECONDS
 *
 * Output: human lines, then one "result calls_per_s=… p50_ms=… p99_ms=… …" line.
 */
#define _GNU_SOURCE     /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_SAMPLES 4000000

static int port, seconds;
static const char *token, *process_id;
static double *lat;             /* ms, all threads */
static long nlat;
static long bad;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One POST /mcp; the status, the Mcp-Session-Id (when asked) and the body in buf. */
static int exchange(int fd, const char *session, const char *body, char *buf, size_t cap, char *sid_out)
{
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                     "MCP-Protocol-Version: 2025-11-25\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
                     token, session ? "Mcp-Session-Id: " : "", session ? session : "", session ? "\r\n" : "",
                     strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
        return -1;
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t len = cl ? (size_t)atol(cl + 17) : 0;
    if (sid_out) {
        const char *s = strcasestr(buf, "\r\nMcp-Session-Id:");
        if (s)
            sscanf(s + 17, " %63s", sid_out);
    }
    size_t hl = (size_t)(end + 4 - buf);
    while (have < hl + len) {
        if (have >= cap - 1)
            return -1;
        ssize_t r = read(fd, buf + have, cap - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    buf[hl + len] = 0;
    memmove(buf, buf + hl, len + 1);
    return status;
}

static void *worker(void *arg)
{
    (void)arg;
    static __thread char buf[1 << 20];
    char sid[64] = "", call[512];
    int fd = dial();
    if (fd < 0 || exchange(fd, NULL, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                           "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":"
                           "{\"name\":\"bench\",\"version\":\"1\"}}}", buf, sizeof(buf), sid) != 200 || !*sid) {
        fprintf(stderr, "mcp_bench: initialize failed: %.300s\n", buf);
        exit(1);
    }
    exchange(fd, sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", buf, sizeof(buf), NULL);
    snprintf(call, sizeof(call), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
             "{\"name\":\"get_process\",\"arguments\":{\"processId\":\"%s\"}}}", process_id);
    double stop = now() + seconds;
    double *mine = malloc(sizeof(double) * 500000);
    long n = 0, wrong = 0;
    while (now() < stop && n < 500000) {
        double t0 = now();
        int st = exchange(fd, sid, call, buf, sizeof(buf), NULL);
        double ms = (now() - t0) * 1000.0;
        if (st != 200 || !strstr(buf, "\"result\"") || strstr(buf, "\"isError\":true")) {
            if (!wrong++)
                fprintf(stderr, "mcp_bench: wrong answer (HTTP %d): %.300s\n", st, buf);
            if (st < 0)
                break;
        }
        mine[n++] = ms;
    }
    pthread_mutex_lock(&mu);
    for (long i = 0; i < n && nlat < MAX_SAMPLES; i++)
        lat[nlat++] = mine[i];
    bad += wrong;
    pthread_mutex_unlock(&mu);
    free(mine);
    close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mcp_bench PORT TOKEN PROCESS_ID SESSIONS SECONDS\n");
        return 1;
    }
    port = atoi(argv[1]);
    token = argv[2];
    process_id = argv[3];
    int threads = atoi(argv[4]);
    seconds = atoi(argv[5]);
    if (threads < 1 || threads > MAX_THREADS || seconds < 1 || seconds > 120) {
        fprintf(stderr, "mcp_bench: 1..%d sessions, 1..120 seconds\n", MAX_THREADS);
        return 1;
    }
    lat = malloc(sizeof(double) * MAX_SAMPLES);
    pthread_t t[MAX_THREADS];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double secs = now() - t0;
    qsort(lat, (size_t)nlat, sizeof(double), cmp);
    double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(long)(nlat * 0.99)] : 0,
           max = nlat ? lat[nlat - 1] : 0;
    printf("tools/call get_process over Streamable HTTP: %d sessions, %.1f s, %ld calls\n", threads, secs, nlat);
    printf("  %.0f calls/s   p50 %.3f ms   p99 %.3f ms   max %.3f ms   wrong %ld\n", nlat / secs, p50, p99, max, bad);
    printf("result calls_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f calls=%ld wrong=%ld sessions=%d\n",
           nlat / secs, p50, p99, max, nlat, bad, threads);
    return bad ? 3 : 0;
}
