/*
 * bpmn_view.c — the view model of a process: where every shape and edge goes. From
 * BPMNDI when the model has a diagram (several diagrams are stacked vertically; flow
 * nodes a diagram forgot are placed in a row below), otherwise an automatic layered
 * layout: longest-path layers over the sequence flows (back edges of cycles ignored),
 * one band per pool and one sub-band per lane, boundary events on their host's edge,
 * orthogonal edges. bpmn_svg.c draws the result; the JSON is also served as is.
 */
#include "bpmn_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct box { double x, y, w, h; bool set; } box_t;

static void size_of(const bpmn_el_t *e, double *w, double *h)
{
    if (e->kind == BPMN_K_EVENT)
        *w = *h = 36;
    else if (e->kind == BPMN_K_GATEWAY)
        *w = *h = 50;
    else if (e->kind == BPMN_K_DATA)
        *w = 36, *h = 50;
    else
        *w = 100, *h = 80;
}

static cJSON *pt_array(const bpmn_point_t *p, size_t n, double dy)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *q = cJSON_CreateArray();
        cJSON_AddItemToArray(q, cJSON_CreateNumber(p[i].x));
        cJSON_AddItemToArray(q, cJSON_CreateNumber(p[i].y + dy));
        cJSON_AddItemToArray(a, q);
    }
    return a;
}

static double heat_of(const bpmn_highlight_t *hl, size_t nhl, const char *id, double max, double *count)
{
    for (size_t i = 0; i < nhl; i++)
        if (!strcmp(hl[i].id, id)) {
            *count = hl[i].count;
            return max > 0 ? hl[i].count / max : 1;
        }
    return -1;
}

static cJSON *shape_json(const bpmn_model_t *m, int el, box_t b, const bpmn_shape_t *s,
                         const bpmn_highlight_t *hl, size_t nhl, double max)
{
    const bpmn_el_t *e = &m->els[el];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", e->id);
    cJSON_AddStringToObject(o, "type", e->type);
    cJSON_AddStringToObject(o, "kind", bpmn_kind_name(e->kind));
    if (e->name)
        cJSON_AddStringToObject(o, "name", e->name);
    else if (!strcmp(e->type, "textAnnotation")) {
        bpmn_node_t *t = bpmn_child(e->node, BPMN_NS, "text");
        if (t && t->text)
            cJSON_AddStringToObject(o, "name", t->text);
    }
    cJSON_AddNumberToObject(o, "x", b.x);
    cJSON_AddNumberToObject(o, "y", b.y);
    cJSON_AddNumberToObject(o, "width", b.w);
    cJSON_AddNumberToObject(o, "height", b.h);
    if (e->event_def)
        cJSON_AddStringToObject(o, "eventDefinition", e->event_def);
    const char *ca = bpmn_attr(e->node, "cancelActivity"), *ii = bpmn_attr(e->node, "isInterrupting");
    if ((ca && !strcmp(ca, "false")) || (ii && !strcmp(ii, "false")))
        cJSON_AddBoolToObject(o, "interrupting", false);
    if (e->kind == BPMN_K_SUBPROCESS) {
        bool exp = s ? (s->has_expanded ? s->expanded : b.w > 150) : false;
        cJSON_AddBoolToObject(o, "expanded", exp);
        const char *tb = bpmn_attr(e->node, "triggeredByEvent");
        if (tb && !strcmp(tb, "true"))
            cJSON_AddBoolToObject(o, "eventSubProcess", true);
    }
    if (e->kind == BPMN_K_PARTICIPANT || e->kind == BPMN_K_LANE)
        cJSON_AddBoolToObject(o, "horizontal", s ? s->horizontal : true);
    if (bpmn_child(e->node, BPMN_NS, "multiInstanceLoopCharacteristics")) {
        const char *sq = bpmn_attr(bpmn_child(e->node, BPMN_NS, "multiInstanceLoopCharacteristics"),
                                   "isSequential");
        cJSON_AddStringToObject(o, "loop", sq && !strcmp(sq, "true") ? "sequential" : "parallel");
    } else if (bpmn_child(e->node, BPMN_NS, "standardLoopCharacteristics")) {
        cJSON_AddStringToObject(o, "loop", "standard");
    }
    if (e->kind == BPMN_K_EVENT && !strcmp(e->type, "boundaryEvent"))
        cJSON_AddStringToObject(o, "attachedTo", bpmn_attr(e->node, "attachedToRef"));
    if (s && s->label.w > 0) {
        cJSON *l = cJSON_AddObjectToObject(o, "label");
        cJSON_AddNumberToObject(l, "x", s->label.x);
        cJSON_AddNumberToObject(l, "y", s->label.y + (b.y - s->b.y));
        cJSON_AddNumberToObject(l, "width", s->label.w);
        cJSON_AddNumberToObject(l, "height", s->label.h);
    }
    double count = 0, heat = heat_of(hl, nhl, e->id, max, &count);
    if (heat >= 0) {
        cJSON_AddNumberToObject(o, "count", count);
        cJSON_AddNumberToObject(o, "heat", heat);
    }
    return o;
}

