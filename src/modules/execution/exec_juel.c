/*
 * exec_juel.c — JUEL `${…}` / `#{…}` to FEEL text (exec_juel.h has the subset).
 *
 * A recursive-descent parser over one expression at a time, its depth bounded by
 * EX_JUEL_MAX_DEPTH and its input by EX_JUEL_MAX_LEN; each rule returns the FEEL text
 * of what it parsed. Intermediate strings live in a pool freed at the end, whose total
 * size is bounded too (operators such as `empty` and `%` repeat their operand).
 *
 * Where JUEL and FEEL differ the text is written so the value is JUEL's:
 * - `&&`, `||`, `!` see their operands coerced to booleans as JUEL does (null and
 *   anything not true is false), so `!(a && b)` is true when a is null;
 * - `a[0]` is 0-based in JUEL, 1-based in FEEL: a literal index is shifted, an
 *   expression index picks by number or by key at run time;
 * - `%` keeps the sign of the dividend (Java), where FEEL's modulo is floored;
 * - `empty x` is true for null, "" and empty lists and contexts;
 * - `loopCounter` counts from 0 in Camunda 7 and from 1 here: it reads loopCounter - 1.
 */
#include "exec_juel.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX_BYTES (4u << 20)

enum { T_END, T_NUM, T_STR, T_ID, T_OP };

typedef struct tok {
    int k;
    const char *s;      /* in the source */
    size_t len;
} tok_t;

typedef struct jp {
    const char *src;    /* whole input, for messages */
    const char *p, *end;    /* the expression being parsed */
    tok_t t;
    int depth;
    bool failed;
    char *why;
    size_t whylen;
    char **pool;
    size_t npool, cappool, bytes;
} jp_t;

typedef struct jv { const char *s; bool boolean; } jv_t;   /* boolean: never null */

static const jv_t BAD = { NULL, false };

static void fail(jp_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(jp_t *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, p->whylen, fmt, ap);
    va_end(ap);
}

/* A pooled string built from fmt; NULL (and p fails) past the bounds. */
static const char *mk(jp_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *mk(jp_t *p, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > EX_JUEL_MAX_OUT || p->bytes + (size_t)n > POOL_MAX_BYTES) {
        fail(p, "the expression is too large once translated (more than %d FEEL characters)", EX_JUEL_MAX_OUT);
        return NULL;
    }
    if (p->npool == p->cappool) {
        size_t cap = p->cappool ? p->cappool * 2 : 32;
        char **np = realloc(p->pool, cap * sizeof(char *));
        if (!np) {
            fail(p, "out of memory");
            return NULL;
        }
        p->pool = np;
        p->cappool = cap;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        fail(p, "out of memory");
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    p->pool[p->npool++] = s;
    p->bytes += (size_t)n + 1;
    return s;
}

/* ---- lexer ---- */

static bool id_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == '$';
}

static bool id_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static void next(jp_t *p)
{
    while (p->p < p->end && isspace((unsigned char)*p->p))
        p->p++;
    tok_t *t = &p->t;
    t->s = p->p;
    t->len = 0;
    if (p->p >= p->end) {
        t->k = T_END;
        return;
    }
    const char *s = p->p;
    if (isdigit((unsigned char)*s) || (*s == '.' && s + 1 < p->end && isdigit((unsigned char)s[1]))) {
        const char *q = s;
        while (q < p->end && isdigit((unsigned char)*q))
            q++;
        if (q < p->end && *q == '.') {
            q++;
            while (q < p->end && isdigit((unsigned char)*q))
                q++;
        }
        if (q < p->end && (*q == 'e' || *q == 'E'))
            fail(p, "number '%.*s…' with an exponent", (int)(q - s + 1), s);
        t->k = T_NUM;
        t->len = (size_t)(q - s);
    } else if (*s == '\'' || *s == '"') {
        const char *q = s + 1;
        while (q < p->end && *q != *s)
            q += (*q == '\\' && q + 1 < p->end) ? 2 : 1;
        if (q >= p->end) {
            fail(p, "string literal without its closing quote");
            q = p->end - 1;
        }
        t->k = T_STR;
        t->len = (size_t)(q + 1 - s);
    } else if (id_start(*s)) {
        const char *q = s;
        while (q < p->end && id_char(*q))
            q++;
        t->k = T_ID;
        t->len = (size_t)(q - s);
    } else {
        static const char *ops[] = { "==", "!=", "<=", ">=", "&&", "||", "->", "+=", NULL };
        t->k = T_OP;
        t->len = 1;
        for (int i = 0; ops[i]; i++)
            if (s + 1 < p->end && s[0] == ops[i][0] && s[1] == ops[i][1])
                t->len = 2;
    }
    p->p = t->s + t->len;
}

