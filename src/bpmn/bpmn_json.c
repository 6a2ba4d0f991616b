/*
 * bpmn_json.c — the JSON form of a model (docs/bpmn.md) for API users who do not write
 * XML, in both directions, and the summary (process ids, call targets, message flows)
 * that design stores and linking indexes.
 *
 * JSON → model builds the same element tree an import would (bpmn: prefix, incoming/
 * outgoing children as bpmn-js writes them); extension elements travel as an XML
 * string and are parsed with the usual prefixes bound. A model built from JSON has no
 * diagram: views lays it out automatically.
 */
#include "bpmn_int.h"

/* JSON pointers are built into fixed buffers; a pointer into absurdly deep nesting is
 * cut short, which only shortens an error message. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- model → JSON ---- */

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

static const char *child_text(const bpmn_node_t *n, const char *name)
{
    bpmn_node_t *c = bpmn_child(n, BPMN_NS, name);
    return c ? c->text : NULL;
}

static void ext_to_json(const bpmn_node_t *n, cJSON *o)
{
    bpmn_node_t *x = bpmn_child(n, BPMN_NS, "extensionElements");
    if (!x || !x->nkids)
        return;
    bpmn_buf_t b = BPMN_BUF_INIT;
    for (size_t i = 0; i < x->nkids; i++) {
        char *s = bpmn_node_xml(x->kids[i], false);
        bpmn_buf_puts(&b, s);
        free(s);
    }
    char *s = bpmn_buf_detach(&b, NULL);
    cJSON_AddStringToObject(o, "extensionElements", s);
    free(s);
}

static cJSON *flow_json(const bpmn_el_t *e)
{
    cJSON *f = cJSON_CreateObject();
    add_str(f, "id", e->id);
    add_str(f, "name", e->name);
    add_str(f, "source", e->source);
    add_str(f, "target", e->target);
    add_str(f, "condition", child_text(e->node, "conditionExpression"));
    add_str(f, "documentation", child_text(e->node, "documentation"));
    ext_to_json(e->node, f);
    return f;
}

static cJSON *node_json(const bpmn_model_t *m, int i);

static void container_json(const bpmn_model_t *m, int c, cJSON *o)
{
    cJSON *els = cJSON_AddArrayToObject(o, "elements");
    cJSON *flows = cJSON_AddArrayToObject(o, "flows");
    cJSON *assocs = NULL;
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (e->container != c)
            continue;
        if (e->kind == BPMN_K_SEQUENCE_FLOW)
            cJSON_AddItemToArray(flows, flow_json(e));
        else if (e->kind == BPMN_K_ASSOCIATION) {
            if (!assocs)
                assocs = cJSON_AddArrayToObject(o, "associations");
            cJSON *a = cJSON_CreateObject();
            add_str(a, "id", e->id);
            add_str(a, "source", e->source);
            add_str(a, "target", e->target);
            cJSON_AddItemToArray(assocs, a);
        } else if (bpmn_kind_is_flow_node(e->kind) || e->kind == BPMN_K_DATA ||
                   e->kind == BPMN_K_ARTIFACT)
            cJSON_AddItemToArray(els, node_json(m, (int)i));
    }
}

