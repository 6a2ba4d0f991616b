/*
 * fm_buf.h — a growable byte buffer (after git's strbuf), used to build responses,
 * metrics pages and log lines. Owner frees with fm_buf_release; fm_buf_detach hands
 * the bytes over. Allocation failure sets `oom` and makes further appends no-ops, so
 * callers check once at the end.
 */
#ifndef FM_BUF_H
#define FM_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fm_buf {
    char *data;     /* always NUL-terminated when len > 0 */
    size_t len, cap;
    bool oom;
} fm_buf_t;

#define FM_BUF_INIT { NULL, 0, 0, false }

void fm_buf_add(fm_buf_t *b, const void *p, size_t n);
void fm_buf_adds(fm_buf_t *b, const char *s);
void fm_buf_addf(fm_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fm_buf_vaddf(fm_buf_t *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (no quotes); a byte that is not UTF-8
 * becomes \ufffd, so log lines and events always decode. */
void fm_buf_add_json_esc(fm_buf_t *b, const char *s);
void fm_buf_reset(fm_buf_t *b);
char *fm_buf_detach(fm_buf_t *b, size_t *len);  /* caller frees */
void fm_buf_release(fm_buf_t *b);

#endif
