/*
 * feel.h — the FEEL interpreter (DMN 1.3 "Friendly Enough Expression Language").
 *
 * Parse once, evaluate many:
 *
 *   feel_expr_t *e = feel_parse("a + b * 2", FEEL_EXPR, names, &perr);  // NULL: perr says where
 *   feel_eval_t *ev = feel_eval_new(NULL);             // default limits
 *   feel_value_t *ctx = feel_context(ev);
 *   feel_ctx_put(ev, ctx, "a", feel_num_parse(ev, "1.1"));
 *   feel_value_t *v = feel_eval(ev, e, ctx);           // never NULL; FEEL null on error
 *   if (feel_eval_error(ev)) ... the first reason a null came out of an error
 *   feel_eval_reset(ev);                               // frees every value of this run
 *   feel_eval_free(ev); feel_expr_free(e);
 *
 * Ownership: a parsed expression owns its AST and is read-only afterwards, so many
 * threads may evaluate it at once, each with its own feel_eval_t. Every value lives
 * in the evaluator's arena until feel_eval_reset/feel_eval_free: values are never
 * freed one by one. A feel_eval_t is used by one thread at a time.
 *
 * Numbers are decimals: a 128-bit two's complement significand and a base-10
 * exponent, rounded half-even to 34 significant digits (IEEE 754 decimal128
 * precision), so 1.1 + 2.2 = 3.3 exactly. sqrt, log, exp and non-integer powers go
 * through binary long double and are rounded back to 34 digits (see docs/rules.md).
 *
 * Names with spaces ("Monthly Salary", "date and time") are resolved at parse time:
 * the parser knows the built-in names and the `names` the caller passes (input data,
 * decisions, context keys); any other run of words that are not keywords is joined.
 *
 * Limits: nesting depth while parsing (FEEL_MAX_DEPTH), call depth, a step budget and
 * an arena byte cap while evaluating; when one is hit the result is null with a reason.
 */
#ifndef FEEL_H
#define FEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEEL_MAX_DEPTH 200

typedef enum {
    FEEL_NULL, FEEL_BOOL, FEEL_NUM, FEEL_STR, FEEL_DATE, FEEL_TIME, FEEL_DT,
    FEEL_DTD,   /* days and time duration */
    FEEL_YMD,   /* years and months duration */
    FEEL_LIST, FEEL_CTX, FEEL_RANGE, FEEL_FN, FEEL_NTYPES
} feel_type_t;

/* A decimal: value = c * 10^e, |c| < 10^34 after rounding. */
typedef struct feel_dec {
    __int128 c;
    int32_t e;
} feel_dec_t;

typedef struct feel_value feel_value_t;
typedef struct feel_eval feel_eval_t;
typedef struct feel_expr feel_expr_t;

/* A C function callable from FEEL (BKMs and decision services of the DMN unit). */
typedef feel_value_t *(*feel_native_fn)(feel_eval_t *ev, void *ud, feel_value_t **args, size_t n);

struct feel_value {
    feel_type_t t;
    union {
        bool b;
        feel_dec_t n;                       /* FEEL_NUM; FEEL_DTD: seconds */
        int64_t months;                     /* FEEL_YMD */
        struct { const char *s; size_t len; } str;
        struct {
            int64_t days;                   /* days since 1970-01-01 (DATE, DT) */
            int64_t nanos;                  /* nanoseconds of the day (TIME, DT) */
            int32_t offset;                 /* seconds east of UTC when has_tz */
            bool has_tz;
            const char *zone;               /* IANA zone id or NULL */
        } tm;
        struct { feel_value_t **items; size_t n; } list;
        struct {
            const char **keys;
            feel_value_t **vals;
            size_t n, cap;
            size_t *idx, idx_cap;           /* key hash index once n ≥ 16 (feel_ctx_put) */
        } ctx;
        struct {
            feel_value_t *lo, *hi;          /* feel_unbounded() when open-ended */
            bool lo_closed, hi_closed;
            char ut;                        /* from a unary test (< 5): its operator, else 0 */
        } range;
        struct {
            const struct feel_builtin *bi;  /* built-in, or */
            const struct feel_node *body;   /* user function (function(a, b) body), or */
            feel_native_fn native;          /* C function */
            void *ud;
            const char **params;
            size_t nparams;
            const struct feel_scope *closure;
        } fn;
    } u;
};

