/*
 * knowledge_text.c — the Knowledge Hub's text handling: cutting a text or Markdown
 * document into chunks (by headings, then paragraphs packed to a target size, long
 * paragraphs cut at sentence ends, with an overlap between neighbouring chunks), the
 * search terms of a question, and the scope tokens the FTS5 index narrows on. Pure
 * functions, no I/O; each is linear in its input.
 */
#include "knowledge_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- chunking ---- */

typedef struct chunker {
    const char *t;
    size_t len;
    size_t target, overlap;
    kn_chunk_t *v;
    size_t n, cap;
    int rc;
    /* the heading path: one range of the text per level 1..6 */
    size_t hoff[7], hlen[7];
    char heading[KN_HEADING_MAX];
    /* the pending chunk [cs, ce); new content (not overlap) starts at base */
    bool open;
    size_t cs, ce, base;
} chunker_t;

static bool sp(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void emit(chunker_t *k, size_t a, size_t b)
{
    while (a < b && sp(k->t[a]))
        a++;
    while (b > a && sp(k->t[b - 1]))
        b--;
    if (a >= b || k->rc != FM_OK)
        return;
    if (k->n == KN_CHUNKS_MAX) {
        k->rc = FM_ETOOBIG;
        return;
    }
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 16;
        kn_chunk_t *nv = realloc(k->v, nc * sizeof(*nv));
        if (!nv) {
            k->rc = FM_ENOMEM;
            return;
        }
        k->v = nv;
        k->cap = nc;
    }
    kn_chunk_t *c = &k->v[k->n++];
    c->off = a;
    c->len = b - a;
    memcpy(c->heading, k->heading, sizeof(c->heading));
}

/* Where the chunk after [a, b) starts: ~overlap bytes before b, at a word start. */
static size_t overlap_start(const chunker_t *k, size_t a, size_t b)
{
    if (!k->overlap || b - a < 2)
        return b;
    size_t p = b - a > k->overlap ? b - k->overlap : a + 1;
    while (p < b && !sp(k->t[p - 1]))
        p++;
    while (p < b && sp(k->t[p]))
        p++;
    return p;
}

/* A cut point in (lo, lim]: after a sentence end, else at a space, else on a UTF-8
 * character boundary. */
