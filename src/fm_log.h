/*
 * fm_log.h — structured logging: one JSON object per line on stderr.
 *   fm_log_t l; fm_log_begin(&l, FM_LOG_INFO, "server started");
 *   fm_log_int(&l, "ports", 27); fm_log_end(&l);
 * or, for one line with an optional detail: fm_log_msg(FM_LOG_ERROR, "bind failed", "port 9003").
 * Any thread; a line is written whole, so lines never interleave.
 */
#ifndef FM_LOG_H
#define FM_LOG_H

#include "fm_buf.h"

#include <stdint.h>

enum { FM_LOG_DEBUG, FM_LOG_INFO, FM_LOG_WARN, FM_LOG_ERROR };

typedef struct fm_log {
    fm_buf_t b;
    int level;
    bool on;    /* false when the level is filtered out: every call is then a no-op */
} fm_log_t;

void fm_log_set_level(const char *name);   /* debug|info|warn|error */
bool fm_log_enabled(int level);
void fm_log_begin(fm_log_t *l, int level, const char *msg);
void fm_log_str(fm_log_t *l, const char *key, const char *value);
void fm_log_int(fm_log_t *l, const char *key, int64_t value);
void fm_log_num(fm_log_t *l, const char *key, double value);
void fm_log_end(fm_log_t *l);
void fm_log_msg(int level, const char *msg, const char *detail);

/* Buffered mode (serve, log.buffer_ms): info and debug lines are written by a thread
 * every `every_ms`; warnings and errors at once. stop flushes and joins. */
void fm_log_buffered_start(int every_ms);
void fm_log_buffered_stop(void);

/* Current time as RFC 3339 UTC with milliseconds ("2026-11-26T01:02:03.456Z"). */
void fm_time_rfc3339(char out[32]);
void fm_time_rfc3339_at(int64_t unix_ms, char out[32]);
int64_t fm_time_unix_ms(void);
double fm_time_mono(void);  /* seconds, monotonic */

#endif
