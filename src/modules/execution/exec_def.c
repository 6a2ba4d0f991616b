/*
 * exec_def.c — compiled definitions: a published BPMN process turned into arrays of
 * nodes and flows with their FEEL expressions parsed once, plus the cache that fetches
 * them from Process Design (through fm_call) by (tenant, process, version).
 *
 * Extension syntax follows Camunda 8 (zeebe:) and is listed in docs/execution.md.
 */
#include "exec_int.h"
#include "exec_juel.h"

#include "../../bpmn/bpmn.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- model helpers ---- */

static bpmn_node_t *kid(const bpmn_node_t *n, const char *name)
{
    return n ? bpmn_child(n, BPMN_NS, name) : NULL;
}

static bpmn_node_t *zext(const bpmn_node_t *n, const char *name)
{
    bpmn_node_t *ee = kid(n, "extensionElements");
    return ee ? bpmn_child(ee, ZEEBE_NS, name) : NULL;
}

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Parses "=expr" or a plain FEEL expression; err gets the reason. */
static feel_expr_t *feel_of(const char *src, const char *what, const char *el, char *err, size_t errlen)
{
    if (!src)
        return NULL;
    while (*src == ' ' || *src == '\n' || *src == '\t' || *src == '\r')
        src++;
    if (*src != '=' && ex_juel_is(src))     /* Camunda 7: ${…} */
        return ex_c7_juel(src, what, el, err, errlen);
    if (*src == '=')
        src++;
    feel_perr_t pe;
    feel_expr_t *e = feel_parse(src, FEEL_EXPR, NULL, &pe);
    if (!e && err[0] == 0)
        snprintf(err, errlen, "%s of '%s': FEEL error at %d:%d: %s", what, el, pe.line, pe.col, pe.msg);
    return e;
}

/* A value that is FEEL when it starts with '=', a literal otherwise. */
static void expr_of(ex_expr_t *x, const char *src, const char *what, const char *el, char *err, size_t errlen)
{
    if (!src || !*src)
        return;
    const char *p = src;
    while (*p == ' ' || *p == '\n' || *p == '\t')
        p++;
    if (*p == '=' || ex_juel_is(p))
        x->feel = feel_of(p, what, el, err, errlen);
    else
        x->text = strdup(p);
}

static void expr_free(ex_expr_t *x)
{
    feel_expr_free(x->feel);
    free(x->text);
}

int ex_node_find(const ex_def_t *d, const char *id)
{
    for (int i = 0; i < d->nnodes; i++)
        if (!strcmp(d->nodes[i].id, id))
            return i;
    return -1;
}

bool ex_reaches(const ex_def_t *d, int from, int to)
{
    return (d->reach[(size_t)from * d->words + (size_t)to / 64] >> (to % 64)) & 1;
}

static int push(int **arr, int *n, int v)
{
    int *a = realloc(*arr, sizeof(int) * (size_t)(*n + 1));
    if (!a)
        return FM_ENOMEM;
    a[(*n)++] = v;
    *arr = a;
    return FM_OK;
}

static ex_kind_t kind_of(const char *type, bool *ok)
{
    static const struct { const char *t; ex_kind_t k; } map[] = {
        { "startEvent", N_START }, { "endEvent", N_END }, { "task", N_TASK },
        { "manualTask", N_TASK }, { "scriptTask", N_SCRIPT }, { "businessRuleTask", N_RULE },
        { "serviceTask", N_JOB }, { "userTask", N_USER }, { "sendTask", N_SEND },
        { "receiveTask", N_RECEIVE }, { "callActivity", N_CALL }, { "subProcess", N_SUB },
        { "transaction", N_SUB }, { "adHocSubProcess", N_SUB },
        { "exclusiveGateway", N_XOR }, { "parallelGateway", N_AND },
        { "inclusiveGateway", N_OR }, { "eventBasedGateway", N_EVENTGW },
        { "intermediateCatchEvent", N_CATCH }, { "intermediateThrowEvent", N_THROW },
        { "boundaryEvent", N_BOUNDARY },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].t, type)) {
            *ok = true;
            return map[i].k;
        }
    *ok = false;
    return N_TASK;
}

static ex_ev_t ev_of(const char *d)
{
    if (!d)
        return E_NONE;
    if (!strcmp(d, "message"))
        return E_MESSAGE;
    if (!strcmp(d, "timer"))
        return E_TIMER;
    if (!strcmp(d, "error"))
        return E_ERROR;
    if (!strcmp(d, "escalation"))
        return E_ESCALATION;
    if (!strcmp(d, "terminate"))
        return E_TERMINATE;
    if (!strcmp(d, "signal"))
        return E_SIGNAL;
    return E_OTHER;
}

static bpmn_node_t *evdef(const bpmn_node_t *n, const char *which)
{
    char name[64];
    snprintf(name, sizeof(name), "%sEventDefinition", which);
    return kid(n, name);
}

static const bpmn_node_t *ref_el(const bpmn_model_t *m, const char *id)
{
    int i = id ? bpmn_find(m, id) : -1;
    return i < 0 ? NULL : m->els[i].node;
}

