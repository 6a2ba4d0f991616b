/*
 * bpmn_model.c — the semantic index over the element tree: every BPMN element with an
 * id, its kind and container, sequence-flow degrees, and the BPMNDI shapes and edges.
 * The tree stays the source of truth; the index is rebuilt (bpmn_reindex) whenever the
 * tree changes.
 */
#include "bpmn_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bpmn_idx {
    size_t cap;
    int *slot;      /* els index + 1; 0 empty */
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static const struct { const char *name; bpmn_kind_t kind; } kinds[] = {
    { "process", BPMN_K_PROCESS }, { "collaboration", BPMN_K_COLLABORATION },
    { "participant", BPMN_K_PARTICIPANT }, { "laneSet", BPMN_K_LANESET }, { "lane", BPMN_K_LANE },
    { "startEvent", BPMN_K_EVENT }, { "endEvent", BPMN_K_EVENT },
    { "intermediateCatchEvent", BPMN_K_EVENT }, { "intermediateThrowEvent", BPMN_K_EVENT },
    { "boundaryEvent", BPMN_K_EVENT }, { "implicitThrowEvent", BPMN_K_EVENT },
    { "task", BPMN_K_TASK }, { "userTask", BPMN_K_TASK }, { "serviceTask", BPMN_K_TASK },
    { "scriptTask", BPMN_K_TASK }, { "businessRuleTask", BPMN_K_TASK }, { "sendTask", BPMN_K_TASK },
    { "receiveTask", BPMN_K_TASK }, { "manualTask", BPMN_K_TASK }, { "callActivity", BPMN_K_TASK },
    { "subProcess", BPMN_K_SUBPROCESS }, { "transaction", BPMN_K_SUBPROCESS },
    { "adHocSubProcess", BPMN_K_SUBPROCESS },
    { "exclusiveGateway", BPMN_K_GATEWAY }, { "parallelGateway", BPMN_K_GATEWAY },
    { "inclusiveGateway", BPMN_K_GATEWAY }, { "eventBasedGateway", BPMN_K_GATEWAY },
    { "complexGateway", BPMN_K_GATEWAY },
    { "sequenceFlow", BPMN_K_SEQUENCE_FLOW }, { "messageFlow", BPMN_K_MESSAGE_FLOW },
    { "association", BPMN_K_ASSOCIATION },
    { "dataInputAssociation", BPMN_K_DATA_ASSOCIATION },
    { "dataOutputAssociation", BPMN_K_DATA_ASSOCIATION },
    { "dataObject", BPMN_K_DATA }, { "dataObjectReference", BPMN_K_DATA },
    { "dataStore", BPMN_K_DATA }, { "dataStoreReference", BPMN_K_DATA },
    { "textAnnotation", BPMN_K_ARTIFACT }, { "group", BPMN_K_ARTIFACT },
    { "message", BPMN_K_ROOT }, { "signal", BPMN_K_ROOT }, { "error", BPMN_K_ROOT },
    { "escalation", BPMN_K_ROOT }, { "category", BPMN_K_ROOT }, { "itemDefinition", BPMN_K_ROOT },
};

static const char *const event_defs[] = {
    "timer", "message", "signal", "error", "escalation", "terminate", "conditional",
    "link", "compensate", "cancel",
};

static bpmn_kind_t kind_of(const bpmn_node_t *n)
{
    if (!strcmp(n->ns, BPMNDI_NS))
        return (!strcmp(n->name, "BPMNShape") || !strcmp(n->name, "BPMNEdge") ||
                !strcmp(n->name, "BPMNPlane") || !strcmp(n->name, "BPMNDiagram"))
                   ? BPMN_K_DI : BPMN_K_OTHER;
    if (strcmp(n->ns, BPMN_NS))
        return BPMN_K_OTHER;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kinds[i].name, n->name))
            return kinds[i].kind;
    return BPMN_K_OTHER;
}

/* Data associations are indexed (so their diagram edges resolve) but stay content of
 * the activity that holds them for diffs and merges. */
bool bpmn__tracked(const bpmn_node_t *n)
{
    bpmn_kind_t k = kind_of(n);
    return k != BPMN_K_OTHER && k != BPMN_K_DATA_ASSOCIATION && bpmn_attr(n, "id");
}

bool bpmn_kind_is_flow_node(bpmn_kind_t k)
{
    return k == BPMN_K_EVENT || k == BPMN_K_TASK || k == BPMN_K_SUBPROCESS || k == BPMN_K_GATEWAY;
}

const char *bpmn_kind_name(bpmn_kind_t k)
{
    static const char *const names[] = {
        "other", "process", "collaboration", "participant", "laneSet", "lane", "event", "task",
        "subProcess", "gateway", "sequenceFlow", "messageFlow", "association", "data",
        "artifact", "root", "di", "dataAssociation",
    };
    return (size_t)k < sizeof(names) / sizeof(names[0]) ? names[k] : "other";
}

