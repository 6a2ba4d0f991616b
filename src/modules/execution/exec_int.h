/*
 * exec_int.h — private to the Execution Engine: compiled definitions (exec_def.c),
 * instance documents and the token machine (exec_run.c), their storage
 * (exec_store.c) and the worker, timers and subscriptions (exec_work.c).
 *
 * Every change to instances happens inside one write transaction on execution.db (an
 * ex_tx_t): instances touched are loaded into the transaction, run until every token
 * waits or ends, and saved with their history and outbox rows before the commit.
 */
#ifndef EXEC_INT_H
#define EXEC_INT_H

#include "../modules.h"
#include "../../fm_dbq.h"
#include "../../feel/feel.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define EX_SOURCE "/flowmaster/execution"
#define EX_MAX_TX_INSTANCES 64
#define EX_MAX_STEPS 100000         /* element executions per transaction */
#define EX_MI_SLICE 1000            /* multi-instance iterations started per transaction (at least) */
#define EX_MI_SLICES 8              /* ... and at most this many transactions to start them all */

/* ---- compiled definitions (exec_def.c) ---- */

typedef enum {
    N_START, N_END, N_TASK, N_SCRIPT, N_RULE, N_JOB, N_USER, N_SEND, N_RECEIVE, N_CALL,
    N_SUB, N_XOR, N_AND, N_OR, N_EVENTGW, N_CATCH, N_THROW, N_BOUNDARY,
    N_COMPLEX,
} ex_kind_t;

typedef enum { E_NONE, E_MESSAGE, E_TIMER, E_ERROR, E_ESCALATION, E_TERMINATE, E_SIGNAL, E_OTHER,
               E_CONDITIONAL, E_LINK, E_COMPENSATE, E_CANCEL } ex_ev_t;

typedef struct ex_expr {            /* a FEEL expression, or a literal string */
    feel_expr_t *feel;
    char *text;
} ex_expr_t;

typedef struct ex_map { ex_expr_t source; char *target; } ex_map_t;

typedef struct ex_flow {
    const char *id;
    int src, dst;
    feel_expr_t *cond;              /* NULL: unconditional */
} ex_flow_t;

typedef struct ex_node {
    const char *id, *name, *type;   /* borrowed from the model */
    ex_kind_t kind;
    ex_ev_t ev;
    int container;                  /* node index of the subprocess holding it, -1 process */
    int *out, nout, *in, nin;       /* flow indices */
    int deflt;                      /* default flow, -1 */
    /* events */
    char timer_kind;                /* 'd' duration, 't' date, 'c' cycle */
    ex_expr_t timer;
    ex_expr_t signal;               /* signal name (literal or FEEL) */
    char *msg_name;
    feel_expr_t *corr;              /* correlation key */
    char *code;                     /* error/escalation code; NULL catches all */
    bool interrupting;
    int attached;                   /* boundary: the activity */
    int *bounds, nbounds;           /* activity: its boundary events */
    int *starts, nstarts;           /* subprocess/event subprocess: none/any start events */
    int *evsubs, nevsubs;           /* subprocess: event subprocesses directly inside */
    bool triggered;                 /* an event subprocess */
    feel_expr_t *condition;         /* conditional event: its condition; complex gateway: activationCondition */
    int link;                       /* link throw: the link catch it goes to, -1 */
    int comp;                       /* activity: its compensation handler (compensation boundary), -1 */
    int cancel_bound;               /* transaction: its cancel boundary, -1 */
    bool is_tx;                     /* a transaction subprocess */
    /* tasks */
    feel_expr_t *script;
    char *result_var;
    char *job_type;
    int retries;
    char *headers;                  /* JSON object text */
    char *decision;                 /* rul_…[#decision], or a DMN decision id */
    char *decision_tag;             /* DMN decision id bound by version tag, or NULL: latest */
    int dec_map;                    /* camunda:mapDecisionResult (EX_C7_…), 0: the value as it is */
    ex_expr_t assignee, cand_users, cand_groups, due;
    char *form;                     /* JSON Schema or form-js text */
    char *form_id, *form_tag;       /* zeebe:formDefinition formId (form store), versionTag binding */
    char *called;
    ex_map_t *ins, *outs;
    int nins, nouts;
    bool has_ins, has_outs;
    /* multi-instance */
    bool mi, mi_seq;
    feel_expr_t *mi_card, *mi_coll, *mi_out_elem, *mi_cond;
    char *mi_in_elem, *mi_out_coll;
} ex_node_t;

