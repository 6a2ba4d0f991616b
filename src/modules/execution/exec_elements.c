/*
 * exec_elements.c — what each BPMN element does when a token arrives at it (execute):
 * gateways, scripts, business rules, jobs, user tasks in 9006, messages sent and
 * awaited, timers, call activities, subprocesses and end events. docs/execution.md has
 * the table this implements.
 */
#include "exec_int.h"

#include "../../fm_json_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the behaviours ---- */

void ex_gateway_out(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    ex_mark(tx, in, t->node, tid, true);
    if (n->kind == N_AND) {
        ex_mark(tx, in, t->node, tid, false);
        ex_take(tx, in, tid, n->out, n->nout);
        return;
    }
    int *fl = malloc(sizeof(int) * (size_t)(n->nout + 1));
    if (!fl)
        return;
    int k = ex_pick_flows(tx, in, tid, fl, n->kind == N_XOR);
    if (k >= 0) {
        ex_mark(tx, in, ex_tok(in, tid)->node, tid, false);
        ex_take(tx, in, tid, fl, k);
    }
    free(fl);
}

/* s percent-encoded for a URL path or query (unreserved characters kept) */
static void url_enc(char *out, size_t len, const char *s)
{
    size_t n = 0;
    for (; *s && n + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c))
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, len - n, "%%%02X", c);
    }
    out[n] = 0;
}

/* zeebe:formDefinition formId: the newest published version (with the bound version
 * tag, if any) from Process Design's form store, as a form-js schema (caller deletes).
 * NULL with why naming the formId when there is none. */
static cJSON *linked_form(const char *tenant, const ex_node_t *n, char *why, size_t whylen)
{
    char id[310], tag[310] = "", path[700];
    url_enc(id, sizeof(id), n->form_id);
    if (n->form_tag)
        url_enc(tag, sizeof(tag), n->form_tag);
    snprintf(path, sizeof(path), "/forms/%s/versions?limit=1%s%s", id, n->form_tag ? "&versionTag=" : "", tag);
    int status = 0;
    char *out = NULL;
    int rc = fm_call_system(tenant, FM_GET, path, NULL, &status, &out);
    cJSON *res = rc == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
    free(out);
    out = NULL;
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "items"), 0), "version");
    cJSON *schema = NULL;
    if (cJSON_IsNumber(v)) {
        snprintf(path, sizeof(path), "/forms/%s/versions/%d", id, v->valueint);
        rc = fm_call_system(tenant, FM_GET, path, NULL, &status, &out);
        cJSON *ver = rc == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
        schema = cJSON_DetachItemFromObject(ver, "schema");
        cJSON_Delete(ver);
        free(out);
    }
    if (!schema && n->form_tag)
        snprintf(why, whylen, "form '%s' has no published version tagged '%s' in this tenant", n->form_id,
                 n->form_tag);
    else if (!schema)
        snprintf(why, whylen, "form '%s' is not published in this tenant (Process Design, /forms)", n->form_id);
    cJSON_Delete(res);
    return schema;
}

