/*
 * fm_mustache.c — the Mustache renderer of fm_mustache.h. A template is compiled once
 * into a flat token list (text, variable, section with the index past its end,
 * partial), checking the syntax and removing standalone tag lines as it goes; rendering
 * walks the list with a stack of context values. Partials are compiled when first used
 * and kept for the rest of the render. Linear in the template; rendering is bounded by
 * the output limit and a step budget.
 */
#include "fm_mustache.h"

#include "fm_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_TEXT, T_VAR, T_RAW, T_SECTION, T_INVERTED, T_PARTIAL };

typedef struct tok {
    uint8_t kind;
    uint32_t off, len;      /* text, or the tag's trimmed name */
    uint32_t end;           /* sections: index of the first token after the body */
    uint32_t line, col;
} tok_t;

typedef struct tmpl {
    const char *src;
    tok_t *toks;
    size_t n, cap;
} tmpl_t;

#define MAX_CACHED_PARTIALS 64
#define MAX_STACK (FM_MUSTACHE_MAX_NESTING * (FM_MUSTACHE_MAX_PARTIAL_DEPTH + 1) + 2)

typedef struct render {
    const fm_mustache_opts_t *o;
    fm_buf_t out;
    size_t max_output;
    long steps;
    const cJSON *stack[MAX_STACK];
    int depth;
    struct { char name[FM_MUSTACHE_MAX_NAME + 1]; char *text; tmpl_t t; } partials[MAX_CACHED_PARTIALS];
    int npartials;
    fm_mustache_err_t *err;
} render_t;

static int fail(fm_mustache_err_t *err, fm_mustache_code_t code, const char *source, int line, int col,
                const char *name, size_t name_len, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static int fail(fm_mustache_err_t *err, fm_mustache_code_t code, const char *source, int line, int col,
                const char *name, size_t name_len, const char *fmt, ...)
{
    if (!err)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->line = line;
    err->column = col;
    snprintf(err->source, sizeof(err->source), "%s", source ? source : "template");
    if (name) {
        if (name_len > FM_MUSTACHE_MAX_NAME)
            name_len = FM_MUSTACHE_MAX_NAME;
        memcpy(err->name, name, name_len);
        err->name[name_len] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}

/* ---- compiling ---- */

static int push_tok(tmpl_t *t, tok_t tk)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        tok_t *n = realloc(t->toks, cap * sizeof(*n));
        if (!n)
            return FM_MUSTACHE_ENOMEM;
        t->toks = n;
        t->cap = cap;
    }
    t->toks[t->n++] = tk;
    return 0;
}

static const char *find2(const char *p, const char *end, char a, char b)
{
    for (; p + 1 < end; p++) {
        p = memchr(p, a, (size_t)(end - p - 1));
        if (!p)
            return NULL;
        if (p[1] == b)
            return p;
    }
    return NULL;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool name_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '{' || c == '}' || c == 0x7f)
            return false;
    }
    return true;
}