static cJSON *node_json(const bpmn_model_t *m, int i)
{
    const bpmn_el_t *e = &m->els[i];
    const bpmn_node_t *n = e->node;
    cJSON *o = cJSON_CreateObject();
    add_str(o, "id", e->id);
    add_str(o, "type", e->type);
    add_str(o, "name", e->name);
    if (e->event_def) {
        cJSON_AddStringToObject(o, "eventDefinition", e->event_def);
        char dn[64];
        snprintf(dn, sizeof(dn), "%sEventDefinition", e->event_def);
        bpmn_node_t *d = bpmn_child(n, BPMN_NS, dn);
        static const char *const refs[] = { "messageRef", "signalRef", "errorRef", "escalationRef" };
        for (size_t k = 0; d && k < 4; k++)
            add_str(o, refs[k], bpmn_attr(d, refs[k]));
        static const char *const timers[] = { "timeDuration", "timeDate", "timeCycle" };
        for (size_t k = 0; d && k < 3; k++)
            if (child_text(d, timers[k])) {
                cJSON *t = cJSON_AddObjectToObject(o, "timer");
                cJSON_AddStringToObject(t, timers[k], child_text(d, timers[k]));
            }
        bpmn_node_t *cond = d ? bpmn_child(d, BPMN_NS, "condition") : NULL;
        if (cond && cond->text)
            cJSON_AddStringToObject(o, "condition", cond->text);
    }
    add_str(o, "attachedTo", bpmn_attr(n, "attachedToRef"));
    const char *ca = bpmn_attr(n, "cancelActivity");
    if (ca)
        cJSON_AddBoolToObject(o, "cancelActivity", strcmp(ca, "false") != 0);
    const char *ni = bpmn_attr(n, "isInterrupting");
    if (ni)
        cJSON_AddBoolToObject(o, "isInterrupting", strcmp(ni, "false") != 0);
    add_str(o, "default", bpmn_attr(n, "default"));
    add_str(o, "calledElement", bpmn_attr(n, "calledElement"));
    const char *tb = bpmn_attr(n, "triggeredByEvent");
    if (tb)
        cJSON_AddBoolToObject(o, "triggeredByEvent", !strcmp(tb, "true"));
    add_str(o, "documentation", child_text(n, "documentation"));
    if (!strcmp(e->type, "textAnnotation"))
        add_str(o, "text", child_text(n, "text"));
    if (!strcmp(e->type, "scriptTask")) {
        add_str(o, "scriptFormat", bpmn_attr(n, "scriptFormat"));
        add_str(o, "script", child_text(n, "script"));
    }
    if (bpmn_child(n, BPMN_NS, "multiInstanceLoopCharacteristics")) {
        const char *seq = bpmn_attr(bpmn_child(n, BPMN_NS, "multiInstanceLoopCharacteristics"),
                                    "isSequential");
        cJSON_AddStringToObject(o, "loop", seq && !strcmp(seq, "true") ? "sequential" : "parallel");
    } else if (bpmn_child(n, BPMN_NS, "standardLoopCharacteristics")) {
        cJSON_AddStringToObject(o, "loop", "standard");
    }
    ext_to_json(n, o);
    if (e->kind == BPMN_K_SUBPROCESS)
        container_json(m, i, o);
    return o;
}

cJSON *bpmn_to_json(const bpmn_model_t *m)
{
    cJSON *o = cJSON_CreateObject();
    add_str(o, "id", bpmn_attr(m->root, "id"));
    add_str(o, "targetNamespace", bpmn_attr(m->root, "targetNamespace"));
    cJSON *procs = cJSON_AddArrayToObject(o, "processes");
    cJSON *parts = cJSON_AddArrayToObject(o, "participants");
    cJSON *mflows = cJSON_AddArrayToObject(o, "messageFlows");
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (e->kind == BPMN_K_PROCESS) {
            cJSON *p = cJSON_CreateObject();
            add_str(p, "id", e->id);
            add_str(p, "name", e->name);
            const char *ex = bpmn_attr(e->node, "isExecutable");
            cJSON_AddBoolToObject(p, "isExecutable", ex && !strcmp(ex, "true"));
            add_str(p, "documentation", child_text(e->node, "documentation"));
            ext_to_json(e->node, p);
            container_json(m, (int)i, p);
            cJSON *lanes = NULL;
            for (size_t k = 0; k < m->nels; k++) {
                const bpmn_el_t *l = &m->els[k];
                if (l->kind != BPMN_K_LANE || l->process != (int)i)
                    continue;
                if (!lanes)
                    lanes = cJSON_AddArrayToObject(p, "lanes");
                cJSON *lj = cJSON_CreateObject();
                add_str(lj, "id", l->id);
                add_str(lj, "name", l->name);
                cJSON *refs = cJSON_AddArrayToObject(lj, "flowNodeRefs");
                for (size_t q = 0; q < l->node->nkids; q++)
                    if (bpmn_is(l->node->kids[q], BPMN_NS, "flowNodeRef") && l->node->kids[q]->text)
                        cJSON_AddItemToArray(refs, cJSON_CreateString(l->node->kids[q]->text));
                cJSON_AddItemToArray(lanes, lj);
            }
            cJSON_AddItemToArray(procs, p);
        } else if (e->kind == BPMN_K_PARTICIPANT) {
            cJSON *p = cJSON_CreateObject();
            add_str(p, "id", e->id);
            add_str(p, "name", e->name);
            add_str(p, "processRef", bpmn_attr(e->node, "processRef"));
            cJSON_AddItemToArray(parts, p);
        } else if (e->kind == BPMN_K_MESSAGE_FLOW) {
            cJSON_AddItemToArray(mflows, flow_json(e));
        }
    }
    cJSON_AddBoolToObject(o, "hasDiagram", m->ndiagrams > 0);
    return o;
}