static void do_user_task(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300] = "";
    bool bad = false;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", n->name && *n->name ? n->name : n->id);
    char *a = ex_expr_string(in, t->scope, &n->assignee, why, sizeof(why), &bad);
    if (a && *a)
        cJSON_AddStringToObject(body, "assignee", a);
    free(a);
    const ex_expr_t *lists[2] = { &n->cand_users, &n->cand_groups };
    const char *names[2] = { "candidateUsers", "candidateGroups" };
    for (int i = 0; i < 2; i++) {
        char *s = ex_expr_string(in, t->scope, lists[i], why, sizeof(why), &bad);
        if (!s)
            continue;
        /* the text is the user's: bounded before cJSON recurses on this worker's stack */
        cJSON *arr = s[0] == '[' && fm_json_check(s, strlen(s), FM_JSON_MAX_DEPTH, NULL) == FM_JSON_OK
                         ? cJSON_Parse(s) : NULL;
        if (!arr) {
            arr = cJSON_CreateArray();
            char *save = NULL;
            for (char *p = strtok_r(s, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                while (*p == ' ')
                    p++;
                size_t l = strlen(p);
                while (l && p[l - 1] == ' ')
                    p[--l] = 0;
                if (*p)
                    cJSON_AddItemToArray(arr, cJSON_CreateString(p));
            }
        }
        cJSON_AddItemToObject(body, names[i], arr);
        free(s);
    }
    char *due = ex_expr_string(in, t->scope, &n->due, why, sizeof(why), &bad);
    if (due)
        cJSON_AddStringToObject(body, "dueDate", due);
    free(due);
    if (bad) {
        cJSON_Delete(body);
        ex_incident(tx, in, tid, "expression", why);
        return;
    }
    if (n->form) {
        cJSON *f = fm_json_check(n->form, strlen(n->form), FM_JSON_MAX_DEPTH, NULL) == FM_JSON_OK
                       ? cJSON_Parse(n->form) : NULL;
        if (f)
            cJSON_AddItemToObject(body, "form", f);
    } else if (n->form_id) {
        cJSON *f = linked_form(in->tenant, n, why, sizeof(why));
        if (!f) {
            cJSON_Delete(body);
            ex_incident(tx, in, tid, "form", why);
            return;
        }
        cJSON_AddItemToObject(body, "form", f);
    }
    cJSON_AddItemToObject(body, "variables", ex_visible(in, t->scope));
    cJSON_AddStringToObject(body, "processInstanceId", in->id);
    cJSON_AddStringToObject(body, "elementId", n->id);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL;
    /* keyed by the activation: a step run again after a crash (same stored document,
     * same counter) gets the task it made the first time instead of a second one */
    char key[80];
    snprintf(key, sizeof(key), "%s/%d", in->id, ++in->next_id);
    const char *hdrs[] = { "Idempotency-Key", key, NULL };
    int rc = text ? fm_call_system_h(in->tenant, FM_POST, "/tasks", text, hdrs, &status, &out) : FM_ENOMEM;
    free(text);
    cJSON *res = rc == FM_OK && (status == 201 || status == 200) ? cJSON_Parse(out) : NULL;
    const char *task_id = cJSON_GetStringValue(cJSON_GetObjectItem(res, "id"));
    if (!task_id) {
        char msg[400];
        snprintf(msg, sizeof(msg), "the Human Task Service refused the task (%d): %.300s", status,
                 out ? out : "no answer");
        free(out);
        cJSON_Delete(res);
        ex_incident(tx, in, tid, "task", msg);
        return;
    }
    free(out);
    ex_task_link(tx, in, tid, task_id);
    t = ex_tok(in, tid);
    t->wait = W_TASK;
    snprintf(t->ref, sizeof(t->ref), "%s", task_id);
    cJSON_Delete(res);
    ex_arm_bounds(tx, in, tid);
}

static void do_rule(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char rid[200], path[300];
    snprintf(rid, sizeof(rid), "%s", n->decision);
    char *hash = strchr(rid, '#');
    if (hash)
        *hash++ = 0;
    bool by_id = !ex_rule_set_ref(n->decision);     /* a DMN decision id (Camunda 8) */
    snprintf(path, sizeof(path), by_id ? "/rules/decisions/%s/evaluate" : "/rules/%s/evaluate", rid);
    cJSON *body = cJSON_CreateObject();
    if (hash && !by_id)
        cJSON_AddStringToObject(body, "decision", hash);
    if (by_id && n->decision_tag)
        cJSON_AddStringToObject(body, "versionTag", n->decision_tag);
    cJSON_AddItemToObject(body, "inputs", ex_visible(in, t->scope));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL;
    int rc = text ? fm_call_system(in->tenant, FM_POST, path, text, &status, &out) : FM_ENOMEM;
    free(text);
    cJSON *res = rc == FM_OK && status == 200 ? cJSON_Parse(out) : NULL;
    cJSON *outputs = cJSON_GetObjectItem(res, "outputs");
    if (outputs && cJSON_IsTrue(cJSON_GetObjectItem(res, "failed"))) {    /* Camunda 8: an incident */
        char msg[400];
        char *w = cJSON_PrintUnformatted(cJSON_GetObjectItem(res, "warnings"));
        snprintf(msg, sizeof(msg), "decision '%s' failed: %.300s", n->decision, w ? w : "");
        free(w);
        free(out);
        cJSON_Delete(res);
        ex_incident(tx, in, tid, "expression", msg);
        return;
    }
    if (!outputs) {
        char msg[400];
        snprintf(msg, sizeof(msg), "decision '%s' could not be evaluated (%d): %.300s", n->decision, status,
                 out ? out : "no answer");
        free(out);
        cJSON_Delete(res);
        ex_incident(tx, in, tid, "expression", msg);
        return;
    }
    free(out);
    /* one decision: its value (the rules answer names it by name, whether asked by name or id) */
    const char *dname = cJSON_GetStringValue(cJSON_GetObjectItem(res, "decision"));
    cJSON *val = dname ? cJSON_GetObjectItem(outputs, dname) : outputs;
    char why[300];      /* camunda:mapDecisionResult (exec_camunda7.c) */
    cJSON *mapped = n->dec_map ? ex_c7_decision_result(n->dec_map, val ? val : outputs, why, sizeof(why)) : NULL;
    if (n->dec_map && !mapped) {
        cJSON_Delete(res);
        ex_incident(tx, in, tid, "expression", why);
        return;
    }
    if (n->result_var) {
        cJSON *ch = cJSON_CreateObject();
        ex_var_set(tx, in, t->scope, n->result_var, mapped ? mapped : cJSON_Duplicate(val ? val : outputs, true), ch);
        mapped = NULL;
        ex_hist(tx, in, "variables.changed", t->node, tid, ch);
    }
    cJSON_Delete(mapped);
    cJSON_Delete(res);
    ex_leave(tx, in, tid);
}