/* ---- parsing ---- */
typedef enum { FEEL_EXPR, FEEL_UNARY } feel_mode_t;

typedef struct feel_perr {
    int line, col;          /* 1-based */
    char msg[160];
} feel_perr_t;

/* names: NULL-terminated extra names the parser should know (may be NULL). */
feel_expr_t *feel_parse(const char *src, feel_mode_t mode, const char *const *names, feel_perr_t *err);
void feel_expr_free(feel_expr_t *e);

/* ---- evaluation ---- */
typedef struct feel_limits {
    uint64_t max_steps;     /* AST nodes visited per run; default 5,000,000 */
    size_t max_bytes;       /* arena cap per run; default feel_memory_limits, 64 MiB */
    int max_calls;          /* nested function calls; default 256 */
    uint32_t regex_match_limit;  /* PCRE2 match limit; default 1,000,000 */
} feel_limits_t;

feel_eval_t *feel_eval_new(const feel_limits_t *lim);   /* NULL lim: defaults */
/* Process-wide memory caps, set at start-up (config [rules]) before evaluations run:
 * per_eval, the default arena cap of one evaluation; total, what the arenas of all
 * evaluators (every thread) may hold together: an allocation beyond it fails with the
 * same "evaluation memory limit reached" error. 0 keeps a value (defaults: 64 MiB and
 * 512 MiB, so 128 workers cannot take 128 × 64 MiB). */
void feel_memory_limits(size_t per_eval, size_t total);
size_t feel_memory_in_use(void);    /* bytes the arenas of all evaluators hold now */
void feel_eval_free(feel_eval_t *ev);
void feel_eval_reset(feel_eval_t *ev);
/* The calling thread's own evaluator (default limits), reset; freed when the thread
 * ends. NULL on no memory. */
feel_eval_t *feel_eval_thread(void);
/* Resets the calling thread's evaluator if it holds more than its first small chunk:
 * the HTTP dispatcher calls it when a request is answered, so an idle worker keeps no
 * evaluation memory (values of feel_eval_thread() are dead by then). */
