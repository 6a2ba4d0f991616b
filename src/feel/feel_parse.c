/*
 * feel_parse.c — recursive-descent parser from FEEL text to the AST of feel_int.h,
 * for full expressions and for unary tests (decision-table input entries).
 *
 * Precedence, lowest first: if/for/some/every/function; or; and; comparison,
 * between, in, instance of; + -; * /; **; unary -; postfix (filter [..], path .x,
 * call (..)); primary. Errors longjmp out with line and column; the AST lives in the
 * expression's arena, so nothing leaks. Nesting deeper than FEEL_MAX_DEPTH is a
 * parse error, so evaluation recursion is bounded by construction.
 */
#include "feel_int.h"
#include "feel_lex.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    lexer_t lx;
    tok_t t;
    arena_t *ar;
    const char *const *names;       /* caller's known names */
    const char **local;             /* context keys and parameters seen so far */
    size_t nlocal, caplocal;
    int depth;
    bool no_filter;                 /* parsing a range's high end: '[' closes it */
    stack_guard_t guard;
    feel_perr_t *err;
    jmp_buf jb;
} parser_t;

static const char *keywords[] = { "and", "or", "in", "between", "instance", "of", "if", "then",
                                  "else", "for", "return", "some", "every", "satisfies",
                                  "function", "true", "false", "null", "external", NULL };

static bool tok_is_kw(const tok_t *t)
{
    if (t->k != T_NAME)
        return false;
    for (int i = 0; keywords[i]; i++)
        if (strlen(keywords[i]) == t->len && !memcmp(keywords[i], t->s, t->len))
            return true;
    return false;
}

static bool is_word(const tok_t *t, const char *w)
{
    return t->k == T_NAME && strlen(w) == t->len && !memcmp(w, t->s, t->len);
}

static bool is_p(const tok_t *t, const char *p)
{
    return t->k == T_PUNCT && !strcmp(t->p, p);
}

static _Noreturn void fail_at(parser_t *p, int line, int col, const char *msg)
{
    if (p->err) {
        p->err->line = line;
        p->err->col = col;
        snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
    }
    longjmp(p->jb, 1);
}

static _Noreturn void fail(parser_t *p, const char *msg)
{
    char m[160];
    if (p->t.k == T_EOF)
        snprintf(m, sizeof(m), "%s (at end of input)", msg);
    else
        snprintf(m, sizeof(m), "%s (near '%.*s')", msg, (int)(p->t.len > 20 ? 20 : p->t.len), p->t.s);
    fail_at(p, p->t.line, p->t.col, m);
}

static void next(parser_t *p)
{
    if (!lex_next(&p->lx, &p->t))
        fail_at(p, p->lx.line, (int)(p->lx.p - p->lx.line_start) + 1, p->lx.err);
}

static void expect(parser_t *p, const char *punct)
{
    if (!is_p(&p->t, punct)) {
        char m[64];
        snprintf(m, sizeof(m), "expected '%s'", punct);
        fail(p, m);
    }
    next(p);
}

static void *alloc(parser_t *p, size_t n)
{
    void *m = arena_alloc(p->ar, n);
    if (!m)
        fail(p, "expression too large");
    return m;
}

static feel_node_t *mk(parser_t *p, node_kind_t k, const tok_t *at, feel_node_t *a, feel_node_t *b,
                       feel_node_t *c)
{
    feel_node_t *n = alloc(p, sizeof(*n));
    n->k = k;
    n->line = at->line;
    n->col = at->col;
    n->a = a;
    n->b = b;
    n->c = c;
    n->uses_q = (a && a->uses_q) || (b && b->uses_q) || (c && c->uses_q);
    return n;
}

static void set_kids(parser_t *p, feel_node_t *n, feel_node_t **kids, const char **names, size_t cnt)
{
    n->kids = alloc(p, sizeof(*kids) * (cnt ? cnt : 1));
    if (cnt)
        memcpy(n->kids, kids, sizeof(*kids) * cnt);
    if (names) {
        n->names = alloc(p, sizeof(*names) * (cnt ? cnt : 1));
        if (cnt)
            memcpy(n->names, names, sizeof(*names) * cnt);
    }
    n->n = cnt;
    for (size_t i = 0; i < cnt; i++)
        if (kids[i] && kids[i]->uses_q)
            n->uses_q = true;
}