static cJSON *edge_json(const bpmn_model_t *m, int el, cJSON *pts, const bpmn_highlight_t *hl,
                        size_t nhl, double max)
{
    const bpmn_el_t *e = &m->els[el];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", e->id);
    cJSON_AddStringToObject(o, "type", e->type);
    if (e->name)
        cJSON_AddStringToObject(o, "name", e->name);
    if (e->source)
        cJSON_AddStringToObject(o, "source", e->source);
    if (e->target)
        cJSON_AddStringToObject(o, "target", e->target);
    int s = bpmn_find(m, e->source);
    const char *def = s >= 0 ? bpmn_attr(m->els[s].node, "default") : NULL;
    if (def && !strcmp(def, e->id))
        cJSON_AddBoolToObject(o, "default", true);
    if (bpmn_child(e->node, BPMN_NS, "conditionExpression"))
        cJSON_AddBoolToObject(o, "conditional", true);
    cJSON_AddItemToObject(o, "waypoints", pts);
    double count = 0, heat = heat_of(hl, nhl, e->id, max, &count);
    if (heat >= 0) {
        cJSON_AddNumberToObject(o, "count", count);
        cJSON_AddNumberToObject(o, "heat", heat);
    }
    return o;
}

static bool drawable(bpmn_kind_t k)
{
    return bpmn_kind_is_flow_node(k) || k == BPMN_K_PARTICIPANT || k == BPMN_K_LANE ||
           k == BPMN_K_DATA || k == BPMN_K_ARTIFACT;
}

static bool is_edge(bpmn_kind_t k)
{
    return k == BPMN_K_SEQUENCE_FLOW || k == BPMN_K_MESSAGE_FLOW || k == BPMN_K_ASSOCIATION ||
           k == BPMN_K_DATA_ASSOCIATION;
}

static void bbox(cJSON *v, cJSON *shapes, cJSON *edges)
{
    double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
    const cJSON *s;
    cJSON_ArrayForEach(s, shapes) {
        double x = cJSON_GetObjectItem(s, "x")->valuedouble, y = cJSON_GetObjectItem(s, "y")->valuedouble;
        double w = cJSON_GetObjectItem(s, "width")->valuedouble, h = cJSON_GetObjectItem(s, "height")->valuedouble;
        x0 = fmin(x0, x), y0 = fmin(y0, y), x1 = fmax(x1, x + w), y1 = fmax(y1, y + h + 20);
    }
    cJSON_ArrayForEach(s, edges) {
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(s, "waypoints")) {
            double x = cJSON_GetArrayItem(p, 0)->valuedouble, y = cJSON_GetArrayItem(p, 1)->valuedouble;
            x0 = fmin(x0, x), y0 = fmin(y0, y), x1 = fmax(x1, x), y1 = fmax(y1, y);
        }
    }
    if (x0 > x1)
        x0 = y0 = 0, x1 = y1 = 100;
    cJSON_AddNumberToObject(v, "minX", x0 - 20);
    cJSON_AddNumberToObject(v, "minY", y0 - 20);
    cJSON_AddNumberToObject(v, "width", x1 - x0 + 40);
    cJSON_AddNumberToObject(v, "height", y1 - y0 + 40);
}