void feel_eval_thread_release(void);
const char *feel_eval_error(const feel_eval_t *ev);    /* NULL when no error yet */
void feel_eval_clear_error(feel_eval_t *ev);
/* Records a reason (first one wins) and returns the null value: `return feel_err(...)`. */
feel_value_t *feel_err(feel_eval_t *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Warnings collected during the run (non-fatal nulls), newline-separated, or NULL. */
void *feel_alloc(feel_eval_t *ev, size_t n);            /* arena, zeroed; NULL over the cap */

/* ctx: a FEEL_CTX whose entries are the variables, or NULL. */
feel_value_t *feel_eval(feel_eval_t *ev, const feel_expr_t *e, const feel_value_t *ctx);
/* The distinct names e mentions (variables, and built-ins it calls), borrowed from e,
 * into names[0..max); returns their count, or -1 when there are more than max. */
int feel_expr_names(const feel_expr_t *e, const char **names, int max);
/* Unary tests (FEEL_UNARY expression) against input: true, false, or null on error. */
feel_value_t *feel_test(feel_eval_t *ev, const feel_expr_t *e, const feel_value_t *input,
                        const feel_value_t *ctx);
/* Calls a function value with positional arguments. */
feel_value_t *feel_call(feel_eval_t *ev, const feel_value_t *fn, feel_value_t **args, size_t n);

/* ---- values (all allocated in ev's arena) ---- */
feel_value_t *feel_null(void);                  /* a shared immutable null */
feel_value_t *feel_bool(bool b);                /* shared immutable true/false */
/* The missing end of a range made from a unary test (< 5): a null that means "no
 * bound", unlike a literal null endpoint, which makes membership unknown. */
feel_value_t *feel_unbounded(void);
feel_value_t *feel_num(feel_eval_t *ev, feel_dec_t d);
feel_value_t *feel_num_int(feel_eval_t *ev, int64_t i);
feel_value_t *feel_num_parse(feel_eval_t *ev, const char *s);   /* null when not a number */
feel_value_t *feel_num_double(feel_eval_t *ev, double d);
feel_value_t *feel_str(feel_eval_t *ev, const char *s, size_t len);
feel_value_t *feel_cstr(feel_eval_t *ev, const char *s);
feel_value_t *feel_list(feel_eval_t *ev, size_t n);             /* n null items to fill */
feel_value_t *feel_list_from(feel_eval_t *ev, feel_value_t **items, size_t n);
feel_value_t *feel_context(feel_eval_t *ev);
bool feel_is_true(const feel_value_t *v);
/* a op b for op in + - * / and '^' (**), with FEEL's typing rules */
feel_value_t *feel_arith(feel_eval_t *ev, char op, const feel_value_t *a, const feel_value_t *b);
/* Adds or replaces key (copied). */
void feel_ctx_put(feel_eval_t *ev, feel_value_t *ctx, const char *key, feel_value_t *v);
feel_value_t *feel_ctx_get(const feel_value_t *ctx, const char *key);  /* NULL: absent */
feel_value_t *feel_native(feel_eval_t *ev, feel_native_fn fn, void *ud, const char **params, size_t n);
/* "date", "time", "date and time", "duration" from ISO text; null when invalid. */
feel_value_t *feel_temporal_parse(feel_eval_t *ev, feel_type_t t, const char *s);

/* equality (FEEL `=`): 1 true, 0 false, -1 null (not comparable) */
int feel_equal(const feel_value_t *a, const feel_value_t *b);
/* ordering: <0, 0, >0, or FEEL_INCOMPARABLE */
#define FEEL_INCOMPARABLE 0x7fff
int feel_compare(const feel_value_t *a, const feel_value_t *b);
/* FEEL string() of a value, or the literal form for lists/contexts (caller: arena). */
const char *feel_to_string(feel_eval_t *ev, const feel_value_t *v);
const char *feel_type_name(feel_type_t t);

/* decimal helpers (feel_dec.c) */
bool feel_dec_parse(const char *s, size_t len, feel_dec_t *out);
void feel_dec_format(feel_dec_t d, char *buf, size_t len);   /* plain notation, ≥ 48 bytes */
feel_dec_t feel_dec_from_int(int64_t i);
bool feel_dec_add(feel_dec_t a, feel_dec_t b, feel_dec_t *r);
bool feel_dec_sub(feel_dec_t a, feel_dec_t b, feel_dec_t *r);
bool feel_dec_mul(feel_dec_t a, feel_dec_t b, feel_dec_t *r);
bool feel_dec_div(feel_dec_t a, feel_dec_t b, feel_dec_t *r);  /* false: division by zero */
int feel_dec_cmp(feel_dec_t a, feel_dec_t b);
double feel_dec_to_double(feel_dec_t d);
bool feel_dec_from_double(double x, feel_dec_t *out);
bool feel_dec_is_int(feel_dec_t d);
bool feel_dec_to_int64(feel_dec_t d, int64_t *out);    /* false when not an integer in range */
/* Rounds to `scale` digits after the point; mode: 'e' half even, 'u' up, 'd' down,
 * 'U' half up, 'D' half down, 'f' floor, 'c' ceiling. */
feel_dec_t feel_dec_round(feel_dec_t d, int32_t scale, char mode);

#endif