/* Items of a list of tests or of a context literal, growing in the parser's arena
 * (bounded by the source's length; a DMN entry may list hundreds of values). */
typedef struct kidbuf {
    feel_node_t **kids;
    const char **names;
    size_t n, cap;
} kidbuf_t;

static void kid_push(parser_t *p, kidbuf_t *b, feel_node_t *k, const char *name)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        feel_node_t **nk = alloc(p, cap * sizeof(*nk));
        const char **nn = alloc(p, cap * sizeof(*nn));
        if (b->n) {
            memcpy(nk, b->kids, b->n * sizeof(*nk));
            memcpy(nn, b->names, b->n * sizeof(*nn));
        }
        b->kids = nk;
        b->names = nn;
        b->cap = cap;
    }
    b->kids[b->n] = k;
    b->names[b->n++] = name;
}

static void add_local(parser_t *p, const char *name)
{
    if (p->nlocal == p->caplocal) {
        size_t cap = p->caplocal ? p->caplocal * 2 : 16;
        const char **n = alloc(p, cap * sizeof(*n));
        if (p->nlocal)
            memcpy(n, p->local, p->nlocal * sizeof(*n));
        p->local = n;
        p->caplocal = cap;
    }
    p->local[p->nlocal++] = name;
}

/* Length of source consumed when `name` matches at s (whitespace-flexible), or 0. */
static size_t match_known(const char *s, const char *name)
{
    const char *q = s;
    const char *n = name;
    if (!*n)
        return 0;
    while (*n) {
        if (*n == ' ') {
            if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
                return 0;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            while (*n == ' ')
                n++;
            continue;
        }
        if (*q != *n)
            return 0;
        q++;
        n++;
    }
    if (lex_word_char((unsigned char)n[-1]) && lex_word_char((unsigned char)*q))
        return 0;
    return (size_t)(q - s);
}

static void best_match(const char *s, const char *const *list, size_t cnt, size_t *best, const char **bn)
{
    for (size_t i = 0; cnt == (size_t)-1 ? list[i] != NULL : i < cnt; i++) {
        size_t m = match_known(s, list[i]);
        if (m > *best) {
            *best = m;
            *bn = list[i];
        }
    }
}

/* Reads a (possibly multi-word) name at the current token. */
static const char *parse_name(parser_t *p, bool allow_kw)
{
    if (p->t.k != T_NAME || (!allow_kw && tok_is_kw(&p->t)))
        fail(p, "expected a name");
    size_t best = 0;
    const char *bn = NULL;
    best_match(p->t.s, feel_builtin_names(), (size_t)-1, &best, &bn);
    if (p->names)
        best_match(p->t.s, p->names, (size_t)-1, &best, &bn);
    best_match(p->t.s, (const char *const *)p->local, p->nlocal, &best, &bn);
    if (bn && best > p->t.len) {
        /* re-position the lexer after the known name */
        const char *end = p->t.s + best;
        for (const char *c = p->t.s; c < end; c++)
            if (*c == '\n') {
                p->lx.line++;
                p->lx.line_start = c + 1;
            }
        p->lx.p = end;
        next(p);
        return bn;
    }
    char buf[512];
    size_t o = 0;
    do {
        if (o + p->t.len + 2 >= sizeof(buf))
            fail(p, "name too long");
        if (o)
            buf[o++] = ' ';
        memcpy(buf + o, p->t.s, p->t.len);
        o += p->t.len;
        bool q = p->t.len == 1 && p->t.s[0] == '?';
        next(p);
        if (q)
            break;
    } while (p->t.k == T_NAME && !tok_is_kw(&p->t) && !(p->t.len == 1 && p->t.s[0] == '?'));
    return arena_strndup(p->ar, buf, o);
}

static feel_node_t *expr(parser_t *p);
static feel_node_t *additive(parser_t *p);
static feel_node_t *test_or_expr(parser_t *p);
static feel_node_t *list_or_range_in(parser_t *p);

static void enter(parser_t *p)
{
    if (++p->depth > FEEL_MAX_DEPTH || !stack_guard_ok(&p->guard))
        fail(p, "expression nested too deeply");
}

