/*
 * knowledge_rank.c — the Knowledge Hub's built-in models, which need no provider: the
 * hashing embedder (word unigrams and bigrams hashed into 256 signed buckets, so that
 * texts sharing words and word pairs point the same way; cosine is then a dot product
 * of unit vectors) and the extractive answer (the sentences of the top passages that
 * hold the most question terms, each cited by its passage number). Pure functions.
 */
#include "knowledge_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv(const unsigned char *s, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static bool word_byte(unsigned char c)
{
    return c >= 0x80 || isalnum(c);
}

static void bucket(float *v, uint64_t h, float w)
{
    v[h % KN_VEC_DIMS] += (h >> 63) ? w : -w;
}

void kn_embed(const char *text, size_t len, float *v)
{
    memset(v, 0, KN_VEC_DIMS * sizeof(float));
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    uint64_t prev = 0;
    bool have_prev = false;
    unsigned char w[KN_TERM_MAX];
    while (p < end) {
        while (p < end && !word_byte(*p))
            p++;
        size_t n = 0;
        while (p < end && word_byte(*p)) {
            if (n < sizeof(w))
                w[n++] = (unsigned char)tolower(*p);
            p++;
        }
        if (n < 2)
            continue;
        uint64_t h = fnv(w, n, 1469598103934665603ULL);
        bucket(v, h, 1.0f);
        if (have_prev)
            bucket(v, (prev * 31) ^ (h * 0x9E3779B97F4A7C15ULL), 0.5f);
        prev = h;
        have_prev = true;
    }
    double s = 0;
    for (int i = 0; i < KN_VEC_DIMS; i++)
        s += (double)v[i] * v[i];
    if (s > 0) {
        float inv = (float)(1.0 / sqrt(s));
        for (int i = 0; i < KN_VEC_DIMS; i++)
            v[i] *= inv;
    }
}

float kn_dot(const float *a, const float *b)
{
    float s = 0;
    for (int i = 0; i < KN_VEC_DIMS; i++)
        s += a[i] * b[i];
    return s;
}

/* ---- the extractive answer ---- */

typedef struct sentence {
    int passage;
    size_t off, len;
    int matched;
    double score;
} sentence_t;

static int by_score(const void *a, const void *b)
{
    const sentence_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->passage != y->passage)
        return x->passage - y->passage;
    return x->off < y->off ? -1 : x->off > y->off;
}

static int by_place(const void *a, const void *b)
{
    const sentence_t *x = a, *y = b;
    if (x->passage != y->passage)
        return x->passage - y->passage;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* How many of the question's terms the sentence holds (each once). */
static int matched_terms(const char *s, size_t len, const char *const *terms, int nterms)
{
    bool seen[KN_TERMS_MAX] = { false };
    int m = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    char w[KN_TERM_MAX];
    while (p < end && m < nterms) {
        while (p < end && !word_byte(*p))
            p++;
        size_t n = 0;
        const unsigned char *st = p;
        while (p < end && word_byte(*p)) {
            if (n < sizeof(w) - 1)
                w[n++] = (char)tolower(*p);
            p++;
        }
        if ((size_t)(p - st) > KN_TERM_MAX - 1) {   /* cut as kn_terms cuts */
            n = KN_TERM_MAX - 1;
            while (n > 0 && ((unsigned char)st[n] & 0xC0) == 0x80)
                n--;
        }
        w[n] = '\0';
        for (int i = 0; i < nterms && i < KN_TERMS_MAX; i++)
            if (!seen[i] && !strcmp(terms[i], w)) {
                seen[i] = true;
                m++;
            }
    }
    return m;
}

#define SENTENCE_MAX 400

char *kn_extract_answer(const char *const *texts, int n, const char *const *terms, int nterms, bool *cited)
{
    size_t cap = 64, ns = 0;
    sentence_t *v = malloc(cap * sizeof(*v));
    if (!v)
        return NULL;
    for (int p = 0; p < n; p++) {
        cited[p] = false;
        const char *t = texts[p];
        size_t len = strlen(t), a = 0;
        while (a < len) {
            while (a < len && (t[a] == ' ' || t[a] == '\n' || t[a] == '\t' || t[a] == '\r' || t[a] == '-' ||
                               t[a] == '*' || t[a] == '#'))
                a++;
            size_t b = a;
            while (b < len && t[b] != '\n' &&
                   !((t[b] == '.' || t[b] == '!' || t[b] == '?') && (b + 1 == len || t[b + 1] == ' ' ||
                                                                      t[b + 1] == '\n')))
                b++;
            size_t e = b < len && t[b] != '\n' ? b + 1 : b;   /* keep the full stop */
            if (e > a + 2) {
                int m = matched_terms(t + a, e - a, terms, nterms);
                if (m > 0) {
                    if (ns == cap) {
                        sentence_t *nv = realloc(v, cap * 2 * sizeof(*v));
                        if (!nv) {
                            free(v);
                            return NULL;
                        }
                        v = nv;
                        cap *= 2;
                    }
                    /* more terms first; among equals the higher passage, then the earlier */
                    v[ns++] = (sentence_t){ p, a, e - a, m, m + 0.1 * (n - p) / (double)n };
                }
            }
            a = e + 1;
        }
    }
    qsort(v, ns, sizeof(*v), by_score);
    if (ns > KN_ANSWER_SENTENCES)
        ns = KN_ANSWER_SENTENCES;
    qsort(v, ns, sizeof(*v), by_place);
    size_t out_cap = ns * (SENTENCE_MAX + 16) + 1, w = 0;
    char *out = malloc(out_cap);
    if (!out) {
        free(v);
        return NULL;
    }
    for (size_t i = 0; i < ns; i++) {
        const char *s = texts[v[i].passage] + v[i].off;
        size_t l = v[i].len;
        bool cut = false;
        if (l > SENTENCE_MAX) {
            l = SENTENCE_MAX;
            while (l > 0 && s[l] != ' ')
                l--;
            if (!l)
                l = SENTENCE_MAX;
            while (l > 0 && ((unsigned char)s[l] & 0xC0) == 0x80)
                l--;
            cut = true;
        }
        if (w)
            out[w++] = ' ';
        for (size_t j = 0; j < l; j++)
            out[w++] = s[j] == '\n' || s[j] == '\r' || s[j] == '\t' ? ' ' : s[j];
        if (cut)
            w += (size_t)snprintf(out + w, out_cap - w, "...");
        w += (size_t)snprintf(out + w, out_cap - w, " [%d]", v[i].passage + 1);
        cited[v[i].passage] = true;
    }
    out[w] = '\0';
    free(v);
    return out;
}
