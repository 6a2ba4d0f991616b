/*
 * feel_builtins_str.c — FEEL string built-ins. Positions and lengths count Unicode
 * code points (UTF-8 decoded), as FEEL does. matches() and replace() use PCRE2 with
 * UTF mode and the evaluator's match limit, so a catastrophic pattern ends in a null
 * with a reason instead of a hang.
 */
#define _GNU_SOURCE     /* memmem */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "feel_builtins.h"

#include <pcre2.h>
#include <string.h>

static size_t cp_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* byte offset of code point k */
static size_t cp_off(const char *s, size_t n, size_t k)
{
    size_t i = 0;
    while (i < n && k) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        k--;
    }
    return i;
}

#define STR(i) (a[i]->t == FEEL_STR)
#define S(i) a[i]->u.str.s
#define L(i) a[i]->u.str.len

static feel_value_t *substring(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || a[1]->t != FEEL_NUM || (n > 2 && a[2]->t != FEEL_NUM && a[2]->t != FEEL_NULL))
        return feel_err(ev, "substring(string, number, number?)");
    int64_t start, len = -1;
    if (!feel_dec_to_int64(feel_dec_round(a[1]->u.n, 0, 'd'), &start))
        return feel_null();
    size_t total = cp_len(S(0), L(0));
    if (n > 2 && a[2]->t == FEEL_NUM) {
        if (!feel_dec_to_int64(feel_dec_round(a[2]->u.n, 0, 'd'), &len) || len < 0)
            return feel_null();
    }
    int64_t from = start > 0 ? start - 1 : (int64_t)total + start;
    if (start == 0 || from < 0 || from >= (int64_t)total)
        return start == 0 ? feel_err(ev, "substring start position 0") : feel_str(ev, "", 0);
    size_t b = cp_off(S(0), L(0), (size_t)from);
    size_t e = len < 0 ? L(0) : cp_off(S(0), L(0), (size_t)(from + len));
    return feel_str(ev, S(0) + b, e - b);
}

static feel_value_t *string_length(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0))
        return feel_err(ev, "string length(string)");
    return feel_num_int(ev, (int64_t)cp_len(S(0), L(0)));
}

static feel_value_t *change_case(feel_eval_t *ev, feel_value_t **a, bool up)
{
    if (!STR(0))
        return feel_err(ev, "%s case(string)", up ? "upper" : "lower");
    feel_value_t *r = feel_str(ev, S(0), L(0));
    if (r->t != FEEL_STR)
        return r;
    char *s = (char *)r->u.str.s;
    for (size_t i = 0; i < r->u.str.len; i++) {
        if (up && s[i] >= 'a' && s[i] <= 'z')
            s[i] = (char)(s[i] - 32);
        if (!up && s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] + 32);
    }
    return r;
}

static feel_value_t *upper_case(feel_eval_t *ev, feel_value_t **a, size_t n) { return change_case(ev, a, true); }
static feel_value_t *lower_case(feel_eval_t *ev, feel_value_t **a, size_t n) { return change_case(ev, a, false); }

/* glibc's memmem is linear (two-way): a naive scan is O(haystack × needle) */
static const char *find(const char *h, size_t hl, const char *nd, size_t nl)
{
    return nl == 0 ? h : memmem(h, hl, nd, nl);
}

static feel_value_t *contains(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "contains(string, string)");
    return feel_bool(find(S(0), L(0), S(1), L(1)) != NULL);
}

static feel_value_t *starts_with(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "starts with(string, string)");
    return feel_bool(L(1) <= L(0) && !memcmp(S(0), S(1), L(1)));
}

static feel_value_t *ends_with(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "ends with(string, string)");
    return feel_bool(L(1) <= L(0) && !memcmp(S(0) + L(0) - L(1), S(1), L(1)));
}

static feel_value_t *substring_before(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "substring before(string, string)");
    const char *p = find(S(0), L(0), S(1), L(1));
    return p ? feel_str(ev, S(0), (size_t)(p - S(0))) : feel_str(ev, "", 0);
}

