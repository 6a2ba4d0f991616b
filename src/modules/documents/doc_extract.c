/*
 * doc_extract.c — entities, key–value pairs and the document type in a document's text.
 * Built-in extractors are PCRE2 patterns compiled once at start, each followed by a
 * check in C where the pattern cannot judge alone (IBAN mod 97, calendar dates, a label
 * near a BIC or a national phone number). They run in priority order and a later match
 * overlapping an earlier one is dropped (a date inside a URL is part of the URL), with a
 * byte map of the text so the check stays linear. Custom patterns of a tenant run after
 * them under PCRE2 match, depth and heap limits: a pattern that backtracks
 * catastrophically stops at the limit and the extraction answers 422 naming it.
 * Positions are UTF-8 byte offsets into GET /documents/{id}/text.
 */
#define _GNU_SOURCE     /* memmem, pipe2, mkostemp */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "doc_int.h"

#include "../../fm_json_check.h"

#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MATCH_LIMIT 1000000     /* PCRE2 match() calls per attempt */
#define DEPTH_LIMIT 2000        /* backtracking depth */
#define HEAP_LIMIT_KIB 8192
#define MAX_ENTITIES 10000
#define MAX_PER_CUSTOM 1000
#define CONTEXT 40

/* ---- pure checks ---- */

bool doc_iban_valid(const char *s)
{
    char c[40];
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ' ')
            continue;
        if (n == 34 || !isalnum((unsigned char)*s))
            return false;
        c[n++] = (char)toupper((unsigned char)*s);
    }
    if (n < 15 || !isalpha((unsigned char)c[0]) || !isalpha((unsigned char)c[1]) || !isdigit((unsigned char)c[2]) ||
        !isdigit((unsigned char)c[3]))
        return false;
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char ch = c[(k + 4) % n];
        if (isdigit((unsigned char)ch))
            rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
    }
    return rem == 1;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool ymd_ok(int y, int m, int d)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && leap(y));
}

static int month_of(const char *s, size_t n)
{
    static const char *const names[] = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    };
    static const char *const german[] = { "januar", "februar", "märz", "april", "mai", "juni",
                                          "juli", "august", "september", "oktober", "november", "dezember" };
    char w[16];
    if (n < 3 || n > 12)
        return 0;
    for (size_t i = 0; i < n; i++)
        w[i] = (char)tolower((unsigned char)s[i]);
    w[n] = '\0';
    for (int i = 0; i < 12; i++)
        if (!strcmp(w, german[i]))
            return i + 1;
    if (!strcmp(w, "maerz"))
        return 3;
    for (int i = 0; i < 12; i++)
        if (!strncmp(w, names[i], 3))
            return i + 1;
    return 0;
}

bool doc_date_iso(const char *s, size_t n, char out[11])
{
    int y = 0, m = 0, d = 0;
    char buf[64];
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (isdigit((unsigned char)buf[0]) && n == 10 && buf[4] == '-') {
        if (sscanf(buf, "%4d-%2d-%2d", &y, &m, &d) != 3)
            return false;
    } else if (isdigit((unsigned char)buf[0]) && (strchr(buf, '.') || strchr(buf, '/')) &&
               strspn(buf, "0123456789./") == n) {
        int a, b;
        char sep = strchr(buf, '.') ? '.' : '/';
        char fmt[16];
        snprintf(fmt, sizeof(fmt), "%%d%c%%d%c%%d", sep, sep);
        if (sscanf(buf, fmt, &a, &b, &y) != 3)
            return false;
        /* Day first (Europe) unless the second number cannot be a month. */
        if (sep == '/' && b > 12 && a <= 12)
            m = a, d = b;
        else
            d = a, m = b;
    } else if (isdigit((unsigned char)buf[0])) {
        /* 15 March 2024, 15. März 2024, 15 Mar 2024 */
        char *p = buf;
        d = (int)strtol(p, &p, 10);
        while (*p == '.' || *p == ' ')
            p++;
        char *mw = p;
        while (*p && *p != ' ')
            p++;
        m = month_of(mw, (size_t)(p - mw));
        y = (int)strtol(p, NULL, 10);
    } else {
        /* March 15, 2024 / March 15th, 2024 */
        char *p = buf;
        while (*p && *p != ' ')
            p++;
        m = month_of(buf, (size_t)(p - buf));
        d = (int)strtol(p, &p, 10);
        while (*p && !isdigit((unsigned char)*p))
            p++;
        y = (int)strtol(p, NULL, 10);
    }
    if (!ymd_ok(y, m, d))
        return false;
    snprintf(out, 11, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
    return true;
}

bool doc_amount_value(const char *s, size_t n, double *v)
{
    /* The last '.' or ',' followed by one or two digits to the end is the decimal mark;
     * every other separator groups thousands. */
    char digits[64];
    size_t k = 0, last = (size_t)-1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ',')
            last = i;
    bool decimal = last != (size_t)-1 && (n - last - 1 == 1 || n - last - 1 == 2);
    for (size_t i = 0; i < n && k + 2 < sizeof(digits); i++) {
        if (isdigit((unsigned char)s[i]))
            digits[k++] = s[i];
        else if (i == last && decimal)
            digits[k++] = '.';
    }
    digits[k] = '\0';
    if (!k)
        return false;
    *v = strtod(digits, NULL);
    return true;
}

