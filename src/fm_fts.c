/*
 * fm_fts.c — user text as an FTS5 MATCH expression (fm_fts.h).
 */
#include "fm_fts.h"

#include <stdio.h>

static bool word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

int fm_fts_match(const char *text, bool prefix, bool any, int max_terms, char *out, size_t len)
{
    size_t o = 0;
    int n = 0;
    if (len)
        out[0] = 0;
    for (const char *p = text ? text : ""; *p && n < max_terms;) {
        while (*p && !word_byte((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p && word_byte((unsigned char)*p))
            p++;
        size_t w = (size_t)(p - s);
        const char *sep = n == 0 ? "" : any ? " OR " : " ";
        if (w && o + w + 8 < len) {
            o += (size_t)snprintf(out + o, len - o, "%s\"%.*s\"%s", sep, (int)w, s, prefix ? "*" : "");
            n++;
        }
    }
    return n;
}