static feel_value_t *substring_after(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "substring after(string, string)");
    const char *p = find(S(0), L(0), S(1), L(1));
    return p ? feel_str(ev, p + L(1), L(0) - (size_t)(p - S(0)) - L(1)) : feel_str(ev, "", 0);
}

/* ---- regular expressions ---- */
static pcre2_code *compile(feel_eval_t *ev, const feel_value_t *pat, const feel_value_t *flags)
{
    uint32_t opt = PCRE2_UTF;
    if (flags && flags->t == FEEL_STR) {
        for (size_t i = 0; i < flags->u.str.len; i++) {
            switch (flags->u.str.s[i]) {
            case 'i': opt |= PCRE2_CASELESS; break;
            case 's': opt |= PCRE2_DOTALL; break;
            case 'm': opt |= PCRE2_MULTILINE; break;
            case 'x': opt |= PCRE2_EXTENDED; break;
            case 'q': opt |= PCRE2_LITERAL; break;
            default: feel_err(ev, "unknown regex flag '%c'", flags->u.str.s[i]); return NULL;
            }
        }
    } else if (flags && flags->t != FEEL_NULL) {
        feel_err(ev, "regex flags must be a string");
        return NULL;
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat->u.str.s, pat->u.str.len, opt, &ec, &eo, NULL);
    if (!re)
        feel_err(ev, "invalid regular expression at offset %zu", (size_t)eo);
    return re;
}

static pcre2_match_context *mctx(feel_eval_t *ev)
{
    pcre2_match_context *m = pcre2_match_context_create(NULL);
    if (m) {
        pcre2_set_match_limit(m, feel_builtin_regex_limit(ev));
        pcre2_set_depth_limit(m, 10000);
    }
    return m;
}

static feel_value_t *matches(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "matches(string, string, string?)");
    pcre2_code *re = compile(ev, a[1], n > 2 ? a[2] : NULL);
    if (!re)
        return feel_null();
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *m = mctx(ev);
    int rc = pcre2_match(re, (PCRE2_SPTR)S(0), L(0), 0, 0, md, m);
    pcre2_match_context_free(m);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT)
        return feel_err(ev, "regular expression match limit reached");
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        return feel_err(ev, "regular expression failed (%d)", rc);
    return feel_bool(rc >= 0);
}

static feel_value_t *replace(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1) || !STR(2))
        return feel_err(ev, "replace(string, string, string, string?)");
    pcre2_code *re = compile(ev, a[1], n > 3 ? a[3] : NULL);
    if (!re)
        return feel_null();
    /* FEEL/XPath uses $1 for groups; PCRE2 extended substitution accepts it */
    PCRE2_SIZE outlen = L(0) * 2 + 256;
    feel_value_t *res = NULL;
    pcre2_match_context *m = mctx(ev);
    for (int tries = 0; tries < 6 && !res; tries++) {
        PCRE2_UCHAR *out = feel_alloc(ev, outlen + 1);
        if (!out)
            break;
        PCRE2_SIZE ol = outlen;
        int rc = pcre2_substitute(re, (PCRE2_SPTR)S(0), L(0), 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY, NULL, m,
                                  (PCRE2_SPTR)S(2), L(2), out, &ol);
        if (rc == PCRE2_ERROR_NOMEMORY && ol > outlen && ol < (64u << 20)) {
            outlen = ol;
            continue;
        }
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT)
            res = feel_err(ev, "regular expression match limit reached");
        else if (rc < 0)
            res = feel_err(ev, "replace failed (%d)", rc);
        else
            res = feel_str(ev, (const char *)out, ol);
    }
    pcre2_match_context_free(m);
    pcre2_code_free(re);
    return res ? res : feel_null();
}