static void do_send(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300], key[256] = "";
    if (n->corr) {
        cJSON *k = ex_eval_json(in, t->scope, n->corr, why, sizeof(why));
        if (!k) {
            ex_incident(tx, in, tid, "expression", why);
            return;
        }
        if (cJSON_IsString(k))
            snprintf(key, sizeof(key), "%s", k->valuestring);
        else {
            char *p = cJSON_PrintUnformatted(k);
            snprintf(key, sizeof(key), "%s", p ? p : "");
            free(p);
        }
        cJSON_Delete(k);
    }
    cJSON *vars = ex_visible(in, t->scope);
    char target[48], el[200];
    bool started;
    int rc = ex_correlate(tx, in->tenant, n->msg_name, key, vars, target, sizeof(target), el, sizeof(el),
                          &started, in->id, NULL);
    cJSON_Delete(vars);
    if (rc != FM_OK) {
        char msg[400];
        snprintf(msg, sizeof(msg), "message '%s' (key '%s') has nobody waiting for it", n->msg_name, key);
        ex_incident(tx, in, tid, "message", msg);
        return;
    }
    ex_leave(tx, in, tid);
}

static void do_call(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    ex_def_t *d = NULL;
    const char *field;
    char why[400];
    if (ex_def_get(in->tenant, n->called, 0, &d, &field, why, sizeof(why)) != FM_OK) {
        ex_incident(tx, in, tid, "call", why);
        return;
    }
    cJSON *vars;
    if (n->has_ins) {
        vars = cJSON_CreateObject();
        for (int i = 0; i < n->nins; i++) {
            cJSON *v = ex_eval_json(in, t->scope, n->ins[i].source.feel, why, sizeof(why));
            if (!v) {
                cJSON_Delete(vars);
                ex_incident(tx, in, tid, "expression", why);
                return;
            }
            cJSON_AddItemToObject(vars, n->ins[i].target ? n->ins[i].target : "input", v);
        }
    } else
        vars = ex_visible(in, t->scope);
    t->wait = W_CALL;
    if (!ex_arm_bounds(tx, in, tid)) {
        cJSON_Delete(vars);
        return;
    }
    ex_inst_t *child = NULL;
    int rc = ex_start(tx, d, in->business_key, vars, NULL, in->id, tid, -1, &child);
    cJSON_Delete(vars);
    if (rc != FM_OK) {
        ex_tok(in, tid)->wait = W_READY;
        ex_incident(tx, in, tid, "call", "the called instance could not be started");
        return;
    }
    t = ex_tok(in, tid);
    if (t && t->wait == W_CALL)
        snprintf(t->ref, sizeof(t->ref), "%s", child->id);
}

static void do_job(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char id[48];
    if (ex_job_add(tx, in, tid, n, id, sizeof(id)) != FM_OK) {
        ex_incident(tx, in, tid, "job", "the job could not be created");
        return;
    }
    t = ex_tok(in, tid);
    t->wait = W_JOB;
    snprintf(t->ref, sizeof(t->ref), "%s", id);
    ex_arm_bounds(tx, in, tid);
}

static void do_wait_message(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    char why[300];
    char *key = NULL;
    if (n->corr) {
        cJSON *k = ex_eval_json(in, t->scope, n->corr, why, sizeof(why));
        if (!k) {
            ex_incident(tx, in, tid, "expression", why);
            return;
        }
        key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
        cJSON_Delete(k);
    }
    ex_msg_add(tx, in, tid, 0, n->id, "catch", n->msg_name, key ? key : "");
    free(key);
    t = ex_tok(in, tid);
    t->wait = W_MSG;
    ex_arm_bounds(tx, in, tid);
}

static void do_timer(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int64_t due, every;
    int repeat;
    char why[300];
    if (!ex_timer_due(tx, in, t->scope, n, &due, &repeat, &every, why, sizeof(why))) {
        ex_incident(tx, in, tid, "expression", why);
        return;
    }
    ex_timer_add(tx, in, tid, 0, n->id, "catch", due, 0, 0);
    t = ex_tok(in, tid);
    t->wait = W_TIMER;
}

