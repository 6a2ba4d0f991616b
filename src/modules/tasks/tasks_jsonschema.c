/*
 * tasks_jsonschema.c — validates task responses against their form, a JSON Schema of
 * the subset in tasks_jsonschema.h. Patterns are compiled per validation (forms are
 * small and responses rare) and matched with a match and depth limit, so a
 * catastrophic pattern fails that one check instead of pinning a worker thread.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tasks_jsonschema.h"

#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32
#define PTR_MAX 512
#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 1000

static const char *const type_names[] = { "object", "array", "string", "number", "integer",
                                          "boolean", "null", NULL };

static bool known_type(const char *t)
{
    for (int i = 0; type_names[i]; i++)
        if (!strcmp(type_names[i], t))
            return true;
    return false;
}

/* The formats we assert (JSON Schema 2020-12 treats format as an annotation; this
 * subset checks these three; others are ignored), as anchored PCRE2 patterns. */
static const char *format_pattern(const char *f)
{
    if (!strcmp(f, "date-time"))
        return "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";
    if (!strcmp(f, "email"))
        return "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$";
    if (!strcmp(f, "uri"))
        return "^[A-Za-z][A-Za-z0-9+.-]*:[^\\s]*$";
    return NULL;
}

/* ---- checking a schema ---- */

static int bad(char *why, size_t len, const char *ptr, const char *what)
{
    snprintf(why, len, "%s: %s", *ptr ? ptr : "/", what);
    return -1;
}

static pcre2_code *compile(const char *pat)
{
    int ec;
    PCRE2_SIZE eo;
    return pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo, NULL);
}

static bool nonneg_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == floor(v->valuedouble);
}

static int check(const cJSON *s, const char *ptr, int depth, char *why, size_t len)
{
    char sub[PTR_MAX];
    if (depth > MAX_DEPTH)
        return bad(why, len, ptr, "nested too deeply");
    if (cJSON_IsBool(s))
        return 0;   /* true / false schemas */
    if (!cJSON_IsObject(s))
        return bad(why, len, ptr, "a schema must be an object");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (t) {
        if (cJSON_IsString(t)) {
            if (!known_type(t->valuestring))
                return bad(why, len, ptr, "unknown type");
        } else if (cJSON_IsArray(t) && cJSON_GetArraySize(t) > 0) {
            const cJSON *x;
            cJSON_ArrayForEach(x, t)
                if (!cJSON_IsString(x) || !known_type(x->valuestring))
                    return bad(why, len, ptr, "type must name known types");
        } else {
            return bad(why, len, ptr, "type must be a string or an array of strings");
        }
    }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(s, "properties");
    if (p) {
        if (!cJSON_IsObject(p))
            return bad(why, len, ptr, "properties must be an object");
        const cJSON *x;
        cJSON_ArrayForEach(x, p) {
            snprintf(sub, sizeof(sub), "%s/properties/%s", ptr, x->string);
            if (check(x, sub, depth + 1, why, len))
                return -1;
        }
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    if (req) {
        const cJSON *x;
        if (!cJSON_IsArray(req))
            return bad(why, len, ptr, "required must be an array of strings");
        cJSON_ArrayForEach(x, req)
            if (!cJSON_IsString(x))
                return bad(why, len, ptr, "required must be an array of strings");
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (e && (!cJSON_IsArray(e) || cJSON_GetArraySize(e) == 0))
        return bad(why, len, ptr, "enum must be a non-empty array");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
    if (fmt && !cJSON_IsString(fmt))
        return bad(why, len, ptr, "format must be a string");
    static const char *const nums[] = { "minimum", "maximum" };
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, nums[i]);
        if (v && !cJSON_IsNumber(v)) {
            char w[48];
            snprintf(w, sizeof(w), "%s must be a number", nums[i]);
            return bad(why, len, ptr, w);
        }
    }
    static const char *const lens[] = { "minLength", "maxLength" };
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, lens[i]);
        if (v && !nonneg_int(v)) {
            char w[64];
            snprintf(w, sizeof(w), "%s must be a non-negative integer", lens[i]);
            return bad(why, len, ptr, w);
        }
    }
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
    if (pat) {
        if (!cJSON_IsString(pat))
            return bad(why, len, ptr, "pattern must be a string");
        pcre2_code *re = compile(pat->valuestring);
        if (!re)
            return bad(why, len, ptr, "pattern is not a valid regular expression");
        pcre2_code_free(re);
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    if (items) {
        snprintf(sub, sizeof(sub), "%s/items", ptr);
        if (check(items, sub, depth + 1, why, len))
            return -1;
    }
    const cJSON *ap = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    if (ap && !cJSON_IsBool(ap) && !cJSON_IsObject(ap))
        return bad(why, len, ptr, "additionalProperties must be a boolean or a schema");
    if (cJSON_IsObject(ap)) {
        snprintf(sub, sizeof(sub), "%s/additionalProperties", ptr);
        if (check(ap, sub, depth + 1, why, len))
            return -1;
    }
    return 0;
}