static int compile(tmpl_t *t, const char *src, size_t len, const char *source, fm_mustache_err_t *err)
{
    memset(t, 0, sizeof(*t));
    t->src = src;
    if (len > FM_MUSTACHE_MAX_TEMPLATE)
        return fail(err, FM_MUSTACHE_ELIMIT, source, 1, 1, NULL, 0, "%s is %zu bytes; at most %d are allowed",
                    source, len, FM_MUSTACHE_MAX_TEMPLATE);
    const char *end = src + len, *p = src, *text = src;
    const char *lc_pos = src;   /* line/column counted up to here */
    int line = 1;
    const char *line_start = src;
    uint32_t open[FM_MUSTACHE_MAX_NESTING];
    int nopen = 0, ntags = 0;

    for (;;) {
        const char *tag = find2(p, end, '{', '{');
        if (!tag)
            break;
        for (; lc_pos < tag; lc_pos++)
            if (*lc_pos == '\n') {
                line++;
                line_start = lc_pos + 1;
            }
        int col = (int)(tag - line_start) + 1;
        if (++ntags > FM_MUSTACHE_MAX_TAGS)
            return fail(err, FM_MUSTACHE_ELIMIT, source, line, col, NULL, 0, "more than %d tags",
                        FM_MUSTACHE_MAX_TAGS);
        const char *q = tag + 2;
        char sigil = q < end ? *q : '\0';
        bool triple = sigil == '{';
        if (sigil == '{' || sigil == '&' || sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' ||
            sigil == '>' || sigil == '=')
            q++;
        if (sigil == '=')
            return fail(err, FM_MUSTACHE_ESYNTAX, source, line, col, NULL, 0,
                        "set-delimiter tags are not supported");
        const char *close = find2(q, end, '}', '}');
        if (!close || (triple && (close + 2 >= end || close[2] != '}')))
            return fail(err, FM_MUSTACHE_ESYNTAX, source, line, col, NULL, 0, "unclosed tag: no matching %s",
                        triple ? "}}}" : "}}");
        const char *tag_end = close + (triple ? 3 : 2);
        const char *ns = q, *ne = close;
        while (ns < ne && (is_blank(*ns) || *ns == '\n' || *ns == '\r'))
            ns++;
        while (ne > ns && (is_blank(ne[-1]) || ne[-1] == '\n' || ne[-1] == '\r'))
            ne--;
        size_t nlen = (size_t)(ne - ns);
        if (sigil != '!') {
            if (nlen > FM_MUSTACHE_MAX_NAME)
                return fail(err, FM_MUSTACHE_ELIMIT, source, line, col, ns, FM_MUSTACHE_MAX_NAME,
                            "a tag name is longer than %d bytes", FM_MUSTACHE_MAX_NAME);
            if (!name_ok(ns, nlen))
                return fail(err, FM_MUSTACHE_ESYNTAX, source, line, col, ns, nlen, "%s",
                            nlen ? "a tag name holds a space or brace" : "empty tag");
        }
        /* Standalone: only blanks around the tag on its line, and a kind that prints nothing. */
        bool standalone = false;
        const char *after = tag_end;
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' || sigil == '>') {
            const char *ls = tag;
            while (ls > text && is_blank(ls[-1]))
                ls--;
            bool left = ls == src || ls[-1] == '\n';
            const char *r = tag_end;
            while (r < end && is_blank(*r))
                r++;
            bool right = r == end || *r == '\n' || (*r == '\r' && r + 1 < end && r[1] == '\n');
            if (left && right) {
                standalone = true;
                after = r == end ? r : (*r == '\n' ? r + 1 : r + 2);
                if (push_tok(t, (tok_t){ T_TEXT, (uint32_t)(text - src), (uint32_t)(ls - text), 0, 0, 0 }))
                    return fail(err, FM_MUSTACHE_ENOMEM, source, line, col, NULL, 0, "out of memory");
            }
        }
        if (!standalone &&
            push_tok(t, (tok_t){ T_TEXT, (uint32_t)(text - src), (uint32_t)(tag - text), 0, 0, 0 }))
            return fail(err, FM_MUSTACHE_ENOMEM, source, line, col, NULL, 0, "out of memory");
        if (t->n && t->toks[t->n - 1].kind == T_TEXT && t->toks[t->n - 1].len == 0)
            t->n--;     /* drop empty text */
        tok_t tk = { 0, (uint32_t)(ns - src), (uint32_t)nlen, 0, (uint32_t)line, (uint32_t)col };
        int rc = 0;
        switch (sigil) {
        case '!':
            break;
        case '/':
            if (nopen == 0)
                return fail(err, FM_MUSTACHE_ESYNTAX, source, line, col, ns, nlen,
                            "closing tag {{/%.*s}} has no open section", (int)nlen, ns);
            {
                tok_t *o = &t->toks[open[nopen - 1]];
                if (o->len != nlen || memcmp(src + o->off, ns, nlen) != 0)
                    return fail(err, FM_MUSTACHE_ESYNTAX, source, line, col, ns, nlen,
                                "closing tag {{/%.*s}} does not match open section {{#%.*s}} (line %u)",
                                (int)nlen, ns, (int)o->len, src + o->off, o->line);
                o->end = (uint32_t)t->n;
                nopen--;
            }
            break;
        case '#':
        case '^':
            if (nopen == FM_MUSTACHE_MAX_NESTING)
                return fail(err, FM_MUSTACHE_ELIMIT, source, line, col, ns, nlen,
                            "sections nested deeper than %d", FM_MUSTACHE_MAX_NESTING);
            tk.kind = sigil == '#' ? T_SECTION : T_INVERTED;
            open[nopen++] = (uint32_t)t->n;
            rc = push_tok(t, tk);
            break;
        case '>':
            tk.kind = T_PARTIAL;
            rc = push_tok(t, tk);
            break;
        case '{':
        case '&':
            tk.kind = T_RAW;
            rc = push_tok(t, tk);
            break;
        default:
            tk.kind = T_VAR;
            rc = push_tok(t, tk);
        }
        if (rc)
            return fail(err, FM_MUSTACHE_ENOMEM, source, line, col, NULL, 0, "out of memory");
        p = text = after;
    }
    if (nopen) {
        tok_t *o = &t->toks[open[nopen - 1]];
        return fail(err, FM_MUSTACHE_ESYNTAX, source, (int)o->line, (int)o->col, src + o->off, o->len,
                    "section {{#%.*s}} is never closed", (int)o->len, src + o->off);
    }
    if (end > text && push_tok(t, (tok_t){ T_TEXT, (uint32_t)(text - src), (uint32_t)(end - text), 0, 0, 0 }))
        return fail(err, FM_MUSTACHE_ENOMEM, source, line, 1, NULL, 0, "out of memory");
    return 0;
}