/* ---- JSON → model ---- */

typedef struct jb {
    cJSON *errs;
    int nerr;
} jb_t;

static void jerr(jb_t *b, const char *ptr, const char *detail)
{
    if (b->nerr++ > 50)
        return;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "pointer", ptr);
    cJSON_AddStringToObject(e, "detail", detail);
    cJSON_AddItemToArray(b->errs, e);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bpmn_node_t *el(bpmn_node_t *parent, const char *name)
{
    bpmn_node_t *n = bpmn_node_new(BPMN_NS, "bpmn", name);
    bpmn_node_add(parent, n);
    return n;
}

static void text_el(bpmn_node_t *parent, const char *name, const char *text, bool formal)
{
    if (!text)
        return;
    bpmn_node_t *n = el(parent, name);
    n->text = strdup(text);
    if (formal) {
        /* xsi:type="bpmn:tFormalExpression", as modelers write it */
        bpmn_attr_t *a = calloc(1, sizeof(*a));
        a->ns = strdup(XSI_NS);
        a->name = strdup("type");
        a->prefix = strdup("xsi");
        a->value = strdup("bpmn:tFormalExpression");
        n->attrs = a;
        n->nattrs = 1;
    }
}

static bool ext_from_json(jb_t *b, const cJSON *o, bpmn_node_t *n, const char *ptr)
{
    const char *x = jstr(o, "extensionElements");
    if (!x)
        return true;
    char err[200], p[300];
    bpmn_node_t *frag = bpmn_parse_fragment(x, err, sizeof(err));
    if (!frag) {
        snprintf(p, sizeof(p), "%s/extensionElements", ptr);
        jerr(b, p, err);
        return false;
    }
    bpmn_node_t *ext = el(n, "extensionElements");
    for (size_t i = 0; i < frag->nkids; i++)
        bpmn_node_add(ext, frag->kids[i]);
    frag->nkids = 0;
    bpmn_node_free(frag);
    return true;
}

static const char *const node_types[] = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "manualTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway", "dataObjectReference",
    "dataStoreReference", "dataObject", "textAnnotation",
};

static void build_container(jb_t *b, const cJSON *c, bpmn_node_t *n, const char *ptr);