static feel_node_t *lit(parser_t *p, const tok_t *at, feel_value_t *v)
{
    feel_node_t *n = mk(p, N_LIT, at, NULL, NULL, NULL);
    n->lit = v;
    return n;
}

static feel_value_t *pval(parser_t *p, feel_type_t t)
{
    feel_value_t *v = alloc(p, sizeof(*v));
    v->t = t;
    return v;
}

static char cmp_op(const tok_t *t)
{
    if (t->k != T_PUNCT)
        return 0;
    if (!strcmp(t->p, "<")) return '<';
    if (!strcmp(t->p, "<=")) return 'l';
    if (!strcmp(t->p, ">")) return '>';
    if (!strcmp(t->p, ">=")) return 'g';
    if (!strcmp(t->p, "=")) return '=';
    if (!strcmp(t->p, "!=")) return '!';
    return 0;
}

/* After the low endpoint and "..": high endpoint and closing bracket. */
static feel_node_t *range_tail(parser_t *p, const tok_t *at, feel_node_t *lo, bool lo_closed)
{
    bool saved = p->no_filter;
    p->no_filter = true;
    feel_node_t *hi = additive(p);
    p->no_filter = saved;
    bool hi_closed;
    if (is_p(&p->t, "]"))
        hi_closed = true;
    else if (is_p(&p->t, ")") || is_p(&p->t, "["))
        hi_closed = false;
    else
        fail(p, "expected ']', ')' or '[' to close the range");
    next(p);
    feel_node_t *n = mk(p, N_RANGE, at, lo, hi, NULL);
    n->op = (char)((lo_closed ? 1 : 0) | (hi_closed ? 2 : 0));
    return n;
}

static feel_node_t *list_or_range(parser_t *p)
{
    bool saved = p->no_filter;
    p->no_filter = false;
    feel_node_t *r = list_or_range_in(p);
    p->no_filter = saved;
    return r;
}

static feel_node_t *list_or_range_in(parser_t *p)
{
    tok_t at = p->t;
    next(p);    /* [ */
    feel_node_t *kids[64], **kv = kids;
    size_t n = 0, cap = 64;
    if (is_p(&p->t, "]")) {
        next(p);
        feel_node_t *l = mk(p, N_LIST, &at, NULL, NULL, NULL);
        set_kids(p, l, kids, NULL, 0);
        return l;
    }
    feel_node_t *first = test_or_expr(p);
    if (is_p(&p->t, "..")) {
        next(p);
        return range_tail(p, &at, first, true);
    }
    kv[n++] = first;
    while (is_p(&p->t, ",")) {
        next(p);
        if (n == cap) {
            feel_node_t **nk = alloc(p, sizeof(*nk) * cap * 2);
            memcpy(nk, kv, sizeof(*nk) * n);
            kv = nk;
            cap *= 2;
        }
        kv[n++] = test_or_expr(p);
    }
    expect(p, "]");
    feel_node_t *l = mk(p, N_LIST, &at, NULL, NULL, NULL);
    set_kids(p, l, kv, NULL, n);
    return l;
}

static feel_node_t *paren(parser_t *p)
{
    tok_t at = p->t;
    next(p);    /* ( */
    feel_node_t *first = test_or_expr(p);
    if (is_p(&p->t, "..")) {
        next(p);
        return range_tail(p, &at, first, false);
    }
    if (is_p(&p->t, ",")) {     /* a parenthesised list of unary tests */
        kidbuf_t kb = { 0 };
        kid_push(p, &kb, first, NULL);
        while (is_p(&p->t, ",")) {
            next(p);
            kid_push(p, &kb, test_or_expr(p), NULL);
        }
        expect(p, ")");
        feel_node_t *l = mk(p, N_UT_LIST, &at, NULL, NULL, NULL);
        set_kids(p, l, kb.kids, NULL, kb.n);
        return l;
    }
    expect(p, ")");
    return first;
}