/* ---- built-in patterns ---- */

typedef enum {
    E_EMAIL, E_URL, E_IBAN, E_BIC, E_VAT, E_INVOICE, E_ORDER, E_DATE, E_AMOUNT, E_PHONE_E164, E_PHONE_NAT, E_KV,
    E_COUNT
} ekind_t;

static const struct {
    const char *type, *re;
    double conf;
} builtin[E_COUNT] = {
    [E_EMAIL] = { "email", "(?<![\\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}\\b", 0.95 },
    [E_URL] = { "url", "\\b(?:https?://|www\\.)[^\\s<>\"'|]+", 0.9 },
    [E_IBAN] = { "iban", "\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\\b", 0.99 },
    [E_BIC] = { "bic", "\\b[A-Z]{4}(?:AT|BE|CH|DE|DK|ES|FI|FR|GB|IE|IT|LU|NL|NO|PL|PT|SE|US|CA|AU|JP|CN|HK|SG)"
                       "[A-Z0-9]{2}(?:[A-Z0-9]{3})?\\b",
                0.9 },
    [E_VAT] = { "vat_id",
                "\\b(?:ATU[0-9]{8}|BE[01][0-9]{9}|DE[0-9]{9}|DK[0-9]{8}|ES[A-Z0-9][0-9]{7}[A-Z0-9]|FI[0-9]{8}|"
                "FR[A-HJ-NP-Z0-9]{2}[0-9]{9}|GB[0-9]{9}(?:[0-9]{3})?|IE[0-9]{7}[A-W][A-IW]?|IT[0-9]{11}|"
                "LU[0-9]{8}|NL[0-9]{9}B[0-9]{2}|PL[0-9]{10}|PT[0-9]{9}|SE[0-9]{12}|CHE-?[0-9]{3}\\.?[0-9]{3}\\.?[0-9]{3})\\b",
                0.9 },
    [E_INVOICE] = { "invoice_number",
                    "(?i:\\b(?:invoice|rechnung|inv\\.?|bill)\\s*(?:no\\.?|number|nr\\.?|num\\.?|#|id)?\\s*[:#]?\\s*)"
                    "((?=[A-Z0-9/-]*[0-9])[A-Z0-9][A-Z0-9/-]{2,30})\\b",
                    0.9 },
    [E_ORDER] = { "order_number",
                  "(?i:\\b(?:purchase\\s+order|order|bestellung|auftrag|po)\\s*(?:no\\.?|number|nr\\.?|num\\.?|#|id)?"
                  "\\s*[:#]?\\s*)((?=[A-Z0-9/-]*[0-9])[A-Z0-9][A-Z0-9/-]{2,30})\\b",
                  0.9 },
    [E_DATE] = { "date",
                 "\\b(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[./][0-9]{1,2}[./][0-9]{4}|"
                 "[0-9]{1,2}\\.? ?(?i:jan(?:uary|uar)?|feb(?:ruary|ruar)?|mar(?:ch)?|märz|maerz|apr(?:il)?|may|mai|"
                 "june?|juni|july?|juli|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|okt(?:ober)?|nov(?:ember)?|"
                 "dec(?:ember)?|dez(?:ember)?)\\.? [0-9]{4}|"
                 "(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
                 "oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.? [0-9]{1,2}(?:st|nd|rd|th)?,? [0-9]{4})\\b",
                 0.9 },
    [E_AMOUNT] = { "amount",
                   "(?:(EUR|USD|GBP|CHF|JPY|€|\\$|£|¥) ?([0-9]{1,3}(?:[.,' ][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?)"
                   "|([0-9]{1,3}(?:[.,' ][0-9]{3})+(?:[.,][0-9]{1,2})?|[0-9]+(?:[.,][0-9]{1,2})?) ?(EUR|USD|GBP|CHF|JPY|€|\\$|£|¥))"
                   "(?![A-Za-z0-9])",
                   0.9 },
    [E_PHONE_E164] = { "phone", "(?<![\\w+])\\+[1-9][0-9]{0,2}(?:[ ./-]?\\(0\\))?(?:[ ./-]?[0-9]{1,5}){2,6}(?![0-9])",
                       0.9 },
    [E_PHONE_NAT] = { "phone", "(?<![\\w+])(?:\\(0[0-9]{1,5}\\)|0[0-9]{1,5}|\\([0-9]{3}\\))(?:[ ./-]?[0-9]{2,8}){1,4}(?![0-9])",
                      0.8 },
    [E_KV] = { "kv", "(?m)^[ \\t]*([A-Za-z\\x{00C0}-\\x{024F}][A-Za-z0-9\\x{00C0}-\\x{024F} ./#()'&-]{0,40}?)[ \\t]*:(?!//)[ \\t]*"
                     "(\\S[^\\n]{0,200}?)[ \\t]*$",
               0.8 },
};