/* Appends to a list that doubles in the arena; false when out of memory. */
static bool push_part(feel_eval_t *ev, feel_value_t ***parts, size_t *np, size_t *cap, feel_value_t *v)
{
    if (*np == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        feel_value_t **n = feel_alloc(ev, nc * sizeof(*n));
        if (!n)
            return false;
        if (*np)
            memcpy(n, *parts, *np * sizeof(*n));
        *parts = n;
        *cap = nc;
    }
    (*parts)[(*np)++] = v;
    return true;
}

static feel_value_t *split(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (!STR(0) || !STR(1))
        return feel_err(ev, "split(string, string)");
    pcre2_code *re = compile(ev, a[1], NULL);
    if (!re)
        return feel_null();
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *m = mctx(ev);
    feel_value_t **parts = NULL;
    size_t np = 0, cap = 0, pos = 0;
    feel_value_t *res = NULL;
    for (;;) {
        /* the subject's UTF-8 is checked once: checking it again at every match would
         * make a split into k parts cost k × the length */
        int rc = pcre2_match(re, (PCRE2_SPTR)S(0), L(0), pos, np ? PCRE2_NO_UTF_CHECK : 0, md, m);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            res = feel_err(ev, "split: regular expression failed");
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] == ov[0]) {   /* empty match: step over one character */
            if (ov[0] >= L(0))
                break;
        }
        if (!push_part(ev, &parts, &np, &cap, feel_str(ev, S(0) + pos, ov[0] - pos)) || !feel_charge(ev, 1)) {
            res = feel_null();
            break;
        }
        pos = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    if (!res) {
        bool ok = push_part(ev, &parts, &np, &cap, feel_str(ev, S(0) + pos, L(0) > pos ? L(0) - pos : 0));
        res = ok ? feel_list_from(ev, parts, np) : feel_null();
    }
    pcre2_match_context_free(m);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return res;
}

static feel_value_t *string_join(feel_eval_t *ev, feel_value_t **a, size_t n)
{
    if (a[0]->t != FEEL_LIST || (n > 1 && a[1]->t != FEEL_STR && a[1]->t != FEEL_NULL))
        return feel_err(ev, "string join(list, string?)");
    const char *sep = n > 1 && a[1]->t == FEEL_STR ? a[1]->u.str.s : "";
    size_t sl = n > 1 && a[1]->t == FEEL_STR ? a[1]->u.str.len : 0, tot = 0;
    for (size_t i = 0; i < a[0]->u.list.n; i++) {
        feel_value_t *x = a[0]->u.list.items[i];
        if (x->t == FEEL_STR)
            tot += x->u.str.len + sl;
        else if (x->t != FEEL_NULL)
            return feel_err(ev, "string join: items must be strings");
    }
    char *b = feel_alloc(ev, tot + 1);
    if (!b)
        return feel_null();
    size_t o = 0;
    bool first = true;
    for (size_t i = 0; i < a[0]->u.list.n; i++) {
        feel_value_t *x = a[0]->u.list.items[i];
        if (x->t != FEEL_STR)
            continue;
        if (!first) {
            memcpy(b + o, sep, sl);
            o += sl;
        }
        first = false;
        memcpy(b + o, x->u.str.s, x->u.str.len);
        o += x->u.str.len;
    }
    return feel_str(ev, b, o);
}

const feel_builtin_t feel_builtins_str[] = {
    { "substring", "string,start position,length?", substring },
    { "string length", "string", string_length },
    { "upper case", "string", upper_case },
    { "lower case", "string", lower_case },
    { "contains", "string,match", contains },
    { "starts with", "string,match", starts_with },
    { "ends with", "string,match", ends_with },
    { "substring before", "string,match", substring_before },
    { "substring after", "string,match", substring_after },
    { "matches", "input,pattern,flags?", matches },
    { "replace", "input,pattern,replacement,flags?", replace },
    { "split", "string,delimiter", split },
    { "string join", "list,delimiter?", string_join },
    { NULL, NULL, NULL },
};