static void do_wait_signal(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    char why[300];
    ex_tok_t *t = ex_tok(in, tid);
    if (!ex_signal_sub(tx, in, tid, t->scope, &in->def->nodes[t->node], "catch", why, sizeof(why))) {
        ex_incident(tx, in, tid, "expression", why);
        return;
    }
    t = ex_tok(in, tid);
    t->wait = W_SIGNAL;
    ex_arm_bounds(tx, in, tid);
}

static void do_eventgw(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int sc = t->scope;
    for (int i = 0; i < n->nout; i++) {
        const ex_node_t *c = &in->def->nodes[in->def->flows[n->out[i]].dst];
        char why[300];
        if (c->ev == E_TIMER) {
            int64_t due, every;
            int repeat;
            if (!ex_timer_due(tx, in, sc, c, &due, &repeat, &every, why, sizeof(why))) {
                ex_waits_drop(tx, in, tid, 0);
                ex_incident(tx, in, tid, "expression", why);
                return;
            }
            ex_timer_add(tx, in, tid, 0, c->id, "event", due, 0, 0);
        } else if (c->ev == E_SIGNAL) {
            if (!ex_signal_sub(tx, in, tid, sc, c, "event", why, sizeof(why))) {
                ex_waits_drop(tx, in, tid, 0);
                ex_incident(tx, in, tid, "expression", why);
                return;
            }
        } else {
            char *key = NULL;
            if (c->corr) {
                cJSON *k = ex_eval_json(in, sc, c->corr, why, sizeof(why));
                if (!k) {
                    ex_waits_drop(tx, in, tid, 0);
                    ex_incident(tx, in, tid, "expression", why);
                    return;
                }
                key = cJSON_IsString(k) ? strdup(k->valuestring) : cJSON_PrintUnformatted(k);
                cJSON_Delete(k);
            }
            ex_msg_add(tx, in, tid, 0, c->id, "event", c->msg_name, key ? key : "");
            free(key);
        }
    }
    t = ex_tok(in, tid);
    t->wait = W_EVENT;
}

static void do_sub(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    int node = t->node;
    const ex_node_t *n = &in->def->nodes[node];
    int s = ex_scope_new(in, S_SUB, t->scope, node, tid);
    t = ex_tok(in, tid);
    t->wait = W_SUB;
    snprintf(t->ref, sizeof(t->ref), "%d", s);
    if (!ex_arm_bounds(tx, in, tid))
        return;
    ex_arm_evsubs(tx, in, s, n->evsubs, n->nevsubs);
    int started = 0;
    for (int i = 0; i < n->nstarts; i++)
        if (in->def->nodes[n->starts[i]].ev == E_NONE) {
            ex_tok_new(in, n->starts[i], s, -1);
            started++;
        }
    if (!started)
        ex_scope_check(tx, in, s);
}

static void do_end(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    int sc = t->scope, node = t->node;
    switch (n->ev) {
    case E_COMPENSATE:
    case E_CANCEL:
        ex_comp_throw(tx, in, tid);
        return;
    case E_ERROR: {
        char msg[300];
        snprintf(msg, sizeof(msg), "error end event '%s'", n->id);
        ex_throw_error(tx, in, tid, sc, 0, n->code, msg, NULL);
        return;
    }
    case E_ESCALATION:
        ex_mark(tx, in, node, tid, false);
        ex_throw_escalation(tx, in, sc, n->code);
        if (ex_tok(in, tid))
            ex_token_end(tx, in, tid);
        return;
    case E_SIGNAL:
        if (!ex_signal_throw(tx, in, tid))
            return;
        ex_mark(tx, in, node, tid, false);
        ex_token_end(tx, in, tid);
        return;
    case E_TERMINATE: {
        ex_mark(tx, in, node, tid, false);
        ex_tok_remove(in, tid);
        ex_cancel_inside(tx, in, sc);
        ex_scope_t *s = sc ? ex_scope(in, sc) : NULL;
        if (!sc) {
            ex_complete_instance(tx, in, I_COMPLETED);
        } else if (s && s->kind == S_EVSUB) {
            int parent = s->parent;
            ex_mark(tx, in, s->node, 0, false);
            ex_scope_remove(in, sc);
            ex_scope_check(tx, in, parent);
        } else
            ex_scope_check(tx, in, sc);
        return;
    }
    default:
        ex_mark(tx, in, node, tid, false);
        ex_token_end(tx, in, tid);
    }
}