static void build_node(jb_t *b, const cJSON *o, bpmn_node_t *parent, const char *ptr)
{
    char p[300];
    const char *id = jstr(o, "id"), *type = jstr(o, "type");
    if (!cJSON_IsObject(o)) {
        jerr(b, ptr, "must be an object");
        return;
    }
    bool known = false;
    for (size_t i = 0; type && i < sizeof(node_types) / sizeof(node_types[0]); i++)
        known |= !strcmp(type, node_types[i]);
    if (!id || !*id) {
        snprintf(p, sizeof(p), "%s/id", ptr);
        jerr(b, p, "is required (a string)");
    }
    if (!known) {
        snprintf(p, sizeof(p), "%s/type", ptr);
        jerr(b, p, "must be a BPMN element type such as userTask or exclusiveGateway (docs/bpmn.md)");
    }
    if (!id || !*id || !known)
        return;
    bpmn_node_t *n = el(parent, type);
    bpmn_set_attr(n, "id", id);
    if (jstr(o, "name"))
        bpmn_set_attr(n, "name", jstr(o, "name"));
    if (jstr(o, "attachedTo"))
        bpmn_set_attr(n, "attachedToRef", jstr(o, "attachedTo"));
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(o, "cancelActivity");
    if (cJSON_IsBool(ca))
        bpmn_set_attr(n, "cancelActivity", cJSON_IsTrue(ca) ? "true" : "false");
    const cJSON *ii = cJSON_GetObjectItemCaseSensitive(o, "isInterrupting");
    if (cJSON_IsBool(ii))
        bpmn_set_attr(n, "isInterrupting", cJSON_IsTrue(ii) ? "true" : "false");
    if (jstr(o, "default"))
        bpmn_set_attr(n, "default", jstr(o, "default"));
    if (jstr(o, "calledElement"))
        bpmn_set_attr(n, "calledElement", jstr(o, "calledElement"));
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(o, "triggeredByEvent");
    if (cJSON_IsBool(tb))
        bpmn_set_attr(n, "triggeredByEvent", cJSON_IsTrue(tb) ? "true" : "false");
    if (jstr(o, "scriptFormat"))
        bpmn_set_attr(n, "scriptFormat", jstr(o, "scriptFormat"));
    text_el(n, "documentation", jstr(o, "documentation"), false);
    if (!ext_from_json(b, o, n, ptr))
        return;
    const char *ed = jstr(o, "eventDefinition");
    if (ed) {
        static const char *const ok[] = { "timer", "message", "signal", "error", "escalation",
                                          "terminate", "conditional", "link", "compensate", "cancel" };
        bool good = false;
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
            good |= !strcmp(ed, ok[i]);
        if (!good) {
            snprintf(p, sizeof(p), "%s/eventDefinition", ptr);
            jerr(b, p, "must be one of timer, message, signal, error, escalation, terminate, "
                       "conditional, link, compensate, cancel");
            return;
        }
        char dn[64];
        snprintf(dn, sizeof(dn), "%sEventDefinition", ed);
        bpmn_node_t *d = el(n, dn);
        static const char *const refs[] = { "messageRef", "signalRef", "errorRef", "escalationRef" };
        for (size_t k = 0; k < 4; k++)
            if (jstr(o, refs[k]))
                bpmn_set_attr(d, refs[k], jstr(o, refs[k]));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "timer");
        static const char *const timers[] = { "timeDuration", "timeDate", "timeCycle" };
        for (size_t k = 0; cJSON_IsObject(t) && k < 3; k++)
            text_el(d, timers[k], jstr(t, timers[k]), true);
        if (!strcmp(ed, "conditional"))
            text_el(d, "condition", jstr(o, "condition"), true);
    }
    if (!strcmp(type, "textAnnotation"))
        text_el(n, "text", jstr(o, "text"), false);
    if (!strcmp(type, "scriptTask"))
        text_el(n, "script", jstr(o, "script"), false);
    const char *loop = jstr(o, "loop");
    if (loop) {
        if (!strcmp(loop, "standard")) {
            el(n, "standardLoopCharacteristics");
        } else {
            bpmn_node_t *l = el(n, "multiInstanceLoopCharacteristics");
            if (!strcmp(loop, "sequential"))
                bpmn_set_attr(l, "isSequential", "true");
        }
    }
    if (!strcmp(type, "subProcess"))
        build_container(b, o, n, ptr);
}