static size_t cut_point(const chunker_t *k, size_t lo, size_t lim)
{
    const char *t = k->t;
    for (size_t i = lim; i > lo; i--)
        if ((t[i - 1] == '.' || t[i - 1] == '!' || t[i - 1] == '?') && sp(t[i]))
            return i;
    for (size_t i = lim; i > lo; i--)
        if (sp(t[i]))
            return i;
    size_t i = lim;
    while (i > lo + 1 && ((unsigned char)t[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static void flush(chunker_t *k)
{
    if (k->open && k->ce > k->base)
        emit(k, k->cs, k->ce);
    k->open = false;
}

static void paragraph(chunker_t *k, size_t ps, size_t pe)
{
    while (ps < pe && k->rc == FM_OK) {
        if (!k->open) {
            k->cs = k->ce = k->base = ps;
            k->open = true;
        }
        if (pe - k->cs <= k->target) {
            k->ce = pe;
            return;
        }
        if (k->ce > k->base) {          /* the pending chunk is full: out with it */
            emit(k, k->cs, k->ce);
            size_t ov = overlap_start(k, k->cs, k->ce);
            k->base = k->ce;
            k->cs = ov < k->ce ? ov : ps;
            k->ce = k->cs;
            continue;
        }
        /* only overlap pending and the paragraph is too long: cut a piece of it */
        size_t lim = k->cs + k->target, half = k->cs + k->target / 2;
        size_t lo = half > ps + 1 ? half : ps + 1;
        size_t c = cut_point(k, lo, lim);
        emit(k, k->cs, c);
        size_t ov = overlap_start(k, k->cs, c);
        ps = c;
        while (ps < pe && sp(k->t[ps]))
            ps++;
        k->cs = ov < c ? ov : ps;
        k->ce = k->cs;
        k->base = c;
    }
}

static void set_heading(chunker_t *k, int level, size_t off, size_t len)
{
    k->hoff[level] = off;
    k->hlen[level] = len;
    for (int l = level + 1; l <= 6; l++)
        k->hlen[l] = 0;
    size_t w = 0;
    for (int l = 1; l <= 6; l++) {
        if (!k->hlen[l])
            continue;
        const char *sep = w ? " > " : "";
        for (size_t i = 0; sep[i] && w + 1 < sizeof(k->heading); i++)
            k->heading[w++] = sep[i];
        for (size_t i = 0; i < k->hlen[l] && w + 1 < sizeof(k->heading); i++)
            k->heading[w++] = k->t[k->hoff[l] + i];
    }
    /* never end inside a UTF-8 sequence */
    size_t end = w;
    while (end > 0 && ((unsigned char)k->heading[end - 1] & 0x80)) {
        size_t s = end - 1;
        while (s > 0 && ((unsigned char)k->heading[s] & 0xC0) == 0x80)
            s--;
        unsigned char lead = (unsigned char)k->heading[s];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (end - s >= need)
            break;
        end = s;
    }
    k->heading[end] = '\0';
}

/* A Markdown ATX heading line ("## Title"): its level and title range, else 0. */
static int heading_line(const char *t, size_t a, size_t b, size_t *ho, size_t *hl)
{
    size_t i = a;
    while (i < b && i - a < 3 && t[i] == ' ')
        i++;
    int level = 0;
    while (i < b && t[i] == '#' && level < 7) {
        level++;
        i++;
    }
    if (level < 1 || level > 6 || (i < b && t[i] != ' ' && t[i] != '\t'))
        return 0;
    while (i < b && sp(t[i]))
        i++;
    size_t e = b;
    while (e > i && (sp(t[e - 1]) || t[e - 1] == '#'))
        e--;
    *ho = i;
    *hl = e - i;
    return level;
}

int kn_chunk_text(const char *text, size_t len, int target, int overlap, kn_chunk_t **out, size_t *n)
{
    chunker_t k;
    memset(&k, 0, sizeof(k));
    k.t = text;
    k.len = len;
    k.target = (size_t)target;
    k.overlap = (size_t)overlap;
    k.rc = FM_OK;
    bool fence = false;
    size_t ps = 0, pe = 0;
    bool in_para = false;
    for (size_t a = 0; a < len && k.rc == FM_OK;) {
        const char *nl = memchr(text + a, '\n', len - a);
        size_t b = nl ? (size_t)(nl - text) : len;
        size_t i = a;
        while (i < b && sp(text[i]))
            i++;
        bool blank = i == b;
        bool fence_line = b - i >= 3 && (!strncmp(text + i, "```", 3) || !strncmp(text + i, "~~~", 3));
        size_t ho = 0, hl = 0;
        int level = fence || fence_line ? 0 : heading_line(text, a, b, &ho, &hl);
        if (fence_line)
            fence = !fence;
        if (level) {
            if (in_para)
                paragraph(&k, ps, pe);
            in_para = false;
            flush(&k);
            set_heading(&k, level, ho, hl);
        } else if (blank && !fence) {
            if (in_para)
                paragraph(&k, ps, pe);
            in_para = false;
        } else {
            if (!in_para)
                ps = a;
            in_para = true;
            pe = b;
        }
        a = nl ? b + 1 : len;
    }
    if (in_para && k.rc == FM_OK)
        paragraph(&k, ps, pe);
    flush(&k);
    if (k.rc != FM_OK) {
        free(k.v);
        *out = NULL;
        *n = 0;
        return k.rc;
    }
    *out = k.v;
    *n = k.n;
    return FM_OK;
}

/* ---- terms ---- */

static const char *const stop_words[] = {
    "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "how", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of",
    "on", "or", "our", "should", "so", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "those", "to", "us", "was", "we", "were", "what", "when", "where", "which", "who", "whom",
    "why", "will", "with", "would", "you", "your", NULL,
};

static bool is_stop(const char *w)
{
    for (size_t i = 0; stop_words[i]; i++)
        if (!strcmp(stop_words[i], w))
            return true;
    return false;
}

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || isalnum(c);
}

int kn_terms(const char *text, char *buf, size_t len, const char **terms, int max)
{
    int n = 0;
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && n < max) {
        while (*p && !word_byte(*p))
            p++;
        if (!*p)
            break;
        const unsigned char *s = p;
        while (*p && word_byte(*p))
            p++;
        size_t wl = (size_t)(p - s);
        if (wl > KN_TERM_MAX - 1) {
            wl = KN_TERM_MAX - 1;
            while (wl > 0 && (s[wl] & 0xC0) == 0x80)
                wl--;
        }
        if (wl < 2 || w + wl + 1 > len)
            continue;
        char *t = buf + w;
        for (size_t i = 0; i < wl; i++)
            t[i] = (char)tolower(s[i]);
        t[wl] = '\0';
        if (is_stop(t))
            continue;
        bool dup = false;
        for (int j = 0; j < n && !dup; j++)
            dup = !strcmp(terms[j], t);
        if (dup)
            continue;
        terms[n++] = t;
        w += wl + 1;
    }
    return n;
}

void kn_scope_token(char prefix, const char *a, const char *b, char out[20])
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;          /* a separator no text holds */
    for (const unsigned char *p = (const unsigned char *)(b ? b : ""); *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    snprintf(out, 20, "%c%016llx", prefix, (unsigned long long)h);
}