int fm_mustache_check(const char *tpl, size_t len, fm_mustache_err_t *err)
{
    tmpl_t t;
    int rc = compile(&t, tpl ? tpl : "", tpl ? len : 0, "template", err);
    free(t.toks);
    if (rc == 0 && err)
        memset(err, 0, sizeof(*err));
    return rc;
}

/* ---- rendering ---- */

/* Resolves a (dotted) name against the context stack; NULL when it names nothing. */
static const cJSON *lookup(render_t *r, const char *name, size_t len)
{
    if (len == 1 && name[0] == '.')
        return r->depth ? r->stack[r->depth - 1] : NULL;
    const char *dot = memchr(name, '.', len);
    size_t first = dot ? (size_t)(dot - name) : len;
    char key[FM_MUSTACHE_MAX_NAME + 1];
    memcpy(key, name, first);
    key[first] = '\0';
    const cJSON *v = NULL;
    for (int i = r->depth - 1; i >= 0 && !v; i--)
        if (cJSON_IsObject(r->stack[i]))
            v = cJSON_GetObjectItemCaseSensitive(r->stack[i], key);
    while (v && dot) {
        const char *s = dot + 1;
        dot = memchr(s, '.', (size_t)(name + len - s));
        size_t n = dot ? (size_t)(dot - s) : (size_t)(name + len - s);
        if (n == 0 || !cJSON_IsObject(v))
            return NULL;
        memcpy(key, s, n);
        key[n] = '\0';
        v = cJSON_GetObjectItemCaseSensitive(v, key);
    }
    return v;
}

static bool truthy(const cJSON *v)
{
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
        return false;
    if (cJSON_IsArray(v))
        return cJSON_GetArraySize(v) > 0;
    if (cJSON_IsString(v))
        return v->valuestring && v->valuestring[0];
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    return true;
}

static void add_escaped(fm_buf_t *b, const char *s, size_t n, bool html)
{
    if (!html) {
        fm_buf_add(b, s, n);
        return;
    }
    const char *run = s;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        fm_buf_add(b, run, (size_t)(s + i - run));
        fm_buf_adds(b, rep);
        run = s + i + 1;
    }
    fm_buf_add(b, run, (size_t)(s + n - run));
}