static pcre2_code *codes[E_COUNT];
static pcre2_match_context *mctx;

int doc_extract_init(void)
{
    for (int i = 0; i < E_COUNT; i++) {
        int e;
        PCRE2_SIZE off;
        codes[i] = pcre2_compile((PCRE2_SPTR)builtin[i].re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &e, &off,
                                 NULL);
        if (!codes[i]) {
            PCRE2_UCHAR msg[200];
            pcre2_get_error_message(e, msg, sizeof(msg));
            fprintf(stderr, "documents: built-in pattern %s: %s at %zu\n", builtin[i].type, (char *)msg, (size_t)off);
            return FM_EINVAL;
        }
    }
    mctx = pcre2_match_context_create(NULL);
    if (!mctx)
        return FM_ENOMEM;
    pcre2_set_match_limit(mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(mctx, HEAP_LIMIT_KIB);
    return FM_OK;
}

void doc_extract_free(void)
{
    for (int i = 0; i < E_COUNT; i++) {
        pcre2_code_free(codes[i]);
        codes[i] = NULL;
    }
    pcre2_match_context_free(mctx);
    mctx = NULL;
}

int doc_custom_compile(const char *pattern, void **code, char *why, size_t wl)
{
    int e;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &e, &off, NULL);
    if (!c) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(e, msg, sizeof(msg));
        snprintf(why, wl, "the pattern does not compile: %s at offset %zu", (char *)msg, (size_t)off);
        return FM_EINVAL;
    }
    *code = c;
    return FM_OK;
}

void doc_custom_free(void *code)
{
    pcre2_code_free(code);
}

/* ---- the run ---- */

typedef struct run {
    const char *t;
    size_t n;
    unsigned char *taken;
    cJSON *entities, *kvs;
    int count;
    pcre2_match_data *md;
} run_t;

static bool is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

static cJSON *context_of(const run_t *r, size_t s, size_t e)
{
    size_t a = s > CONTEXT ? s - CONTEXT : 0, b = e + CONTEXT < r->n ? e + CONTEXT : r->n;
    while (a > 0 && is_cont((unsigned char)r->t[a]))
        a--;
    while (b < r->n && is_cont((unsigned char)r->t[b]))
        b++;
    char buf[CONTEXT * 2 + 600];
    size_t k = 0;
    for (size_t i = a; i < b && k + 1 < sizeof(buf); i++)
        buf[k++] = (r->t[i] == '\n' || r->t[i] == '\r' || r->t[i] == '\t') ? ' ' : r->t[i];
    buf[k] = '\0';
    /* a cut at the buffer's end may split a sequence */
    k = fm_utf8_valid_prefix(buf, k);
    buf[k] = '\0';
    return cJSON_CreateString(buf);
}