/* Message name and correlation key of a messageRef. */
static void message_of(ex_node_t *x, const bpmn_model_t *m, const bpmn_node_t *holder,
                       char *err, size_t errlen)
{
    const bpmn_node_t *msg = ref_el(m, bpmn_attr(holder, "messageRef"));
    if (!msg)
        return;
    x->msg_name = dup(bpmn_attr(msg, "name") ? bpmn_attr(msg, "name") : bpmn_attr(msg, "id"));
    bpmn_node_t *sub = zext(msg, "subscription");
    const char *ck = sub ? bpmn_attr(sub, "correlationKey") : NULL;
    if (ck && *ck)
        x->corr = feel_of(ck, "correlationKey", x->id, err, errlen);
}

static void event_of(ex_node_t *x, const bpmn_model_t *m, const bpmn_node_t *n, const char *def,
                     char *err, size_t errlen)
{
    x->ev = ev_of(def);
    bpmn_node_t *ed = def ? evdef(n, def) : NULL;
    if (!ed)
        return;
    switch (x->ev) {
    case E_TIMER: {
        static const struct { const char *n; char k; } tk[] = {
            { "timeDuration", 'd' }, { "timeDate", 't' }, { "timeCycle", 'c' } };
        for (size_t i = 0; i < 3; i++) {
            bpmn_node_t *t = kid(ed, tk[i].n);
            if (t && t->text) {
                x->timer_kind = tk[i].k;
                expr_of(&x->timer, t->text, tk[i].n, x->id, err, errlen);
                break;
            }
        }
        if (!x->timer_kind && !err[0])
            snprintf(err, errlen, "timer of '%s' has no timeDuration, timeDate or timeCycle", x->id);
        break;
    }
    case E_MESSAGE:
        message_of(x, m, ed, err, errlen);
        if (!x->msg_name && !err[0] && x->kind != N_THROW)    /* a throw may be a job (task_of checks) */
            snprintf(err, errlen, "message event '%s' names no message", x->id);
        break;
    case E_ERROR: {
        const bpmn_node_t *e = ref_el(m, bpmn_attr(ed, "errorRef"));
        if (e)
            x->code = dup(bpmn_attr(e, "errorCode") ? bpmn_attr(e, "errorCode") : bpmn_attr(e, "id"));
        break;
    }
    case E_SIGNAL: {     /* the name: a literal, or "=expr" evaluated where the event is */
        const bpmn_node_t *sg = ref_el(m, bpmn_attr(ed, "signalRef"));
        const char *sn = sg ? (bpmn_attr(sg, "name") ? bpmn_attr(sg, "name") : bpmn_attr(sg, "id")) : NULL;
        expr_of(&x->signal, sn, "signal name", x->id, err, errlen);
        if (!x->signal.feel && !x->signal.text && !err[0])
            snprintf(err, errlen, "signal event '%s' names no signal", x->id);
        break;
    }
    case E_ESCALATION: {
        const bpmn_node_t *e = ref_el(m, bpmn_attr(ed, "escalationRef"));
        if (e)
            x->code = dup(bpmn_attr(e, "escalationCode") ? bpmn_attr(e, "escalationCode")
                                                         : bpmn_attr(e, "id"));
        break;
    }
    default:
        break;
    }
}

bool ex_rule_set_ref(const char *d)
{
    return strcspn(d, "#") == 24 && !strncmp(d, "rul_", 4) && strspn(d + 4, "0123456789abcdefghjkmnpqrstvwxyz") >= 20;
}

/* zeebe:calledDecision with a DMN decision id (not a FlowMaster rul_… id): the engine
 * asks POST /rules/decisions/{id}/evaluate, so the id must be a plain path segment.
 * bindingType latest (the default) or versionTag; "deployment" has no meaning here
 * (rule sets and processes are not deployed together). */