/* ---- automatic layout ---- */

typedef struct lay {
    const bpmn_model_t *m;
    box_t *box;
    int *layer;
    int *head, *next, *to;      /* successor lists: flows out of v, boundary events on v */
    int *lane;                  /* lane of each flow node, -1 */
} lay_t;

static void lay_build(lay_t *L)
{
    const bpmn_model_t *m = L->m;
    size_t n = m->nels;
    L->head = malloc((n + 1) * sizeof(int));
    L->next = malloc((n + 1) * sizeof(int));
    L->to = malloc((n + 1) * sizeof(int));
    L->lane = malloc((n + 1) * sizeof(int));
    for (size_t i = 0; i < n; i++)
        L->head[i] = -1, L->lane[i] = -1;
    /* edge k is stored at slot k (one per element at most) */
    for (size_t k = n; k-- > 0;) {
        const bpmn_el_t *f = &m->els[k];
        int from = -1, to = -1;
        if (f->kind == BPMN_K_SEQUENCE_FLOW) {
            from = bpmn_find(m, f->source);
            to = bpmn_find(m, f->target);
        } else if (!strcmp(f->type, "boundaryEvent")) {
            from = bpmn_find(m, bpmn_attr(f->node, "attachedToRef"));
            to = (int)k;
        }
        if (from < 0 || to < 0)
            continue;
        L->to[k] = to;
        L->next[k] = L->head[from];
        L->head[from] = (int)k;
    }
    for (size_t l = 0; l < n; l++) {
        if (m->els[l].kind != BPMN_K_LANE)
            continue;
        for (size_t q = 0; q < m->els[l].node->nkids; q++) {
            const bpmn_node_t *r = m->els[l].node->kids[q];
            int v = bpmn_is(r, BPMN_NS, "flowNodeRef") && r->text ? bpmn_find(m, r->text) : -1;
            if (v >= 0 && L->lane[v] < 0)
                L->lane[v] = (int)l;
        }
    }
}

static void lay_release(lay_t *L)
{
    free(L->head);
    free(L->next);
    free(L->to);
    free(L->lane);
}

/* Longest-path layers by relaxation in a DFS order that skips back edges. */
static void layers(lay_t *L, int *order, size_t *no, char *state, int u)
{
    /* iterative DFS: state 0 new, 1 on stack, 2 done */
    const bpmn_model_t *m = L->m;
    size_t n = m->nels;
    int *stack = malloc((n + 1) * sizeof(int));
    size_t *pos = calloc(n + 1, sizeof(size_t));
    size_t sp = 0;
    stack[sp++] = u;
    state[u] = 1;
    while (sp) {
        int v = stack[sp - 1];
        bool pushed = false;
        /* successors: flows out of v and boundary events on v (pos: next list slot + 1) */
        int k = pos[v] ? (int)pos[v] - 2 : L->head[v];
        for (; k >= 0; k = L->next[k]) {
            int w = L->to[k];
            if (state[w] == 0) {
                pos[v] = (size_t)L->next[k] + 2;
                state[w] = 1;
                stack[sp++] = w;
                pushed = true;
                break;
            }
        }
        if (!pushed) {
            pos[v] = 1;
            state[v] = 2;
            order[(*no)++] = v;
            sp--;
        }
    }
    free(stack);
    free(pos);
}

