/*
 * tasks_formjs.c — validates task responses against a Camunda Forms (form-js) schema,
 * with the rules and the messages of form-js's own Validator, so a response the
 * browser form would refuse is refused here too (docs/tasks.md, "Forms"). Field keys
 * are paths ("address.city" is response.address.city); groups with a `path` and
 * dynamic lists (`path` holding a list of objects) nest them. Components without a
 * value (text, html, spacer, separator, image, button, iframe, table, expression...)
 * are skipped. Recursion follows the schema, which tasks_formjs_check bounds.
 */
#include "tasks_formjs.h"

#include "tasks_jsonschema.h"

#include "../../dmn/dmn.h"
#include "../../feel/feel.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTR_MAX 512

/* form-js's email pattern; phone numbers: + or 00 and 7 to 17 digits (form-js checks
 * the country code against a list; this is the shape only) */
#define EMAIL_RE "^(([^<>()[\\]\\\\.,;:\\s@\"]+(\\.[^<>()[\\]\\\\.,;:\\s@\"]+)*)|(\".+\"))@" \
                 "((\\[[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}])|(([a-zA-Z\\-0-9]+\\.)+[a-zA-Z]{2,}))$"
#define PHONE_RE "^(\\+|00)[1-9][0-9]{6,16}$"

/* Components that hold a value under their key. */
static const char *const input_types[] = {
    "textfield", "textarea", "number", "datetime", "checkbox", "checklist", "radio", "select",
    "taglist", "filepicker", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

static const char *sval(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

bool tasks_formjs_is(const cJSON *form)
{
    return cJSON_IsObject(form) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(form, "components"));
}

/* A validation bound (min, max, minLength, maxLength): a number, or a numeric string
 * as the form-js editor writes it ("1"); an empty string or null is no bound.
 * 1 and *out set: a bound; 0: none; -1: not a number. */
static int bound(const cJSON *x, double *out)
{
    if (!x || cJSON_IsNull(x))
        return 0;
    if (cJSON_IsNumber(x))
        return *out = x->valuedouble, 1;
    if (!cJSON_IsString(x))
        return -1;
    const char *s = x->valuestring;
    while (*s == ' ')
        s++;
    if (!*s)
        return 0;
    if (strlen(s) > 32)
        return -1;
    char *end = NULL;
    double d = strtod(s, &end);
    while (end && *end == ' ')
        end++;
    if (end == s || (end && *end) || !isfinite(d))
        return -1;
    return *out = d, 1;
}

/* ---- checking a schema ---- */

static int bad(char *why, size_t len, const char *ptr, const char *what)
{
    snprintf(why, len, "%s: %s", ptr, what);
    return -1;
}

/* A FEEL condition as form-js writes it ("=amount > 100"); NULL when none. */
static const char *feel_text(const cJSON *c)
{
    const char *h = sval(cJSON_GetObjectItemCaseSensitive(c, "conditional"), "hide");
    while (h && (*h == ' ' || *h == '\n'))
        h++;
    return h && *h == '=' ? h + 1 : NULL;
}

static int check_rules(const cJSON *c, const char *ptr, char *why, size_t len)
{
    char sub[PTR_MAX + 32];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "validate");
    if (v && !cJSON_IsObject(v))
        return snprintf(sub, sizeof(sub), "%s/validate", ptr), bad(why, len, sub, "must be an object");
    static const char *const nums[] = { "min", "max", NULL }, *const lens[] = { "minLength", "maxLength", NULL };
    for (int i = 0; nums[i]; i++) {
        double d;
        snprintf(sub, sizeof(sub), "%s/validate/%s", ptr, nums[i]);
        if (bound(cJSON_GetObjectItemCaseSensitive(v, nums[i]), &d) < 0)
            return bad(why, len, sub, "must be a number");
    }
    for (int i = 0; lens[i]; i++) {
        double d = 0;
        snprintf(sub, sizeof(sub), "%s/validate/%s", ptr, lens[i]);
        int b = bound(cJSON_GetObjectItemCaseSensitive(v, lens[i]), &d);
        if (b < 0 || (b > 0 && (d < 0 || d != floor(d))))
            return bad(why, len, sub, "must be a non-negative integer");
    }
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(v, "pattern");
    snprintf(sub, sizeof(sub), "%s/validate/pattern", ptr);
    if (pat && !cJSON_IsString(pat))
        return bad(why, len, sub, "must be a string");
    if (pat && tasks_schema_match(pat->valuestring, "") < 0)
        return bad(why, len, sub, "is not a valid regular expression");
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(c, "values");
    if (vals) {
        snprintf(sub, sizeof(sub), "%s/values", ptr);
        if (!cJSON_IsArray(vals))
            return bad(why, len, sub, "must be an array of {label, value}");
        const cJSON *o;
        cJSON_ArrayForEach(o, vals)
            if (!cJSON_IsObject(o) || !cJSON_GetObjectItemCaseSensitive(o, "value"))
                return bad(why, len, sub, "must be an array of {label, value}");
    }
    const cJSON *vk = cJSON_GetObjectItemCaseSensitive(c, "valuesKey");
    if (vk && !cJSON_IsString(vk))
        return snprintf(sub, sizeof(sub), "%s/valuesKey", ptr), bad(why, len, sub, "must be a string");
    const char *cond = feel_text(c);
    if (cond) {
        feel_perr_t perr;
        memset(&perr, 0, sizeof(perr));
        feel_expr_t *e = feel_parse(cond, FEEL_EXPR, NULL, &perr);
        if (!e) {
            char w[240];
            snprintf(w, sizeof(w), "is not valid FEEL: %s (column %d)", perr.msg, perr.col);
            snprintf(sub, sizeof(sub), "%s/conditional/hide", ptr);
            return bad(why, len, sub, w);
        }
        feel_expr_free(e);
    }
    return 0;
}