typedef struct ex_def {
    char *tenant, *process_id, *bpmn_id, *key;
    int version;
    struct bpmn_model *model;
    ex_node_t *nodes;
    int nnodes;
    ex_flow_t *flows;
    int nflows;
    int *starts, nstarts;           /* top-level start events */
    int *evsubs, nevsubs;           /* top-level event subprocesses */
    bool has_cond;                  /* conditional events: checked after each step (exec_cond.c) */
    uint64_t *reach;                /* nnodes × words: nodes reachable from each node */
    int words;
    int64_t hist_ttl_ms;            /* historyTimeToLive of the process; -1: the global policy */
} ex_def_t;

/* Compiles the executable process (bpmn_id, or the first executable one) of xml. */
ex_def_t *ex_def_compile(const char *xml, size_t len, const char *bpmn_id, char *err, size_t errlen);
void ex_def_free(ex_def_t *d);
/* A node's decision names a FlowMaster rule set ("rul_" + its 20 symbols, optionally
 * "#decision"); anything else is a DMN decision id (Camunda 8 zeebe:calledDecision). */
bool ex_rule_set_ref(const char *decision);
int ex_node_find(const ex_def_t *d, const char *id);
bool ex_reaches(const ex_def_t *d, int from, int to);

/* Camunda 7 models (exec_camunda7.c): the camunda: extensions of element n read into
 * x before the zeebe: ones (a zeebe: extension saying the same thing wins); JUEL
 * text parsed as the FEEL it translates to; conditions in a script language refused;
 * camunda:mapDecisionResult applied to a decision's value (NULL: why says). */
#define EX_CAMUNDA_NS "http://camunda.org/schema/1.0/bpmn"
enum { EX_C7_SINGLE_ENTRY = 1, EX_C7_SINGLE_RESULT, EX_C7_COLLECT_ENTRIES, EX_C7_RESULT_LIST };
struct bpmn_node;
void ex_c7_node(ex_node_t *x, const struct bpmn_node *n, char *err, size_t errlen);
feel_expr_t *ex_c7_juel(const char *src, const char *what, const char *el, char *err, size_t errlen);
bool ex_c7_script_refused(const struct bpmn_node *expr, const char *el, char *err, size_t errlen);
cJSON *ex_c7_decision_result(int mode, const cJSON *val, char *why, size_t whylen);

/* Definition cache (exec_def.c): fetches through fm_call from Process Design.
 * process_ref: proc_… or a BPMN process id; version 0: latest published. On failure
 * *field says which input was wrong ("processId" or "version"). The definition lives
 * as long as the engine. */
int ex_def_get(const char *tenant, const char *process_ref, int version, ex_def_t **out,
               const char **field, char *why, size_t whylen);
/* Registers a definition directly (bench, tests): becomes (tenant, process_id, version). */
int ex_def_put(const char *tenant, const char *process_id, int version, ex_def_t *d);
void ex_def_latest_set(const char *tenant, const char *process_id, int version);
void ex_defs_clear(void);

/* ---- instances (exec_run.c) ---- */

enum { W_READY, W_TASK, W_JOB, W_MSG, W_TIMER, W_CALL, W_JOIN, W_EVENT, W_INCIDENT, W_MI, W_SUB, W_SIGNAL,
       W_DONE,
       W_COND,
       W_COMP };        /* stored in documents: new waits go last */
enum { S_ROOT, S_SUB, S_MI_BODY, S_MI_ITER, S_EVSUB,
       S_IO };          /* an element's own variables (zeebe:ioMapping), owner: its token */
enum { I_ACTIVE, I_PAUSED, I_COMPLETED, I_CANCELLED, I_FAILED };