static void add_value(fm_buf_t *b, const cJSON *v, bool html)
{
    char num[64];
    if (cJSON_IsString(v)) {
        add_escaped(b, v->valuestring, strlen(v->valuestring), html);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(long long)d)
            snprintf(num, sizeof(num), "%lld", (long long)d);
        else
            snprintf(num, sizeof(num), "%.15g", d);
        fm_buf_adds(b, num);
    } else if (cJSON_IsBool(v)) {
        fm_buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        char *s = cJSON_PrintUnformatted(v);
        if (!s) {
            b->oom = true;
            return;
        }
        add_escaped(b, s, strlen(s), html);
        cJSON_free(s);
    }
}

static int render_range(render_t *r, const tmpl_t *t, size_t from, size_t to, const char *source, int pdepth);

static const tmpl_t *partial_get(render_t *r, const tok_t *tk, const tmpl_t *t, const char *source, int *rc)
{
    char name[FM_MUSTACHE_MAX_NAME + 1];
    memcpy(name, t->src + tk->off, tk->len);
    name[tk->len] = '\0';
    for (int i = 0; i < r->npartials; i++)
        if (strcmp(r->partials[i].name, name) == 0)
            return &r->partials[i].t;
    const cJSON *p = r->o->partials ? cJSON_GetObjectItemCaseSensitive(r->o->partials, name) : NULL;
    if (!cJSON_IsString(p)) {
        if (r->o->strict)
            *rc = fail(r->err, FM_MUSTACHE_EMISSING, source, (int)tk->line, (int)tk->col, name, tk->len,
                       "partial \"%s\" is not defined", name);
        return NULL;
    }
    if (r->npartials == MAX_CACHED_PARTIALS) {
        *rc = fail(r->err, FM_MUSTACHE_ELIMIT, source, (int)tk->line, (int)tk->col, name, tk->len,
                   "more than %d different partials", MAX_CACHED_PARTIALS);
        return NULL;
    }
    int i = r->npartials;
    snprintf(r->partials[i].name, sizeof(r->partials[i].name), "%s", name);
    r->partials[i].text = strdup(p->valuestring);
    if (!r->partials[i].text) {
        *rc = fail(r->err, FM_MUSTACHE_ENOMEM, source, 1, 1, NULL, 0, "out of memory");
        return NULL;
    }
    char psource[FM_MUSTACHE_MAX_NAME + 16];
    snprintf(psource, sizeof(psource), "partial %s", name);
    r->npartials++;
    *rc = compile(&r->partials[i].t, r->partials[i].text, strlen(r->partials[i].text), psource, r->err);
    return *rc ? NULL : &r->partials[i].t;
}

static int push(render_t *r, const cJSON *v, const char *source, const tok_t *tk)
{
    if (r->depth == MAX_STACK)
        return fail(r->err, FM_MUSTACHE_ELIMIT, source, (int)tk->line, (int)tk->col, NULL, 0,
                    "context nested too deeply");
    r->stack[r->depth++] = v;
    return 0;
}