static feel_node_t *context_lit(parser_t *p)
{
    tok_t at = p->t;
    next(p);    /* { */
    kidbuf_t kb = { 0 };
    while (!is_p(&p->t, "}")) {
        const char *key;
        if (p->t.k == T_STR) {
            char *b = alloc(p, p->t.len + 1);
            lex_unescape(p->t.s, p->t.len, b);
            key = b;
            next(p);
        } else if (p->t.k == T_NAME) {
            /* a key is any text up to ':' (names may hold special characters) */
            const char *s = p->t.s, *e = s;
            while (*e && *e != ':' && *e != '}' && *e != ',')
                e++;
            if (*e != ':')
                fail(p, "expected ':' after a context key");
            const char *te = e;
            while (te > s && (te[-1] == ' ' || te[-1] == '\t' || te[-1] == '\n' || te[-1] == '\r'))
                te--;
            char *buf = alloc(p, (size_t)(te - s) + 1);    /* runs of blanks become one space */
            size_t o = 0;
            for (const char *c = s; c < te; c++) {
                bool ws = *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r';
                if (ws && o && buf[o - 1] == ' ')
                    continue;
                buf[o++] = ws ? ' ' : *c;
            }
            buf[o] = 0;
            key = buf;
            p->lx.p = e;
            next(p);
        } else {
            fail(p, "expected a context key");
        }
        expect(p, ":");
        enter(p);
        feel_node_t *val = expr(p);
        p->depth--;
        kid_push(p, &kb, val, key);
        add_local(p, key);
        if (!is_p(&p->t, ","))
            break;
        next(p);
    }
    expect(p, "}");
    feel_node_t *c = mk(p, N_CTX, &at, NULL, NULL, NULL);
    set_kids(p, c, kb.kids, kb.names, kb.n);
    return c;
}

static feel_node_t *temporal_lit(parser_t *p)
{
    tok_t at = p->t;
    char *b = alloc(p, p->t.len + 1);
    lex_unescape(p->t.s, p->t.len, b);
    next(p);
    /* @"..." → the matching conversion call at evaluation time */
    const char *fn = strchr(b, 'P') && (b[0] == 'P' || (b[0] == '-' && b[1] == 'P')) ? "duration"
                   : strchr(b, 'T') ? "date and time"
                   : strchr(b, ':') ? "time" : "date";
    feel_node_t *call = mk(p, N_CALL, &at, mk(p, N_NAME, &at, NULL, NULL, NULL), NULL, NULL);
    call->a->name = fn;
    feel_value_t *s = pval(p, FEEL_STR);
    s->u.str.s = b;
    s->u.str.len = strlen(b);
    feel_node_t *arg = lit(p, &at, s);
    set_kids(p, call, &arg, NULL, 1);
    return call;
}

static feel_node_t *primary(parser_t *p)
{
    tok_t at = p->t;
    if (p->t.k == T_NUM) {
        feel_value_t *v = pval(p, FEEL_NUM);
        if (!feel_dec_parse(p->t.s, p->t.len, &v->u.n))
            fail(p, "number out of range");
        next(p);
        return lit(p, &at, v);
    }
    if (p->t.k == T_STR) {
        feel_value_t *v = pval(p, FEEL_STR);
        char *b = alloc(p, p->t.len + 1);
        v->u.str.len = lex_unescape(p->t.s, p->t.len, b);
        v->u.str.s = b;
        next(p);
        return lit(p, &at, v);
    }
    if (p->t.k == T_AT)
        return temporal_lit(p);
    if (is_p(&p->t, "["))
        return list_or_range(p);
    if (is_p(&p->t, "("))
        return paren(p);
    if (is_p(&p->t, "]")) {     /* ]a..b] : open low end */
        next(p);
        feel_node_t *lo = additive(p);
        expect(p, "..");
        return range_tail(p, &at, lo, false);
    }
    if (is_p(&p->t, "{"))
        return context_lit(p);
    if (is_word(&p->t, "true") || is_word(&p->t, "false")) {
        feel_value_t *v = feel_bool(is_word(&p->t, "true"));
        next(p);
        return lit(p, &at, v);
    }
    if (is_word(&p->t, "null")) {
        next(p);
        return lit(p, &at, feel_null());
    }
    if (p->t.k == T_NAME && p->t.len == 1 && p->t.s[0] == '?') {
        next(p);
        feel_node_t *n = mk(p, N_QMARK, &at, NULL, NULL, NULL);
        n->uses_q = true;
        return n;
    }
    if (p->t.k == T_NAME && !tok_is_kw(&p->t)) {
        feel_node_t *n = mk(p, N_NAME, &at, NULL, NULL, NULL);
        n->name = parse_name(p, false);
        return n;
    }
    fail(p, "unexpected token");
}