static bool overlaps(const run_t *r, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        if (r->taken[i])
            return true;
    return false;
}

static cJSON *add_entity(run_t *r, const char *type, size_t s, size_t e, double conf)
{
    if (r->count >= MAX_ENTITIES || overlaps(r, s, e))
        return NULL;
    memset(r->taken + s, 1, e - s);
    r->count++;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    char *v = strndup(r->t + s, e - s);
    cJSON_AddStringToObject(o, "value", v ? v : "");
    free(v);
    cJSON_AddNumberToObject(o, "start", (double)s);
    cJSON_AddNumberToObject(o, "end", (double)e);
    cJSON_AddItemToObject(o, "context", context_of(r, s, e));
    cJSON_AddNumberToObject(o, "confidence", conf);
    cJSON_AddItemToArray(r->entities, o);
    return o;
}

/* Whether one of the labels (lower case) ends within `span` bytes before s. */
static bool label_before(const run_t *r, size_t s, size_t span, const char *const *labels)
{
    size_t a = s > span ? s - span : 0;
    char win[64];
    size_t k = 0;
    for (size_t i = a; i < s && k + 1 < sizeof(win); i++)
        win[k++] = (char)tolower((unsigned char)r->t[i]);
    win[k] = '\0';
    for (; *labels; labels++)
        if (strstr(win, *labels))
            return true;
    return false;
}

static void squeeze(const char *s, size_t n, char *out, size_t ol, const char *drop)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < ol; i++)
        if (!strchr(drop, s[i]))
            out[k++] = s[i];
    out[k] = '\0';
}

static const char *currency_of(const char *s, size_t n)
{
    static const struct {
        const char *sym, *iso;
    } m[] = { { "€", "EUR" }, { "$", "USD" }, { "£", "GBP" }, { "¥", "JPY" } };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (n == strlen(m[i].sym) && !memcmp(s, m[i].sym, n))
            return m[i].iso;
    return NULL;
}

