/* fm_log.c — JSON-lines logger and time helpers; see fm_log.h. */
#include "fm_log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = FM_LOG_INFO;
static const char *level_names[] = { "debug", "info", "warn", "error" };

void fm_log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, level_names[i]))
            atomic_store(&min_level, i);
}

bool fm_log_enabled(int level)
{
    return level >= atomic_load(&min_level);
}

int64_t fm_time_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double fm_time_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fm_time_rfc3339_at(int64_t unix_ms, char out[32])
{
    /* Most calls fall in the same second as the previous one on this thread: reuse
     * its date and time, and write only the milliseconds. */
    static _Thread_local int64_t cached_s = -1;
    static _Thread_local char cached[32];
    time_t s = (time_t)(unix_ms / 1000);
    if (s == cached_s) {
        memcpy(out, cached, 32);
        int ms = (int)(unix_ms % 1000);
        out[20] = (char)('0' + ms / 100);
        out[21] = (char)('0' + ms / 10 % 10);
        out[22] = (char)('0' + ms % 10);
        return;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[96];   /* roomier than the result, so the compiler can prove no truncation */
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
    snprintf(out, 32, "%.31s", buf);
    if (strlen(out) == 24) {    /* "YYYY-MM-DDTHH:MM:SS.mmmZ": cacheable */
        memcpy(cached, out, 32);
        cached_s = s;
    }
}

void fm_time_rfc3339(char out[32])
{
    fm_time_rfc3339_at(fm_time_unix_ms(), out);
}

void fm_log_begin(fm_log_t *l, int level, const char *msg)
{
    memset(l, 0, sizeof(*l));
    l->level = level;
    l->on = fm_log_enabled(level);
    if (!l->on)
        return;
    char ts[32];
    fm_time_rfc3339(ts);
    fm_buf_addf(&l->b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level_names[level]);
    fm_buf_add_json_esc(&l->b, msg);
    fm_buf_adds(&l->b, "\"");
}

void fm_log_str(fm_log_t *l, const char *key, const char *value)
{
    if (!l->on)
        return;
    fm_buf_addf(&l->b, ",\"%s\":\"", key);
    fm_buf_add_json_esc(&l->b, value ? value : "");
    fm_buf_adds(&l->b, "\"");
}

void fm_log_int(fm_log_t *l, const char *key, int64_t value)
{
    if (l->on)
        fm_buf_addf(&l->b, ",\"%s\":%lld", key, (long long)value);
}

void fm_log_num(fm_log_t *l, const char *key, double value)
{
    if (l->on)
        fm_buf_addf(&l->b, ",\"%s\":%.3f", key, value);
}

/* ---- buffered writing (serve) ----
 * Lines go to a buffer that a writer thread empties with one write(2) every few
 * milliseconds; two buffers swap so nobody waits for the write. Warnings and errors
 * are written at once, with whatever is buffered before them, so a crash loses at most
 * the last `log.buffer_ms` of request lines, never a problem report. */

#define ASYNC_CAP (1u << 20)

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    char *buf;
    size_t len;
    bool on, stop;
    int every_ms;
    pthread_t thread;
} A = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, false, false, 0, 0 };

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void *writer(void *arg)
{
    (void)arg;
    char *spare = malloc(ASYNC_CAP);
    pthread_mutex_lock(&A.lock);
    while (!A.stop || A.len) {
        if (!A.len && !A.stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)A.every_ms * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec += until.tv_nsec / 1000000000L;
                until.tv_nsec %= 1000000000L;
            }
            pthread_cond_timedwait(&A.wake, &A.lock, &until);
            continue;
        }
        char *full = A.buf;
        size_t n = A.len;
        if (spare) {            /* swap: callers go on filling the other buffer */
            A.buf = spare;
            A.len = 0;
            pthread_mutex_unlock(&A.lock);
            write_all(full, n);
            spare = full;
            pthread_mutex_lock(&A.lock);
        } else {
            write_all(full, n);
            A.len = 0;
        }
        if (!A.stop) {          /* let lines gather for a while */
            pthread_mutex_unlock(&A.lock);
            struct timespec ts = { 0, (long)A.every_ms * 1000000L };
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&A.lock);
        }
    }
    pthread_mutex_unlock(&A.lock);
    free(spare);
    return NULL;
}

void fm_log_buffered_start(int every_ms)
{
    if (A.on || every_ms <= 0 || !(A.buf = malloc(ASYNC_CAP)))
        return;
    A.len = 0;
    A.stop = false;
    A.every_ms = every_ms;
    if (pthread_create(&A.thread, NULL, writer, NULL)) {
        free(A.buf);
        A.buf = NULL;
        return;
    }
    A.on = true;
}

void fm_log_buffered_stop(void)
{
    if (!A.on)
        return;
    pthread_mutex_lock(&A.lock);
    A.stop = true;
    pthread_cond_signal(&A.wake);
    pthread_mutex_unlock(&A.lock);
    pthread_join(A.thread, NULL);
    pthread_mutex_lock(&A.lock);
    A.on = false;
    free(A.buf);
    A.buf = NULL;
    A.len = 0;
    pthread_mutex_unlock(&A.lock);
}

void fm_log_end(fm_log_t *l)
{
    if (!l->on)
        return;
    fm_buf_adds(&l->b, "}\n");
    if (l->b.oom) {
        fm_buf_release(&l->b);
        return;
    }
    bool done = false;
    if (A.on) {
        pthread_mutex_lock(&A.lock);
        if (A.on) {
            if (A.len + l->b.len > ASYNC_CAP || l->level >= FM_LOG_WARN) {
                write_all(A.buf, A.len);    /* keep the order: what came before goes first */
                A.len = 0;
            }
            if (l->level >= FM_LOG_WARN || l->b.len > ASYNC_CAP) {
                write_all(l->b.data, l->b.len);
            } else {
                memcpy(A.buf + A.len, l->b.data, l->b.len);
                A.len += l->b.len;
            }
            done = true;
        }
        pthread_mutex_unlock(&A.lock);
    }
    if (!done)
        write_all(l->b.data, l->b.len);
    fm_buf_release(&l->b);
}

void fm_log_msg(int level, const char *msg, const char *detail)
{
    fm_log_t l;
    fm_log_begin(&l, level, msg);
    if (detail)
        fm_log_str(&l, "detail", detail);
    fm_log_end(&l);
}
