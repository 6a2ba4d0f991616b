/*
 * bpmn_diff.c — structural diff and three-way merge of two models.
 *
 * The unit of comparison is a tracked element (bpmn__tracked: flow nodes, flows,
 * processes, lanes, data, artifacts, root elements, DI shapes and edges), matched by
 * id. Its content is its attributes plus its untracked children (conditions, event
 * definitions, documentation, extension elements, bounds...), compared semantically;
 * <incoming>/<outgoing> are derived from the flows and left out. Diagram-only changes
 * are reported apart under "layout".
 *
 * Merge works on a copy of ours: for every id, a side that did not change it from base
 * yields to the other; both changed differently is a conflict (ours kept). Added
 * elements are inserted under the same parent as in theirs, in theirs' document order,
 * so a parent always arrives before its children.
 */
#include "bpmn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A unit of comparison: a tracked element, or a structural wrapper without an id
 * (BPMNDiagram, BPMNPlane, laneSet) so that what it holds is not compared as its
 * content. Wrappers get the key "<parent key>#<name>". */
static bool wrapper(const bpmn_node_t *n)
{
    return !bpmn_attr(n, "id") && (bpmn_is(n, BPMNDI_NS, "BPMNDiagram") || bpmn_is(n, BPMNDI_NS, "BPMNPlane") ||
                                   bpmn_is(n, BPMN_NS, "laneSet"));
}

static bool unit(const bpmn_node_t *n)
{
    return bpmn__tracked(n) || wrapper(n);
}

/* The key of a unit (caller frees). */
static char *key_of(const bpmn_node_t *n)
{
    if (!wrapper(n))
        return strdup(bpmn_attr(n, "id"));
    const bpmn_node_t *p = n->parent;
    while (p && !unit(p))
        p = p->parent;
    char *pk = p ? key_of(p) : strdup("");
    /* the position among same-named siblings keeps several diagrams apart */
    int nth = 0;
    for (size_t i = 0; n->parent && i < n->parent->nkids && n->parent->kids[i] != n; i++)
        nth += !strcmp(n->parent->kids[i]->name, n->name);
    size_t len = strlen(pk) + strlen(n->name) + 24;
    char *k = malloc(len);
    snprintf(k, len, "%s#%s%d", pk, n->name, nth);
    free(pk);
    return k;
}

typedef struct tent {
    char *id;
    bpmn_node_t *node;
    int order;
} tent_t;

typedef struct tmap {
    tent_t *e;
    size_t n, cap;
} tmap_t;

static void collect(tmap_t *t, bpmn_node_t *n)
{
    if (unit(n)) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 64;
            t->e = realloc(t->e, t->cap * sizeof(*t->e));
        }
        t->e[t->n] = (tent_t){ key_of(n), n, (int)t->n };
        t->n++;
    }
    for (size_t i = 0; i < n->nkids; i++)
        collect(t, n->kids[i]);
}

static int by_id(const void *a, const void *b)
{
    int c = strcmp(((const tent_t *)a)->id, ((const tent_t *)b)->id);
    return c ? c : ((const tent_t *)a)->order - ((const tent_t *)b)->order;
}

static int by_order(const void *a, const void *b)
{
    return ((const tent_t *)a)->order - ((const tent_t *)b)->order;
}

static void tmap_build(tmap_t *t, bpmn_node_t *root)
{
    memset(t, 0, sizeof(*t));
    collect(t, root);
    qsort(t->e, t->n, sizeof(*t->e), by_id);
}

static bpmn_node_t *tmap_get(const tmap_t *t, const char *id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->e[mid].id, id);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && !strcmp(t->e[lo].id, id) ? t->e[lo].node : NULL;
}

static bool derived(const bpmn_node_t *k)
{
    return bpmn_is(k, BPMN_NS, "incoming") || bpmn_is(k, BPMN_NS, "outgoing");
}

static bool content_kid(const bpmn_node_t *k)
{
    return !unit(k) && !derived(k);
}

static void tmap_release(tmap_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].id);
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
}

static int attr_idx(const bpmn_node_t *n, const char *ns, const char *name)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].ns, ns) && !strcmp(n->attrs[i].name, name))
            return (int)i;
    return -1;
}