static void decision_binding(ex_node_t *x, const bpmn_node_t *cd, char *err, size_t errlen)
{
    const char *bt = cd ? bpmn_attr(cd, "bindingType") : NULL, *tag = cd ? bpmn_attr(cd, "versionTag") : NULL;
    if (!x->decision || err[0] || ex_rule_set_ref(x->decision))
        return;
    if (strspn(x->decision, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(x->decision))
        snprintf(err, errlen, "businessRuleTask '%s': decisionId '%.100s' is not a DMN decision id "
                 "(letters, digits, '.', '_', '-'; FEEL expressions are not supported)", x->id, x->decision);
    else if (bt && !strcmp(bt, "versionTag") && tag && *tag)
        x->decision_tag = dup(tag);
    else if (bt && strcmp(bt, "latest"))
        snprintf(err, errlen, "businessRuleTask '%s': bindingType '%.40s' is not supported "
                 "(latest, or versionTag with a versionTag)", x->id, bt);
}

/* A result variable from zeebe:script, or the attribute form. */
static void script_of(ex_node_t *x, const bpmn_node_t *n, char *err, size_t errlen)
{
    bpmn_node_t *zs = zext(n, "script");
    if (zs) {
        x->script = feel_of(bpmn_attr(zs, "expression"), "script", x->id, err, errlen);
        x->result_var = dup(bpmn_attr(zs, "resultVariable"));
    } else {
        bpmn_node_t *s = kid(n, "script");
        const char *fmt = bpmn_attr(n, "scriptFormat");
        if (fmt && strcasecmp(fmt, "feel") && !err[0])
            snprintf(err, errlen, "scriptTask '%s': scriptFormat '%s' is not supported (FEEL only)", x->id, fmt);
        if (s && s->text)
            x->script = feel_of(s->text, "script", x->id, err, errlen);
        const char *rv = bpmn_attr_ns(n, ZEEBE_NS, "resultVariable");
        if (!rv)
            rv = bpmn_attr_ns(n, "http://camunda.org/schema/1.0/bpmn", "resultVariable");
        x->result_var = dup(rv);
    }
    if (!x->script && !err[0])
        snprintf(err, errlen, "scriptTask '%s' has no FEEL script", x->id);
}

static void maps_of(ex_node_t *x, const bpmn_node_t *n, char *err, size_t errlen)
{
    bpmn_node_t *io = zext(n, "ioMapping");
    if (!io)
        return;
    for (size_t i = 0; i < io->nkids; i++) {
        bpmn_node_t *k = io->kids[i];
        bool in = bpmn_is(k, ZEEBE_NS, "input"), out = bpmn_is(k, ZEEBE_NS, "output");
        if (!in && !out)
            continue;
        ex_map_t **arr = in ? &x->ins : &x->outs;
        int *cnt = in ? &x->nins : &x->nouts;
        ex_map_t *a = realloc(*arr, sizeof(ex_map_t) * (size_t)(*cnt + 1));
        if (!a)
            return;
        *arr = a;
        ex_map_t *mp = &a[(*cnt)++];
        memset(mp, 0, sizeof(*mp));
        const char *src = bpmn_attr(k, "source");
        mp->source.feel = in ? ex_conn_static_source(x->job_type, src) : NULL;    /* connector inputs */
        if (!mp->source.feel)
            mp->source.feel = feel_of(src ? src : "null", "mapping source", x->id, err, errlen);
        mp->target = dup(bpmn_attr(k, "target"));
        if (in)
            x->has_ins = true;
        else
            x->has_outs = true;
    }
}

static void task_of(ex_node_t *x, const bpmn_model_t *m, const bpmn_node_t *proc,
                    const bpmn_node_t *n, char *err, size_t errlen)
{
    bpmn_node_t *td = zext(n, "taskDefinition");
    if (td) {
        x->job_type = dup(bpmn_attr(td, "type"));
        const char *r = bpmn_attr(td, "retries");
        x->retries = r ? atoi(r) : 3;
        if (x->retries < 1)
            x->retries = 1;
    }
    bpmn_node_t *th = zext(n, "taskHeaders");
    cJSON *h = cJSON_CreateObject();
    for (size_t i = 0; th && i < th->nkids; i++)
        if (bpmn_is(th->kids[i], ZEEBE_NS, "header") && bpmn_attr(th->kids[i], "key"))
            cJSON_AddStringToObject(h, bpmn_attr(th->kids[i], "key"),
                                    bpmn_attr(th->kids[i], "value") ? bpmn_attr(th->kids[i], "value") : "");
    x->headers = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    ex_c7_node(x, n, err, errlen);
    switch (x->kind) {
    case N_SCRIPT:
        script_of(x, n, err, errlen);
        break;
    case N_RULE: {
        bpmn_node_t *cd = zext(n, "calledDecision");
        if (cd) {
            x->decision = dup(bpmn_attr(cd, "decisionId"));
            x->result_var = dup(bpmn_attr(cd, "resultVariable"));
        }
        if (!x->decision && !x->job_type && !err[0])
            snprintf(err, errlen, "businessRuleTask '%s' has no zeebe:calledDecision decisionId", x->id);
        decision_binding(x, cd, err, errlen);
        break;
    }
    case N_JOB:
        if (!x->job_type && !err[0])
            snprintf(err, errlen, "serviceTask '%s' has no zeebe:taskDefinition type", x->id);
        break;
    case N_SEND:
    case N_RECEIVE:
        message_of(x, m, n, err, errlen);
        if (!x->job_type && !x->msg_name && !err[0])
            snprintf(err, errlen, "%s '%s' names no message", x->type, x->id);
        if (x->kind == N_SEND && x->job_type)
            x->kind = N_JOB;
        break;
    case N_USER: {
        bpmn_node_t *ad = zext(n, "assignmentDefinition");
        if (ad) {
            expr_of(&x->assignee, bpmn_attr(ad, "assignee"), "assignee", x->id, err, errlen);
            expr_of(&x->cand_users, bpmn_attr(ad, "candidateUsers"), "candidateUsers", x->id, err, errlen);
            expr_of(&x->cand_groups, bpmn_attr(ad, "candidateGroups"), "candidateGroups", x->id, err, errlen);
        }
        bpmn_node_t *ts = zext(n, "taskSchedule");
        if (ts)
            expr_of(&x->due, bpmn_attr(ts, "dueDate"), "dueDate", x->id, err, errlen);
        bpmn_node_t *fd = zext(n, "formDefinition");
        const char *key = fd ? bpmn_attr(fd, "formKey") : NULL;
        if (key) {
            const char *fid = strncmp(key, "camunda-forms:bpmn:", 19) ? key : key + 19;
            bpmn_node_t *pe = kid(proc, "extensionElements");
            for (size_t i = 0; pe && i < pe->nkids; i++) {
                bpmn_node_t *f = pe->kids[i];
                if (bpmn_is(f, ZEEBE_NS, "userTaskForm") && bpmn_attr(f, "id") &&
                    !strcmp(bpmn_attr(f, "id"), fid))
                    x->form = dup(f->text);
            }
            if (!x->form && !err[0])
                snprintf(err, errlen, "userTask '%s': form '%s' not found", x->id, fid);
        }
        /* a linked Camunda form: resolved in Process Design's form store when the task
         * is created (exec_elements.c), latest published unless bound to a version tag */
        const char *lid = fd && !key ? bpmn_attr(fd, "formId") : NULL;
        if (lid) {
            const char *bt = bpmn_attr(fd, "bindingType");
            x->form_id = dup(lid);
            if (bt && !strcmp(bt, "versionTag")) {
                x->form_tag = dup(bpmn_attr(fd, "versionTag"));
                if (!x->form_tag && !err[0])
                    snprintf(err, errlen, "userTask '%s': bindingType versionTag without a versionTag", x->id);
            }
        }
        break;
    }
    case N_CALL: {
        bpmn_node_t *ce = zext(n, "calledElement");
        x->called = dup(ce && bpmn_attr(ce, "processId") ? bpmn_attr(ce, "processId")
                                                          : bpmn_attr(n, "calledElement"));
        if (!x->called && !err[0])
            snprintf(err, errlen, "callActivity '%s' has no calledElement", x->id);
        break;
    }
    default:
        break;
    }
    /* zeebe:ioMapping: the child's variables on a call activity, the element's own
     * local variables (inputs) and what it hands back (outputs) elsewhere */
    if (x->kind != N_START && x->kind != N_END && x->kind != N_XOR &&
        x->kind != N_AND && x->kind != N_OR && x->kind != N_EVENTGW)
        maps_of(x, n, err, errlen);
    /* multi-instance */
    bpmn_node_t *mi = kid(n, "multiInstanceLoopCharacteristics");
    if (mi) {
        x->mi = true;
        const char *seq = bpmn_attr(mi, "isSequential");
        x->mi_seq = seq && !strcmp(seq, "true");
        bpmn_node_t *c = kid(mi, "loopCardinality");
        if (c && c->text)
            x->mi_card = feel_of(c->text, "loopCardinality", x->id, err, errlen);
        bpmn_node_t *cc = kid(mi, "completionCondition");
        if (cc && cc->text)
            x->mi_cond = feel_of(cc->text, "completionCondition", x->id, err, errlen);
        bpmn_node_t *zl = zext(mi, "loopCharacteristics");
        if (zl) {
            if (bpmn_attr(zl, "inputCollection"))
                x->mi_coll = feel_of(bpmn_attr(zl, "inputCollection"), "inputCollection", x->id, err, errlen);
            x->mi_in_elem = dup(bpmn_attr(zl, "inputElement"));
            x->mi_out_coll = dup(bpmn_attr(zl, "outputCollection"));
            if (bpmn_attr(zl, "outputElement"))
                x->mi_out_elem = feel_of(bpmn_attr(zl, "outputElement"), "outputElement", x->id, err, errlen);
        }
        if (!x->mi_card && !x->mi_coll && !err[0])
            snprintf(err, errlen, "multi-instance '%s' has neither loopCardinality nor inputCollection", x->id);
    }
}

static void node_free(ex_node_t *x)
{
    free(x->out);
    free(x->in);
    free(x->bounds);
    free(x->starts);
    free(x->evsubs);
    expr_free(&x->timer);
    expr_free(&x->signal);
    free(x->msg_name);
    feel_expr_free(x->corr);
    free(x->code);
    feel_expr_free(x->script);
    free(x->result_var);
    free(x->job_type);
    free(x->headers);
    free(x->decision);
    free(x->decision_tag);
    expr_free(&x->assignee);
    expr_free(&x->cand_users);
    expr_free(&x->cand_groups);
    expr_free(&x->due);
    free(x->form);
    free(x->form_id);
    free(x->form_tag);
    free(x->called);
    for (int i = 0; i < x->nins; i++) {
        expr_free(&x->ins[i].source);
        free(x->ins[i].target);
    }
    for (int i = 0; i < x->nouts; i++) {
        expr_free(&x->outs[i].source);
        free(x->outs[i].target);
    }
    free(x->ins);
    free(x->outs);
    feel_expr_free(x->mi_card);
    feel_expr_free(x->mi_coll);
    feel_expr_free(x->mi_out_elem);
    feel_expr_free(x->mi_cond);
    free(x->mi_in_elem);
    free(x->mi_out_coll);
}

void ex_def_free(ex_def_t *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nnodes; i++)
        node_free(&d->nodes[i]);
    for (int i = 0; i < d->nflows; i++)
        feel_expr_free(d->flows[i].cond);
    free(d->nodes);
    free(d->flows);
    free(d->starts);
    free(d->evsubs);
    free(d->reach);
    free(d->tenant);
    free(d->process_id);
    free(d->bpmn_id);
    free(d->key);
    bpmn_free(d->model);
    free(d);
}