static bool is(const jp_t *p, const char *text)
{
    return (p->t.k == T_OP || p->t.k == T_ID) && p->t.len == strlen(text) && !memcmp(p->t.s, text, p->t.len);
}

static bool accept(jp_t *p, const char *text)
{
    if (!is(p, text))
        return false;
    next(p);
    return true;
}

/* Where the parser is, for messages: "at 'x'" or "at the end". */
static const char *at(jp_t *p)
{
    static _Thread_local char buf[64];
    if (p->t.k == T_END)
        return "at the end";
    snprintf(buf, sizeof(buf), "at '%.*s'", (int)(p->t.len > 40 ? 40 : p->t.len), p->t.s);
    return buf;
}

/* The next token without consuming the current one. */
static tok_t peek(jp_t *p)
{
    jp_t save = *p;
    save.failed = true;     /* a lexing problem ahead is reported when reached */
    next(&save);
    return save.t;
}

/* ---- FEEL pieces ---- */

static const char *feel_keywords[] = { "and", "or", "in", "between", "instance", "of", "if", "then", "else",
                                       "for", "return", "some", "every", "satisfies", "function",
                                       "true", "false", "null", "external", "not", NULL };

static bool feel_name_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '$')
            return false;
    for (int i = 0; feel_keywords[i]; i++)
        if (strlen(feel_keywords[i]) == len && !memcmp(feel_keywords[i], s, len))
            return false;
    return true;
}

/* A FEEL string literal of n characters at s; juel: s is a quoted JUEL string literal
 * (its quotes dropped, its escapes resolved), else plain text. */
static const char *feel_quote(jp_t *p, const char *s, size_t n, bool juel)
{
    char *buf = malloc(n * 2 + 3);
    if (!buf) {
        fail(p, "out of memory");
        return NULL;
    }
    size_t o = 0, i = juel ? 1 : 0, end = juel ? n - 1 : n;
    buf[o++] = '"';
    for (; i < end; i++) {
        char c = s[i];
        if (juel && c == '\\' && i + 1 < end)
            c = s[++i];
        if (c == '"' || c == '\\')
            buf[o++] = '\\';
        buf[o++] = c;
    }
    buf[o++] = '"';
    buf[o] = 0;
    const char *r = mk(p, "%s", buf);
    free(buf);
    return r;
}

static const char *as_bool(jp_t *p, jv_t v)
{
    return v.boolean ? v.s : mk(p, "(if %s = true then true else false)", v.s);
}

/* ---- parser: one function per precedence level, lowest first ---- */

static jv_t expr(jp_t *p);