/* Same attributes and same content children (in order)? */
static bool same(const bpmn_node_t *a, const bpmn_node_t *b)
{
    if (!a || !b)
        return a == b;
    if (strcmp(a->ns, b->ns) || strcmp(a->name, b->name) || a->nattrs != b->nattrs)
        return false;
    for (size_t i = 0; i < a->nattrs; i++) {
        int j = attr_idx(b, a->attrs[i].ns, a->attrs[i].name);
        if (j < 0 || strcmp(a->attrs[i].value, b->attrs[j].value))
            return false;
    }
    if ((a->text == NULL) != (b->text == NULL) || (a->text && strcmp(a->text, b->text)))
        return false;
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->nkids && !content_kid(a->kids[i]))
            i++;
        while (j < b->nkids && !content_kid(b->kids[j]))
            j++;
        if (i == a->nkids || j == b->nkids)
            return i == a->nkids && j == b->nkids;
        if (!bpmn_tree_equal(a->kids[i], b->kids[j], NULL, 0))
            return false;
        i++;
        j++;
    }
}

static char *kid_value(const bpmn_node_t *k)
{
    if (!k)
        return NULL;
    if (!k->nkids && k->text)
        return strdup(k->text);
    return bpmn_node_xml(k, false);
}

static void add_change(cJSON *arr, const char *field, const char *from, const char *to)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "field", field);
    if (from)
        cJSON_AddStringToObject(c, "from", from);
    else
        cJSON_AddNullToObject(c, "from");
    if (to)
        cJSON_AddStringToObject(c, "to", to);
    else
        cJSON_AddNullToObject(c, "to");
    cJSON_AddItemToArray(arr, c);
}

static void attr_key(const bpmn_attr_t *a, char *out, size_t len)
{
    if (a->ns[0])
        snprintf(out, len, "{%s}%s", a->ns, a->name);
    else
        snprintf(out, len, "%s", a->name);
}

/* The nth content child named like k (to pair children of the same name). */
static const bpmn_node_t *nth_named(const bpmn_node_t *n, const bpmn_node_t *like, int nth)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (content_kid(n->kids[i]) && !strcmp(n->kids[i]->ns, like->ns) &&
            !strcmp(n->kids[i]->name, like->name) && nth-- == 0)
            return n->kids[i];
    return NULL;
}

static int rank_of(const bpmn_node_t *n, const bpmn_node_t *k)
{
    int r = 0;
    for (size_t i = 0; i < n->nkids && n->kids[i] != k; i++)
        if (content_kid(n->kids[i]) && !strcmp(n->kids[i]->ns, k->ns) && !strcmp(n->kids[i]->name, k->name))
            r++;
    return r;
}

static void kid_changes(const bpmn_node_t *a, const bpmn_node_t *b, cJSON *arr, bool forward)
{
    for (size_t i = 0; i < a->nkids; i++) {
        const bpmn_node_t *k = a->kids[i];
        if (!content_kid(k))
            continue;
        int r = rank_of(a, k);
        const bpmn_node_t *o = nth_named(b, k, r);
        char field[160];
        snprintf(field, sizeof(field), r ? "%s[%d]" : "%s", k->name, r);
        if (forward) {
            if (!o || !bpmn_tree_equal(k, o, NULL, 0)) {
                char *f = kid_value(k), *t = kid_value(o);
                add_change(arr, field, f, t);
                free(f);
                free(t);
            }
        } else if (!o) {
            char *t = kid_value(k);
            add_change(arr, field, NULL, t);
            free(t);
        }
    }
}

static cJSON *changes(const bpmn_node_t *a, const bpmn_node_t *b)
{
    cJSON *arr = cJSON_CreateArray();
    char key[300];
    for (size_t i = 0; i < a->nattrs; i++) {
        int j = attr_idx(b, a->attrs[i].ns, a->attrs[i].name);
        if (j < 0 || strcmp(a->attrs[i].value, b->attrs[j].value)) {
            attr_key(&a->attrs[i], key, sizeof(key));
            add_change(arr, key, a->attrs[i].value, j < 0 ? NULL : b->attrs[j].value);
        }
    }
    for (size_t j = 0; j < b->nattrs; j++)
        if (attr_idx(a, b->attrs[j].ns, b->attrs[j].name) < 0) {
            attr_key(&b->attrs[j], key, sizeof(key));
            add_change(arr, key, NULL, b->attrs[j].value);
        }
    if ((a->text == NULL) != (b->text == NULL) || (a->text && strcmp(a->text, b->text)))
        add_change(arr, "text", a->text, b->text);
    kid_changes(a, b, arr, true);
    kid_changes(b, a, arr, false);
    return arr;
}