/* Which top-level process to run: bpmn_id, else the first executable one with flow
 * nodes, else the first with flow nodes. */
static int pick_process(const bpmn_model_t *m, const char *bpmn_id)
{
    int first = -1, exec = -1;
    for (size_t i = 0; i < m->nels; i++) {
        if (m->els[i].kind != BPMN_K_PROCESS)
            continue;
        if (bpmn_id && !strcmp(m->els[i].id, bpmn_id))
            return (int)i;
        bool has_nodes = false;
        for (size_t j = 0; j < m->nels && !has_nodes; j++)
            has_nodes = m->els[j].process == (int)i && bpmn_kind_is_flow_node(m->els[j].kind) && j != i;
        if (!has_nodes)
            continue;
        const char *ex = bpmn_attr(m->els[i].node, "isExecutable");
        if (first < 0)
            first = (int)i;
        if (exec < 0 && ex && !strcmp(ex, "true"))
            exec = (int)i;
    }
    return exec >= 0 ? exec : first;
}

static ex_def_t *compile_here(const char *xml, size_t len, const char *bpmn_id, char *err, size_t errlen)
{
    err[0] = 0;
    bpmn_model_t *m = bpmn_parse(xml, len, err, errlen);
    if (!m)
        return NULL;
    int pi = pick_process(m, bpmn_id);
    if (pi < 0) {
        snprintf(err, errlen, "the model has no process with flow nodes");
        bpmn_free(m);
        return NULL;
    }
    ex_def_t *d = calloc(1, sizeof(*d));
    int *elnode = malloc(sizeof(int) * (m->nels + 1));
    if (!d || !elnode)
        goto oom;
    d->model = m;
    d->bpmn_id = strdup(m->els[pi].id);
    const bpmn_node_t *proc = m->els[pi].node;
    const char *executable = bpmn_attr(proc, "isExecutable");
    if (executable && !strcmp(executable, "false")) {   /* modelled for documentation only */
        snprintf(err, errlen, "process '%s' is not executable (isExecutable=\"false\")", d->bpmn_id);
        goto fail;
    }
    d->hist_ttl_ms = ex_retention_of(proc, err, errlen);
    if (d->hist_ttl_ms == -2)
        goto fail;
    /* nodes */
    for (size_t i = 0; i < m->nels; i++) {
        elnode[i] = -1;
        const bpmn_el_t *e = &m->els[i];
        if (e->process != pi || !bpmn_kind_is_flow_node(e->kind) || (int)i == pi)
            continue;
        bool ok;
        ex_kind_t k = kind_of(e->type, &ok);
        if (!ok) {
            snprintf(err, errlen, "element '%s' (%s) is not supported by the engine", e->id, e->type);
            goto fail;
        }
        ex_node_t *nn = realloc(d->nodes, sizeof(ex_node_t) * (size_t)(d->nnodes + 1));
        if (!nn)
            goto oom;
        d->nodes = nn;
        ex_node_t *x = &d->nodes[d->nnodes];
        memset(x, 0, sizeof(*x));
        x->id = e->id;
        x->name = e->name;
        x->type = e->type;
        x->kind = k;
        x->deflt = -1;
        x->attached = -1;
        x->container = e->container;    /* els index for now; mapped below */
        x->interrupting = true;
        elnode[i] = d->nnodes++;
    }
    for (int i = 0; i < d->nnodes; i++) {
        ex_node_t *x = &d->nodes[i];
        int ei = bpmn_find(m, x->id);
        const bpmn_node_t *n = m->els[ei].node;
        x->container = (x->container >= 0 && x->container != pi) ? elnode[x->container] : -1;
        event_of(x, m, n, m->els[ei].event_def, err, errlen);
        if (x->kind == N_SUB) {
            const char *t = bpmn_attr(n, "triggeredByEvent");
            x->triggered = t && !strcmp(t, "true");
        }
        if (x->kind == N_START) {
            const char *ii = bpmn_attr(n, "isInterrupting");
            x->interrupting = !(ii && !strcmp(ii, "false"));
        }
        if (x->kind == N_BOUNDARY) {
            const char *ca = bpmn_attr(n, "cancelActivity");
            x->interrupting = !(ca && !strcmp(ca, "false"));
            const char *at = bpmn_attr(n, "attachedToRef");
            int ai = -1;
            for (int j = 0; at && j < d->nnodes; j++)
                if (!strcmp(d->nodes[j].id, at))
                    ai = j;
            if (ai < 0) {
                snprintf(err, errlen, "boundary event '%s' is attached to nothing the process runs", x->id);
                goto fail;
            }
            x->attached = ai;
            x->container = d->nodes[ai].container;
        }
        if (x->kind == N_THROW && x->ev == E_MESSAGE)
            x->kind = N_SEND;
        if (x->kind == N_CATCH && x->ev != E_MESSAGE && x->ev != E_TIMER && x->ev != E_SIGNAL && !err[0])
            snprintf(err, errlen, "intermediate catch event '%s': only message, timer and signal are supported",
                     x->id);
        if (x->kind == N_START && x->ev == E_SIGNAL && x->container < 0 && x->signal.feel && !err[0])
            snprintf(err, errlen, "signal start event '%s': the signal name must be a literal", x->id);
        if (x->kind == N_CATCH && x->ev == E_MESSAGE)
            x->kind = N_RECEIVE;
        task_of(x, m, proc, n, err, errlen);
        if (err[0])
            goto fail;
    }
    /* boundaries, starts, event subprocesses */
    for (int i = 0; i < d->nnodes; i++) {
        ex_node_t *x = &d->nodes[i];
        if (x->kind == N_BOUNDARY && push(&d->nodes[x->attached].bounds, &d->nodes[x->attached].nbounds, i))
            goto oom;
        if (x->kind == N_START) {
            if (x->container < 0 ? push(&d->starts, &d->nstarts, i)
                                 : push(&d->nodes[x->container].starts, &d->nodes[x->container].nstarts, i))
                goto oom;
        }
        if (x->kind == N_SUB && x->triggered) {
            if (x->container < 0 ? push(&d->evsubs, &d->nevsubs, i)
                                 : push(&d->nodes[x->container].evsubs, &d->nodes[x->container].nevsubs, i))
                goto oom;
        }
    }
    /* flows */
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (e->kind != BPMN_K_SEQUENCE_FLOW || e->process != pi)
            continue;
        int s = e->source ? ex_node_find(d, e->source) : -1, t = e->target ? ex_node_find(d, e->target) : -1;
        if (s < 0 || t < 0) {
            snprintf(err, errlen, "sequence flow '%s' does not connect two elements of the process", e->id);
            goto fail;
        }
        ex_flow_t *nf = realloc(d->flows, sizeof(ex_flow_t) * (size_t)(d->nflows + 1));
        if (!nf)
            goto oom;
        d->flows = nf;
        ex_flow_t *f = &d->flows[d->nflows];
        f->id = e->id;
        f->src = s;
        f->dst = t;
        f->cond = NULL;
        bpmn_node_t *ce = kid(e->node, "conditionExpression");
        if (ce && ex_c7_script_refused(ce, e->id, err, errlen))
            goto fail;
        if (ce && ce->text && *ce->text)
            f->cond = feel_of(ce->text, "condition", e->id, err, errlen);
        if (err[0])
            goto fail;
        if (push(&d->nodes[s].out, &d->nodes[s].nout, d->nflows) ||
            push(&d->nodes[t].in, &d->nodes[t].nin, d->nflows))
            goto oom;
        d->nflows++;
    }
    for (int i = 0; i < d->nnodes; i++) {
        ex_node_t *x = &d->nodes[i];
        const char *df = bpmn_attr(m->els[bpmn_find(m, x->id)].node, "default");
        for (int j = 0; df && j < x->nout; j++)
            if (!strcmp(d->flows[x->out[j]].id, df))
                x->deflt = x->out[j];
        if (x->kind == N_EVENTGW)
            for (int j = 0; j < x->nout; j++) {
                ex_node_t *t = &d->nodes[d->flows[x->out[j]].dst];
                if (!(t->kind == N_RECEIVE || (t->kind == N_CATCH && (t->ev == E_TIMER || t->ev == E_SIGNAL)))) {
                    snprintf(err, errlen, "event-based gateway '%s' must lead to message, timer or signal catch events",
                             x->id);
                    goto fail;
                }
            }
    }
    bool none_start = false;
    for (int i = 0; i < d->nstarts; i++)
        if (d->nodes[d->starts[i]].ev == E_NONE || d->nodes[d->starts[i]].ev == E_MESSAGE ||
            d->nodes[d->starts[i]].ev == E_TIMER || d->nodes[d->starts[i]].ev == E_SIGNAL)
            none_start = true;
    if (!none_start) {
        snprintf(err, errlen, "process '%s' has no none, message, timer or signal start event", d->bpmn_id);
        goto fail;
    }
    /* reachability (for inclusive joins): transitive closure over flows */
    d->words = (d->nnodes + 63) / 64;
    d->reach = calloc((size_t)d->nnodes * (size_t)d->words, sizeof(uint64_t));
    if (!d->reach)
        goto oom;
    int *stack = malloc(sizeof(int) * (size_t)(d->nnodes + 1));
    if (!stack)
        goto oom;
    for (int s = 0; s < d->nnodes; s++) {
        uint64_t *row = d->reach + (size_t)s * d->words;
        int sp = 0;
        stack[sp++] = s;
        row[s / 64] |= 1ull << (s % 64);
        while (sp) {
            int v = stack[--sp];
            const ex_node_t *x = &d->nodes[v];
            for (int j = 0; j < x->nout + x->nbounds; j++) {
                int t = j < x->nout ? d->flows[x->out[j]].dst : x->bounds[j - x->nout];
                if (!(row[t / 64] >> (t % 64) & 1)) {
                    row[t / 64] |= 1ull << (t % 64);
                    stack[sp++] = t;
                }
            }
        }
    }
    free(stack);
    free(elnode);
    return d;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(elnode);
    if (d)
        ex_def_free(d);
    else
        bpmn_free(m);
    return NULL;
}