static int check_comps(const cJSON *comps, const char *ptr, int depth, int *count, char *why, size_t len)
{
    char sub[PTR_MAX];
    snprintf(sub, sizeof(sub), "%s/components", ptr);
    if (!cJSON_IsArray(comps))
        return bad(why, len, sub, "must be an array");
    if (depth > TASKS_FORMJS_MAX_DEPTH)
        return bad(why, len, sub, "nested too deeply");
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, comps) {
        snprintf(sub, sizeof(sub), "%s/components/%d", ptr, i++);
        if (++*count > TASKS_FORMJS_MAX_COMPONENTS)
            return bad(why, len, sub, "too many components");
        if (!cJSON_IsObject(c) || !sval(c, "type"))
            return bad(why, len, sub, "a component is an object with a type");
        const char *type = sval(c, "type");
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(c, "key");
        if (in_list(input_types, type) && (!cJSON_IsString(key) || !*key->valuestring)) {
            char k[PTR_MAX + 8];
            snprintf(k, sizeof(k), "%s/key", sub);
            return bad(why, len, k, "is required for an input component");
        }
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(c, "path");
        if (path && !cJSON_IsString(path)) {
            char k[PTR_MAX + 8];
            snprintf(k, sizeof(k), "%s/path", sub);
            return bad(why, len, k, "must be a string");
        }
        if (!strcmp(type, "dynamiclist") && (!cJSON_IsString(path) || !*path->valuestring)) {
            char k[PTR_MAX + 8];
            snprintf(k, sizeof(k), "%s/path", sub);
            return bad(why, len, k, "is required for a dynamic list");
        }
        if (check_rules(c, sub, why, len))
            return -1;
        if ((!strcmp(type, "group") || !strcmp(type, "dynamiclist")) &&
            check_comps(cJSON_GetObjectItemCaseSensitive(c, "components"), sub, depth + 1, count, why, len))
            return -1;
    }
    return 0;
}

int tasks_formjs_check(const cJSON *form, char *why, size_t whylen)
{
    int count = 0;
    if (!cJSON_IsObject(form))
        return bad(why, whylen, "/", "a form-js schema must be an object");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(form, "type");
    if (t && (!cJSON_IsString(t) || strcmp(t->valuestring, "default")))
        return bad(why, whylen, "/type", "a form-js schema has type \"default\"");
    return check_comps(cJSON_GetObjectItemCaseSensitive(form, "components"), "", 0, &count, why, whylen);
}