static cJSON *brief(const bpmn_node_t *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", bpmn_attr(n, "id"));
    cJSON_AddStringToObject(o, "type", n->name);
    if (bpmn_attr(n, "name"))
        cJSON_AddStringToObject(o, "name", bpmn_attr(n, "name"));
    return o;
}

static bool is_di(const bpmn_node_t *n)
{
    return !strcmp(n->ns, BPMNDI_NS);
}

static void layout_note(cJSON *layout, const bpmn_node_t *n)
{
    const char *el = bpmn_attr(n, "bpmnElement");
    cJSON_AddItemToArray(layout, cJSON_CreateString(el ? el : bpmn_attr(n, "id")));
}

cJSON *bpmn_diff(const bpmn_model_t *a, const bpmn_model_t *b)
{
    tmap_t ta, tb;
    tmap_build(&ta, a->root);
    tmap_build(&tb, b->root);
    cJSON *o = cJSON_CreateObject();
    cJSON *added = cJSON_AddArrayToObject(o, "added");
    cJSON *removed = cJSON_AddArrayToObject(o, "removed");
    cJSON *changed = cJSON_AddArrayToObject(o, "changed");
    cJSON *layout = cJSON_AddArrayToObject(o, "layout");
    int flows_added = 0, flows_removed = 0;
    /* document order of b for additions, of a for the rest */
    for (size_t i = 0; i < ta.n; i++) {
        bpmn_node_t *x = ta.e[i].node, *y = tmap_get(&tb, ta.e[i].id);
        if ((i && !strcmp(ta.e[i - 1].id, ta.e[i].id)) || wrapper(x))
            continue;   /* duplicate id: compared once; wrappers hold no content */
        if (!y) {
            if (is_di(x))
                layout_note(layout, x);
            else {
                cJSON_AddItemToArray(removed, brief(x));
                flows_removed += !strcmp(x->name, "sequenceFlow") || !strcmp(x->name, "messageFlow");
            }
        } else if (!same(x, y)) {
            if (is_di(x)) {
                layout_note(layout, x);
            } else {
                cJSON *c = brief(y);
                cJSON_AddItemToObject(c, "changes", changes(x, y));
                cJSON_AddItemToArray(changed, c);
            }
        }
    }
    for (size_t i = 0; i < tb.n; i++) {
        bpmn_node_t *y = tb.e[i].node;
        if ((i && !strcmp(tb.e[i - 1].id, tb.e[i].id)) || tmap_get(&ta, tb.e[i].id) || wrapper(y))
            continue;
        if (is_di(y))
            layout_note(layout, y);
        else {
            cJSON_AddItemToArray(added, brief(y));
            flows_added += !strcmp(y->name, "sequenceFlow") || !strcmp(y->name, "messageFlow");
        }
    }
    cJSON *s = cJSON_AddObjectToObject(o, "summary");
    cJSON_AddNumberToObject(s, "added", cJSON_GetArraySize(added));
    cJSON_AddNumberToObject(s, "removed", cJSON_GetArraySize(removed));
    cJSON_AddNumberToObject(s, "changed", cJSON_GetArraySize(changed));
    cJSON_AddNumberToObject(s, "flowsAdded", flows_added);
    cJSON_AddNumberToObject(s, "flowsRemoved", flows_removed);
    cJSON_AddNumberToObject(s, "layoutChanged", cJSON_GetArraySize(layout));
    cJSON_AddBoolToObject(o, "identical", !cJSON_GetArraySize(added) && !cJSON_GetArraySize(removed) &&
                                              !cJSON_GetArraySize(changed) && !cJSON_GetArraySize(layout));
    tmap_release(&ta);
    tmap_release(&tb);
    return o;
}

static void line_of(bpmn_buf_t *b, char mark, const cJSON *it)
{
    const cJSON *name = cJSON_GetObjectItem(it, "name");
    bpmn_buf_printf(b, "%c %s %s", mark, cJSON_GetObjectItem(it, "type")->valuestring,
                    cJSON_GetObjectItem(it, "id")->valuestring);
    if (cJSON_IsString(name))
        bpmn_buf_printf(b, " \"%s\"", name->valuestring);
    bpmn_buf_putc(b, '\n');
}