static void auto_layout(const bpmn_model_t *m, box_t *box)
{
    size_t n = m->nels;
    int *order = malloc((n + 1) * sizeof(int)), *layer = calloc(n + 1, sizeof(int));
    char *state = calloc(n + 1, 1);
    int *rank = malloc((n + 1) * sizeof(int));
    size_t no = 0;
    lay_t L = { m, box, layer, NULL, NULL, NULL, NULL };
    lay_build(&L);
    /* sources first (no incoming), then whatever is left (cycles) */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (bpmn_kind_is_flow_node(m->els[i].kind) && !state[i] &&
                strcmp(m->els[i].type, "boundaryEvent") && (pass || m->els[i].nin == 0))
                layers(&L, order, &no, state, (int)i);
    for (size_t i = 0; i < n; i++)
        if (bpmn_kind_is_flow_node(m->els[i].kind) && !state[i])
            layers(&L, order, &no, state, (int)i);
    /* reverse post-order is a topological order of the DAG without back edges */
    for (size_t i = 0; i < no; i++)
        rank[order[i]] = (int)(no - 1 - i);
    for (size_t i = no; i-- > 0;) {
        int v = order[i];
        for (int k = L.head[v]; k >= 0; k = L.next[k]) {
            int w = L.to[k];
            if (m->els[k].kind == BPMN_K_SEQUENCE_FLOW && rank[w] > rank[v] && layer[w] < layer[v] + 1)
                layer[w] = layer[v] + 1;
        }
        if (!strcmp(m->els[v].type, "boundaryEvent")) {
            int h = bpmn_find(m, bpmn_attr(m->els[v].node, "attachedToRef"));
            if (h >= 0)
                layer[v] = layer[h];
        }
    }
    /* bands: one per process (pool), one sub-band per lane */
    double y = 0;
    int maxlayer = 0;
    for (size_t i = 0; i < n; i++)
        if (layer[i] > maxlayer)
            maxlayer = layer[i];
    /* rows taken per layer in the current band; a node goes to the row its first placed
     * predecessor asked for (or the next free one below), so chains stay straight */
    size_t nlay = (size_t)maxlayer + 2;
    char **used = calloc(nlay, sizeof(char *));
    int *ucap = calloc(nlay, sizeof(int));
    int *want = malloc((n + 1) * sizeof(int));
    for (size_t p = 0; p < n; p++) {
        if (m->els[p].kind != BPMN_K_PROCESS)
            continue;
        double top = y;
        /* lanes of this process, then "no lane" */
        size_t nl = 0;
        for (size_t l = 0; l < n; l++)
            nl += m->els[l].kind == BPMN_K_LANE && m->els[l].process == (int)p;
        for (size_t li = 0; li <= nl; li++) {
            int lane = -1;
            size_t seen = 0;
            for (size_t l = 0; l < n && lane < 0 && li < nl; l++)
                if (m->els[l].kind == BPMN_K_LANE && m->els[l].process == (int)p && seen++ == li)
                    lane = (int)l;
            for (size_t q = 0; q < nlay; q++)
                if (used[q])
                    memset(used[q], 0, (size_t)ucap[q]);
            for (size_t q = 0; q < n; q++)
                want[q] = -1;
            double band = y;
            int rows = 0;
            for (size_t i = 0; i < no; i++) {
                int v = order[no - 1 - i];
                const bpmn_el_t *e = &m->els[v];
                if (e->process != (int)p || !strcmp(e->type, "boundaryEvent") || box[v].set)
                    continue;
                if (L.lane[v] != lane)
                    continue;
                double w, h;
                size_of(e, &w, &h);
                int lv = layer[v], slot = want[v] >= 0 ? want[v] : 0;
                for (;; slot++) {
                    if (slot >= ucap[lv]) {
                        int nc = slot * 2 + 8;
                        used[lv] = realloc(used[lv], (size_t)nc);
                        memset(used[lv] + ucap[lv], 0, (size_t)(nc - ucap[lv]));
                        ucap[lv] = nc;
                    }
                    if (!used[lv][slot])
                        break;
                }
                used[lv][slot] = 1;
                if (slot + 1 > rows)
                    rows = slot + 1;
                int branch = 0;     /* the first branch goes straight on, the others below */
                for (int k = L.head[v]; k >= 0; k = L.next[k]) {
                    int succ = L.to[k];
                    if (m->els[k].kind == BPMN_K_SEQUENCE_FLOW) {
                        if (want[succ] < 0)
                            want[succ] = slot + branch;
                        branch++;
                        continue;
                    }
                    for (int k2 = L.head[succ]; k2 >= 0; k2 = L.next[k2])     /* after a boundary event */
                        if (want[L.to[k2]] < 0)
                            want[L.to[k2]] = slot + 1;
                }
                box[v] = (box_t){ 80 + layer[v] * 150 + (100 - w) / 2, band + 30 + slot * 120 + (80 - h) / 2,
                                  w, h, true };
            }
            double bh = (rows ? rows : 1) * 120 + 20;
            if (lane >= 0)
                box[lane] = (box_t){ 30, band, 50 + (maxlayer + 1) * 150 + 20, bh, true };
            if (rows || lane >= 0)
                y += bh;
        }
        if (y == top)
            y += 140;
        /* the pool of this process, if any */
        for (size_t q = 0; q < n; q++) {
            const char *pr = m->els[q].kind == BPMN_K_PARTICIPANT ? bpmn_attr(m->els[q].node, "processRef") : NULL;
            if (pr && !strcmp(pr, m->els[p].id))
                box[q] = (box_t){ 0, top, 50 + (maxlayer + 1) * 150 + 50, y - top, true };
        }
        for (size_t l = 0; l < n; l++)     /* lanes start right of the pool's label */
            if (m->els[l].kind == BPMN_K_LANE && m->els[l].process == (int)p && box[l].set)
                box[l].w = 50 + (maxlayer + 1) * 150 + 20;
        y += 40;
    }
    /* pools without a process, and boundary events on their hosts */
    for (size_t q = 0; q < n; q++) {
        if (m->els[q].kind == BPMN_K_PARTICIPANT && !box[q].set) {
            box[q] = (box_t){ 0, y, 600, 80, true };
            y += 120;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m->els[i].type, "boundaryEvent"))
            continue;
        int h = bpmn_find(m, bpmn_attr(m->els[i].node, "attachedToRef"));
        int nth = 0;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(m->els[k].type, "boundaryEvent") && h >= 0 &&
                !strcmp(bpmn_attr(m->els[k].node, "attachedToRef") ? bpmn_attr(m->els[k].node, "attachedToRef") : "",
                        m->els[h].id))
                nth++;
        if (h >= 0 && box[h].set)
            box[i] = (box_t){ box[h].x + box[h].w - 28 - nth * 40, box[h].y + box[h].h - 18, 36, 36, true };
        else
            box[i] = (box_t){ 80, y, 36, 36, true };
    }
    lay_release(&L);
    for (size_t q = 0; q < nlay; q++)
        free(used[q]);
    free(used);
    free(ucap);
    free(want);
    free(order);
    free(layer);
    free(state);
    free(rank);
}