typedef struct ex_tok {
    int id, node, scope, wait, flow;    /* flow: the flow it arrived on, -1 */
    int flags;                          /* exec_run.c: boundaries armed, entry recorded */
    char ref[48];                       /* task, job, child instance or incident id */
} ex_tok_t;

typedef struct ex_scope {
    int id, parent, node, owner, kind;  /* owner: the token waiting for the scope */
    cJSON *vars;                        /* local variables (object) */
    int mi_n, mi_done, mi_next;         /* multi-instance body */
    cJSON *mi_items, *mi_out;           /* collection and output collection */
    cJSON **mi_item_at, **mi_out_at;    /* in memory: their items by index (built when first needed) */
    char *mi_items_text;                /* in memory: mi_items as stored (it never changes) */
    int busy;                           /* in memory: its tokens + its event-subprocess and IO scopes */
    bool interrupting;                  /* event subprocess */
} ex_scope_t;

/* In memory only: token or scope id -> array position (open addressing). */
typedef struct ex_idx { int *keys, *vals; int cap, n; } ex_idx_t;

typedef struct ex_inst {
    char id[48], tenant[72], process_id[72], bpmn_id[256], parent_id[48];
    char *business_key;
    int version, state, parent_token;
    ex_def_t *def;
    ex_tok_t *toks;
    int ntoks, captoks, next_id;
    ex_scope_t *scopes;
    int nscopes, capscopes;
    cJSON *vars;                        /* root scope */
    cJSON *hist;                        /* entries of this step */
    int64_t hist_seq;                   /* entries stored before this step */
    int incidents;
    bool is_new, dirty;
    bool running;                       /* run() is on this instance's stack */
    bool indexed;                       /* tok_idx/scope_idx built */
    ex_idx_t tok_idx, scope_idx;
    int scan;                           /* no READY token before this position (exec_doc.c ex_tok) */
    int root_busy;                      /* as ex_scope_t.busy, for the root scope */
    char *saved_doc;                    /* a large document as this transaction stored it (exec_store.c) */
    char created_at[32], updated_at[32], ended_at[32];
    char *idem_key;
    cJSON *comp;                        /* compensation records (exec_comp.c), NULL: none */
    cJSON *held;                        /* messages that came while paused: [[kind, token, scope,
                                         * element, vars], …], delivered on resume (NULL: none) */
} ex_inst_t;

/* Things to do after the commit (exec_work.c performs them). */
typedef struct ex_after {
    int64_t min_due;                    /* earliest timer added, INT64_MAX none */
    char **http_jobs;                   /* job ids of http connector jobs to run */
    int nhttp;
    char **cancel_tasks;                /* "tenant\ttask id" to cancel in 9006 */
    int ncancel;
    bool signals;                       /* thrown signals were queued (exec_signal.c) */
} ex_after_t;

typedef struct ex_tx {
    fm_db_t *db;
    fm_dbc_t *w;                        /* the writer, from fm_dbq_write_begin */
    ex_inst_t *insts[EX_MAX_TX_INSTANCES];
    int ninsts;
    int steps;
    ex_after_t after;
    int64_t now_ms;
    char now[32];
    struct ex_msgwish *wishes;          /* subscriptions opened that may take a buffered message */
    int nwishes, capwishes;
    bool delivering;                    /* ex_msgbuf_deliver is on the stack */
} ex_tx_t;

/* Starts an instance inside tx (runs it to its first wait states). vars may be NULL. */
int ex_start(ex_tx_t *tx, ex_def_t *def, const char *business_key, const cJSON *vars,
             const char *idem_key, const char *parent_id, int parent_token, int start_node,
             ex_inst_t **out);
/* Loads (or finds already loaded) an instance into tx; FM_ENOTFOUND. */
int ex_load(ex_tx_t *tx, const char *tenant, const char *id, ex_inst_t **out);

/* What can happen to a waiting instance (each runs the instance on afterwards). */
int ex_trigger(ex_tx_t *tx, ex_inst_t *in, const char *kind, int token, int scope,
               const char *element, const cJSON *vars);
