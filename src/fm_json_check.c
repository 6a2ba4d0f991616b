/*
 * fm_json_check.c — the linear JSON pre-check (depth, UTF-8, NUL in strings) and the
 * UTF-8 repair of JSON answers; see fm_json_check.h for the rules and why they exist.
 *
 * The check keeps one small record per open container (kind, the element or key being
 * read) in a fixed array of FM_JSON_DEPTH_CAP entries, so it needs no recursion and no
 * allocation, and it can name the place of a fault as a JSON pointer.
 */
#include "fm_json_check.h"

#include "fm_buf.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct level {
    unsigned char kind;     /* '[' or '{' */
    bool want_key;          /* object: the next string is a member name */
    bool has_key;           /* object: key/key_len name the member being read */
    size_t index;           /* array: the element being read */
    size_t key, key_len;    /* object: the raw name (offset into the text) */
} level_t;

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n <= need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

size_t fm_utf8_seq(const char *s, size_t n)
{
    return n ? utf8_seq((const unsigned char *)s, n) : 0;
}

size_t fm_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq(u + i, len - i);
        if (!n)
            break;
        i += n;
    }
    return i;
}

/* Scans the string whose first byte after the quote is at *pos: on return *pos is the
 * closing quote (or len when unterminated), or the faulty byte when it fails. */
static fm_json_fault_t scan_string(const unsigned char *s, size_t len, size_t *pos)
{
    size_t i = *pos;
    while (i < len) {
        unsigned c = s[i];
        if (c == '"')
            break;
        if (c == '\\') {
            if (i + 5 < len && s[i + 1] == 'u' && !memcmp(s + i + 2, "0000", 4)) {
                *pos = i;
                return FM_JSON_NUL;
            }
            i += 2;     /* the escaped byte; \uXXXX's digits are ASCII and pass below */
            continue;
        }
        if (c == 0) {
            *pos = i;
            return FM_JSON_NUL;
        }
        size_t n = c < 0x80 ? 1 : utf8_seq(s + i, len - i);
        if (!n) {
            *pos = i;
            return FM_JSON_BAD_UTF8;
        }
        i += n;
    }
    *pos = i < len ? i : len;
    return FM_JSON_OK;
}

/* ---- the pointer ---- */

typedef struct ptr {
    char *out;
    size_t n, cap;
    bool cut;
} ptr_t;

static bool put(ptr_t *p, const char *s, size_t n)
{
    if (p->cut || p->n + n >= p->cap) {
        p->cut = true;
        return false;
    }
    memcpy(p->out + p->n, s, n);
    p->n += n;
    return true;
}

static void put_cp(ptr_t *p, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (cp == '~')
        put(p, "~0", 2);
    else if (cp == '/')
        put(p, "~1", 2);
    else
        put(p, u, n);
}

static int hex4(const unsigned char *s, size_t avail)
{
    if (avail < 4)
        return -1;
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int c = s[k], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Appends "/<name>" with the raw member name decoded (escapes, surrogate pairs) and
 * anything that is not UTF-8 replaced, so the pointer is always printable. */
static void put_key(ptr_t *p, const unsigned char *s, size_t len)
{
    put(p, "/", 1);
    size_t i = 0;
    while (i < len && !p->cut) {
        if (s[i] == '\\' && i + 1 < len) {
            unsigned char e = s[i + 1];
            i += 2;
            if (e != 'u') {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                const char *at = strchr(from, e);
                put_cp(p, at && e ? (unsigned char)to[at - from] : e);
                continue;
            }
            int cp = hex4(s + i, len - i);
            if (cp < 0) {
                put_cp(p, 0xFFFD);
                continue;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < len && s[i] == '\\' && s[i + 1] == 'u') {
                int lo = hex4(s + i + 2, len - i - 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            put_cp(p, (unsigned)cp);
            continue;
        }
        size_t n = utf8_seq(s + i, len - i);
        if (!n) {
            put_cp(p, 0xFFFD);
            i++;
        } else if (n == 1) {
            put_cp(p, s[i]);
            i++;
        } else {
            put(p, (const char *)s + i, n);
            i += n;
        }
    }
}

/* The pointer through the first n open containers, each at the element it is reading. */
static void make_pointer(fm_json_err_t *err, const unsigned char *s, const level_t *lv, int n)
{
    ptr_t p = { err->pointer, 0, sizeof(err->pointer), false };
    for (int k = 0; k < n && !p.cut; k++) {
        size_t before = p.n;
        if (lv[k].kind == '[') {
            char num[24];
            int len = snprintf(num, sizeof(num), "/%zu", lv[k].index);
            put(&p, num, (size_t)len);
        } else if (lv[k].has_key) {
            put_key(&p, s + lv[k].key, lv[k].key_len);
        } else {
            break;
        }
        if (p.cut)
            p.n = before;   /* whole segments only */
    }
    err->pointer[p.n] = 0;
    err->cut = p.cut;
}

static fm_json_fault_t fail(fm_json_err_t *err, fm_json_fault_t f, size_t at, const unsigned char *s,
                            const level_t *lv, int n)
{
    if (err) {
        err->fault = f;
        err->offset = at;
        make_pointer(err, s, lv, n);
    }
    return f;
}

fm_json_fault_t fm_json_check(const char *text, size_t len, int max_depth, fm_json_err_t *err)
{
    level_t lv[FM_JSON_DEPTH_CAP];
    const unsigned char *s = (const unsigned char *)text;
    int depth = 0;
    if (max_depth > FM_JSON_DEPTH_CAP)
        max_depth = FM_JSON_DEPTH_CAP;
    if (err)
        memset(err, 0, sizeof(*err));
    size_t i = 0;
    while (i < len) {
        switch (s[i]) {
        case '[':
        case '{':
            if (depth >= max_depth)
                return fail(err, FM_JSON_TOO_DEEP, i, s, lv, depth);
            lv[depth] = (level_t){ .kind = s[i], .want_key = s[i] == '{' };
            depth++;
            i++;
            break;
        case ']':
        case '}':
            if (depth)
                depth--;
            i++;
            break;
        case ',':
            if (depth) {
                lv[depth - 1].index++;
                lv[depth - 1].want_key = lv[depth - 1].kind == '{';
            }
            i++;
            break;
        case '"': {
            level_t *top = depth ? &lv[depth - 1] : NULL;
            bool key = top && top->kind == '{' && top->want_key;
            size_t at = i + 1;
            fm_json_fault_t f = scan_string(s, len, &at);
            if (f != FM_JSON_OK)    /* a bad name points at its object, a bad value at itself */
                return fail(err, f, at, s, lv, key ? depth - 1 : depth);
            if (key) {
                top->key = i + 1;
                top->key_len = at - (i + 1);
                top->has_key = true;
                top->want_key = false;
            }
            i = at + 1;
            break;
        }
        default:
            i++;
        }
    }
    return FM_JSON_OK;
}

char *fm_json_fix_utf8(const char *text, size_t len, size_t *outlen)
{
    size_t ok = fm_utf8_valid_prefix(text, len);
    if (ok == len)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_add(&b, text, ok);
    size_t i = ok;
    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n) {
            fm_buf_add(&b, s + i, n);
            i += n;
        } else {
            fm_buf_add(&b, "\\ufffd", 6);
            i++;
        }
    }
    if (b.oom) {
        fm_buf_release(&b);
        return NULL;
    }
    return fm_buf_detach(&b, outlen);
}