static void build_flow(jb_t *b, const cJSON *f, bpmn_node_t *parent, const char *name,
                       const char *ptr)
{
    char p[300];
    const char *id = jstr(f, "id"), *s = jstr(f, "source"), *t = jstr(f, "target");
    const char *miss = !id ? "id" : !s ? "source" : !t ? "target" : NULL;
    if (miss) {
        snprintf(p, sizeof(p), "%s/%s", ptr, miss);
        jerr(b, p, "is required (a string)");
        return;
    }
    bpmn_node_t *n = el(parent, name);
    bpmn_set_attr(n, "id", id);
    if (jstr(f, "name"))
        bpmn_set_attr(n, "name", jstr(f, "name"));
    bpmn_set_attr(n, "sourceRef", s);
    bpmn_set_attr(n, "targetRef", t);
    text_el(n, "documentation", jstr(f, "documentation"), false);
    ext_from_json(b, f, n, ptr);
    if (!strcmp(name, "sequenceFlow"))
        text_el(n, "conditionExpression", jstr(f, "condition"), true);
}

/* bpmn-js writes <incoming>/<outgoing> on every flow node; so do we. */
static void link_flows(bpmn_node_t *c)
{
    for (size_t i = 0; i < c->nkids; i++) {
        bpmn_node_t *f = c->kids[i];
        if (!bpmn_is(f, BPMN_NS, "sequenceFlow"))
            continue;
        for (size_t k = 0; k < c->nkids; k++) {
            bpmn_node_t *n = c->kids[k];
            const char *id = bpmn_attr(n, "id");
            if (!id || bpmn_is(n, BPMN_NS, "sequenceFlow"))
                continue;
            bool out = !strcmp(id, bpmn_attr(f, "sourceRef")), in = !strcmp(id, bpmn_attr(f, "targetRef"));
            if (!out && !in)
                continue;
            /* after documentation/extensionElements, before anything else */
            bpmn_node_t *r = bpmn_node_new(BPMN_NS, "bpmn", out ? "outgoing" : "incoming");
            r->text = strdup(bpmn_attr(f, "id"));
            size_t at = 0;
            while (at < n->nkids && (bpmn_is(n->kids[at], BPMN_NS, "documentation") ||
                                     bpmn_is(n->kids[at], BPMN_NS, "extensionElements") ||
                                     bpmn_is(n->kids[at], BPMN_NS, "incoming") ||
                                     (out && bpmn_is(n->kids[at], BPMN_NS, "outgoing"))))
                at++;
            bpmn_node_add(n, r);
            memmove(&n->kids[at + 1], &n->kids[at], (n->nkids - 1 - at) * sizeof(*n->kids));
            n->kids[at] = r;
        }
    }
}

static void build_container(jb_t *b, const cJSON *c, bpmn_node_t *n, const char *ptr)
{
    char p[300];
    const cJSON *els = cJSON_GetObjectItemCaseSensitive(c, "elements");
    const cJSON *flows = cJSON_GetObjectItemCaseSensitive(c, "flows");
    const cJSON *assocs = cJSON_GetObjectItemCaseSensitive(c, "associations");
    if (els && !cJSON_IsArray(els)) {
        snprintf(p, sizeof(p), "%s/elements", ptr);
        jerr(b, p, "must be an array");
    }
    if (flows && !cJSON_IsArray(flows)) {
        snprintf(p, sizeof(p), "%s/flows", ptr);
        jerr(b, p, "must be an array");
    }
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, (cJSON_IsArray(els) ? els : NULL)) {
        snprintf(p, sizeof(p), "%s/elements/%d", ptr, i++);
        build_node(b, x, n, p);
    }
    i = 0;
    cJSON_ArrayForEach(x, (cJSON_IsArray(flows) ? flows : NULL)) {
        snprintf(p, sizeof(p), "%s/flows/%d", ptr, i++);
        build_flow(b, x, n, "sequenceFlow", p);
    }
    i = 0;
    cJSON_ArrayForEach(x, (cJSON_IsArray(assocs) ? assocs : NULL)) {
        snprintf(p, sizeof(p), "%s/associations/%d", ptr, i++);
        build_flow(b, x, n, "association", p);
    }
    link_flows(n);
}