int bpmn_find(const bpmn_model_t *m, const char *id)
{
    if (!id || !m->idx || !m->idx->cap)
        return -1;
    size_t mask = m->idx->cap - 1;
    for (size_t i = hash(id) & mask;; i = (i + 1) & mask) {
        int s = m->idx->slot[i];
        if (!s)
            return -1;
        if (!strcmp(m->els[s - 1].id, id))
            return s - 1;
    }
}

static void idx_put(bpmn_model_t *m, int el)
{
    size_t mask = m->idx->cap - 1;
    for (size_t i = hash(m->els[el].id) & mask;; i = (i + 1) & mask) {
        int s = m->idx->slot[i];
        if (!s) {
            m->idx->slot[i] = el + 1;
            return;
        }
        if (!strcmp(m->els[s - 1].id, m->els[el].id))
            return;     /* duplicate id: the first one wins; validation reports it */
    }
}

typedef struct walk {
    bpmn_model_t *m;
    size_t cap, scap, ecap;
} walk_t;

static double num(const bpmn_node_t *n, const char *a)
{
    const char *v = bpmn_attr(n, a);
    return v ? strtod(v, NULL) : 0;
}

static bpmn_bounds_t bounds_of(const bpmn_node_t *n)
{
    bpmn_node_t *b = bpmn_child(n, DC_NS, "Bounds");
    bpmn_bounds_t r = { 0, 0, 0, 0 };
    if (b)
        r = (bpmn_bounds_t){ num(b, "x"), num(b, "y"), num(b, "width"), num(b, "height") };
    return r;
}

static void di(walk_t *w, bpmn_node_t *n, int diagram)
{
    bpmn_model_t *m = w->m;
    if (bpmn_is(n, BPMNDI_NS, "BPMNShape") && bpmn_attr(n, "bpmnElement")) {
        if (m->nshapes == w->scap) {
            w->scap = w->scap ? w->scap * 2 : 64;
            m->shapes = realloc(m->shapes, w->scap * sizeof(*m->shapes));
        }
        bpmn_shape_t *s = &m->shapes[m->nshapes++];
        memset(s, 0, sizeof(*s));
        s->element = bpmn_attr(n, "bpmnElement");
        s->b = bounds_of(n);
        bpmn_node_t *lab = bpmn_child(n, BPMNDI_NS, "BPMNLabel");
        if (lab)
            s->label = bounds_of(lab);
        const char *e = bpmn_attr(n, "isExpanded"), *h = bpmn_attr(n, "isHorizontal");
        s->has_expanded = e != NULL;
        s->expanded = e && !strcmp(e, "true");
        s->horizontal = !h || !strcmp(h, "true");
        s->diagram = diagram;
    } else if (bpmn_is(n, BPMNDI_NS, "BPMNEdge") && bpmn_attr(n, "bpmnElement")) {
        if (m->nedges == w->ecap) {
            w->ecap = w->ecap ? w->ecap * 2 : 64;
            m->edges = realloc(m->edges, w->ecap * sizeof(*m->edges));
        }
        bpmn_edge_t *e = &m->edges[m->nedges++];
        memset(e, 0, sizeof(*e));
        e->element = bpmn_attr(n, "bpmnElement");
        e->diagram = diagram;
        for (size_t i = 0; i < n->nkids; i++)
            if (bpmn_is(n->kids[i], DI_NS, "waypoint")) {
                e->pts = realloc(e->pts, (e->npts + 1) * sizeof(*e->pts));
                e->pts[e->npts++] = (bpmn_point_t){ num(n->kids[i], "x"), num(n->kids[i], "y") };
            }
    }
    for (size_t i = 0; i < n->nkids; i++)
        di(w, n->kids[i], diagram);
}