static jv_t primary(jp_t *p)
{
    tok_t t = p->t;
    if (t.k == T_NUM) {
        next(p);
        if (t.s[0] == '.')
            return (jv_t){ mk(p, "0%.*s", (int)t.len, t.s), false };
        return (jv_t){ mk(p, "%.*s", (int)t.len, t.s), false };
    }
    if (t.k == T_STR) {
        next(p);
        return (jv_t){ feel_quote(p, t.s, t.len, true), false };
    }
    if (accept(p, "(")) {
        jv_t v = expr(p);
        if (!p->failed && !accept(p, ")"))
            fail(p, "')' expected %s", at(p));
        return p->failed ? BAD : v;    /* what it holds is parenthesized already */
    }
    if (t.k == T_ID) {
        if (is(p, "true") || is(p, "false")) {
            next(p);
            return (jv_t){ mk(p, "%.*s", (int)t.len, t.s), true };
        }
        if (is(p, "null")) {
            next(p);
            return (jv_t){ "null", false };
        }
        tok_t nx = peek(p);
        bool call = nx.k == T_OP && nx.len == 1 && nx.s[0] == '(';
        if (call) {
            fail(p, "function call '%.*s(…)'", (int)t.len, t.s);
            return BAD;
        }
        if (nx.k == T_OP && nx.len == 1 && nx.s[0] == ':') {
            /* ns:fn(…) — in a ternary `a ? b : c`, b is followed by ':' too */
            const char *q = nx.s + 1;
            while (q < p->end && isspace((unsigned char)*q))
                q++;
            const char *r = q;
            while (r < p->end && id_char(*r))
                r++;
            while (r < p->end && isspace((unsigned char)*r))
                r++;
            if (r > q && r < p->end && *r == '(') {
                fail(p, "function call '%.*s(…)'", (int)(r - t.s), t.s);
                return BAD;
            }
        }
        static const struct { const char *name, *why; } objects[] = {
            { "execution", "'execution' (the Camunda 7 execution object)" },
            { "task", "'task' (the Camunda 7 task object)" },
            { "externalTask", "'externalTask' (the Camunda 7 external task object)" },
            { "authenticatedUserId", "'authenticatedUserId' (the Camunda 7 identity service)" },
            { "variableScope", "'variableScope' (the Camunda 7 variable scope)" },
        };
        for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
            if (is(p, objects[i].name)) {
                fail(p, "%s", objects[i].why);
                return BAD;
            }
        static const char *reserved[] = { "and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod",
                                          "empty", "instanceof", NULL };
        for (int i = 0; reserved[i]; i++)
            if (is(p, reserved[i])) {
                fail(p, "'%s' where a value was expected", reserved[i]);
                return BAD;
            }
        if (!feel_name_ok(t.s, t.len)) {
            fail(p, "variable name '%.*s' (a FEEL keyword or a '$' in it)", (int)t.len, t.s);
            return BAD;
        }
        next(p);
        if (t.len == 11 && !memcmp(t.s, "loopCounter", 11))
            return (jv_t){ "(loopCounter - 1)", false };
        return (jv_t){ mk(p, "%.*s", (int)t.len, t.s), false };
    }
    if (t.k == T_END)
        fail(p, "the expression ends where a value was expected");
    else if (t.len == 1 && t.s[0] == '{')
        fail(p, "set or map literal '{…}'");
    else if (t.len == 1 && t.s[0] == '[')
        fail(p, "list literal '[…]'");
    else
        fail(p, "'%.*s' where a value was expected", (int)t.len, t.s);
    return BAD;
}

/* Property access and indexes after a value; a call after either is a method call. */
static jv_t postfix(jp_t *p)
{
    const char *start = p->t.s;
    jv_t v = primary(p);
    while (!p->failed) {
        if (accept(p, ".")) {
            tok_t name = p->t;
            if (name.k != T_ID) {
                fail(p, "a property name expected after '.'");
                return BAD;
            }
            next(p);
            if (is(p, "(")) {
                fail(p, "method call '%.*s(…)'", (int)(name.s + name.len - start), start);
                return BAD;
            }
            v.s = feel_name_ok(name.s, name.len) ? mk(p, "%s.%.*s", v.s, (int)name.len, name.s)
                                                 : mk(p, "get value(%s, \"%.*s\")", v.s, (int)name.len, name.s);
            v.boolean = false;
        } else if (accept(p, "[")) {
            tok_t first = p->t, after = peek(p);
            bool single = after.k == T_OP && after.len == 1 && after.s[0] == ']';
            if (single && first.k == T_NUM && !memchr(first.s, '.', first.len) && first.len <= 9) {
                next(p);
                v.s = mk(p, "%s[%ld]", v.s, strtol(first.s, NULL, 10) + 1);
            } else if (single && first.k == T_STR) {
                next(p);
                v.s = mk(p, "get value(%s, %s)", v.s, feel_quote(p, first.s, first.len, true));
            } else {
                p->depth++;
                jv_t i = expr(p);
                p->depth--;
                if (p->failed)
                    return BAD;
                v.s = mk(p, "(if %s instance of number then %s[%s + 1] else get value(%s, %s))", i.s, v.s, i.s,
                         v.s, i.s);
            }
            if (!p->failed && !accept(p, "]"))
                fail(p, "']' expected %s", at(p));
            if (!p->failed && is(p, "(")) {
                fail(p, "method call '%.*s(…)'", (int)(p->t.s - start), start);
                return BAD;
            }
            v.boolean = false;
        } else
            break;
    }
    return p->failed ? BAD : v;
}

static jv_t unary(jp_t *p)
{
    if (++p->depth > EX_JUEL_MAX_DEPTH) {
        fail(p, "nested deeper than %d levels", EX_JUEL_MAX_DEPTH);
        return BAD;
    }
    jv_t v;
    if (accept(p, "!") || accept(p, "not")) {
        jv_t x = unary(p);
        v = p->failed ? BAD : (jv_t){ mk(p, "not(%s)", as_bool(p, x)), true };
    } else if (accept(p, "-")) {
        jv_t x = unary(p);
        v = p->failed ? BAD : (jv_t){ mk(p, "(-%s)", x.s), false };
    } else if (accept(p, "empty")) {
        jv_t x = unary(p);
        v = p->failed ? BAD
                      : (jv_t){ mk(p, "(if %s = null then true else if %s instance of string then %s = \"\" "
                                      "else if %s instance of list then count(%s) = 0 "
                                      "else if %s instance of context then count(get entries(%s)) = 0 else false)",
                                   x.s, x.s, x.s, x.s, x.s, x.s, x.s),
                                true };
    } else
        v = postfix(p);
    p->depth--;
    return v;
}