/* ---- validating a response ---- */

/* The FEEL context of conditions is one key/value array: the dynamic-list item's
 * members first, then the response's, then the variables' (the first match wins, so
 * the nearer one hides the farther). The response and variables are converted once;
 * each condition only puts the item in front, so checking costs the input's size times
 * at most TASKS_FORMJS_MAX_CONDITIONS evaluations. */
typedef struct fctx {
    cJSON *errors;
    int n;
    const cJSON *vars, *resp;
    feel_eval_t *ev;            /* made at the first condition */
    const char **keys;
    feel_value_t **vals;
    size_t nbase, cap;          /* base entries sit at [cap - nbase, cap) */
    int conditions;
    bool too_many;
} fctx_t;

static void violation(fctx_t *c, const char *ptr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void violation(fctx_t *c, const char *ptr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tasks_schema_violation(c->errors, &c->n, ptr, fmt, ap);
    va_end(ap);
}

/* Follows a dotted key path from scope; out gets ptr + its JSON Pointer tokens (RFC
 * 6901 escapes). NULL when any step is absent. */
static const cJSON *at_path(const cJSON *scope, const char *path, const char *ptr, char out[PTR_MAX])
{
    size_t n = (size_t)snprintf(out, PTR_MAX, "%s", ptr);
    const cJSON *cur = scope;
    char tok[256];
    for (const char *p = path; n < PTR_MAX; ) {
        size_t l = strcspn(p, ".");
        snprintf(tok, sizeof(tok), "%.*s", (int)(l < sizeof(tok) ? l : sizeof(tok) - 1), p);
        if (n + 1 < PTR_MAX)
            out[n++] = '/';
        for (const char *t = tok; *t && n + 3 < PTR_MAX; t++) {
            if (*t == '~' || *t == '/') {
                out[n++] = '~';
                out[n++] = *t == '~' ? '0' : '1';
            } else {
                out[n++] = *t;
            }
        }
        out[n < PTR_MAX ? n : PTR_MAX - 1] = '\0';
        cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, tok) : NULL;
        if (!p[l])
            break;
        p += l + 1;
    }
    return cur;
}

static size_t members(const cJSON *o)
{
    return cJSON_IsObject(o) ? (size_t)cJSON_GetArraySize(o) : 0;
}

/* Room for `front` item entries before the base ones; false on no memory. */
static bool ctx_room(fctx_t *c, size_t front)
{
    if (!c->ev) {
        c->ev = feel_eval_new(NULL);
        if (!c->ev)
            return false;
        size_t nb = members(c->resp) + members(c->vars);
        c->cap = nb + 16;
        c->keys = malloc(c->cap * sizeof(*c->keys));
        c->vals = malloc(c->cap * sizeof(*c->vals));
        if (!c->keys || !c->vals)
            return false;
        const cJSON *layers[2] = { c->resp, c->vars }, *x;
        size_t i = c->cap - nb;
        for (int l = 0; l < 2; l++)
            if (cJSON_IsObject(layers[l]))
                cJSON_ArrayForEach(x, layers[l]) {
                    feel_value_t *fv = dmn_from_json(c->ev, x, FEEL_NULL);
                    c->keys[i] = x->string ? x->string : "";
                    c->vals[i++] = fv ? fv : feel_null();
                }
        c->nbase = nb;
    }
    if (c->cap - c->nbase >= front)
        return true;
    size_t cap = c->nbase + front + 16;
    const char **k = malloc(cap * sizeof(*k));
    feel_value_t **v = malloc(cap * sizeof(*v));
    if (!k || !v) {
        free(k);
        free(v);
        return false;
    }
    memcpy(k + cap - c->nbase, c->keys + c->cap - c->nbase, c->nbase * sizeof(*k));
    memcpy(v + cap - c->nbase, c->vals + c->cap - c->nbase, c->nbase * sizeof(*v));
    free(c->keys);
    free(c->vals);
    c->keys = k;
    c->vals = v;
    c->cap = cap;
    return true;
}

/* conditional.hide evaluated over the task's variables, the response and (in a
 * dynamic list) the item; an expression that fails hides nothing, as in form-js. */