/* A compile parses every FEEL expression of the process (and JUEL translated to FEEL);
 * the FEEL parser's stack guard measures what is left of the calling thread's stack,
 * and a CivetWeb worker has only ~100 KiB (fixed in Debian's build), less again under
 * AddressSanitizer. Compiles are rare (one per published version, then cached), so each
 * runs on a short-lived thread of its own with a roomy stack; if no thread can be made,
 * it runs here. */
typedef struct {
    const char *xml, *bpmn_id;
    size_t len, errlen;
    char *err;
    ex_def_t *out;
} compile_job_t;

static void *compile_thread(void *arg)
{
    compile_job_t *j = arg;
    j->out = compile_here(j->xml, j->len, j->bpmn_id, j->err, j->errlen);
    return NULL;
}

ex_def_t *ex_def_compile(const char *xml, size_t len, const char *bpmn_id, char *err, size_t errlen)
{
    compile_job_t j = { xml, bpmn_id, len, errlen, err, NULL };
    pthread_attr_t a;
    pthread_t t;
    if (pthread_attr_init(&a) == 0) {
        int ok = pthread_attr_setstacksize(&a, 8u << 20) == 0 && pthread_create(&t, &a, compile_thread, &j) == 0;
        pthread_attr_destroy(&a);
        if (ok) {
            pthread_join(t, NULL);
            return j.out;
        }
    }
    return compile_here(xml, len, bpmn_id, err, errlen);
}