static cJSON *auto_edge(const box_t *a, const box_t *b, bool straight)
{
    bpmn_point_t p[4];
    size_t np;
    double sx = a->x + a->w, sy = a->y + a->h / 2, tx = b->x, ty = b->y + b->h / 2;
    if (straight || fabs(sy - ty) < 1) {
        p[0] = (bpmn_point_t){ straight ? a->x + a->w / 2 : sx, straight ? a->y + a->h / 2 : sy };
        p[1] = (bpmn_point_t){ straight ? b->x + b->w / 2 : tx, straight ? b->y + b->h / 2 : ty };
        np = 2;
    } else if (tx > sx) {
        double mx = (sx + tx) / 2;
        p[0] = (bpmn_point_t){ sx, sy };
        p[1] = (bpmn_point_t){ mx, sy };
        p[2] = (bpmn_point_t){ mx, ty };
        p[3] = (bpmn_point_t){ tx, ty };
        np = 4;
    } else {    /* backwards: under both */
        double by = fmax(a->y + a->h, b->y + b->h) + 20;
        p[0] = (bpmn_point_t){ a->x + a->w / 2, a->y + a->h };
        p[1] = (bpmn_point_t){ a->x + a->w / 2, by };
        p[2] = (bpmn_point_t){ b->x + b->w / 2, by };
        p[3] = (bpmn_point_t){ b->x + b->w / 2, b->y + b->h };
        np = 4;
    }
    return pt_array(p, np, 0);
}

