/*
 * dmn_int.h — private to src/dmn/: the in-memory model shared by the importers
 * (dmn_import.c for XML, dmn_json.c for JSON) and the evaluator (dmn_eval.c).
 * Everything hangs off the model and is freed by dmn_model_free.
 */
#ifndef DMN_INT_H
#define DMN_INT_H

#include "dmn.h"

typedef enum { X_LITERAL, X_TABLE, X_CONTEXT, X_INVOCATION, X_LIST, X_RELATION, X_FUNCTION } dmn_xkind_t;

typedef enum { HP_UNIQUE, HP_FIRST, HP_PRIORITY, HP_ANY, HP_COLLECT, HP_RULE_ORDER, HP_OUTPUT_ORDER } dmn_hp_t;
typedef enum { AG_NONE, AG_SUM, AG_MIN, AG_MAX, AG_COUNT } dmn_agg_t;

typedef struct dmn_expr dmn_expr_t;

typedef struct dmn_entry {          /* context entry, invocation binding, relation cell */
    char *name;                     /* NULL: the context's final result */
    dmn_expr_t *value;
} dmn_entry_t;

typedef struct dmn_dt_input {
    feel_expr_t *expr;              /* input expression */
    feel_expr_t *values;            /* allowed input values (unary tests) or NULL */
} dmn_dt_input_t;

typedef struct dmn_dt_output {
    char *name;
    feel_expr_t *values;            /* output values as unary tests (constraint) or NULL */
    feel_expr_t *priority;          /* output values as a list expression (PRIORITY order) */
    feel_expr_t *dflt;              /* default output entry or NULL */
} dmn_dt_output_t;

typedef struct dmn_rule {
    char *id;
    feel_expr_t **in;               /* ninputs unary tests */
    feel_expr_t **out;              /* noutputs expressions */
} dmn_rule_t;

struct dmn_expr {
    dmn_xkind_t k;
    char *id;
    char *type_ref;
    /* X_LITERAL */
    feel_expr_t *feel;
    /* X_TABLE */
    dmn_hp_t hp;
    dmn_agg_t agg;
    dmn_dt_input_t *inputs;
    size_t ninputs;
    dmn_dt_output_t *outputs;
    size_t noutputs;
    dmn_rule_t *rules;
    size_t nrules;
    /* X_CONTEXT, X_LIST (unnamed), X_INVOCATION bindings, X_RELATION (rows × cols) */
    dmn_entry_t *entries;
    size_t nentries;
    char *callee;                   /* X_INVOCATION */
    char **cols;                    /* X_RELATION column names */
    size_t ncols;
    /* X_FUNCTION */
    char **params;
    size_t nparams;
    dmn_expr_t *body;
};

typedef enum { NODE_DECISION, NODE_INPUT, NODE_BKM } dmn_nkind_t;

typedef struct dmn_node {
    dmn_nkind_t k;
    char *id, *name, *type_ref;
    char *version_tag;              /* decision: camunda:versionTag, or NULL */
    char *var_name;                 /* name of its <variable>, or NULL */
    dmn_expr_t *expr;               /* decision logic; BKM: an X_FUNCTION; NULL: none yet (warned at import) */
    size_t *reqs;                   /* indexes of required decisions, inputs and BKMs */
    size_t nreqs;
} dmn_node_t;

typedef struct dmn_itemdef {
    char *name, *type_ref;
    bool is_collection;
    feel_expr_t *allowed;           /* allowedValues or NULL */
} dmn_itemdef_t;

struct dmn_model {
    char *name;
    dmn_node_t *nodes;
    size_t nnodes;
    dmn_itemdef_t *items;
    size_t nitems;
    const char **names;             /* every name FEEL text may use, NULL-terminated */
    size_t nnames;
    char **warnings;                /* import warnings (at most DMN_MAX_LOAD_WARNINGS) */
    size_t nwarnings;
};

#define DMN_MAX_LOAD_WARNINGS 64

/* dmn_model.c: shared by both importers */
void *dmn_xalloc(size_t n);                             /* calloc or abort-free NULL */
char *dmn_strdup(const char *s);
void dmn_expr_free(dmn_expr_t *e);
int dmn_link(dmn_model_t *m, dmn_err_t *err);            /* resolves, checks cycles */
void dmn_add_name(dmn_model_t *m, const char *name);
feel_expr_t *dmn_feel(const dmn_model_t *m, const char *text, feel_mode_t mode, const char *elem, dmn_err_t *err);
int dmn_fail(dmn_err_t *err, const char *elem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dmn_load_warn(dmn_model_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const dmn_itemdef_t *dmn_itemdef(const dmn_model_t *m, const char *type_ref);

#endif