static bool hidden(fctx_t *c, const cJSON *comp, const cJSON *item, const char *ptr)
{
    const char *cond = feel_text(comp);
    if (!cond || c->too_many)
        return false;
    if (++c->conditions > TASKS_FORMJS_MAX_CONDITIONS) {
        c->too_many = true;
        violation(c, *ptr ? ptr : "/", "The form has more than %d conditions to evaluate for this response; "
                  "it cannot be checked.", TASKS_FORMJS_MAX_CONDITIONS);
        return false;
    }
    size_t front = members(item);
    feel_perr_t perr;
    feel_expr_t *e = feel_parse(cond, FEEL_EXPR, NULL, &perr);
    bool hide = false;
    if (e && ctx_room(c, front)) {
        size_t at = c->cap - c->nbase - front, i = at;
        const cJSON *x;
        if (front)
            cJSON_ArrayForEach(x, item) {
                feel_value_t *fv = dmn_from_json(c->ev, x, FEEL_NULL);
                c->keys[i] = x->string ? x->string : "";
                c->vals[i++] = fv ? fv : feel_null();
            }
        feel_value_t *ctx = feel_context(c->ev);
        if (ctx->t == FEEL_CTX) {
            ctx->u.ctx.keys = c->keys + at;
            ctx->u.ctx.vals = c->vals + at;
            ctx->u.ctx.n = ctx->u.ctx.cap = front + c->nbase;
            feel_eval_clear_error(c->ev);
            feel_value_t *v = feel_eval(c->ev, e, ctx);
            hide = !feel_eval_error(c->ev) && feel_is_true(v);
        }
    }
    feel_expr_free(e);
    return hide;
}

static size_t trimmed_chars(const char *s)
{
    const char *a = s, *z = s + strlen(s);
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
        a++;
    while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\n' || z[-1] == '\r'))
        z--;
    size_t n = 0;
    for (; a < z; a++)
        n += ((unsigned char)*a & 0xC0) != 0x80;
    return n;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* YYYY-MM-DD with a real day; returns the characters used or 0 */
static int is_date(const char *s)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = digits(s, 4), m = strlen(s) >= 10 && s[4] == '-' && s[7] == '-' ? digits(s + 5, 2) : -1;
    int d = m > 0 ? digits(s + 8, 2) : -1;
    if (y < 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 10;
}

/* HH:mm[:ss] with Z, ±hh:mm or nothing (form-js's three time serializations) */
static bool is_time(const char *s)
{
    int h = digits(s, 2), mi = s[0] && s[1] && s[2] == ':' ? digits(s + 3, 2) : -1;
    if (h < 0 || h > 23 || mi < 0 || mi > 59)
        return false;
    s += 5;
    if (*s == ':') {
        int sec = digits(s + 1, 2);
        if (sec < 0 || sec > 59)
            return false;
        s += 3;
    }
    if (!*s || !strcmp(s, "Z"))
        return true;
    return (*s == '+' || *s == '-') && digits(s + 1, 2) >= 0 && digits(s + 1, 2) <= 23 && s[3] == ':' &&
           digits(s + 4, 2) >= 0 && digits(s + 4, 2) <= 59 && !s[6];
}

static bool datetime_ok(const char *subtype, const char *s)
{
    if (!strcmp(subtype, "time"))
        return is_time(s);
    int n = is_date(s);
    if (!strcmp(subtype, "datetime"))
        return n && s[n] == 'T' && is_time(s + n + 1);
    return n && !s[n];
}

/* The allowed option values, or NULL when they cannot be known (valuesExpression);
 * *missing when valuesKey names a variable the task does not have. */
static const cJSON *options(fctx_t *c, const cJSON *comp, bool *missing)
{
    *missing = false;
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(comp, "values");
    if (cJSON_IsArray(vals))
        return vals;
    const char *vk = sval(comp, "valuesKey");
    if (vk) {
        const cJSON *v = cJSON_IsObject(c->vars) ? cJSON_GetObjectItemCaseSensitive(c->vars, vk) : NULL;
        if (!cJSON_IsArray(v))
            *missing = true;
        return cJSON_IsArray(v) ? v : NULL;
    }
    return NULL;
}

/* An option is {label, value} or, from a variable, the value itself. */
static bool is_option(const cJSON *opts, const cJSON *v)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, opts) {
        const cJSON *ov = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "value") : o;
        if (ov && cJSON_Compare(ov, v, true))
            return true;
    }
    return false;
}