char *bpmn_diff_text(const cJSON *d)
{
    bpmn_buf_t b = BPMN_BUF_INIT;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(d, "added"))
        line_of(&b, '+', it);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(d, "removed"))
        line_of(&b, '-', it);
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(d, "changed")) {
        line_of(&b, '~', it);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(it, "changes")) {
            const cJSON *f = cJSON_GetObjectItem(c, "from"), *t = cJSON_GetObjectItem(c, "to");
            bpmn_buf_printf(&b, "    %s: %s -> %s\n", cJSON_GetObjectItem(c, "field")->valuestring,
                            cJSON_IsString(f) ? f->valuestring : "(none)",
                            cJSON_IsString(t) ? t->valuestring : "(none)");
        }
    }
    int nl = cJSON_GetArraySize(cJSON_GetObjectItem(d, "layout"));
    if (nl)
        bpmn_buf_printf(&b, "  layout changed for %d element(s)\n", nl);
    if (!b.len)
        bpmn_buf_puts(&b, "no changes\n");
    return bpmn_buf_detach(&b, NULL);
}

/* ---- merge ---- */

static void conflict(cJSON *out, const char *id, const bpmn_node_t *n, const char *why)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "id", id);
    cJSON_AddStringToObject(c, "type", n ? n->name : "unknown");
    cJSON_AddStringToObject(c, "reason", why);
    cJSON_AddItemToArray(out, c);
}

static void detach(bpmn_node_t *n)
{
    bpmn_node_t *p = n->parent;
    if (!p)
        return;
    for (size_t i = 0; i < p->nkids; i++)
        if (p->kids[i] == n) {
            memmove(&p->kids[i], &p->kids[i + 1], (p->nkids - i - 1) * sizeof(*p->kids));
            p->nkids--;
            break;
        }
    n->parent = NULL;
}

/* A copy of n without its tracked descendants (they arrive on their own). */
static bpmn_node_t *shallow(const bpmn_node_t *n)
{
    bpmn_node_t *c = bpmn_node_copy(n);
    for (size_t i = 0; i < c->nkids;) {
        if (unit(c->kids[i])) {
            bpmn_node_t *k = c->kids[i];
            detach(k);
            bpmn_node_free(k);
        } else {
            i++;
        }
    }
    return c;
}

/* r takes t's attributes and content children, keeping its tracked children. */
static void take_content(bpmn_node_t *r, const bpmn_node_t *t)
{
    bpmn_node_t *fresh = shallow(t);
    /* move r's tracked children after fresh's content */
    for (size_t i = 0; i < r->nkids; i++)
        if (unit(r->kids[i]))
            bpmn_node_add(fresh, r->kids[i]);
        else
            bpmn_node_free(r->kids[i]);
    r->nkids = 0;
    /* swap the guts */
    bpmn_node_t tmp = *r;
    bpmn_node_t *parent = r->parent;
    *r = *fresh;
    r->parent = parent;
    for (size_t i = 0; i < r->nkids; i++)
        r->kids[i]->parent = r;
    tmp.nkids = 0;
    *fresh = tmp;
    fresh->parent = NULL;
    bpmn_node_free(fresh);
}

static bool attached(const bpmn_node_t *n, const bpmn_node_t *root)
{
    while (n->parent)
        n = n->parent;
    return n == root;
}

static bpmn_node_t *tracked_parent(const bpmn_node_t *n)
{
    for (bpmn_node_t *p = n->parent; p; p = p->parent)
        if (unit(p) || bpmn_is(p, BPMN_NS, "definitions"))
            return p;
    return NULL;
}

