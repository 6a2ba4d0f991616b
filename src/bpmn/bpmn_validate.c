/*
 * bpmn_validate.c — every problem of a model at once, each with the id of the element
 * it is about. Severity "error" is what a process cannot run with (duplicate ids,
 * broken references the engine follows, flows to nowhere, no start event, conditions
 * that are not FEEL): publishing refuses those. Everything else is a "warning" an
 * unfinished draft may well have and Zeebe deploys anyway: no end event (a token with
 * no outgoing flow just ends), unreachable nodes, gateways without outgoing flows,
 * exclusive gateways that can get stuck, parallel joins fed by an exclusive split,
 * broken references of lanes, pools, message flows, associations and diagrams.
 */
#include "bpmn_int.h"

#include "../feel/feel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(cJSON *out, int *errors, const char *id, const char *code, bool warning,
                const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (id)
        cJSON_AddStringToObject(o, "id", id);
    else
        cJSON_AddNullToObject(o, "id");
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "severity", warning ? "warning" : "error");
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToArray(out, o);
    if (!warning)
        (*errors)++;
}

static bool is_flow_node(const bpmn_model_t *m, int i)
{
    return i >= 0 && bpmn_kind_is_flow_node(m->els[i].kind);
}

/* A condition in FEEL form ("=amount > 1000", as Camunda Modeler writes it) must parse
 * as FEEL; why gets the parser's reason with line and column. Conditions without the
 * "=" mark are left to the engine's expression language. */
static bool feel_problem(const char *s, char *why, size_t len)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    if (*s != '=')
        return false;
    feel_perr_t perr;
    memset(&perr, 0, sizeof(perr));
    feel_expr_t *e = feel_parse(s + 1, FEEL_EXPR, NULL, &perr);
    if (e) {
        feel_expr_free(e);
        return false;
    }
    snprintf(why, len, "%s (line %d, column %d)", perr.msg[0] ? perr.msg : "syntax error", perr.line, perr.col);
    return true;
}

static bool attr_true(const bpmn_node_t *n, const char *a)
{
    const char *v = bpmn_attr(n, a);
    return v && !strcmp(v, "true");
}

/* Reachability over sequence flows, from the start events of top-level processes;
 * entering a sub-process reaches its start events (or, without any, its source
 * nodes), boundary events follow their host, event sub-processes and compensation
 * handlers are reached with their container, link catch events count as reached. */
static void reach(const bpmn_model_t *m, char *seen)
{
    size_t n = m->nels;
    int *stack = malloc((n * 3 + 1) * sizeof(int));
    if (!stack)
        return;
    /* one list per element: its out-flows, children (when a container) and boundaries */
    int *ehead = malloc(n * sizeof(int)), *enext = malloc(n * sizeof(int));
    if (!ehead || !enext) {
        free(ehead);
        free(enext);
        free(stack);
        return;
    }
    for (size_t i = 0; i < n; i++)
        ehead[i] = -1;
    for (size_t i = 0; i < n; i++) {
        const bpmn_el_t *e = &m->els[i];
        int owner = -1;
        if (e->kind == BPMN_K_SEQUENCE_FLOW)
            owner = bpmn_find(m, e->source);
        else if (e->kind == BPMN_K_EVENT && !strcmp(e->type, "boundaryEvent"))
            owner = bpmn_find(m, bpmn_attr(e->node, "attachedToRef"));
        else if (bpmn_kind_is_flow_node(e->kind) && e->container >= 0 &&
                 m->els[e->container].kind == BPMN_K_SUBPROCESS)
            owner = e->container;
        if (owner >= 0) {
            enext[i] = ehead[owner];
            ehead[owner] = (int)i;
        }
    }
    size_t sp = 0;
    for (size_t i = 0; i < n; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (!bpmn_kind_is_flow_node(e->kind))
            continue;
        bool top = e->container >= 0 && m->els[e->container].kind == BPMN_K_PROCESS;
        bool root = (top && !strcmp(e->type, "startEvent")) || attr_true(e->node, "isForCompensation") ||
                    (e->event_def && !strcmp(e->event_def, "link") &&
                     !strcmp(e->type, "intermediateCatchEvent")) ||
                    (top && attr_true(e->node, "triggeredByEvent"));
        if (root && !seen[i]) {
            seen[i] = 1;
            stack[sp++] = (int)i;
        }
    }
    while (sp) {
        int u = stack[--sp];
        const bpmn_el_t *ue = &m->els[u];
        bool sub = ue->kind == BPMN_K_SUBPROCESS;
        bool has_start = false;
        if (sub)
            for (int k = ehead[u]; k >= 0; k = enext[k])
                if (m->els[k].container == u && !strcmp(m->els[k].type, "startEvent"))
                    has_start = true;
        for (int k = ehead[u]; k >= 0; k = enext[k]) {
            const bpmn_el_t *ke = &m->els[k];
            int v = -1;
            if (ke->kind == BPMN_K_SEQUENCE_FLOW)
                v = bpmn_find(m, ke->target);
            else if (ke->container == u && sub && ke->kind != BPMN_K_SEQUENCE_FLOW &&
                     strcmp(ke->type, "boundaryEvent")) {
                bool entry = has_start ? !strcmp(ke->type, "startEvent") : ke->nin == 0;
                if (entry || attr_true(ke->node, "triggeredByEvent"))
                    v = k;
            } else if (!strcmp(ke->type, "boundaryEvent")) {
                v = k;
            }
            if (v >= 0 && !seen[v] && sp < n * 3) {
                seen[v] = 1;
                stack[sp++] = v;
            }
        }
    }
    free(ehead);
    free(enext);
    free(stack);
}