int tasks_schema_check(const cJSON *schema, char *why, size_t whylen)
{
    return check(schema, "", 0, why, whylen);
}

/* ---- validating a document ---- */

typedef struct vctx {
    cJSON *errors;
    int n;
} vctx_t;

void tasks_schema_violation(cJSON *errors, int *n, const char *ptr, const char *fmt, va_list ap)
{
    if ((*n)++ >= TASKS_SCHEMA_MAX_ERRORS)
        return;
    char detail[300];
    vsnprintf(detail, sizeof(detail), fmt, ap);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "pointer", *ptr ? ptr : "/");
    cJSON_AddStringToObject(e, "detail", detail);
    cJSON_AddItemToArray(errors, e);
}

static void violation(vctx_t *c, const char *ptr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void violation(vctx_t *c, const char *ptr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tasks_schema_violation(c->errors, &c->n, ptr, fmt, ap);
    va_end(ap);
}

/* ptr + "/" + token escaped per RFC 6901 (~ → ~0, / → ~1). */
static void ptr_join(char out[PTR_MAX], const char *ptr, const char *token)
{
    size_t n = (size_t)snprintf(out, PTR_MAX, "%s/", ptr);
    for (const char *t = token; *t && n + 3 < PTR_MAX; t++) {
        if (*t == '~' || *t == '/') {
            out[n++] = '~';
            out[n++] = *t == '~' ? '0' : '1';
        } else {
            out[n++] = *t;
        }
    }
    out[n < PTR_MAX ? n : PTR_MAX - 1] = '\0';
}

static bool is_type(const cJSON *v, const char *t)
{
    if (!strcmp(t, "object")) return cJSON_IsObject(v);
    if (!strcmp(t, "array")) return cJSON_IsArray(v);
    if (!strcmp(t, "string")) return cJSON_IsString(v);
    if (!strcmp(t, "number")) return cJSON_IsNumber(v);
    if (!strcmp(t, "integer")) return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    if (!strcmp(t, "boolean")) return cJSON_IsBool(v);
    if (!strcmp(t, "null")) return cJSON_IsNull(v);
    return false;
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int tasks_schema_match(const char *pat, const char *s)
{
    pcre2_code *re = compile(pat);
    if (!re)
        return -1;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int rc = PCRE2_ERROR_NOMEMORY;
    if (md && mc) {
        pcre2_set_match_limit(mc, MATCH_LIMIT);
        pcre2_set_depth_limit(mc, DEPTH_LIMIT);
        rc = pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md, mc);
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static bool pattern_match(vctx_t *c, const char *ptr, const char *pat, const char *s)
{
    int rc = tasks_schema_match(pat, s);
    if (rc < 0)
        violation(c, ptr, "could not be matched against the pattern (match limit)");
    return rc != 0;    /* a failure is reported already */
}

static void validate(vctx_t *c, const cJSON *s, const cJSON *v, const char *ptr, int depth)
{
    char sub[PTR_MAX];
    if (depth > MAX_DEPTH)
        return;
    if (cJSON_IsBool(s)) {
        if (cJSON_IsFalse(s))
            violation(c, ptr, "is not allowed");
        return;
    }
    if (!cJSON_IsObject(s))
        return;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (cJSON_IsString(t) && !is_type(v, t->valuestring)) {
        violation(c, ptr, "must be of type %s", t->valuestring);
        return;     /* the other keywords would only repeat it */
    }
    if (cJSON_IsArray(t)) {
        bool ok = false;
        const cJSON *x;
        cJSON_ArrayForEach(x, t)
            ok |= cJSON_IsString(x) && is_type(v, x->valuestring);
        if (!ok) {
            violation(c, ptr, "has the wrong type");
            return;
        }
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (cJSON_IsArray(e)) {
        bool ok = false;
        const cJSON *x;
        cJSON_ArrayForEach(x, e)
            ok |= cJSON_Compare(x, v, true);
        if (!ok)
            violation(c, ptr, "must be one of the allowed values");
    }
    const cJSON *cst = cJSON_GetObjectItemCaseSensitive(s, "const");
    if (cst && !cJSON_Compare(cst, v, true))
        violation(c, ptr, "must be the constant value");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(s, "format");
    const char *fpat = cJSON_IsString(fmt) && cJSON_IsString(v) ? format_pattern(fmt->valuestring) : NULL;
    if (fpat && tasks_schema_match(fpat, v->valuestring) != 1)
        violation(c, ptr, "must be a valid %s", fmt->valuestring);
    if (cJSON_IsNumber(v)) {
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minimum");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maximum");
        if (cJSON_IsNumber(mn) && v->valuedouble < mn->valuedouble)
            violation(c, ptr, "must be at least %g", mn->valuedouble);
        if (cJSON_IsNumber(mx) && v->valuedouble > mx->valuedouble)
            violation(c, ptr, "must be at most %g", mx->valuedouble);
    }
    if (cJSON_IsString(v)) {
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minLength");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
        double n = (double)utf8_len(v->valuestring);
        if (cJSON_IsNumber(mn) && n < mn->valuedouble)
            violation(c, ptr, "must be at least %g characters long", mn->valuedouble);
        if (cJSON_IsNumber(mx) && n > mx->valuedouble)
            violation(c, ptr, "must be at most %g characters long", mx->valuedouble);
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
        if (cJSON_IsString(pat) && !pattern_match(c, ptr, pat->valuestring, v->valuestring))
            violation(c, ptr, "must match the pattern %.160s", pat->valuestring);
    }
    if (cJSON_IsArray(v)) {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
        if (items) {
            int i = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, v) {
                char idx[16];
                snprintf(idx, sizeof(idx), "%d", i++);
                ptr_join(sub, ptr, idx);
                validate(c, items, x, sub, depth + 1);
            }
        }
    }
    if (cJSON_IsObject(v)) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
        const cJSON *ap = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
        const cJSON *x;
        if (cJSON_IsArray(req))
            cJSON_ArrayForEach(x, req)
                if (cJSON_IsString(x) && !cJSON_GetObjectItemCaseSensitive(v, x->valuestring)) {
                    ptr_join(sub, ptr, x->valuestring);
                    violation(c, sub, "is required");
                }
        cJSON_ArrayForEach(x, v) {
            const cJSON *ps = cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, x->string) : NULL;
            ptr_join(sub, ptr, x->string);
            if (ps)
                validate(c, ps, x, sub, depth + 1);
            else if (cJSON_IsFalse(ap))
                violation(c, sub, "is not an allowed property");
            else if (cJSON_IsObject(ap))
                validate(c, ap, x, sub, depth + 1);
        }
    }
}

int tasks_schema_validate(const cJSON *schema, const cJSON *doc, const char *base, cJSON *errors)
{
    vctx_t c = { errors, 0 };
    validate(&c, schema, doc, base ? base : "", 0);
    return c.n;
}
