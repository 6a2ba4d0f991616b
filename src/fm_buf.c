/* fm_buf.c — growable byte buffer; see fm_buf.h. */
#include "fm_buf.h"

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
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
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
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fm_buf_add(b, "\\\"", 2); break;
        case '\\': fm_buf_add(b, "\\\\", 2); break;
        case '\n': fm_buf_add(b, "\\n", 2); break;
        case '\r': fm_buf_add(b, "\\r", 2); break;
        case '\t': fm_buf_add(b, "\\t", 2); break;
        default:
            if (*p < 0x20)
                fm_buf_addf(b, "\\u%04x", *p);
            else
                fm_buf_add(b, p, 1);
        }
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