/* warning: the reference matters to drawings and links, not to running the process */
static void check_ref(const bpmn_model_t *m, cJSON *out, int *errors, const bpmn_el_t *e,
                      const char *attr, bool want_flow_node, bool warning)
{
    const char *v = bpmn_attr(e->node, attr);
    if (!v) {
        add(out, errors, e->id, "missing-reference", warning, "%s '%s' has no %s", e->type, e->id, attr);
        return;
    }
    int t = bpmn_find(m, v);
    if (t < 0)
        add(out, errors, e->id, "broken-reference", warning, "%s '%s': %s '%s' does not exist",
            e->type, e->id, attr, v);
    else if (want_flow_node && !is_flow_node(m, t))
        add(out, errors, e->id, "flow-to-nowhere", warning, "%s '%s': %s '%s' is a %s, not a flow node",
            e->type, e->id, attr, v, m->els[t].type);
}

int bpmn_validate(const bpmn_model_t *m, cJSON *out)
{
    int errors = 0;
    size_t n = m->nels;
    /* sequence flows out of and into each element, as linked lists over flow indexes */
    int *ohead = malloc((n + 1) * sizeof(int)), *onext = malloc((n + 1) * sizeof(int));
    int *ihead = malloc((n + 1) * sizeof(int)), *inext = malloc((n + 1) * sizeof(int));
    if (!ohead || !onext || !ihead || !inext) {
        free(ohead);
        free(onext);
        free(ihead);
        free(inext);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        ohead[i] = ihead[i] = -1;
    for (size_t k = n; k-- > 0;) {
        if (m->els[k].kind != BPMN_K_SEQUENCE_FLOW)
            continue;
        int s = bpmn_find(m, m->els[k].source), t = bpmn_find(m, m->els[k].target);
        if (s >= 0) {
            onext[k] = ohead[s];
            ohead[s] = (int)k;
        }
        if (t >= 0) {
            inext[k] = ihead[t];
            ihead[t] = (int)k;
        }
    }
    /* duplicate ids: bpmn_find returns the first; every later one is a duplicate */
    for (size_t i = 0; i < n; i++)
        if (bpmn_find(m, m->els[i].id) != (int)i)
            add(out, &errors, m->els[i].id, "duplicate-id", false, "id '%s' is used more than once",
                m->els[i].id);
    size_t nproc = 0;
    for (size_t i = 0; i < n; i++) {
        const bpmn_el_t *e = &m->els[i];
        switch (e->kind) {
        case BPMN_K_SEQUENCE_FLOW: {
            check_ref(m, out, &errors, e, "sourceRef", true, false);
            check_ref(m, out, &errors, e, "targetRef", true, false);
            bpmn_node_t *c = bpmn_child(e->node, BPMN_NS, "conditionExpression");
            char why[256];
            if (c && c->text && feel_problem(c->text, why, sizeof(why)))
                add(out, &errors, e->id, "invalid-expression", false,
                    "sequenceFlow '%s': condition is not valid FEEL: %s", e->id, why);
            break;
        }
        case BPMN_K_MESSAGE_FLOW:
            check_ref(m, out, &errors, e, "sourceRef", false, true);
            check_ref(m, out, &errors, e, "targetRef", false, true);
            break;
        case BPMN_K_ASSOCIATION:
            check_ref(m, out, &errors, e, "sourceRef", false, true);
            check_ref(m, out, &errors, e, "targetRef", false, true);
            break;
        case BPMN_K_DATA_ASSOCIATION:
            /* drawn only: a dangling end is a drawing problem */
            if (e->source && bpmn_find(m, e->source) < 0)
                add(out, &errors, e->id, "broken-reference", true, "%s '%s': sourceRef '%s' does not exist",
                    e->type, e->id, e->source);
            if (e->target && bpmn_find(m, e->target) < 0)
                add(out, &errors, e->id, "broken-reference", true, "%s '%s': targetRef '%s' does not exist",
                    e->type, e->id, e->target);
            break;
        case BPMN_K_PARTICIPANT: {
            const char *p = bpmn_attr(e->node, "processRef");
            int t = bpmn_find(m, p);
            if (p && (t < 0 || m->els[t].kind != BPMN_K_PROCESS))
                add(out, &errors, e->id, "broken-reference", true,
                    "participant '%s': processRef '%s' is not a process", e->id, p);
            break;
        }
        case BPMN_K_LANE:
            for (size_t k = 0; k < e->node->nkids; k++) {
                const bpmn_node_t *c = e->node->kids[k];
                if (bpmn_is(c, BPMN_NS, "flowNodeRef") && c->text && bpmn_find(m, c->text) < 0)
                    add(out, &errors, e->id, "broken-reference", true,
                        "lane '%s': flowNodeRef '%s' does not exist", e->id, c->text);
            }
            break;
        case BPMN_K_PROCESS:
            nproc++;
            break;
        default:
            break;
        }
        if (!bpmn_kind_is_flow_node(e->kind))
            continue;
        if (!strcmp(e->type, "boundaryEvent")) {
            const char *a = bpmn_attr(e->node, "attachedToRef");
            int t = bpmn_find(m, a);
            if (!a || t < 0 || !is_flow_node(m, t))
                add(out, &errors, e->id, "broken-reference", false,
                    "boundaryEvent '%s': attachedToRef '%s' is not an activity", e->id, a ? a : "");
        }
        const char *def = bpmn_attr(e->node, "default");
        if (def) {
            int t = bpmn_find(m, def);
            if (t < 0 || m->els[t].kind != BPMN_K_SEQUENCE_FLOW)
                add(out, &errors, e->id, "broken-reference", false,
                    "%s '%s': default flow '%s' does not exist", e->type, e->id, def);
            else if (!m->els[t].source || strcmp(m->els[t].source, e->id))
                add(out, &errors, e->id, "broken-reference", false,
                    "%s '%s': default flow '%s' does not leave it", e->type, e->id, def);
        }
        if (!strcmp(e->type, "callActivity") && !bpmn_attr(e->node, "calledElement")) {
            bool zeebe = false;
            bpmn_node_t *x = bpmn_child(e->node, BPMN_NS, "extensionElements");
            if (x && bpmn_child(x, ZEEBE_NS, "calledElement"))
                zeebe = true;
            if (!zeebe)
                add(out, &errors, e->id, "no-called-element", true,
                    "callActivity '%s' names no process to call", e->id);
        }
        if (e->kind == BPMN_K_GATEWAY) {
            if (e->nout == 0)
                add(out, &errors, e->id, "gateway-without-outgoing", true,
                    "%s '%s' has no outgoing sequence flow", e->type, e->id);
            if (!strcmp(e->type, "exclusiveGateway") && e->nout > 1 && !def) {
                bool cond = false;
                for (int k = ohead[(int)i]; k >= 0 && !cond; k = onext[k])
                    cond = bpmn_child(m->els[k].node, BPMN_NS, "conditionExpression") != NULL;
                if (!cond)
                    add(out, &errors, e->id, "exclusive-gateway-unguarded", true,
                        "exclusiveGateway '%s' has neither a default flow nor conditions", e->id);
            }
            if (!strcmp(e->type, "parallelGateway") && e->nin > 1) {
                bool warned = false;
                for (int k = ihead[(int)i]; k >= 0 && !warned; k = inext[k]) {
                    const bpmn_el_t *f = &m->els[k];
                    /* walk back along the single path to the nearest split */
                    int cur = bpmn_find(m, f->source);
                    for (size_t steps = 0; cur >= 0 && steps < n; steps++) {
                        const bpmn_el_t *c = &m->els[cur];
                        if (c->kind == BPMN_K_GATEWAY || c->nin != 1 || ihead[cur] < 0)
                            break;
                        cur = bpmn_find(m, m->els[ihead[cur]].source);
                    }
                    if (cur >= 0 && !strcmp(m->els[cur].type, "exclusiveGateway") &&
                        m->els[cur].nout > 1) {
                        add(out, &errors, e->id, "parallel-join-after-exclusive-split", true,
                            "parallelGateway '%s' joins a branch of exclusiveGateway '%s': "
                            "only one branch arrives, so the join waits forever", e->id, m->els[cur].id);
                        warned = true;
                    }
                }
            }
        }
    }
    /* start and end per process with flow nodes */
    for (size_t p = 0; p < n; p++) {
        if (m->els[p].kind != BPMN_K_PROCESS)
            continue;
        size_t nodes = 0, starts = 0, ends = 0;
        for (size_t i = 0; i < n; i++) {
            const bpmn_el_t *e = &m->els[i];
            if (e->container != (int)p || !bpmn_kind_is_flow_node(e->kind))
                continue;
            nodes++;
            starts += !strcmp(e->type, "startEvent");
            ends += !strcmp(e->type, "endEvent");
        }
        if (!nodes)
            continue;
        if (!starts)
            add(out, &errors, m->els[p].id, "no-start-event", false,
                "process '%s' has no start event", m->els[p].id);
        if (!ends)
            add(out, &errors, m->els[p].id, "no-end-event", true,
                "process '%s' has no end event", m->els[p].id);
    }
    if (!nproc)
        add(out, &errors, bpmn_attr(m->root, "id"), "no-process", false,
            "the definitions hold no process");
    char *seen = calloc(n ? n : 1, 1), *proc_has_start = calloc(n ? n : 1, 1);
    for (size_t k = 0; proc_has_start && k < n; k++)
        if (m->els[k].container >= 0 && !strcmp(m->els[k].type, "startEvent"))
            proc_has_start[m->els[k].container] = 1;
    if (seen && proc_has_start) {
        reach(m, seen);
        for (size_t i = 0; i < n; i++) {
            const bpmn_el_t *e = &m->els[i];
            if (!bpmn_kind_is_flow_node(e->kind) || seen[i] || e->process < 0)
                continue;
            /* a process without start events is reported once above, not per node */
            if (proc_has_start[e->process])
                add(out, &errors, e->id, "unreachable", true,
                    "%s '%s' cannot be reached from a start event", e->type, e->id);
        }
    }
    free(seen);
    free(proc_has_start);
    for (size_t i = 0; i < m->nshapes; i++)
        if (bpmn_find(m, m->shapes[i].element) < 0)
            add(out, &errors, m->shapes[i].element, "broken-di-reference", true,
                "diagram shape for '%s', which does not exist", m->shapes[i].element);
    for (size_t i = 0; i < m->nedges; i++)
        if (bpmn_find(m, m->edges[i].element) < 0)
            add(out, &errors, m->edges[i].element, "broken-di-reference", true,
                "diagram edge for '%s', which does not exist", m->edges[i].element);
    bpmn__camunda7_warnings(m, out);
    errors += bpmn__connector_checks(m, out);
    free(ohead);
    free(onext);
    free(ihead);
    free(inext);
    return errors;
}
