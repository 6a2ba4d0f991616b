/* fm_buf.c — growable byte buffer; see fm_buf.h. */
#include "fm_buf.h"

#include "fm_json_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(fm_buf_t *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void fm_buf_add(fm_buf_t *b, const void *p, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void fm_buf_adds(fm_buf_t *b, const char *s)
{
    fm_buf_add(b, s, strlen(s));
}

void fm_buf_vaddf(fm_buf_t *b, const char *fmt, va_list ap)
{
    /* Format straight into the free space; only when it does not fit, grow and redo. */
    if (!grow(b, 64))
        return;
    va_list cp;
    va_copy(cp, ap);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->data + b->len, room, fmt, cp);
    va_end(cp);
    if (n < 0) {
        b->data[b->len] = 0;
        return;
    }
    if ((size_t)n >= room) {
        if (!grow(b, (size_t)n))
            return;
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void fm_buf_addf(fm_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fm_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void fm_buf_add_json_esc(fm_buf_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *run = p;       /* copy plain runs in one go */
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            fm_buf_add(b, run, (size_t)(p - run));
        if (!*p)
            break;
        if (*p >= 0x80) {   /* UTF-8 as is; a byte that is not becomes U+FFFD */
            size_t n = fm_utf8_seq((const char *)p, strnlen((const char *)p, 4));
            fm_buf_add(b, n ? (const char *)p : "\\ufffd", n ? n : 6);
            p += n ? n : 1;
            continue;
        }
        switch (*p) {
        case '"': fm_buf_add(b, "\\\"", 2); break;
        case '\\': fm_buf_add(b, "\\\\", 2); break;
        case '\n': fm_buf_add(b, "\\n", 2); break;
        case '\r': fm_buf_add(b, "\\r", 2); break;
        case '\t': fm_buf_add(b, "\\t", 2); break;
        default: fm_buf_addf(b, "\\u%04x", *p);
        }
        p++;
    }
}

void fm_buf_reset(fm_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

char *fm_buf_detach(fm_buf_t *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    if (!p && !b->oom)
        p = calloc(1, 1);
    if (b->oom) {
        free(p);
        p = NULL;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
    return p;
}

void fm_buf_release(fm_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}