bpmn_model_t *bpmn_from_json(const cJSON *j, cJSON *errs)
{
    jb_t b = { errs, 0 };
    if (!cJSON_IsObject(j)) {
        jerr(&b, "", "must be a JSON object (docs/bpmn.md)");
        return NULL;
    }
    const cJSON *procs = cJSON_GetObjectItemCaseSensitive(j, "processes");
    if (!cJSON_IsArray(procs) || !cJSON_GetArraySize(procs)) {
        jerr(&b, "/processes", "is required: an array with at least one process");
        return NULL;
    }
    bpmn_node_t *d = bpmn_node_new(BPMN_NS, "bpmn", "definitions");
    static const char *const decls[][2] = {
        { "bpmn", BPMN_NS }, { "bpmndi", BPMNDI_NS }, { "dc", DC_NS }, { "di", DI_NS },
        { "xsi", XSI_NS }, { "zeebe", ZEEBE_NS },
    };
    for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
        d->decls = realloc(d->decls, (d->ndecls + 1) * sizeof(*d->decls));
        d->decls[d->ndecls++] = (bpmn_nsdecl_t){ strdup(decls[i][0]), strdup(decls[i][1]) };
    }
    bpmn_set_attr(d, "id", jstr(j, "id") ? jstr(j, "id") : "Definitions_1");
    bpmn_set_attr(d, "targetNamespace",
                  jstr(j, "targetNamespace") ? jstr(j, "targetNamespace") : "http://bpmn.io/schema/bpmn");
    bpmn_set_attr(d, "exporter", "FlowMaster");
    bpmn_set_attr(d, "exporterVersion", "0.1.0");
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(j, "participants");
    const cJSON *mflows = cJSON_GetObjectItemCaseSensitive(j, "messageFlows");
    char p[300];
    const cJSON *x;
    int i = 0;
    if ((cJSON_IsArray(parts) && cJSON_GetArraySize(parts)) ||
        (cJSON_IsArray(mflows) && cJSON_GetArraySize(mflows))) {
        bpmn_node_t *c = el(d, "collaboration");
        bpmn_set_attr(c, "id", jstr(j, "collaborationId") ? jstr(j, "collaborationId") : "Collaboration_1");
        cJSON_ArrayForEach(x, (cJSON_IsArray(parts) ? parts : NULL)) {
            snprintf(p, sizeof(p), "/participants/%d", i++);
            if (!jstr(x, "id")) {
                char q[320];
                snprintf(q, sizeof(q), "%s/id", p);
                jerr(&b, q, "is required (a string)");
                continue;
            }
            bpmn_node_t *n = el(c, "participant");
            bpmn_set_attr(n, "id", jstr(x, "id"));
            if (jstr(x, "name"))
                bpmn_set_attr(n, "name", jstr(x, "name"));
            if (jstr(x, "processRef"))
                bpmn_set_attr(n, "processRef", jstr(x, "processRef"));
        }
        i = 0;
        cJSON_ArrayForEach(x, (cJSON_IsArray(mflows) ? mflows : NULL)) {
            snprintf(p, sizeof(p), "/messageFlows/%d", i++);
            build_flow(&b, x, c, "messageFlow", p);
        }
    }
    i = 0;
    cJSON_ArrayForEach(x, procs) {
        snprintf(p, sizeof(p), "/processes/%d", i++);
        const char *id = jstr(x, "id");
        if (!id || !*id) {
            char q[320];
            snprintf(q, sizeof(q), "%s/id", p);
            jerr(&b, q, "is required (a string)");
            continue;
        }
        bpmn_node_t *n = el(d, "process");
        bpmn_set_attr(n, "id", id);
        if (jstr(x, "name"))
            bpmn_set_attr(n, "name", jstr(x, "name"));
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(x, "isExecutable");
        bpmn_set_attr(n, "isExecutable", cJSON_IsFalse(ex) ? "false" : "true");
        text_el(n, "documentation", jstr(x, "documentation"), false);
        ext_from_json(&b, x, n, p);
        const cJSON *lanes = cJSON_GetObjectItemCaseSensitive(x, "lanes");
        if (cJSON_IsArray(lanes) && cJSON_GetArraySize(lanes)) {
            bpmn_node_t *ls = el(n, "laneSet");
            char lsid[300];
            snprintf(lsid, sizeof(lsid), "LaneSet_%s", id);
            bpmn_set_attr(ls, "id", lsid);
            const cJSON *l;
            int li = 0;
            cJSON_ArrayForEach(l, lanes) {
                li++;
                if (!jstr(l, "id")) {
                    char q[320];
                    snprintf(q, sizeof(q), "%s/lanes/%d/id", p, li - 1);
                    jerr(&b, q, "is required (a string)");
                    continue;
                }
                bpmn_node_t *ln = el(ls, "lane");
                bpmn_set_attr(ln, "id", jstr(l, "id"));
                if (jstr(l, "name"))
                    bpmn_set_attr(ln, "name", jstr(l, "name"));
                const cJSON *r;
                cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(l, "flowNodeRefs"))
                    if (cJSON_IsString(r))
                        text_el(ln, "flowNodeRef", r->valuestring, false);
            }
        }
        build_container(&b, x, n, p);
    }
    if (b.nerr) {
        bpmn_node_free(d);
        return NULL;
    }
    return bpmn__model_of(d);
}