static int render_range(render_t *r, const tmpl_t *t, size_t from, size_t to, const char *source, int pdepth)
{
    for (size_t i = from; i < to; i++) {
        const tok_t *tk = &t->toks[i];
        if (++r->steps > FM_MUSTACHE_MAX_STEPS)
            return fail(r->err, FM_MUSTACHE_ELIMIT, source, (int)tk->line, (int)tk->col, NULL, 0,
                        "rendering took more than %d steps", FM_MUSTACHE_MAX_STEPS);
        if (r->out.len > r->max_output)
            return fail(r->err, FM_MUSTACHE_ELIMIT, source, (int)tk->line, (int)tk->col, NULL, 0,
                        "output is larger than %zu bytes", r->max_output);
        if (r->out.oom)
            return fail(r->err, FM_MUSTACHE_ENOMEM, source, 1, 1, NULL, 0, "out of memory");
        const char *name = t->src + tk->off;
        int rc = 0;
        switch (tk->kind) {
        case T_TEXT:
            fm_buf_add(&r->out, name, tk->len);
            break;
        case T_VAR:
        case T_RAW: {
            const cJSON *v = lookup(r, name, tk->len);
            if (!v && r->o->strict)
                return fail(r->err, FM_MUSTACHE_EMISSING, source, (int)tk->line, (int)tk->col, name, tk->len,
                            "variable \"%.*s\" is missing", (int)tk->len, name);
            if (v)
                add_value(&r->out, v, tk->kind == T_VAR && r->o->escape_html);
            break;
        }
        case T_SECTION:
        case T_INVERTED: {
            const cJSON *v = lookup(r, name, tk->len);
            bool on = truthy(v);
            if (tk->kind == T_INVERTED) {
                if (!on && (rc = render_range(r, t, i + 1, tk->end, source, pdepth)))
                    return rc;
            } else if (on && cJSON_IsArray(v)) {
                const cJSON *el;
                cJSON_ArrayForEach(el, v) {
                    if ((rc = push(r, el, source, tk)))
                        return rc;
                    rc = render_range(r, t, i + 1, tk->end, source, pdepth);
                    r->depth--;
                    if (rc)
                        return rc;
                }
            } else if (on) {
                if ((rc = push(r, v, source, tk)))
                    return rc;
                rc = render_range(r, t, i + 1, tk->end, source, pdepth);
                r->depth--;
                if (rc)
                    return rc;
            }
            i = tk->end - 1;
            break;
        }
        case T_PARTIAL: {
            if (pdepth >= FM_MUSTACHE_MAX_PARTIAL_DEPTH)
                return fail(r->err, FM_MUSTACHE_ELIMIT, source, (int)tk->line, (int)tk->col, name, tk->len,
                            "partials nested deeper than %d", FM_MUSTACHE_MAX_PARTIAL_DEPTH);
            const tmpl_t *pt = partial_get(r, tk, t, source, &rc);
            if (rc)
                return rc;
            if (pt) {
                char psource[FM_MUSTACHE_MAX_NAME + 16];
                snprintf(psource, sizeof(psource), "partial %.*s", (int)tk->len, name);
                if ((rc = render_range(r, pt, 0, pt->n, psource, pdepth + 1)))
                    return rc;
            }
            break;
        }
        }
    }
    return 0;
}

int fm_mustache_render(const char *tpl, size_t len, const cJSON *data, const fm_mustache_opts_t *opts,
                       char **out, size_t *out_len, fm_mustache_err_t *err)
{
    static const fm_mustache_opts_t defaults = { 0 };
    fm_mustache_err_t scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof(*err));
    *out = NULL;
    if (out_len)
        *out_len = 0;
    render_t *r = calloc(1, sizeof(*r));
    if (!r)
        return fail(err, FM_MUSTACHE_ENOMEM, NULL, 1, 1, NULL, 0, "out of memory");
    r->o = opts ? opts : &defaults;
    r->max_output = r->o->max_output ? r->o->max_output : FM_MUSTACHE_MAX_OUTPUT;
    r->err = err;
    cJSON *empty = NULL;
    if (!data)
        data = empty = cJSON_CreateObject();
    r->stack[r->depth++] = data;
    tmpl_t t;
    int rc = compile(&t, tpl ? tpl : "", tpl ? len : 0, "template", err);
    if (rc == 0)
        rc = render_range(r, &t, 0, t.n, "template", 0);
    if (rc == 0 && r->out.len > r->max_output)
        rc = fail(err, FM_MUSTACHE_ELIMIT, "template", 1, 1, NULL, 0, "output is larger than %zu bytes",
                  r->max_output);
    if (rc == 0 && r->out.oom)
        rc = fail(err, FM_MUSTACHE_ENOMEM, NULL, 1, 1, NULL, 0, "out of memory");
    if (rc == 0) {
        size_t n = 0;
        char *s = fm_buf_detach(&r->out, &n);
        if (!s)
            s = strdup("");
        if (!s)
            rc = fail(err, FM_MUSTACHE_ENOMEM, NULL, 1, 1, NULL, 0, "out of memory");
        *out = s;
        if (out_len)
            *out_len = n;
    }
    fm_buf_release(&r->out);
    for (int i = 0; i < r->npartials; i++) {
        free(r->partials[i].t.toks);
        free(r->partials[i].text);
    }
    free(t.toks);
    cJSON_Delete(empty);
    free(r);
    return rc;
}