/* ---- the cache ---- */

typedef struct centry {
    char *key;
    ex_def_t *def;          /* or NULL for a latest/bpmn-id entry */
    int version;
    char *process_id;
    struct centry *next;
} centry_t;

#define NBUCKETS 512
static centry_t *buckets[NBUCKETS];
static pthread_rwlock_t cache_lock = PTHREAD_RWLOCK_INITIALIZER;

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % NBUCKETS;
}

static centry_t *find_locked(const char *key)
{
    for (centry_t *e = buckets[hash(key)]; e; e = e->next)
        if (!strcmp(e->key, key))
            return e;
    return NULL;
}

/* Sets (or replaces) an entry; def is taken. Returns the def in the cache (another
 * thread may have put one first: then ours is freed and theirs returned). */
static ex_def_t *put(const char *key, ex_def_t *def, int version, const char *process_id)
{
    pthread_rwlock_wrlock(&cache_lock);
    centry_t *e = find_locked(key);
    if (e && def) {
        ex_def_t *have = e->def;
        pthread_rwlock_unlock(&cache_lock);
        ex_def_free(def);
        return have;
    }
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->key = strdup(key))) {
            free(e);
            pthread_rwlock_unlock(&cache_lock);
            return def;     /* uncached: leaks one def on OOM only */
        }
        unsigned h = hash(key);
        e->next = buckets[h];
        buckets[h] = e;
    }
    e->def = def;
    if (version > e->version || !def)
        e->version = version;
    if (process_id && (!e->process_id || strcmp(e->process_id, process_id))) {
        free(e->process_id);
        e->process_id = strdup(process_id);
    }
    pthread_rwlock_unlock(&cache_lock);
    return def;
}

