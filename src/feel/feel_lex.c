/*
 * feel_lex.c — FEEL tokens: numbers, strings (with \" \\ \n \t \r \uXXXX escapes),
 * temporal literals @"...", words (name parts), and punctuation. Tracks line and
 * column for parse errors. Multi-word names are assembled by the parser.
 */
#include "feel_lex.h"

#include <string.h>

bool lex_word_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 || c == '?';
}

bool lex_word_char(unsigned char c)
{
    return lex_word_start(c) || (c >= '0' && c <= '9');
}

void lex_init(lexer_t *l, const char *src)
{
    memset(l, 0, sizeof(*l));
    l->src = l->p = src;
    l->line = 1;
    l->line_start = src;
}

static void skip_ws(lexer_t *l)
{
    for (;;) {
        char c = *l->p;
        if (c == '\n') {
            l->line++;
            l->p++;
            l->line_start = l->p;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            l->p++;
        } else if ((unsigned char)c == 0xC2 && (unsigned char)l->p[1] == 0xA0) {
            l->p += 2;  /* non-breaking space */
        } else if (c == '/' && l->p[1] == '/') {
            while (*l->p && *l->p != '\n')
                l->p++;
        } else if (c == '/' && l->p[1] == '*') {
            l->p += 2;
            while (*l->p && !(*l->p == '*' && l->p[1] == '/')) {
                if (*l->p == '\n') {
                    l->line++;
                    l->line_start = l->p + 1;
                }
                l->p++;
            }
            if (*l->p)
                l->p += 2;
        } else {
            return;
        }
    }
}

static const char *puncts[] = { "**", "..", "!=", "<=", ">=", "+", "-", "*", "/", "=", "<", ">",
                                "(", ")", "[", "]", "{", "}", ",", ".", ":", NULL };

bool lex_next(lexer_t *l, tok_t *t)
{
    skip_ws(l);
    memset(t, 0, sizeof(*t));
    t->s = l->p;
    t->line = l->line;
    t->col = (int)(l->p - l->line_start) + 1;
    unsigned char c = (unsigned char)*l->p;
    if (!c) {
        t->k = T_EOF;
        return true;
    }
    if ((c >= '0' && c <= '9') || (c == '.' && l->p[1] >= '0' && l->p[1] <= '9')) {
        const char *p = l->p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '.' && p[1] >= '0' && p[1] <= '9') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if ((*p == 'e' || *p == 'E') &&
            ((p[1] >= '0' && p[1] <= '9') || ((p[1] == '-' || p[1] == '+') && p[2] >= '0' && p[2] <= '9'))) {
            p += 2;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        t->k = T_NUM;
        t->len = (size_t)(p - l->p);
        l->p = p;
        return true;
    }
    if (c == '"' || (c == '@' && l->p[1] == '"')) {
        t->k = c == '@' ? T_AT : T_STR;
        const char *p = l->p + (c == '@' ? 2 : 1);
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if (*p == '\n') {
                l->line++;
                l->line_start = p + 1;
            }
            p++;
        }
        if (*p != '"') {
            snprintf(l->err, sizeof(l->err), "unterminated string");
            return false;
        }
        t->s = l->p + (c == '@' ? 2 : 1);
        t->len = (size_t)(p - t->s);
        l->p = p + 1;
        return true;
    }
    if (lex_word_start(c)) {
        const char *p = l->p + 1;
        if (c == '?' ) {
            t->k = T_NAME;
            t->len = 1;
            l->p = p;
            return true;
        }
        while (lex_word_char((unsigned char)*p) && *p != '?')
            p++;
        t->k = T_NAME;
        t->len = (size_t)(p - l->p);
        l->p = p;
        return true;
    }
    for (int i = 0; puncts[i]; i++) {
        size_t n = strlen(puncts[i]);
        if (!strncmp(l->p, puncts[i], n)) {
            t->k = T_PUNCT;
            memcpy(t->p, puncts[i], n);
            t->len = n;
            l->p += n;
            return true;
        }
    }
    snprintf(l->err, sizeof(l->err), "unexpected character '%c'", c >= 32 && c < 127 ? c : '?');
    return false;
}

/* Decodes a string literal body (escapes); out must hold len + 1 bytes. */
size_t lex_unescape(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\' || i + 1 == len) {
            out[o++] = s[i];
            continue;
        }
        char e = s[++i];
        switch (e) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case '"': out[o++] = '"'; break;
        case '\'': out[o++] = '\''; break;
        case '\\': out[o++] = '\\'; break;
        case 'u': case 'U': {
            int nd = e == 'u' ? 4 : 6;
            unsigned long cp = 0;
            int k = 0;
            while (k < nd && i + 1 < len) {
                char h = s[i + 1];
                int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (v < 0)
                    break;
                cp = cp * 16 + (unsigned long)v;
                i++;
                k++;
            }
            /* surrogate pair \uD83D\uDCA9 */
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < len + 0 && s[i + 1] == '\\' && s[i + 2] == 'u') {
                unsigned long lo = 0;
                int ok = 1;
                for (int j = 0; j < 4; j++) {
                    char h = s[i + 3 + j];
                    int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (v < 0)
                        ok = 0;
                    else
                        lo = lo * 16 + (unsigned long)v;
                }
                if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xC0 | (cp >> 6));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[o++] = (char)(0xE0 | (cp >> 12));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[o++] = (char)(0xF0 | (cp >> 18));
                out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: out[o++] = '\\'; out[o++] = e; break;
        }
    }
    out[o] = 0;
    return o;
}