static feel_node_t *call_args(parser_t *p, feel_node_t *fn, const tok_t *at)
{
    next(p);    /* ( */
    feel_node_t *kids[64];
    const char *names[64];
    size_t n = 0;
    bool named = false;
    feel_node_t *c = mk(p, N_CALL, at, fn, NULL, NULL);
    while (!is_p(&p->t, ")")) {
        if (n == 64)
            fail(p, "too many arguments");
        names[n] = NULL;
        if (p->t.k == T_NAME) {     /* named argument? */
            lexer_t save = p->lx;
            tok_t st = p->t;
            const char *nm = parse_name(p, true);
            if (is_p(&p->t, ":")) {
                next(p);
                names[n] = nm;
                named = true;
            } else {
                p->lx = save;
                p->t = st;
            }
        }
        if (named && !names[n])
            fail(p, "positional argument after a named one");
        kids[n++] = expr(p);
        if (!is_p(&p->t, ","))
            break;
        next(p);
    }
    expect(p, ")");
    c->named = named;
    set_kids(p, c, kids, named ? names : NULL, n);
    return c;
}

static feel_node_t *postfix(parser_t *p)
{
    enter(p);
    feel_node_t *n = primary(p);
    for (;;) {
        tok_t at = p->t;
        if (is_p(&p->t, "[") && !p->no_filter) {
            next(p);
            feel_node_t *f = expr(p);
            expect(p, "]");
            n = mk(p, N_FILTER, &at, n, f, NULL);
        } else if (is_p(&p->t, ".")) {
            next(p);
            feel_node_t *pn = mk(p, N_PATH, &at, n, NULL, NULL);
            if (p->t.k == T_STR) {
                char *b = alloc(p, p->t.len + 1);
                lex_unescape(p->t.s, p->t.len, b);
                pn->name = b;
                next(p);
            } else {
                pn->name = parse_name(p, true);
            }
            n = pn;
        } else if (is_p(&p->t, "(")) {
            n = call_args(p, n, &at);
        } else {
            break;
        }
    }
    p->depth--;
    return n;
}

static feel_node_t *unary(parser_t *p)
{
    if (is_p(&p->t, "-")) {
        tok_t at = p->t;
        next(p);
        enter(p);
        feel_node_t *a = unary(p);
        p->depth--;
        return mk(p, N_NEG, &at, a, NULL, NULL);
    }
    return postfix(p);
}

static feel_node_t *power(parser_t *p)
{
    feel_node_t *a = unary(p);
    while (is_p(&p->t, "**")) {
        tok_t at = p->t;
        next(p);
        feel_node_t *b = unary(p);
        a = mk(p, N_ARITH, &at, a, b, NULL);
        a->op = '^';
    }
    return a;
}

static feel_node_t *multiplicative(parser_t *p)
{
    feel_node_t *a = power(p);
    while (is_p(&p->t, "*") || is_p(&p->t, "/")) {
        tok_t at = p->t;
        char op = p->t.p[0];
        next(p);
        a = mk(p, N_ARITH, &at, a, power(p), NULL);
        a->op = op;
    }
    return a;
}

static feel_node_t *additive(parser_t *p)
{
    feel_node_t *a = multiplicative(p);
    while (is_p(&p->t, "+") || is_p(&p->t, "-")) {
        tok_t at = p->t;
        char op = p->t.p[0];
        next(p);
        a = mk(p, N_ARITH, &at, a, multiplicative(p), NULL);
        a->op = op;
    }
    return a;
}

/* A unary comparison test ("< 5") or an expression. */
static feel_node_t *test_or_expr(parser_t *p)
{
    char op = cmp_op(&p->t);
    if (op) {
        tok_t at = p->t;
        next(p);
        feel_node_t *n = mk(p, N_UT_CMP, &at, additive(p), NULL, NULL);
        n->op = op;
        return n;
    }
    return expr(p);
}