/* Executes the node token tid has arrived at. */
void ex_execute(ex_tx_t *tx, ex_inst_t *in, int tid)
{
    ex_tok_t *t = ex_tok(in, tid);
    const ex_node_t *n = &in->def->nodes[t->node];
    bool activity = n->kind == N_TASK || n->kind == N_SCRIPT || n->kind == N_RULE || n->kind == N_JOB ||
                    n->kind == N_USER || n->kind == N_SEND || n->kind == N_RECEIVE ||
                    n->kind == N_CALL || n->kind == N_SUB;
    if (activity && n->mi && !ex_is_iter(in, t)) {
        ex_mi_begin(tx, in, tid);
        return;
    }
    /* joins record their entry when they fire */
    if (n->kind == N_AND && n->nin > 1) {
        if (!ex_and_join(in, tid)) {
            ex_tok(in, tid)->wait = W_JOIN;
            return;
        }
        ex_gateway_out(tx, in, tid);
        return;
    }
    if (n->kind == N_COMPLEX && n->nin > 1 && n->condition) {
        ex_tok(in, tid)->wait = W_JOIN;
        ex_cx_arrive(tx, in, tid);
        return;
    }
    if ((n->kind == N_OR || n->kind == N_COMPLEX) && n->nin > 1) {
        ex_tok(in, tid)->wait = W_JOIN;     /* ex_run() fires it when ready */
        return;
    }
    if (n->kind == N_XOR || n->kind == N_OR || n->kind == N_AND || n->kind == N_COMPLEX) {
        ex_gateway_out(tx, in, tid);
        return;
    }
    if (!(t->flags & TF_SKIP_ENTER))
        ex_mark(tx, in, t->node, tid, true);
    t = ex_tok(in, tid);
    t->flags &= ~TF_SKIP_ENTER;
    if ((n->has_ins || n->has_outs) && n->kind != N_CALL && !ex_io_of(in, t) && !ex_io_enter(tx, in, tid))
        return;
    t = ex_tok(in, tid);
    char why[300];
    switch (n->kind) {
    case N_START:
    case N_TASK:
    case N_BOUNDARY:
        ex_leave(tx, in, tid);
        break;
    case N_THROW:
        if (n->ev == E_COMPENSATE) {
            ex_comp_throw(tx, in, tid);
            break;
        }
        if (n->ev == E_LINK) {
            ex_link_jump(tx, in, tid);
            break;
        }
        if (n->ev == E_ESCALATION) {
            int sc = t->scope;
            ex_throw_escalation(tx, in, sc, n->code);
            if (!ex_tok(in, tid))
                break;
        }
        if (n->ev == E_SIGNAL && !ex_signal_throw(tx, in, tid))
            break;
        ex_leave(tx, in, tid);
        break;
    case N_SCRIPT: {
        cJSON *v = ex_eval_json(in, t->scope, n->script, why, sizeof(why));
        if (!v) {
            char msg[400];
            snprintf(msg, sizeof(msg), "script of '%s': %s", n->id, why);
            ex_incident(tx, in, tid, "expression", msg);
            break;
        }
        if (n->result_var) {
            cJSON *ch = cJSON_CreateObject();
            ex_var_set(tx, in, ex_tok(in, tid)->scope, n->result_var, v, ch);
            ex_hist(tx, in, "variables.changed", ex_tok(in, tid)->node, tid, ch);
        } else
            cJSON_Delete(v);
        ex_leave(tx, in, tid);
        break;
    }
    case N_RULE:
        if (n->job_type)
            do_job(tx, in, tid);
        else
            do_rule(tx, in, tid);
        break;
    case N_JOB:
        do_job(tx, in, tid);
        break;
    case N_USER:
        do_user_task(tx, in, tid);
        break;
    case N_SEND:
        do_send(tx, in, tid);
        break;
    case N_RECEIVE:
        do_wait_message(tx, in, tid);
        break;
    case N_CATCH:
        if (n->ev == E_LINK)
            ex_leave(tx, in, tid);
        else if (n->ev == E_CONDITIONAL)
            ex_cond_catch(tx, in, tid);
        else if (n->ev == E_SIGNAL)
            do_wait_signal(tx, in, tid);
        else
            do_timer(tx, in, tid);
        break;
    case N_CALL:
        do_call(tx, in, tid);
        break;
    case N_SUB:
        do_sub(tx, in, tid);
        break;
    case N_EVENTGW:
        do_eventgw(tx, in, tid);
        break;
    case N_END:
        do_end(tx, in, tid);
        break;
    default:
        ex_leave(tx, in, tid);
    }
}