static bool lookup(const char *key, ex_def_t **def, int *version, char *pid, size_t pidlen)
{
    pthread_rwlock_rdlock(&cache_lock);
    centry_t *e = find_locked(key);
    if (e) {
        if (def)
            *def = e->def;
        if (version)
            *version = e->version;
        if (pid)
            snprintf(pid, pidlen, "%s", e->process_id ? e->process_id : "");
    }
    pthread_rwlock_unlock(&cache_lock);
    return e != NULL;
}

void ex_defs_clear(void)
{
    pthread_rwlock_wrlock(&cache_lock);
    for (int i = 0; i < NBUCKETS; i++) {
        centry_t *e = buckets[i];
        while (e) {
            centry_t *n = e->next;
            ex_def_free(e->def);
            free(e->key);
            free(e->process_id);
            free(e);
            e = n;
        }
        buckets[i] = NULL;
    }
    pthread_rwlock_unlock(&cache_lock);
}

void ex_def_latest_set(const char *tenant, const char *process_id, int version)
{
    char key[256];
    snprintf(key, sizeof(key), "l\x1f%s\x1f%s", tenant, process_id);
    pthread_rwlock_wrlock(&cache_lock);
    centry_t *e = find_locked(key);
    if (e && version > e->version)
        e->version = version;
    pthread_rwlock_unlock(&cache_lock);
    if (!e)
        put(key, NULL, version, process_id);
}

int ex_def_put(const char *tenant, const char *process_id, int version, ex_def_t *d)
{
    char key[256];
    free(d->tenant);
    free(d->process_id);
    d->tenant = strdup(tenant);
    d->process_id = strdup(process_id);
    d->version = version;
    snprintf(key, sizeof(key), "d\x1f%s\x1f%s\x1f%d", tenant, process_id, version);
    put(key, d, version, process_id);
    ex_def_latest_set(tenant, process_id, version);
    snprintf(key, sizeof(key), "b\x1f%s\x1f%s", tenant, d->bpmn_id);
    put(key, NULL, version, process_id);
    return FM_OK;
}

/* GET through fm_call_system; returns the parsed body (200) or NULL with *status. */
static cJSON *get_json(const char *tenant, const char *path, int *status)
{
    char *out = NULL;
    *status = 0;
    if (fm_call_system(tenant, FM_GET, path, NULL, status, &out) != FM_OK) {
        free(out);
        return NULL;
    }
    cJSON *j = *status == 200 ? cJSON_Parse(out) : NULL;
    free(out);
    return j;
}