/* ---- summary ---- */

static const char *called_element(const bpmn_node_t *n)
{
    const char *c = bpmn_attr(n, "calledElement");
    if (c)
        return c;
    bpmn_node_t *x = bpmn_child(n, BPMN_NS, "extensionElements");
    bpmn_node_t *z = x ? bpmn_child(x, ZEEBE_NS, "calledElement") : NULL;
    return z ? bpmn_attr(z, "processId") : NULL;
}

static const char *process_of(const bpmn_model_t *m, const char *ref)
{
    int i = bpmn_find(m, ref);
    if (i < 0)
        return NULL;
    if (m->els[i].kind == BPMN_K_PARTICIPANT)
        return bpmn_attr(m->els[i].node, "processRef");
    return m->els[i].process >= 0 ? m->els[m->els[i].process].id : NULL;
}

cJSON *bpmn_summary(const bpmn_model_t *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *procs = cJSON_AddArrayToObject(o, "processes");
    cJSON *calls = cJSON_AddArrayToObject(o, "calls");
    cJSON *mf = cJSON_AddArrayToObject(o, "messageFlows");
    size_t nodes = 0;
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        nodes += bpmn_kind_is_flow_node(e->kind);
        if (e->kind == BPMN_K_PROCESS) {
            cJSON *p = cJSON_CreateObject();
            add_str(p, "id", e->id);
            add_str(p, "name", e->name);
            cJSON_AddItemToArray(procs, p);
        } else if (!strcmp(e->type, "callActivity")) {
            const char *c = called_element(e->node);
            if (c) {
                cJSON *p = cJSON_CreateObject();
                cJSON_AddStringToObject(p, "element", e->id);
                cJSON_AddStringToObject(p, "calledElement", c);
                cJSON_AddItemToArray(calls, p);
            }
        } else if (e->kind == BPMN_K_MESSAGE_FLOW) {
            cJSON *p = cJSON_CreateObject();
            add_str(p, "id", e->id);
            add_str(p, "source", e->source);
            add_str(p, "target", e->target);
            add_str(p, "sourceProcess", process_of(m, e->source));
            add_str(p, "targetProcess", process_of(m, e->target));
            cJSON_AddItemToArray(mf, p);
        }
    }
    cJSON_AddNumberToObject(o, "flowNodes", (double)nodes);
    return o;
}