int ex_task_done(ex_tx_t *tx, ex_inst_t *in, int token, const char *task_id, const cJSON *response);
int ex_job_done(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id, const cJSON *vars);
int ex_job_error(ex_tx_t *tx, ex_inst_t *in, int token, const char *code, const char *msg, const cJSON *vars);
int ex_job_incident(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id, const char *msg);
int ex_incident_retry(ex_tx_t *tx, ex_inst_t *in, int token);
/* A job incident resolved: the token waits for the job again. */
int ex_incident_retry_job(ex_tx_t *tx, ex_inst_t *in, int token, const char *job_id);
/* The variables the token sees (caller deletes); root variables when it is gone. */
cJSON *ex_token_vars(ex_inst_t *in, int token);
int ex_cancel(ex_tx_t *tx, ex_inst_t *in);
int ex_set_state(ex_tx_t *tx, ex_inst_t *in, int state);
int ex_set_vars(ex_tx_t *tx, ex_inst_t *in, const cJSON *vars);
void ex_inst_free(ex_inst_t *in);
const char *ex_state_name(int state);
int ex_state_parse(const char *s);

/* The instance as the API shows it (caller deletes); with_vars: include variables. */
cJSON *ex_inst_json(const ex_inst_t *in, bool with_vars);

/* Delivers a message: to the oldest subscription of (tenant, name, key) outside
 * skip_instance, and to the message start of every other published process (one new
 * instance each, latest version; Camunda 8). inst_out/el_out/started: the first
 * delivery (the waiting one, else a start); list (may be NULL) gets every delivery as
 * {executionId, elementId, started}. FM_ENOTFOUND when nobody waits. */
int ex_correlate(ex_tx_t *tx, const char *tenant, const char *name, const char *key, const cJSON *vars,
                 char *inst_out, size_t inst_len, char *el_out, size_t el_len, bool *started,
                 const char *skip_instance, cJSON *list);

/* ---- the token machine's parts (exec_doc.c, exec_events.c, exec_elements.c,
 * exec_run.c): tokens are referred to by id, never by pointer, across any call that
 * may add tokens (the array moves) ---- */

/* ex_tok_t.flags: boundaries armed, entry recorded, stopped by the step limit (its
 * incident cannot be resolved until the variables change) */
enum { TF_ARMED = 1, TF_SKIP_ENTER = 2, TF_STEP_LIMIT = 4,
       TF_CX_USED = 8,      /* at a complex gateway that fired: absorbed until its round ends */
       TF_COMP_DONE = 16 }; /* a compensation throw whose handlers have run: goes on */

/* tokens and scopes (exec_doc.c) */
ex_tok_t *ex_tok(ex_inst_t *in, int id);
int ex_tok_new(ex_inst_t *in, int node, int scope, int flow);
void ex_tok_remove(ex_inst_t *in, int id);
ex_scope_t *ex_scope(ex_inst_t *in, int id);
int ex_scope_new(ex_inst_t *in, int kind, int parent, int node, int owner);
void ex_scope_remove(ex_inst_t *in, int id);
int ex_scope_parent(ex_inst_t *in, int sid);
bool ex_scope_within(ex_inst_t *in, int sid, int anc);
ex_scope_t *ex_io_of(ex_inst_t *in, const ex_tok_t *t);
int ex_act_scope(ex_inst_t *in, const ex_tok_t *t);
bool ex_is_iter(ex_inst_t *in, const ex_tok_t *t);
/* Moves token tid into scope sid (keeps the scopes' busy counts). */
void ex_tok_set_scope(ex_inst_t *in, int tid, int sid);
/* Scope sid (0: root) still holds a token, an event subprocess or an IO scope. */
bool ex_scope_busy(ex_inst_t *in, int sid);

/* variables and FEEL over them (exec_doc.c) */
cJSON *ex_scope_vars(ex_inst_t *in, int sid);
void ex_var_set(ex_tx_t *tx, ex_inst_t *in, int sid, const char *name, cJSON *val, cJSON *changed);
void ex_vars_merge(ex_tx_t *tx, ex_inst_t *in, int sid, const cJSON *obj, int node, int tid);
cJSON *ex_visible(ex_inst_t *in, int sid);
bool ex_eval_value(ex_inst_t *in, int sid, const feel_expr_t *e, feel_eval_t **evp, feel_value_t **out,
                   char *why, size_t whylen);