static void check_options(fctx_t *c, const cJSON *comp, const cJSON *v, const char *ptr, bool many)
{
    bool missing;
    const cJSON *opts = options(c, comp, &missing);
    if (missing) {
        violation(c, ptr, "Field options come from variable '%.100s', which the task does not have.",
                  sval(comp, "valuesKey"));
        return;
    }
    if (!many) {
        if (cJSON_IsObject(v) || cJSON_IsArray(v))
            violation(c, ptr, "Field must be one of the options.");
        else if (opts && !is_option(opts, v))
            violation(c, ptr, "Field must be one of the options.");
        return;
    }
    if (!cJSON_IsArray(v)) {
        violation(c, ptr, "Field must be a list of options.");
        return;
    }
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, v) {
        char sub[PTR_MAX + 16];
        snprintf(sub, sizeof(sub), "%s/%d", ptr, i++);
        if (cJSON_IsObject(x) || cJSON_IsArray(x) || (opts && !is_option(opts, x)))
            violation(c, sub, "Field must be one of the options.");
    }
}

/* Decimal places of a number as JSON wrote it (shortest round-trip form). */
static int decimals(double d)
{
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strchr(buf, 'e'))
        return 0;
    const char *dot = strchr(buf, '.');
    return dot ? (int)strlen(dot + 1) : 0;
}

static void check_field(fctx_t *c, const cJSON *comp, const char *type, const cJSON *v, const char *ptr)
{
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(comp, "validate");
    bool required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(val, "required"));
    bool unset = !v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring) ||
                 (!strcmp(type, "checkbox") && cJSON_IsFalse(v)) || (cJSON_IsArray(v) && !cJSON_GetArraySize(v));
    if (unset) {
        if (required)
            violation(c, ptr, "Field is required.");
        return;
    }
    double num = NAN;
    if (!strcmp(type, "textfield") || !strcmp(type, "textarea")) {
        if (!cJSON_IsString(v)) {
            violation(c, ptr, "Field must be a text.");
            return;
        }
    } else if (!strcmp(type, "number")) {
        char *end = NULL;
        if (cJSON_IsNumber(v))
            num = v->valuedouble;
        else if (cJSON_IsString(v) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(comp, "serializeToString")))
            num = strtod(v->valuestring, &end);
        if (isnan(num) || (end && *end)) {
            violation(c, ptr, "Value is not a number.");
            return;
        }
        const cJSON *dd = cJSON_GetObjectItemCaseSensitive(comp, "decimalDigits");
        int have = end ? (strchr(v->valuestring, '.') ? (int)strlen(strchr(v->valuestring, '.') + 1) : 0)
                       : decimals(num);
        if (cJSON_IsNumber(dd) && dd->valuedouble >= 0 && have > dd->valueint) {
            if (dd->valueint == 0)
                violation(c, ptr, "Value is expected to be an integer.");
            else
                violation(c, ptr, "Value is expected to have at most %d decimal digit%s.", dd->valueint,
                          dd->valueint == 1 ? "" : "s");
        }
    } else if (!strcmp(type, "datetime")) {
        const char *sub = sval(comp, "subtype");
        sub = sub ? sub : "date";
        if (!cJSON_IsString(v) || !datetime_ok(sub, v->valuestring)) {
            violation(c, ptr, "Field must be a valid %s (%s).", sub,
                      !strcmp(sub, "time") ? "HH:mm" : !strcmp(sub, "datetime") ? "YYYY-MM-DDTHH:mm" : "YYYY-MM-DD");
            return;
        }
    } else if (!strcmp(type, "checkbox")) {
        if (!cJSON_IsBool(v)) {
            violation(c, ptr, "Field must be true or false.");
            return;
        }
    } else if (!strcmp(type, "radio") || !strcmp(type, "select")) {
        check_options(c, comp, v, ptr, false);
    } else if (!strcmp(type, "checklist") || !strcmp(type, "taglist")) {
        check_options(c, comp, v, ptr, true);
    }
    double mn, mx;
    if (!isnan(num) && bound(cJSON_GetObjectItemCaseSensitive(val, "min"), &mn) > 0 && num < mn)
        violation(c, ptr, "Field must have minimum value of %g.", mn);
    if (!isnan(num) && bound(cJSON_GetObjectItemCaseSensitive(val, "max"), &mx) > 0 && num > mx)
        violation(c, ptr, "Field must have maximum value of %g.", mx);
    if (!cJSON_IsString(v))
        return;
    double mnl, mxl;
    double len = (double)trimmed_chars(v->valuestring);
    if (bound(cJSON_GetObjectItemCaseSensitive(val, "minLength"), &mnl) > 0 && len < mnl)
        violation(c, ptr, "Field must have minimum length of %g.", mnl);
    if (bound(cJSON_GetObjectItemCaseSensitive(val, "maxLength"), &mxl) > 0 && len > mxl)
        violation(c, ptr, "Field must have maximum length of %g.", mxl);
    const char *pat = sval(val, "pattern"), *vt = sval(val, "validationType");
    if (pat && *pat) {
        int m = tasks_schema_match(pat, v->valuestring);
        if (m < 0)
            violation(c, ptr, "could not be matched against the pattern (match limit)");
        else if (!m)
            violation(c, ptr, "Field must match pattern %.160s.", pat);
    }
    if (vt && !strcmp(vt, "email") && tasks_schema_match(EMAIL_RE, v->valuestring) != 1)
        violation(c, ptr, "Field must be a valid email.");
    if (vt && !strcmp(vt, "phone") && tasks_schema_match(PHONE_RE, v->valuestring) != 1)
        violation(c, ptr, "Field must be a valid international phone number. (e.g. +4930664040900)");
}