/* A BPMN process id to the Process Design process publishing it (latest). */
static int resolve_bpmn(const char *tenant, const char *bpmn_id, char *pid, size_t pidlen)
{
    char key[512];
    snprintf(key, sizeof(key), "b\x1f%s\x1f%s", tenant, bpmn_id);
    if (lookup(key, NULL, NULL, pid, pidlen) && pid[0])
        return FM_OK;
    /* the engine's record of publications */
    fm_db_t *db = ex_db();
    char *got = NULL;
    if (db && fm_dbq_read_str(db, "SELECT process_id FROM deployments WHERE tenant_id = ? AND bpmn_id = ? "
                                  "ORDER BY rowid DESC LIMIT 1", &got, "ss", tenant, bpmn_id) == FM_OK && got) {
        snprintf(pid, pidlen, "%s", got);
        free(got);
        return FM_OK;
    }
    free(got);
    int rc = FM_ENOTFOUND;
    /* ask Process Design: published processes, newest updates first */
    char path[700], cursor[300] = "";
    for (int page = 0; page < 20 && rc != FM_OK; page++) {
        snprintf(path, sizeof(path), "/processes?status=published&limit=500%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        int status;
        cJSON *j = get_json(tenant, path, &status);
        if (!j)
            break;
        cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "items")) {
            const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(it, "bpmnProcessId"));
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(it, "id"));
            if (b && id && !strcmp(b, bpmn_id)) {
                snprintf(pid, pidlen, "%s", id);
                rc = FM_OK;
            }
        }
        const char *nc = cJSON_GetStringValue(cJSON_GetObjectItem(j, "nextCursor"));
        if (nc && strlen(nc) < sizeof(cursor))
            snprintf(cursor, sizeof(cursor), "%s", nc);
        else
            cursor[0] = 0;
        cJSON_Delete(j);
        if (!cursor[0])
            break;
    }
    return rc;
}

int ex_def_get(const char *tenant, const char *ref, int version, ex_def_t **out,
               const char **field, char *why, size_t whylen)
{
    char pid[200], key[512];
    *field = "processId";
    if (!ref || !*ref || strlen(ref) > 180) {
        snprintf(why, whylen, "must be a process id");
        return FM_EINVAL;
    }
    snprintf(key, sizeof(key), "l\x1f%s\x1f%s", tenant, ref);
    if (strncmp(ref, "proc_", 5) && !lookup(key, NULL, NULL, NULL, 0)) {
        if (resolve_bpmn(tenant, ref, pid, sizeof(pid)) != FM_OK) {
            snprintf(why, whylen, "no published process '%s'", ref);
            return FM_ENOTFOUND;
        }
    } else
        snprintf(pid, sizeof(pid), "%s", ref);
    if (version <= 0) {
        snprintf(key, sizeof(key), "l\x1f%s\x1f%s", tenant, pid);
        if (!lookup(key, NULL, &version, NULL, 0) || version <= 0) {
            char path[300];
            snprintf(path, sizeof(path), "/processes/%s", pid);
            int status;
            cJSON *j = get_json(tenant, path, &status);
            if (!j) {
                snprintf(why, whylen, status == 404 ? "no process '%s'" : "process '%s' could not be read", ref);
                return status == 404 ? FM_ENOTFOUND : FM_EIO;
            }
            version = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "latestVersion"));
            cJSON_Delete(j);
            if (version <= 0) {
                snprintf(why, whylen, "process '%s' has no published version", ref);
                return FM_ENOTFOUND;
            }
            ex_def_latest_set(tenant, pid, version);
        }
    }
    snprintf(key, sizeof(key), "d\x1f%s\x1f%s\x1f%d", tenant, pid, version);
    ex_def_t *d = NULL;
    if (lookup(key, &d, NULL, NULL, 0) && d) {
        *out = d;
        return FM_OK;
    }
    char path[300];
    snprintf(path, sizeof(path), "/processes/%s", pid);
    int status;
    cJSON *meta = get_json(tenant, path, &status);
    if (!meta) {
        snprintf(why, whylen, status == 404 ? "no process '%s'" : "process '%s' could not be read", ref);
        return status == 404 ? FM_ENOTFOUND : FM_EIO;
    }
    char bpmn_id[256];
    snprintf(bpmn_id, sizeof(bpmn_id), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(meta, "bpmnProcessId"))
                 ? cJSON_GetStringValue(cJSON_GetObjectItem(meta, "bpmnProcessId")) : "");
    cJSON_Delete(meta);
    snprintf(path, sizeof(path), "/processes/%s/bpmn?version=%d", pid, version);
    char *xml = NULL;
    if (fm_call_system(tenant, FM_GET, path, NULL, &status, &xml) != FM_OK || status != 200) {
        free(xml);
        *field = "version";
        snprintf(why, whylen, "process '%s' has no published version %d", ref, version);
        return status == 404 ? FM_ENOTFOUND : FM_EIO;
    }
    char err[400];
    d = ex_def_compile(xml, strlen(xml), bpmn_id[0] ? bpmn_id : NULL, err, sizeof(err));
    free(xml);
    if (!d) {
        snprintf(why, whylen, "version %d of '%s' cannot run: %s", version, ref, err);
        return FM_EINVAL;
    }
    d->tenant = strdup(tenant);
    d->process_id = strdup(pid);
    d->version = version;
    d->key = strdup(key);
    *out = put(key, d, version, pid);
    snprintf(key, sizeof(key), "b\x1f%s\x1f%s", tenant, (*out)->bpmn_id);
    put(key, NULL, version, pid);
    return FM_OK;
}