/* Rewrites <incoming>/<outgoing> from the sequence flows (when the model uses them). */
static void relink(bpmn_model_t *m)
{
    bool uses = false;
    for (size_t i = 0; i < m->nels && !uses; i++)
        if (bpmn_kind_is_flow_node(m->els[i].kind))
            for (size_t k = 0; k < m->els[i].node->nkids && !uses; k++)
                uses = derived(m->els[i].node->kids[k]);
    if (!uses)
        return;
    for (size_t i = 0; i < m->nels; i++) {
        bpmn_node_t *n = m->els[i].node;
        if (!bpmn_kind_is_flow_node(m->els[i].kind))
            continue;
        for (size_t k = 0; k < n->nkids;) {
            if (derived(n->kids[k])) {
                bpmn_node_t *x = n->kids[k];
                detach(x);
                bpmn_node_free(x);
            } else {
                k++;
            }
        }
    }
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *f = &m->els[i];
        if (f->kind != BPMN_K_SEQUENCE_FLOW)
            continue;
        for (int side = 0; side < 2; side++) {
            int t = bpmn_find(m, side ? f->target : f->source);
            if (t < 0)
                continue;
            bpmn_node_t *n = m->els[t].node;
            bpmn_node_t *r = bpmn_node_new(BPMN_NS, n->prefix, side ? "incoming" : "outgoing");
            r->text = strdup(f->id);
            size_t at = 0;
            while (at < n->nkids && (bpmn_is(n->kids[at], BPMN_NS, "documentation") ||
                                     bpmn_is(n->kids[at], BPMN_NS, "extensionElements") ||
                                     derived(n->kids[at])))
                at++;
            bpmn_node_add(n, r);
            memmove(&n->kids[at + 1], &n->kids[at], (n->nkids - 1 - at) * sizeof(*n->kids));
            n->kids[at] = r;
        }
    }
}

bpmn_model_t *bpmn_merge(const bpmn_model_t *base, const bpmn_model_t *ours,
                         const bpmn_model_t *theirs, cJSON *conflicts)
{
    bpmn_node_t *root = bpmn_node_copy(ours->root);
    tmap_t tb, to, tt, tr;
    tmap_build(&tb, base->root);
    tmap_build(&to, ours->root);
    tmap_build(&tt, theirs->root);
    tmap_build(&tr, root);
    /* theirs' document order first (parents before children), then the rest */
    tent_t *doc = malloc((tt.n + 1) * sizeof(*doc));
    memcpy(doc, tt.e, tt.n * sizeof(*doc));
    qsort(doc, tt.n, sizeof(*doc), by_order);
    size_t total = tt.n + tb.n + to.n;
    bpmn_node_t **garbage = NULL;
    size_t ng = 0;
    for (size_t i = 0; i < total; i++) {
        const char *id;
        if (i < tt.n) {
            id = doc[i].id;
        } else if (i < tt.n + tb.n) {
            id = tb.e[i - tt.n].id;
            if (tmap_get(&tt, id))
                continue;
        } else {
            id = to.e[i - tt.n - tb.n].id;
            if (tmap_get(&tt, id) || tmap_get(&tb, id))
                continue;
        }
        bpmn_node_t *B = tmap_get(&tb, id), *O = tmap_get(&to, id), *T = tmap_get(&tt, id);
        if (same(T, B) || same(O, T))
            continue;   /* theirs did not change it, or both did the same */
        bpmn_node_t *R = tmap_get(&tr, id);
        if (!same(O, B)) {
            conflict(conflicts, id, O ? O : T,
                     !O ? "removed in ours, changed in theirs"
                     : !T ? "changed in ours, removed in theirs"
                     : !B ? "added on both sides with different content" : "changed on both sides");
            continue;
        }
        if (!T) {                       /* removed in theirs */
            if (R && attached(R, root)) {
                detach(R);
                garbage = realloc(garbage, (ng + 1) * sizeof(*garbage));
                garbage[ng++] = R;
            }
        } else if (!R) {                /* added in theirs */
            bpmn_node_t *tp = tracked_parent(T);
            char *pk = tp && !bpmn_is(tp, BPMN_NS, "definitions") ? key_of(tp) : NULL;
            bpmn_node_t *rp = !tp ? NULL : !pk ? root : tmap_get(&tr, pk);
            free(pk);
            if (!rp || !attached(rp, root)) {
                conflict(conflicts, id, T, "added in theirs inside an element removed in ours");
                continue;
            }
            bpmn_node_add(rp, shallow(T));
            tmap_release(&tr);
            tmap_build(&tr, root);      /* later children find their new parent */
        } else {                        /* changed in theirs only */
            take_content(R, T);
        }
    }
    for (size_t i = 0; i < ng; i++)
        bpmn_node_free(garbage[i]);
    free(garbage);
    free(doc);
    tmap_release(&tb);
    tmap_release(&to);
    tmap_release(&tt);
    tmap_release(&tr);
    bpmn_model_t *m = bpmn__model_of(root);
    if (m) {
        relink(m);
        bpmn_reindex(m);
    }
    return m;
}