/* Index in ops of the operator at the current token (consumed), or -1. */
static int match(jp_t *p, const char *const *ops)
{
    for (int i = 0; ops[i]; i++)
        if (accept(p, ops[i]))
            return i;
    return -1;
}

static jv_t mul(jp_t *p)
{
    static const char *const ops[] = { "*", "/", "div", "%", "mod", NULL };
    jv_t l = unary(p);
    int k;
    while (!p->failed && (k = match(p, ops)) >= 0) {
        jv_t r = unary(p);
        if (p->failed)
            return BAD;
        if (k <= 2)
            l.s = mk(p, "(%s %s %s)", l.s, k == 0 ? "*" : "/", r.s);
        else    /* Java's remainder: the sign of the dividend */
            l.s = mk(p, "(%s - %s * (if %s / %s < 0 then ceiling(%s / %s) else floor(%s / %s)))", l.s, r.s, l.s, r.s,
                     l.s, r.s, l.s, r.s);
        l.boolean = false;
    }
    return p->failed ? BAD : l;
}

static jv_t add(jp_t *p)
{
    static const char *const ops[] = { "+", "-", NULL };
    jv_t l = mul(p);
    int k;
    while (!p->failed && (k = match(p, ops)) >= 0) {
        jv_t r = mul(p);
        if (p->failed)
            return BAD;
        l = (jv_t){ mk(p, "(%s %s %s)", l.s, ops[k], r.s), false };
    }
    return p->failed ? BAD : l;
}

static jv_t rel(jp_t *p)
{
    static const char *const ops[] = { "<=", ">=", "<", ">", "le", "ge", "lt", "gt", NULL };
    static const char *const feel[] = { "<=", ">=", "<", ">", "<=", ">=", "<", ">" };
    jv_t l = add(p);
    int k;
    while (!p->failed && (k = match(p, ops)) >= 0) {
        jv_t r = add(p);
        if (p->failed)
            return BAD;
        l = (jv_t){ mk(p, "(%s %s %s)", l.s, feel[k], r.s), false };
    }
    return p->failed ? BAD : l;
}

static jv_t eq(jp_t *p)
{
    static const char *const ops[] = { "==", "!=", "eq", "ne", NULL };
    static const char *const feel[] = { "=", "!=", "=", "!=" };
    jv_t l = rel(p);
    int k;
    while (!p->failed && (k = match(p, ops)) >= 0) {
        jv_t r = rel(p);
        if (p->failed)
            return BAD;
        l = (jv_t){ mk(p, "(%s %s %s)", l.s, feel[k], r.s), false };
    }
    return p->failed ? BAD : l;
}

static jv_t and_(jp_t *p)
{
    static const char *const ops[] = { "&&", "and", NULL };
    jv_t l = eq(p);
    while (!p->failed && match(p, ops) >= 0) {
        jv_t r = eq(p);
        if (p->failed)
            return BAD;
        const char *a = as_bool(p, l);
        l = (jv_t){ mk(p, "(%s and %s)", a, as_bool(p, r)), true };
    }
    return p->failed ? BAD : l;
}

static jv_t or_(jp_t *p)
{
    static const char *const ops[] = { "||", "or", NULL };
    jv_t l = and_(p);
    while (!p->failed && match(p, ops) >= 0) {
        jv_t r = and_(p);
        if (p->failed)
            return BAD;
        const char *a = as_bool(p, l);
        l = (jv_t){ mk(p, "(%s or %s)", a, as_bool(p, r)), true };
    }
    return p->failed ? BAD : l;
}