static feel_node_t *in_rhs(parser_t *p)
{
    char op = cmp_op(&p->t);
    if (op) {
        tok_t at = p->t;
        next(p);
        feel_node_t *n = mk(p, N_UT_CMP, &at, additive(p), NULL, NULL);
        n->op = op;
        return n;
    }
    return additive(p);
}

static void skip_type(parser_t *p)
{
    int depth = 0;
    while (p->t.k != T_EOF) {
        if (depth == 0 && (is_p(&p->t, ",") || is_p(&p->t, ")")))
            return;
        if (is_p(&p->t, "<") || is_p(&p->t, "("))
            depth++;
        if (is_p(&p->t, ">") || is_p(&p->t, ")"))
            depth--;
        next(p);
    }
}

static feel_node_t *comparison(parser_t *p)
{
    feel_node_t *a = additive(p);
    for (;;) {
        tok_t at = p->t;
        char op = cmp_op(&p->t);
        if (op) {
            next(p);
            a = mk(p, N_CMP, &at, a, additive(p), NULL);
            a->op = op;
        } else if (is_word(&p->t, "between")) {
            next(p);
            feel_node_t *lo = additive(p);
            if (!is_word(&p->t, "and"))
                fail(p, "expected 'and' in between");
            next(p);
            a = mk(p, N_BETWEEN, &at, a, lo, additive(p));
        } else if (is_word(&p->t, "in")) {
            next(p);
            a = mk(p, N_IN, &at, a, in_rhs(p), NULL);
        } else if (is_word(&p->t, "instance")) {
            next(p);
            if (!is_word(&p->t, "of"))
                fail(p, "expected 'of' after 'instance'");
            next(p);
            feel_node_t *n = mk(p, N_INSTANCE, &at, a, NULL, NULL);
            n->name = parse_name(p, true);
            if (is_p(&p->t, "<")) {     /* list<number>: the base type is what we check */
                int d = 0;
                do {
                    if (is_p(&p->t, "<"))
                        d++;
                    if (is_p(&p->t, ">"))
                        d--;
                    next(p);
                } while (d > 0 && p->t.k != T_EOF);
            }
            a = n;
        } else {
            return a;
        }
    }
}

static feel_node_t *conjunction(parser_t *p)
{
    feel_node_t *a = comparison(p);
    while (is_word(&p->t, "and")) {
        tok_t at = p->t;
        next(p);
        a = mk(p, N_AND, &at, a, comparison(p), NULL);
    }
    return a;
}

static feel_node_t *disjunction(parser_t *p)
{
    feel_node_t *a = conjunction(p);
    while (is_word(&p->t, "or")) {
        tok_t at = p->t;
        next(p);
        a = mk(p, N_OR, &at, a, conjunction(p), NULL);
    }
    return a;
}

/* for / some / every: "name in expr (, name in expr)*" */
static feel_node_t *iteration(parser_t *p, node_kind_t k, const char *closer)
{
    tok_t at = p->t;
    next(p);
    feel_node_t *kids[16];
    const char *names[16];
    size_t n = 0;
    for (;;) {
        if (n == 16)
            fail(p, "too many iteration contexts");
        names[n] = parse_name(p, false);
        add_local(p, names[n]);
        if (!is_word(&p->t, "in"))
            fail(p, "expected 'in'");
        next(p);
        feel_node_t *dom = expr(p);
        if (is_p(&p->t, "..")) {
            tok_t rat = p->t;
            next(p);
            feel_node_t *r = mk(p, N_RANGE, &rat, dom, additive(p), NULL);
            r->op = 3;
            dom = r;
        }
        kids[n++] = dom;
        if (!is_p(&p->t, ","))
            break;
        next(p);
    }
    if (!is_word(&p->t, closer)) {
        char m[48];
        snprintf(m, sizeof(m), "expected '%s'", closer);
        fail(p, m);
    }
    next(p);
    feel_node_t *body = expr(p);
    feel_node_t *node = mk(p, k, &at, body, NULL, NULL);
    set_kids(p, node, kids, names, n);
    return node;
}