cJSON *ex_eval_json(ex_inst_t *in, int sid, const feel_expr_t *e, char *why, size_t whylen);
char *ex_expr_string(ex_inst_t *in, int sid, const ex_expr_t *x, char *why, size_t whylen, bool *bad);

/* history, incidents, timer values (exec_doc.c) */
void ex_mark(ex_tx_t *tx, ex_inst_t *in, int node, int tid, bool entered);
void ex_incident(ex_tx_t *tx, ex_inst_t *in, int tid, const char *type, const char *msg);
void ex_incident_noted(ex_tx_t *tx, ex_inst_t *in, int node, int tid, const char *id, const char *type,
                       const char *msg);
bool ex_timer_due(ex_tx_t *tx, ex_inst_t *in, int sid, const ex_node_t *n, int64_t *due, int *repeat,
                  int64_t *every, char *why, size_t whylen);

/* waits, errors, escalations, multi-instance, joins (exec_events.c) */
bool ex_arm_bounds(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_arm_evsubs(ex_tx_t *tx, ex_inst_t *in, int sid, const int *evsubs, int nevsubs);
bool ex_catch_on_activity(ex_tx_t *tx, ex_inst_t *in, int atid, ex_ev_t ev, const char *code);
bool ex_trigger_evsub(ex_tx_t *tx, ex_inst_t *in, int sid, int start, const cJSON *vars);
void ex_throw_error(ex_tx_t *tx, ex_inst_t *in, int tid, int sid, int activity_tok, const char *code,
                    const char *msg, const cJSON *vars);
void ex_throw_escalation(ex_tx_t *tx, ex_inst_t *in, int sid, const char *code);
void ex_mi_begin(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_mi_iter_done(ex_tx_t *tx, ex_inst_t *in, int tid);
/* A multi-instance body (scope) starts its next slice of iterations (timer kind "mi"). */
int ex_mi_continue(ex_tx_t *tx, ex_inst_t *in, int body);
bool ex_and_join(ex_inst_t *in, int tid);
int ex_or_join_ready(ex_inst_t *in, int node, int sid);

/* what each element does when a token arrives (exec_elements.c) */
void ex_gateway_out(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_execute(ex_tx_t *tx, ex_inst_t *in, int tid);

/* moving on, ending, cancelling, running (exec_run.c) */
void ex_move(ex_inst_t *in, int tid, int f);
void ex_take(ex_tx_t *tx, ex_inst_t *in, int tid, const int *fl, int n);
int ex_pick_flows(ex_tx_t *tx, ex_inst_t *in, int tid, int *fl, bool exclusive);
bool ex_io_enter(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_leave(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_token_end(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_scope_check(ex_tx_t *tx, ex_inst_t *in, int sid);
void ex_cancel_inside(ex_tx_t *tx, ex_inst_t *in, int sid);
void ex_cancel_token(ex_tx_t *tx, ex_inst_t *in, int tid);
void ex_complete_instance(ex_tx_t *tx, ex_inst_t *in, int state);
void ex_notify_parent(ex_tx_t *tx, ex_inst_t *child, const char *err_code);
int ex_run(ex_tx_t *tx, ex_inst_t *in);
void ex_run_all(ex_tx_t *tx);

/* ---- storage (exec_store.c) ---- */

void ex_id(const char *prefix, char *out, size_t len);     /* time-ordered ids */
int ex_tx_begin(ex_tx_t *tx, fm_db_t *db);
/* Saves every dirty instance, commits when rc == FM_OK (else rolls back), frees the
 * loaded instances and performs `after`. */
int ex_tx_end(ex_tx_t *tx, int rc);

int ex_store_load(ex_tx_t *tx, const char *tenant, const char *id, ex_inst_t **out);
int ex_store_save(ex_tx_t *tx, ex_inst_t *in);
void ex_store_stash_clear(void);        /* drops the parsed document kept between transactions */
int ex_event(ex_tx_t *tx, ex_inst_t *in, const char *type, int node, int token, cJSON *extra);
void ex_hist(ex_tx_t *tx, ex_inst_t *in, const char *type, int node, int token, cJSON *data);
/* Appends the entries of a stored history chunk within [offset, offset+limit) to into. */
int ex_hist_expand(const char *chunk_text, int64_t first_seq, int offset, int limit, int *total, cJSON *into);
int ex_timer_add(ex_tx_t *tx, ex_inst_t *in, int token, int scope, const char *element,
                 const char *kind, int64_t due, int repeat, int64_t every);
int ex_msg_add(ex_tx_t *tx, ex_inst_t *in, int token, int scope, const char *element,
               const char *kind, const char *name, const char *key);
/* Removes timers and subscriptions of a token (token > 0) or of a scope's event
 * subprocesses (token == 0). */
int ex_waits_drop(ex_tx_t *tx, ex_inst_t *in, int token, int scope);
int ex_job_add(ex_tx_t *tx, ex_inst_t *in, int token, const ex_node_t *n, char *id_out, size_t len);
int ex_job_drop(ex_tx_t *tx, ex_inst_t *in, int token);
int ex_task_link(ex_tx_t *tx, ex_inst_t *in, int token, const char *task_id);
int ex_task_unlink(ex_tx_t *tx, ex_inst_t *in, int token, bool cancel_task);
int ex_incident_add(ex_tx_t *tx, ex_inst_t *in, int token, const char *element, const char *type,
                    const char *msg, const char *job_id, char *id_out, size_t len);
int ex_incident_close(ex_tx_t *tx, ex_inst_t *in, const char *id);
void ex_after_free(ex_after_t *a);

/* Read side (any thread, a pooled reader): the instance as the API shows it. */
int ex_store_get_json(fm_db_t *db, const char *tenant, const char *id, cJSON **out);
int ex_store_token_vars(fm_db_t *db, const char *tenant, const char *id, int token, cJSON **out);
/* Builds an instance from a row of EX_INST_COLS (def from the cache). */
#define EX_INST_COLS "id, tenant_id, process_id, bpmn_id, version, business_key, state, parent_id, " \
                     "parent_token, doc, incidents, hist_seq, created_at, updated_at, ended_at"
int ex_inst_from_row(const fm_dbrow_t *row, ex_inst_t **out);


/* A subscription row read by ex_subrow_add (msg_subs and signal_subs in the column order
 * id, instance_id, token_id, scope_id, element, kind, process_id, version) into a list
 * of at most max rows. */
typedef struct ex_subrow { int64_t id; char inst[48], el[200], kind[16], pid[80]; int token, scope, version; } ex_subrow_t;
typedef struct ex_subrows { ex_subrow_t *rows; int n, max; } ex_subrows_t;
int ex_subrow_add(const fm_dbrow_t *row, void *subrows);

/* Due time of a start timer (no instance: FEEL sees no variables). */
bool ex_timer_due_static(ex_tx_t *tx, const ex_node_t *n, int64_t *due, int *repeat, int64_t *every,
                         char *why, size_t whylen);

/* ---- the worker (exec_work.c) ---- */

int ex_work_start(fm_mod_t *m);
void ex_work_stop(fm_mod_t *m);
void ex_work_after(ex_after_t *a);      /* post-commit actions, any thread */
fm_db_t *ex_db(void);
void ex_work_set_db(fm_db_t *db);               /* standalone use (bench) */
void ex_work_resumed(const char *instance_id);  /* after a resume commits */
void ex_on_published(const bus_event_t *ev, void *arg);     /* bus, loop thread */
void ex_on_archived(const bus_event_t *ev, void *arg);     /* bus, loop thread */
int ex_start_timers_list(fm_req_t *r);     /* exec_start_timers.c: GET /executions/start-timers */
void ex_on_task_completed(const bus_event_t *ev, void *arg);
/* Job outcomes in their own transaction: FM_ENOTFOUND, FM_ECONFLICT (why says). */
int ex_job_complete(fm_db_t *db, const char *tenant, const char *id, const cJSON *vars, char *why, size_t wl);
int ex_job_fail(fm_db_t *db, const char *tenant, const char *id, const char *msg, int retries,
                int64_t backoff, const char *code, char *why, size_t wl);
/* The same with variables: with code, the error's (its catching boundary's output
 * mappings see them, else its scope gets them); without, merged for the next attempt. */
int ex_job_fail_vars(fm_db_t *db, const char *tenant, const char *id, const char *msg, int retries,
                     int64_t backoff, const char *code, const cJSON *vars, char *why, size_t wl);
/* Runs fn(arg) on the engine's worker thread (any thread); FM_EBUSY when it is not running. */
int ex_work_post(void (*fn)(void *), void *arg);

/* ---- connector jobs the engine runs itself (exec_connector.c) ---- */

/* type is io.camunda:http-json:1 (Camunda REST connector) or integration (a stored connector). */
bool ex_conn_is(const char *type);
/* A zeebe:input source of such a task without '=' is a static value (Camunda 8): a FEEL
 * string literal of it; NULL for FEEL sources and other tasks. */
feel_expr_t *ex_conn_static_source(const char *job_type, const char *src);
/* Worker thread: sends the connector job `job` when it is one (true), else false. */
bool ex_conn_run(fm_db_t *db, const char *job);

/* ---- jobs the engine runs itself (exec_ownjob.c) ---- */

/* http, the connector types, notification, ai-agent: run on the engine's worker, not
 * handed to external workers. */
bool ex_job_runs_here(const char *type);
typedef struct ex_ownjob {
    char tenant[80], inst[48], type[64], element[200];
    int token;
    cJSON *headers, *vars;      /* the job's custom headers; its token's variables */
} ex_ownjob_t;
/* Worker thread: 1 with *j loaded (clear it) when `job` is activatable and is(type);
 * 0 when it is not such a job; -1 when its instance moved on (nothing to do). */
int ex_ownjob_load(fm_db_t *db, const char *job, bool (*is)(const char *type), ex_ownjob_t *j);
void ex_ownjob_clear(ex_ownjob_t *j);
const char *ex_ownjob_header(const ex_ownjob_t *j, const char *key);
/* A variable by dotted path ("customer.email"); NULL when there is none. */
const cJSON *ex_var_path(const cJSON *vars, const char *path);
/* An in-process call's status that retrying will not change (4xx but 404/408/429):
 * an incident at once rather than the job's retries. */
bool ex_ownjob_refused(int status);

/* ---- ai-agent tasks (exec_agent.c) ---- */

bool ex_agent_is(const char *type);       /* type="ai-agent" */
/* Worker thread: invokes the agent of job `job` when it is one (true), else false. */
bool ex_agent_run(fm_db_t *db, const char *job);

/* ---- notification tasks (exec_notify.c) ---- */

bool ex_notify_is(const char *type);      /* type="notification" */
/* Worker thread: sends the notification job `job` when it is one (true), else false. */
bool ex_notify_run(fm_db_t *db, const char *job);

/* Before a message or signal from outside is delivered: publications committed before
 * the request (Process Design answered publish) have their start events registered. */
void ex_sync_publications(void);

/* ---- buffered messages (exec_msgbuf.c) ---- */

/* A subscription was opened (ex_msg_add): it may take a buffered message. */
void ex_msgbuf_wish(ex_tx_t *tx, ex_inst_t *in, int token, int scope, const char *element, const char *kind,
                    const char *name, const char *key);
/* Delivers buffered messages to the subscriptions wished for (ex_run_all, when every
 * instance has stopped running). */
void ex_msgbuf_deliver(ex_tx_t *tx);
void ex_msgbuf_tx_free(ex_tx_t *tx);
/* FM_ECONFLICT: a message with this messageId was published within its TTL. */
int ex_msgbuf_seen(ex_tx_t *tx, const char *tenant, const char *message_id);
/* Keeps a message for ttl_ms (taken_by NULL: waiting; else only its messageId is kept).
 * FM_EBUSY: the tenant's buffer is full (why says). */
int ex_msgbuf_put(ex_tx_t *tx, const char *tenant, const char *name, const char *key, const char *message_id,
                  const cJSON *vars, int64_t ttl_ms, const char *taken_by, char *why, size_t wl);
/* Removes at most batch expired messages in a transaction of its own. */
int ex_msgbuf_sweep(fm_db_t *db, int batch, int *removed);
/* An ISO 8601 duration (PT10S, P1DT2H) in ms; false when it is not one. */
bool ex_duration_ms(const char *iso, int64_t *ms);

/* ---- conditional and link events (exec_cond.c) ---- */

/* A token at a conditional catch: moves on when its condition is true, else waits. */
void ex_cond_catch(ex_tx_t *tx, ex_inst_t *in, int tid);
/* After a step (no token READY): conditions of waiting catches, armed interrupting
 * boundaries and event subprocess starts of active scopes; true when one fired. */
bool ex_cond_check(ex_tx_t *tx, ex_inst_t *in);
/* A token at a link throw goes on at its link catch. */
void ex_link_jump(ex_tx_t *tx, ex_inst_t *in, int tid);
/* A token arrived at a joining complex gateway with an activationCondition. */
void ex_cx_arrive(ex_tx_t *tx, ex_inst_t *in, int tid);
/* After a step: complex gateways whose round is over (true when one was). */
bool ex_cx_check(ex_tx_t *tx, ex_inst_t *in);

/* ---- compensation and transactions (exec_comp.c) ---- */

/* Activity token tid completed: its compensation handler may be called later. */
void ex_comp_record(ex_inst_t *in, int tid);
/* Subprocess scope sid completed (node: the subprocess, parent: its scope): the records
 * inside move to the parent, or go when the subprocess has a handler of its own. */
void ex_comp_scope_done(ex_inst_t *in, int sid, int parent, int node);
void ex_comp_scope_gone(ex_inst_t *in, int sid);   /* a scope removed: its records go */
/* A token at a compensation throw/end event or a cancel end event. */
void ex_comp_throw(ex_tx_t *tx, ex_inst_t *in, int tid);
/* Token tid ended: when it ran a compensation handler, the next one starts. */
void ex_comp_token_ended(ex_tx_t *tx, ex_inst_t *in, int tid);

/* ---- history retention (exec_retention.c) ---- */

/* The process's own historyTimeToLive (camunda:historyTimeToLive, days or an ISO 8601
 * duration; or a zeebe:property of that name): ms, -1 when it has none, -2 when it is
 * not a duration (why says). */
int64_t ex_retention_of(const struct bpmn_node *proc, char *why, size_t wl);
/* Loop thread: starts and stops the sweep timer (messages and history). */
void ex_retention_start(fm_db_t *db);
void ex_retention_stop(void);
int ex_retention_get(fm_req_t *r);     /* GET /executions/retention */

/* ---- signals (exec_signal.c) ---- */

/* A signal thrown by token tid (intermediate throw or end event): queued in tx,
 * broadcast after the commit by the worker. false: an incident stopped the token. */
bool ex_signal_throw(ex_tx_t *tx, ex_inst_t *in, int tid);
/* Subscribes token tid (kind catch/boundary/event, scope 0) or scope sid (kind evsub,
 * token 0) to the signal named by node n, evaluated in scope sid. false: bad name (why). */
bool ex_signal_sub(ex_tx_t *tx, ex_inst_t *in, int token, int sid, const ex_node_t *n, const char *kind,
                   char *why, size_t wl);
/* Queues a broadcast (POST /signals) and delivers it in transactions of bounded size;
 * `out` (may be NULL) gets up to 100 {executionId, elementId, started} and counts. */
int ex_signal_broadcast(fm_db_t *db, const char *tenant, const char *name, const cJSON *vars, cJSON *out);
/* Worker: delivers every queued broadcast (thrown signals, and those a crash interrupted). */
void ex_signal_drain(fm_db_t *db);
/* At start, before serving: broadcasts a previous run left are the worker's to finish. */
void ex_signal_recover_mark(fm_db_t *db);

#endif
