/*
 * feel_int.h — private to src/feel/: the arena, the AST, scopes and the built-in
 * table shared by the lexer, parser, evaluator and built-ins.
 */
#ifndef FEEL_INT_H
#define FEEL_INT_H

#include "feel.h"

#include <stdarg.h>

/* ---- arena: bump allocation in chunks, freed at once ----
 * Chunks grow geometrically (16 KB up to 4 MiB); an allocation above 64 KiB gets a
 * chunk of its own. Chunks of 128 KiB and more are mmap'ed, so freeing them gives the
 * memory back to the system at once (malloc would keep it in its arenas). An arena of
 * an evaluator (`shared`) also draws on one process-wide budget (feel_memory_limits). */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    bool mapped;
    max_align_t data[];
} arena_chunk_t;

typedef struct arena {
    arena_chunk_t *head;
    size_t total, cap;      /* cap 0: unlimited */
    bool shared;            /* counts against the process-wide budget */
    bool over_shared;       /* the last failure was the process-wide budget */
} arena_t;

void *arena_alloc(arena_t *a, size_t n);   /* zeroed; NULL over the cap */
char *arena_strndup(arena_t *a, const char *s, size_t n);
void arena_free(arena_t *a);
/* Frees every chunk but the first one when that one is small; returns the bytes the
 * arena held before. */
size_t arena_reset(arena_t *a);
size_t feel_default_max_bytes(void);    /* per-evaluation cap of feel_memory_limits */
size_t feel_memory_total(void);         /* the process-wide cap */

/* ---- stack guard: recursion stops well before the thread's stack ends ----
 * Worker threads may have small stacks (CivetWeb's are ~100 KiB), so the parser and
 * the evaluator measure how deep they are instead of trusting a fixed depth. */
typedef struct stack_guard {
    const char *base;       /* stack address at the outermost entry */
    size_t budget;          /* bytes we may use below base */
} stack_guard_t;

void stack_guard_init(stack_guard_t *g);
static inline bool stack_guard_ok(const stack_guard_t *g)
{
    char here;
    ptrdiff_t used = g->base - &here;   /* negative: above the entry frame */
    return used < (ptrdiff_t)g->budget;
}

/* ---- AST ---- */
typedef enum {
    N_LIT,          /* lit */
    N_NAME,         /* name */
    N_QMARK,        /* ? in unary tests */
    N_NEG,          /* -a */
    N_ARITH,        /* a op b, op in + - * / ^ */
    N_CMP,          /* a op b, op in = ! < l > g  (l: <=, g: >=, !: !=) */
    N_AND, N_OR,
    N_BETWEEN,      /* a between b and c */
    N_IN,           /* a in b (b: a test node) */
    N_INSTANCE,     /* a instance of name */
    N_IF,           /* if a then b else c */
    N_FOR,          /* for names[i] in kids[i] ... return a */
    N_SOME, N_EVERY,/* quantified: names/kids, satisfies a */
    N_LIST,         /* [kids] */
    N_CTX,          /* {names[i]: kids[i]} */
    N_RANGE,        /* a..b with lo_closed/hi_closed (op bits) */
    N_FILTER,       /* a[b] */
    N_PATH,         /* a.name */
    N_CALL,         /* a(kids) or a(names[i]: kids[i]) when named */
    N_FUNC,         /* function(names) a */
    N_UT_CMP,       /* op a: unary comparison ( < 5 ) */
    N_UT_LIST,      /* kids: a list of positive unary tests */
    N_UT_NOT,       /* not(kids) */
    N_UT_ANY,       /* - */
} node_kind_t;

typedef struct feel_node {
    node_kind_t k;
    char op;
    bool named;             /* N_CALL with named arguments */
    bool uses_q;            /* subtree mentions ? */
    int line, col;
    struct feel_node *a, *b, *c;
    struct feel_node **kids;
    const char **names;
    size_t n;
    const char *name;
    feel_value_t *lit;
} feel_node_t;

struct feel_expr {
    arena_t arena;
    feel_node_t *root;
    feel_mode_t mode;
};

/* ---- scopes: a chain of contexts ---- */
typedef struct feel_scope {
    const feel_value_t *ctx;        /* FEEL_CTX */
    const struct feel_scope *up;
} feel_scope_t;

/* ---- evaluator ---- */
struct feel_eval {
    arena_t arena;
    feel_limits_t lim;
    uint64_t steps;
    int calls;
    char err[256];
    bool has_err;
    bool limit;             /* a step, memory or stack limit was hit: the result is null */
    int entered;            /* nesting of public entry points (natives call back in) */
    stack_guard_t guard;
};

/* ---- built-ins ---- */
typedef feel_value_t *(*builtin_fn)(feel_eval_t *ev, feel_value_t **a, size_t n);
typedef struct feel_builtin {
    const char *name;
    const char *params;     /* "string,start position,length?" ('?': optional, '*': varargs) */
    builtin_fn fn;
} feel_builtin_t;

const feel_builtin_t *feel_builtin_find(const char *name);
bool feel_builtin_unwraps(const feel_builtin_t *bi);    /* singleton lists become their item */
const char *const *feel_builtin_names(void);    /* NULL-terminated, for the parser */

/* feel_value.c */
feel_value_t *feel_alloc_value(feel_eval_t *ev, feel_type_t t);
/* Singleton list → item ("coercion"); anything else unchanged. */
const feel_value_t *feel_unwrap1(const feel_value_t *v);

/* feel_time.c */
int64_t feel_days_from_civil(int64_t y, unsigned m, unsigned d);
void feel_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
bool feel_valid_date(int64_t y, unsigned m, unsigned d);
feel_value_t *feel_parse_date(feel_eval_t *ev, const char *s);
feel_value_t *feel_parse_time(feel_eval_t *ev, const char *s);
feel_value_t *feel_parse_dt(feel_eval_t *ev, const char *s);
feel_value_t *feel_parse_duration(feel_eval_t *ev, const char *s);
/* instant in nanoseconds since epoch for DT/TIME (TIME: of day, UTC-adjusted) */
bool feel_dt_instant(const feel_value_t *v, __int128 *out);
void feel_format_temporal(const feel_value_t *v, char *buf, size_t len);
int feel_zone_offset(const char *zone, int64_t utc_secs, bool local, int32_t *off);
feel_value_t *feel_temporal_arith(feel_eval_t *ev, char op, const feel_value_t *a, const feel_value_t *b);
feel_value_t *feel_temporal_prop(feel_eval_t *ev, const feel_value_t *v, const char *name, bool *found);

/* feel_eval.c */
feel_value_t *feel_eval_node(feel_eval_t *ev, const feel_node_t *n, const feel_scope_t *sc);
/* Charges n units of built-in work to the step budget (one unit ~ one AST visit: an
 * item walked, hashed or compared). false, with the step-limit error, when over. */
bool feel_charge(feel_eval_t *ev, uint64_t n);

/* feel_hash.c */
/* A hash consistent with feel_equal: values it calls equal (1) hash alike (1 and 1.0,
 * the same instant in two offsets, contexts in any key order). *work grows by the
 * nodes visited. Nesting deeper than 32 levels hashes as one constant. */
uint64_t feel_hash(const feel_value_t *v, uint64_t *work);
/* items without repeats (feel_equal == 1), first occurrences in their order: one hash
 * table pass, charged to the step budget. */
feel_value_t *feel_distinct(feel_eval_t *ev, feel_value_t *const *items, size_t n);
/* FNV-1a of n bytes (context keys, strings). */
uint64_t feel_hash_bytes(const char *s, size_t n);

#endif