/* One built-in extractor over the whole text. */
static int run_builtin(run_t *r, ekind_t k)
{
    static const char *const phone_labels[] = { "tel", "phone", "fon", "mobile", "mobil", "fax", "call", "handy", NULL };
    static const char *const bic_labels[] = { "bic", "swift", NULL };
    size_t at = 0;
    while (at < r->n) {
        int rc = pcre2_match(codes[k], (PCRE2_SPTR)r->t, r->n, at, 0, r->md, mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return FM_OK;   /* a limit on a built-in pattern: that extractor stops here */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t s = ov[0], e = ov[1];
        at = e > s ? e : e + 1;
        while (at < r->n && is_cont((unsigned char)r->t[at]))
            at++;
        const char *m = r->t + s;
        size_t ml = e - s;
        char norm[128];
        cJSON *o = NULL;
        switch (k) {
        case E_EMAIL:
            if ((o = add_entity(r, "email", s, e, builtin[k].conf))) {
                squeeze(m, ml, norm, sizeof(norm), "");
                for (char *p = norm; *p; p++)
                    *p = (char)tolower((unsigned char)*p);
                cJSON_AddStringToObject(o, "normalized", norm);
            }
            break;
        case E_URL:
            while (ml && strchr(".,;:!?)]}", m[ml - 1]))
                ml--, e--;
            if (ml > 4 && (o = add_entity(r, "url", s, e, builtin[k].conf))) {
                char *u = strndup(m, ml);
                if (u && !strncmp(u, "www.", 4)) {
                    char *w = malloc(ml + 9);
                    if (w)
                        sprintf(w, "https://%s", u);
                    free(u);
                    u = w;
                }
                cJSON_AddStringToObject(o, "normalized", u ? u : "");
                free(u);
            }
            break;
        case E_IBAN:
            squeeze(m, ml, norm, sizeof(norm), " ");
            if (doc_iban_valid(norm) && (o = add_entity(r, "iban", s, e, builtin[k].conf))) {
                cJSON_AddStringToObject(o, "normalized", norm);
                cJSON_AddBoolToObject(o, "checksumValid", true);
            }
            break;
        case E_BIC:
            if (label_before(r, s, 24, bic_labels) && (o = add_entity(r, "bic", s, e, builtin[k].conf))) {
                squeeze(m, ml, norm, sizeof(norm), "");
                cJSON_AddStringToObject(o, "normalized", norm);
            }
            break;
        case E_VAT:
            if ((o = add_entity(r, "vat_id", s, e, builtin[k].conf))) {
                squeeze(m, ml, norm, sizeof(norm), " .-");
                cJSON_AddStringToObject(o, "normalized", norm);
            }
            break;
        case E_INVOICE:
        case E_ORDER: {
            size_t gs = ov[2], ge = ov[3];
            if ((o = add_entity(r, builtin[k].type, gs, ge, builtin[k].conf))) {
                squeeze(r->t + gs, ge - gs, norm, sizeof(norm), "");
                cJSON_AddStringToObject(o, "normalized", norm);
            }
            break;
        }
        case E_DATE: {
            char iso[11];
            if (doc_date_iso(m, ml, iso)) {
                /* 03/04/2024 could be either order: a little less sure */
                double conf = builtin[k].conf;
                if (ml <= 10 && (strchr(m, '/') && memchr(m, '/', ml)) && atoi(m) <= 12)
                    conf = 0.7;
                if ((o = add_entity(r, "date", s, e, conf)))
                    cJSON_AddStringToObject(o, "normalized", iso);
            }
            break;
        }
        case E_AMOUNT: {
            bool pre = ov[2] != PCRE2_UNSET;
            size_t cs = pre ? ov[2] : ov[8], ce = pre ? ov[3] : ov[9];
            size_t ns = pre ? ov[4] : ov[6], ne = pre ? ov[5] : ov[7];
            double v;
            if (doc_amount_value(r->t + ns, ne - ns, &v) && (o = add_entity(r, "amount", s, e, builtin[k].conf))) {
                const char *iso = currency_of(r->t + cs, ce - cs);
                char cur[8];
                snprintf(cur, sizeof(cur), "%.*s", (int)(ce - cs < 7 ? ce - cs : 7), r->t + cs);
                snprintf(norm, sizeof(norm), "%.2f %s", v, iso ? iso : cur);
                cJSON_AddStringToObject(o, "normalized", norm);
                cJSON_AddNumberToObject(o, "amount", round(v * 100) / 100);
                cJSON_AddStringToObject(o, "currency", iso ? iso : cur);
            }
            break;
        }
        case E_PHONE_E164: {
            char d[40];
            squeeze(m, ml, d, sizeof(d), " ./-()");
            /* "+49 (0)30 …": the trunk 0 in brackets is not dialled from abroad */
            const char *z = strstr(m, "(0)");
            if (z && z < m + ml) {
                char w[40];
                size_t pre = 0;
                for (const char *p = m; p < z; p++)
                    if (isdigit((unsigned char)*p) || *p == '+')
                        pre++;
                snprintf(w, sizeof(w), "%.*s%s", (int)pre, d, d + pre + 1);
                snprintf(d, sizeof(d), "%s", w);
            }
            size_t nd = strlen(d) - 1;
            if (nd >= 8 && nd <= 15 && (o = add_entity(r, "phone", s, e, builtin[k].conf))) {
                cJSON_AddStringToObject(o, "normalized", d);
                cJSON_AddStringToObject(o, "format", "e164");
            }
            break;
        }
        case E_PHONE_NAT: {
            char d[40];
            squeeze(m, ml, d, sizeof(d), " ./-()");
            size_t nd = strlen(d);
            if (nd >= 7 && nd <= 15 && label_before(r, s, 24, phone_labels) &&
                (o = add_entity(r, "phone", s, e, builtin[k].conf))) {
                cJSON_AddStringToObject(o, "normalized", d);
                cJSON_AddStringToObject(o, "format", "national");
            }
            break;
        }
        case E_KV: {
            size_t ks = ov[2], ke = ov[3], vs = ov[4], ve = ov[5];
            if (cJSON_GetArraySize(r->kvs) >= MAX_ENTITIES)
                break;
            cJSON *kv = cJSON_CreateObject();
            char *key = strndup(r->t + ks, ke - ks), *val = strndup(r->t + vs, ve - vs);
            cJSON_AddStringToObject(kv, "key", key ? key : "");
            cJSON_AddStringToObject(kv, "value", val ? val : "");
            free(key);
            free(val);
            cJSON_AddNumberToObject(kv, "start", (double)s);
            cJSON_AddNumberToObject(kv, "end", (double)e);
            cJSON_AddNumberToObject(kv, "valueStart", (double)vs);
            cJSON_AddItemToObject(kv, "context", context_of(r, s, e));
            cJSON_AddNumberToObject(kv, "confidence", builtin[k].conf);
            cJSON_AddItemToArray(r->kvs, kv);
            break;
        }
        default:
            break;
        }
    }
    return FM_OK;
}

static const char *limit_name(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT ? "match limit"
           : rc == PCRE2_ERROR_DEPTHLIMIT ? "depth limit"
           : rc == PCRE2_ERROR_HEAPLIMIT  ? "heap limit"
                                          : NULL;
}

static int run_custom(run_t *r, const doc_custom_t *c, char *why, size_t wl)
{
    size_t at = 0;
    int found = 0;
    while (at < r->n && found < MAX_PER_CUSTOM) {
        int rc = pcre2_match(c->code, (PCRE2_SPTR)r->t, r->n, at, 0, r->md, mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            const char *ln = limit_name(rc);
            if (ln) {
                snprintf(why, wl,
                         "custom pattern '%s' hit the PCRE2 %s at byte %zu of the text (catastrophic backtracking?); "
                         "simplify it (no nested quantifiers like (a+)+)",
                         c->name, ln, at);
                return FM_ETOOBIG;
            }
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        size_t s = ov[0], e = ov[1];
        /* the first capture group, when the pattern has one, is the value */
        if (rc > 1 && ov[2] != PCRE2_UNSET)
            s = ov[2], e = ov[3];
        at = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
        while (at < r->n && is_cont((unsigned char)r->t[at]))
            at++;
        if (e <= s)
            continue;
        cJSON *o = add_entity(r, c->name, s, e, c->confidence);
        if (o) {
            cJSON_AddBoolToObject(o, "custom", true);
            found++;
        }
    }
    return FM_OK;
}

/* ---- classification ---- */

void doc_types_free(doc_type_t *t, int n)
{
    for (int i = 0; t && i < n; i++) {
        for (int k = 0; k < t[i].nrules; k++)
            pcre2_code_free(t[i].rules[k].code);
        free(t[i].rules);
    }
    free(t);
}

int doc_types_builtin(doc_type_t **out, int *n)
{
    static const struct {
        const char *name;
        double threshold;
        const char *rules[12][2];   /* "k:keyword" or "p:pattern", weight */
    } defs[] = {
        { "invoice", 0.35, { { "k:invoice", "3" }, { "k:rechnung", "3" }, { "k:amount due", "2" }, { "k:total", "1" },
                             { "k:vat", "1" }, { "k:due date", "1" }, { "k:iban", "1" }, { "k:payment", "1" } } },
        { "contract", 0.35, { { "k:agreement", "3" }, { "k:contract", "3" }, { "k:vertrag", "3" },
                              { "k:parties", "2" }, { "k:hereinafter", "2" }, { "k:governing law", "2" },
                              { "k:terminat", "1" }, { "k:signature", "1" } } },
        { "email", 0.5, { { "p:(?mi)^from:\\s", "3" }, { "p:(?mi)^to:\\s", "2" }, { "p:(?mi)^subject:\\s", "3" },
                          { "k:dear", "1" }, { "k:regards", "1" } } },
        { "order", 0.35, { { "k:purchase order", "3" }, { "k:bestellung", "3" }, { "k:order confirmation", "2" },
                           { "k:quantity", "1" }, { "k:delivery", "1" }, { "k:ship to", "1" } } },
    };
    int nd = (int)(sizeof(defs) / sizeof(defs[0]));
    doc_type_t *t = calloc((size_t)nd, sizeof(*t));
    if (!t)
        return FM_ENOMEM;
    for (int i = 0; i < nd; i++) {
        snprintf(t[i].name, sizeof(t[i].name), "%s", defs[i].name);
        t[i].threshold = defs[i].threshold;
        t[i].rules = calloc(12, sizeof(doc_rule_t));
        if (!t[i].rules) {
            doc_types_free(t, i);
            return FM_ENOMEM;
        }
        for (int k = 0; k < 12 && defs[i].rules[k][0]; k++) {
            doc_rule_t *x = &t[i].rules[t[i].nrules];
            const char *spec = defs[i].rules[k][0];
            x->weight = atof(defs[i].rules[k][1]);
            char why[8];
            if (spec[0] == 'k')
                snprintf(x->keyword, sizeof(x->keyword), "%s", spec + 2);
            else if (doc_custom_compile(spec + 2, &x->code, why, sizeof(why)) != FM_OK)
                continue;
            t[i].nrules++;
        }
    }
    *out = t;
    *n = nd;
    return FM_OK;
}

static cJSON *classify(run_t *r, const char *lower, const doc_type_t *types, int ntypes)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *scores = cJSON_CreateObject();
    const char *best = NULL;
    double best_score = 0;
    for (int i = 0; i < ntypes; i++) {
        double sum = 0, hit = 0;
        for (int k = 0; k < types[i].nrules; k++) {
            const doc_rule_t *x = &types[i].rules[k];
            sum += x->weight;
            bool m;
            if (x->code)
                m = pcre2_match(x->code, (PCRE2_SPTR)r->t, r->n, 0, 0, r->md, mctx) >= 0;
            else
                m = *x->keyword && memmem(lower, r->n, x->keyword, strlen(x->keyword)) != NULL;
            if (m)
                hit += x->weight;
        }
        double s = sum > 0 ? round(hit / sum * 1000) / 1000 : 0;
        cJSON_AddNumberToObject(scores, types[i].name, s);
        if (s >= types[i].threshold && s > best_score) {
            best = types[i].name;
            best_score = s;
        }
    }
    if (best)
        cJSON_AddStringToObject(c, "type", best);
    else
        cJSON_AddNullToObject(c, "type");
    cJSON_AddNumberToObject(c, "score", best_score);
    cJSON_AddItemToObject(c, "scores", scores);
    return c;
}

int doc_extract_run(const char *text, size_t len, const doc_custom_t *custom, int ncustom, const doc_type_t *types,
                    int ntypes, cJSON **out, char *why, size_t wl)
{
    run_t r = { text, len, calloc(len + 1, 1), cJSON_CreateArray(), cJSON_CreateArray(), 0,
                pcre2_match_data_create(32, NULL) };
    char *lower = malloc(len + 1);
    int rc = FM_OK;
    if (!r.taken || !r.md || !lower) {
        rc = FM_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)text[i]);
    lower[len] = '\0';
    for (int k = 0; k < E_KV; k++)
        run_builtin(&r, (ekind_t)k);
    for (int i = 0; i < ncustom && rc == FM_OK; i++)
        rc = run_custom(&r, &custom[i], why, wl);
    if (rc != FM_OK)
        goto cleanup;
    run_builtin(&r, E_KV);
    cJSON *o = cJSON_CreateObject();
    cJSON *cls = classify(&r, lower, types, ntypes);
    cJSON *stats = cJSON_CreateObject();
    cJSON_AddNumberToObject(stats, "entities", cJSON_GetArraySize(r.entities));
    cJSON_AddNumberToObject(stats, "keyValues", cJSON_GetArraySize(r.kvs));
    cJSON_AddNumberToObject(stats, "textBytes", (double)len);
    cJSON_AddItemToObject(o, "entities", r.entities);
    cJSON_AddItemToObject(o, "keyValues", r.kvs);
    cJSON_AddItemToObject(o, "classification", cls);
    cJSON_AddItemToObject(o, "stats", stats);
    r.entities = r.kvs = NULL;
    *out = o;
cleanup:
    cJSON_Delete(r.entities);
    cJSON_Delete(r.kvs);
    free(r.taken);
    free(lower);
    pcre2_match_data_free(r.md);
    return rc;
}