static void walk(fctx_t *c, const cJSON *comps, const cJSON *scope, const cJSON *item, const char *ptr, int depth)
{
    if (depth > TASKS_FORMJS_MAX_DEPTH)
        return;
    const cJSON *comp;
    cJSON_ArrayForEach(comp, comps) {
        const char *type = sval(comp, "type");
        if (!type || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(comp, "disabled")) ||
            hidden(c, comp, item, ptr))
            continue;
        if (c->too_many)
            return;     /* said once; the rest is not checked */
        char at[PTR_MAX];
        const char *path = sval(comp, "path");
        const cJSON *kids = cJSON_GetObjectItemCaseSensitive(comp, "components");
        if (!strcmp(type, "group")) {
            const cJSON *inner = path && *path ? at_path(scope, path, ptr, at) : scope;
            if (path && *path && inner && !cJSON_IsObject(inner)) {
                violation(c, at, "Group must be an object.");
                continue;
            }
            walk(c, kids, inner, item, path && *path ? at : ptr, depth + 1);
        } else if (!strcmp(type, "dynamiclist")) {
            const cJSON *list = at_path(scope, path ? path : "", ptr, at);
            if (!list || cJSON_IsNull(list))
                continue;
            if (!cJSON_IsArray(list)) {
                violation(c, at, "Field must be a list.");
                continue;
            }
            int i = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, list) {
                char sub[PTR_MAX + 16];
                snprintf(sub, sizeof(sub), "%s/%d", at, i++);
                if (!cJSON_IsObject(x))
                    violation(c, sub, "List item must be an object.");
                else
                    walk(c, kids, x, x, sub, depth + 1);
            }
        } else if (in_list(input_types, type)) {
            const cJSON *v = at_path(scope, sval(comp, "key"), ptr, at);
            check_field(c, comp, type, v, at);
        }
    }
}

int tasks_formjs_validate(const cJSON *form, const cJSON *response, const cJSON *variables,
                          const char *base, cJSON *errors)
{
    fctx_t c = { errors, 0, variables, response, NULL, NULL, NULL, 0, 0, 0, false };
    walk(&c, cJSON_GetObjectItemCaseSensitive(form, "components"), response, NULL, base ? base : "", 0);
    feel_eval_free(c.ev);
    free(c.keys);
    free(c.vals);
    return c.n;
}