static void walk(walk_t *w, bpmn_node_t *n, int container, int process)
{
    bpmn_model_t *m = w->m;
    if (bpmn_is(n, BPMNDI_NS, "BPMNDiagram")) {
        di(w, n, m->ndiagrams++);
        return;
    }
    bpmn_kind_t k = kind_of(n);
    const char *id = bpmn_attr(n, "id");
    int me = -1;
    if (k != BPMN_K_OTHER && k != BPMN_K_DI && id) {
        if (m->nels == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 64;
            m->els = realloc(m->els, w->cap * sizeof(*m->els));
        }
        me = (int)m->nels++;
        bpmn_el_t *e = &m->els[me];
        memset(e, 0, sizeof(*e));
        e->node = n;
        e->id = id;
        e->type = n->name;
        e->name = bpmn_attr(n, "name");
        e->kind = k;
        e->container = container;
        e->process = k == BPMN_K_PROCESS ? me : process;
        if (k == BPMN_K_SEQUENCE_FLOW || k == BPMN_K_MESSAGE_FLOW || k == BPMN_K_ASSOCIATION) {
            e->source = bpmn_attr(n, "sourceRef");
            e->target = bpmn_attr(n, "targetRef");
        }
        if (k == BPMN_K_DATA_ASSOCIATION) {
            /* sourceRef/targetRef are child elements; the other end is the holder */
            bpmn_node_t *sr = bpmn_child(n, BPMN_NS, "sourceRef"), *tr = bpmn_child(n, BPMN_NS, "targetRef");
            const char *holder = n->parent ? bpmn_attr(n->parent, "id") : NULL;
            bool in = !strcmp(n->name, "dataInputAssociation");
            e->source = in ? (sr ? sr->text : NULL) : holder;
            e->target = in ? holder : (tr ? tr->text : NULL);
        }
        if (k == BPMN_K_EVENT)
            for (size_t i = 0; i < n->nkids && !e->event_def; i++) {
                const bpmn_node_t *c = n->kids[i];
                if (strcmp(c->ns, BPMN_NS))
                    continue;
                for (size_t j = 0; j < sizeof(event_defs) / sizeof(event_defs[0]); j++) {
                    size_t l = strlen(event_defs[j]);
                    if (!strncmp(c->name, event_defs[j], l) && !strcmp(c->name + l, "EventDefinition"))
                        e->event_def = event_defs[j];
                }
            }
    }
    int inner = container, proc = process;
    if (me >= 0 && (k == BPMN_K_PROCESS || k == BPMN_K_SUBPROCESS || k == BPMN_K_COLLABORATION))
        inner = me;
    if (me >= 0 && k == BPMN_K_PROCESS)
        proc = me;
    /* lanes are not containers of flow nodes (those are in flowNodeRef) */
    for (size_t i = 0; i < n->nkids; i++)
        walk(w, n->kids[i], inner, proc);
}

static void clear_index(bpmn_model_t *m)
{
    for (size_t i = 0; i < m->nedges; i++)
        free(m->edges[i].pts);
    free(m->edges);
    free(m->shapes);
    free(m->els);
    if (m->idx)
        free(m->idx->slot);
    free(m->idx);
    m->edges = NULL;
    m->shapes = NULL;
    m->els = NULL;
    m->idx = NULL;
    m->nels = m->nshapes = m->nedges = 0;
    m->ndiagrams = 0;
}

int bpmn_reindex(bpmn_model_t *m)
{
    clear_index(m);
    walk_t w = { m, 0, 0, 0 };
    walk(&w, m->root, -1, -1);
    m->idx = calloc(1, sizeof(*m->idx));
    size_t cap = 16;
    while (cap < m->nels * 2 + 1)
        cap *= 2;
    m->idx->cap = cap;
    m->idx->slot = calloc(cap, sizeof(int));
    for (size_t i = 0; i < m->nels; i++)
        idx_put(m, (int)i);
    for (size_t i = 0; i < m->nels; i++) {
        bpmn_el_t *e = &m->els[i];
        if (e->kind != BPMN_K_SEQUENCE_FLOW)
            continue;
        int s = bpmn_find(m, e->source), t = bpmn_find(m, e->target);
        if (s >= 0)
            m->els[s].nout++;
        if (t >= 0)
            m->els[t].nin++;
    }
    return 0;
}

bpmn_model_t *bpmn__model_of(bpmn_node_t *defs)
{
    bpmn_model_t *m = calloc(1, sizeof(*m));
    if (!m) {
        bpmn_node_free(defs);
        return NULL;
    }
    m->root = defs;
    bpmn_reindex(m);
    return m;
}

bpmn_model_t *bpmn_parse(const char *xml, size_t len, char *err, size_t errlen)
{
    bpmn_node_t *top = bpmn__parse_tree(xml, len, err, errlen);
    if (!top)
        return NULL;
    bpmn_node_t *defs = top->nkids == 1 ? top->kids[0] : NULL;
    if (!defs || !bpmn_is(defs, BPMN_NS, "definitions")) {
        snprintf(err, errlen, "the root element is not <definitions> in the BPMN 2.0 model "
                              "namespace (" BPMN_NS ")");
        bpmn_node_free(top);
        return NULL;
    }
    top->nkids = 0;
    defs->parent = NULL;
    bpmn_node_free(top);
    return bpmn__model_of(defs);
}

void bpmn_free(bpmn_model_t *m)
{
    if (!m)
        return;
    clear_index(m);
    bpmn_node_free(m->root);
    free(m);
}

char *bpmn_export(const bpmn_model_t *m, size_t *len)
{
    return bpmn__write(m->root, true, true, len);
}

static size_t count(const bpmn_node_t *n, const char *name)
{
    size_t c = !strcmp(n->ns, BPMN_NS) && !strcmp(n->name, name);
    for (size_t i = 0; i < n->nkids; i++)
        c += count(n->kids[i], name);
    return c;
}

size_t bpmn_count(const bpmn_model_t *m, const char *local_name)
{
    return count(m->root, local_name);
}