cJSON *bpmn_view(const bpmn_model_t *m, const bpmn_highlight_t *hl, size_t nhl)
{
    size_t n = m->nels;
    box_t *box = calloc(n + 1, sizeof(*box));
    const bpmn_shape_t **shp = calloc(n + 1, sizeof(*shp));
    double max = 0;
    for (size_t i = 0; i < nhl; i++)
        max = fmax(max, hl[i].count);
    bool di = m->nshapes > 0;
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "layout", di ? "di" : "auto");
    cJSON *shapes = cJSON_CreateArray(), *edges = cJSON_CreateArray();
    double *dy = calloc((size_t)m->ndiagrams + 1, sizeof(double));
    if (di) {
        /* stack diagrams: each starts below the previous one */
        double bottom = 0;
        for (int d = 0; d < m->ndiagrams; d++) {
            double y0 = 1e18, y1 = -1e18;
            for (size_t i = 0; i < m->nshapes; i++)
                if (m->shapes[i].diagram == d)
                    y0 = fmin(y0, m->shapes[i].b.y), y1 = fmax(y1, m->shapes[i].b.y + m->shapes[i].b.h);
            if (y0 > y1)
                continue;
            dy[d] = d ? bottom + 80 - y0 : 0;
            bottom = y1 + dy[d];
        }
        for (size_t i = 0; i < m->nshapes; i++) {
            int el = bpmn_find(m, m->shapes[i].element);
            if (el < 0 || box[el].set)
                continue;
            const bpmn_bounds_t *b = &m->shapes[i].b;
            box[el] = (box_t){ b->x, b->y + dy[m->shapes[i].diagram], b->w, b->h, true };
            shp[el] = &m->shapes[i];
        }
        /* flow nodes without a shape: a row below everything */
        double y = bottom + 80, x = 50;
        for (size_t i = 0; i < n; i++)
            if (bpmn_kind_is_flow_node(m->els[i].kind) && !box[i].set) {
                double w, h;
                size_of(&m->els[i], &w, &h);
                box[i] = (box_t){ x, y, w, h, true };
                x += 150;
            }
    } else {
        auto_layout(m, box);
    }
    /* draw order: pools, lanes, expanded sub-processes (outer first), the rest */
    for (int pass = 0; pass < 4; pass++)
        for (size_t i = 0; i < n; i++) {
            const bpmn_el_t *e = &m->els[i];
            if (!box[i].set || !drawable(e->kind))
                continue;
            int want = e->kind == BPMN_K_PARTICIPANT ? 0 : e->kind == BPMN_K_LANE ? 1
                       : e->kind == BPMN_K_SUBPROCESS ? 2 : 3;
            if (want == pass)
                cJSON_AddItemToArray(shapes, shape_json(m, (int)i, box[i], shp[i], hl, nhl, max));
        }
    if (di) {
        for (size_t i = 0; i < m->nedges; i++) {
            int el = bpmn_find(m, m->edges[i].element);
            if (el < 0 || !is_edge(m->els[el].kind))
                continue;
            cJSON_AddItemToArray(edges, edge_json(m, el, pt_array(m->edges[i].pts, m->edges[i].npts,
                                                                  dy[m->edges[i].diagram]), hl, nhl, max));
        }
    }
    /* flows without DI (or all, in auto layout) */
    char *has_edge = calloc(n + 1, 1);
    for (size_t k = 0; di && k < m->nedges; k++) {
        int el = bpmn_find(m, m->edges[k].element);
        if (el >= 0)
            has_edge[el] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (!is_edge(e->kind))
            continue;
        bool has = has_edge[i];
        int s = bpmn_find(m, e->source), t = bpmn_find(m, e->target);
        if (has || s < 0 || t < 0 || !box[s].set || !box[t].set)
            continue;
        cJSON_AddItemToArray(edges, edge_json(m, (int)i, auto_edge(&box[s], &box[t], e->kind != BPMN_K_SEQUENCE_FLOW),
                                              hl, nhl, max));
    }
    free(has_edge);
    bbox(v, shapes, edges);
    cJSON_AddItemToObject(v, "shapes", shapes);
    cJSON_AddItemToObject(v, "edges", edges);
    free(dy);
    free(box);
    free(shp);
    return v;
}