static feel_node_t *expr(parser_t *p)
{
    enter(p);
    tok_t at = p->t;
    feel_node_t *n;
    if (is_word(&p->t, "if")) {
        next(p);
        feel_node_t *c = expr(p);
        if (!is_word(&p->t, "then"))
            fail(p, "expected 'then'");
        next(p);
        feel_node_t *t = expr(p);
        if (!is_word(&p->t, "else"))
            fail(p, "expected 'else'");
        next(p);
        n = mk(p, N_IF, &at, c, t, expr(p));
    } else if (is_word(&p->t, "for")) {
        n = iteration(p, N_FOR, "return");
    } else if (is_word(&p->t, "some")) {
        n = iteration(p, N_SOME, "satisfies");
    } else if (is_word(&p->t, "every")) {
        n = iteration(p, N_EVERY, "satisfies");
    } else if (is_word(&p->t, "function")) {
        next(p);
        expect(p, "(");
        const char *names[32];
        size_t cnt = 0;
        while (!is_p(&p->t, ")")) {
            if (cnt == 32)
                fail(p, "too many parameters");
            names[cnt] = parse_name(p, false);
            add_local(p, names[cnt++]);
            if (is_p(&p->t, ":")) {
                next(p);
                skip_type(p);
            }
            if (!is_p(&p->t, ","))
                break;
            next(p);
        }
        expect(p, ")");
        if (is_word(&p->t, "external"))
            fail(p, "external functions are not supported");
        n = mk(p, N_FUNC, &at, expr(p), NULL, NULL);
        set_kids(p, n, NULL, NULL, 0);
        n->names = alloc(p, sizeof(*names) * (cnt ? cnt : 1));
        if (cnt)
            memcpy(n->names, names, sizeof(*names) * cnt);
        n->n = cnt;
        n->uses_q = false;
    } else {
        n = disjunction(p);
    }
    p->depth--;
    return n;
}

static feel_node_t *unary_tests(parser_t *p)
{
    tok_t at = p->t;
    if (is_p(&p->t, "-")) {
        lexer_t save = p->lx;
        tok_t st = p->t;
        next(p);
        if (p->t.k == T_EOF)
            return mk(p, N_UT_ANY, &at, NULL, NULL, NULL);
        p->lx = save;
        p->t = st;
    }
    if (is_word(&p->t, "not")) {
        lexer_t save = p->lx;
        tok_t st = p->t;
        next(p);
        if (is_p(&p->t, "(")) {
            next(p);
            feel_node_t *inner = unary_tests(p);
            if (is_p(&p->t, ")")) {
                next(p);
                if (p->t.k == T_EOF)
                    return mk(p, N_UT_NOT, &at, inner, NULL, NULL);
            }
        }
        p->lx = save;
        p->t = st;
    }
    kidbuf_t kb = { 0 };
    for (;;) {
        kid_push(p, &kb, test_or_expr(p), NULL);
        if (!is_p(&p->t, ","))
            break;
        next(p);
    }
    feel_node_t *l = mk(p, N_UT_LIST, &at, NULL, NULL, NULL);
    set_kids(p, l, kb.kids, NULL, kb.n);
    return l;
}

feel_expr_t *feel_parse(const char *src, feel_mode_t mode, const char *const *names, feel_perr_t *err)
{
    feel_expr_t *volatile e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->arena.cap = 16u << 20;
    e->mode = mode;
    parser_t *volatile p = calloc(1, sizeof(*p));
    if (!p) {
        free(e);
        return NULL;
    }
    p->ar = &e->arena;
    stack_guard_init(&p->guard);
    p->names = names;
    p->err = err;
    lex_init(&p->lx, src ? src : "");
    if (setjmp(p->jb)) {
        arena_free(&e->arena);
        free(e);
        free(p);
        return NULL;
    }
    next(p);
    if (p->t.k == T_EOF && mode == FEEL_EXPR)
        fail(p, "empty expression");
    if (mode == FEEL_UNARY && p->t.k == T_EOF) {
        tok_t at = p->t;
        e->root = mk(p, N_UT_ANY, &at, NULL, NULL, NULL);    /* an empty entry matches all */
    } else {
        e->root = mode == FEEL_UNARY ? unary_tests(p) : expr(p);
    }
    if (p->t.k != T_EOF)
        fail(p, "unexpected text after the expression");
    free(p);
    return e;
}

void feel_expr_free(feel_expr_t *e)
{
    if (!e)
        return;
    arena_free(&e->arena);
    free(e);
}