static jv_t expr(jp_t *p)
{
    if (++p->depth > EX_JUEL_MAX_DEPTH) {
        fail(p, "nested deeper than %d levels", EX_JUEL_MAX_DEPTH);
        return BAD;
    }
    jv_t c = or_(p);
    if (!p->failed && accept(p, "?")) {
        jv_t a = expr(p);
        if (!p->failed && !accept(p, ":"))
            fail(p, "':' of '? :' expected %s", at(p));
        jv_t b = p->failed ? BAD : expr(p);
        if (!p->failed)
            c = (jv_t){ mk(p, "(if %s then %s else %s)", as_bool(p, c), a.s, b.s), a.boolean && b.boolean };
    }
    if (!p->failed && (is(p, "=") || is(p, "+=") || is(p, ";")))
        fail(p, "assignment or statement '%.*s'", (int)p->t.len, p->t.s);
    if (!p->failed && is(p, "->"))
        fail(p, "lambda expression '->'");
    p->depth--;
    return p->failed ? BAD : c;
}

/* ---- the whole text: literal parts and ${…} / #{…} parts ---- */

bool ex_juel_is(const char *s)
{
    for (const char *q = s; q && *q; q++) {
        if (*q == '\\' && q[1]) {
            q++;
            continue;
        }
        if ((*q == '$' || *q == '#') && q[1] == '{')
            return true;
    }
    return false;
}

/* End of the expression opening at s (after "${"): its closing '}', or NULL. */
static const char *close_of(const char *s)
{
    char quote = 0;
    for (const char *q = s; *q; q++) {
        if (quote) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == quote)
                quote = 0;
        } else if (*q == '\'' || *q == '"')
            quote = *q;
        else if (*q == '}')
            return q;
    }
    return NULL;
}

/* One ${…} body [s, e) as FEEL. */
static jv_t one(jp_t *p, const char *s, const char *e)
{
    p->p = s;
    p->end = e;
    p->depth = 0;
    next(p);
    if (p->t.k == T_END) {
        fail(p, "empty expression '${}'");
        return BAD;
    }
    jv_t v = expr(p);
    if (!p->failed && p->t.k != T_END)
        fail(p, "unexpected '%.*s' after the expression", (int)p->t.len, p->t.s);
    return p->failed ? BAD : v;
}

char *ex_juel_to_feel(const char *src, char *why, size_t whylen)
{
    jp_t p;
    memset(&p, 0, sizeof(p));
    p.src = src;
    p.why = why;
    p.whylen = whylen;
    why[0] = 0;
    char *res = NULL;
    size_t len = strlen(src);
    if (len > EX_JUEL_MAX_LEN) {
        fail(&p, "the expression is longer than %d characters", EX_JUEL_MAX_LEN);
        goto out;
    }
    /* trimmed: a model's text may be indented */
    const char *b = src, *e = src + len;
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    const char *acc = NULL;     /* the concatenation so far */
    int parts = 0;
    bool only_expr = false;
    char *lit = malloc(len + 1);
    if (!lit) {
        fail(&p, "out of memory");
        goto out;
    }
    size_t nlit = 0;
    for (const char *q = b; q <= e && !p.failed; q++) {
        bool opens = q < e && (*q == '$' || *q == '#') && q + 1 < e && q[1] == '{';
        if (q < e && *q == '\\' && q + 1 < e && (q[1] == '$' || q[1] == '#')) {
            lit[nlit++] = *++q;
            continue;
        }
        if (q < e && !opens) {
            lit[nlit++] = *q;
            continue;
        }
        if (nlit) {     /* a literal part ends */
            const char *ls = feel_quote(&p, lit, nlit, false);
            acc = acc ? mk(&p, "%s + %s", acc, ls) : ls;
            parts++;
            nlit = 0;
        }
        if (q >= e)
            break;
        const char *c = close_of(q + 2);
        if (!c || c >= e) {
            fail(&p, "'%c{' without its closing '}'", *q);
            break;
        }
        jv_t v = one(&p, q + 2, c);
        if (p.failed)
            break;
        only_expr = parts == 0 && c + 1 == e;
        if (only_expr) {
            acc = v.s;
            parts++;
            break;
        }
        const char *piece = mk(&p, "(if %s = null then \"\" else string(%s))", v.s, v.s);
        acc = acc ? mk(&p, "%s + %s", acc, piece) : piece;
        parts++;
        q = c;
    }
    free(lit);
    if (!p.failed && !acc)
        acc = "\"\"";
    if (!p.failed && acc && strlen(acc) > EX_JUEL_MAX_OUT)
        fail(&p, "the expression is too large once translated (more than %d FEEL characters)", EX_JUEL_MAX_OUT);
    if (!p.failed && acc)
        res = strdup(acc);
out:
    for (size_t i = 0; i < p.npool; i++)
        free(p.pool[i]);
    free(p.pool);
    return res;
}
