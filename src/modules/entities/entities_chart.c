/*
 * entities_chart.c — a group structure: the entities an entity holds (down) or is held
 * by (up) on a day, breadth first, as a tree bounded in levels and nodes, and that tree
 * drawn as an SVG org chart (boxes with names, edges labelled with type and share).
 */
#include "entities_int.h"

#include "../../fm_buf.h"
#include "../../fm_dbq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walk {
    cJSON **queue;      /* tree nodes waiting to be expanded */
    int *level;
    int head, tail, max;
    cJSON *seen;        /* ids already in the tree (object used as a set) */
    int seen_n;
    bool truncated;
} walk_t;

static cJSON *node_new(const char *id, const char *name, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

typedef struct expand {
    walk_t *w;
    cJSON *children;
    int level;
} expand_t;

static int child_row(const fm_dbrow_t *row, void *arg)
{
    expand_t *x = arg;
    walk_t *w = x->w;
    const char *id = fm_dbrow_str(row, 0);
    if (w->seen_n >= w->max) {
        w->truncated = true;
        return FM_OK;
    }
    cJSON *c = node_new(id, fm_dbrow_str(row, 1), fm_dbrow_str(row, 2));
    cJSON *rel = cJSON_AddObjectToObject(c, "relationship");
    cJSON_AddStringToObject(rel, "id", fm_dbrow_str(row, 3));
    cJSON_AddStringToObject(rel, "type", fm_dbrow_str(row, 4));
    if (!fm_dbrow_null(row, 5))
        cJSON_AddNumberToObject(rel, "percentage", fm_dbrow_double(row, 5));
    cJSON_AddItemToArray(x->children, c);
    w->seen_n++;
    if (cJSON_GetObjectItem(w->seen, id)) {
        cJSON_AddBoolToObject(c, "repeat", true);   /* met before: a cycle or a second path */
        return FM_OK;
    }
    cJSON_AddTrueToObject(w->seen, id);
    w->queue[w->tail] = c;
    w->level[w->tail++] = x->level + 1;
    return FM_OK;
}

int ent_structure(fm_db_t *db, const char *tenant, const char *id, const char *day, bool up, int depth, int max_nodes,
                  cJSON **tree)
{
    *tree = NULL;
    char name[400], type[32];
    int rc = ent_brief(db, tenant, id, name, sizeof(name), type, sizeof(type));
    if (rc != FM_OK)
        return rc;
    walk_t w = { calloc((size_t)max_nodes + 1, sizeof(cJSON *)), calloc((size_t)max_nodes + 1, sizeof(int)), 0, 0,
                 max_nodes, cJSON_CreateObject(), 1, false };
    cJSON *root = node_new(id, name, type);
    if (!w.queue || !w.level || !w.seen || !root) {
        free(w.queue);
        free(w.level);
        cJSON_Delete(w.seen);
        cJSON_Delete(root);
        return FM_ENOMEM;
    }
    cJSON_AddTrueToObject(w.seen, id);
    w.queue[w.tail++] = root;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        rc = FM_EDB;
    /* Down: relationships held by the node (it is owner_id); up: held in it. */
    const char *sql_down = "SELECT r.entity_id, e.name, e.type, r.id, r.type, r.percentage FROM relationships r "
                           "JOIN entities e ON e.id = r.entity_id WHERE r.tenant_id = ?1 AND r.owner_id = ?2 "
                           "AND (r.valid_from IS NULL OR r.valid_from <= ?3) AND (r.valid_to IS NULL OR ?3 <= r.valid_to) "
                           "ORDER BY e.name_key, r.id";
    const char *sql_up = "SELECT r.owner_id, e.name, e.type, r.id, r.type, r.percentage FROM relationships r "
                         "JOIN entities e ON e.id = r.owner_id WHERE r.tenant_id = ?1 AND r.entity_id = ?2 "
                         "AND (r.valid_from IS NULL OR r.valid_from <= ?3) AND (r.valid_to IS NULL OR ?3 <= r.valid_to) "
                         "ORDER BY e.name_key, r.id";
    while (rc == FM_OK && w.head < w.tail) {
        cJSON *n = w.queue[w.head];
        int lv = w.level[w.head++];
        if (lv >= depth) {
            w.truncated = w.truncated || lv == depth;
            continue;
        }
        expand_t x = { &w, cJSON_AddArrayToObject(n, "children"), lv };
        rc = fm_dbq_each(c, up ? sql_up : sql_down, child_row, &x, "sss", tenant,
                         cJSON_GetStringValue(cJSON_GetObjectItem(n, "id")), day);
        if (!cJSON_GetArraySize(x.children))
            cJSON_DeleteItemFromObject(n, "children");
    }
    fm_dbq_reader_done(c);
    free(w.queue);
    free(w.level);
    cJSON_Delete(w.seen);
    if (rc != FM_OK) {
        cJSON_Delete(root);
        return rc;
    }
    cJSON_AddBoolToObject(root, "truncated", w.truncated);
    cJSON_AddNumberToObject(root, "nodes", w.seen_n);
    *tree = root;
    return FM_OK;
}

/* ---- SVG ---- */

enum { BOX_W = 190, BOX_H = 52, GAP_X = 20, GAP_Y = 70, MARGIN = 20 };

static void esc(fm_buf_t *b, const char *s, size_t max)
{
    size_t n = 0;
    for (; *s && n < max; s++, n++) {
        switch (*s) {
        case '<': fm_buf_adds(b, "&lt;"); break;
        case '>': fm_buf_adds(b, "&gt;"); break;
        case '&': fm_buf_adds(b, "&amp;"); break;
        case '"': fm_buf_adds(b, "&quot;"); break;
        default: fm_buf_add(b, s, 1);
        }
    }
    if (*s)
        fm_buf_adds(b, "…");
}

/* Leaves under n (a node's width in slots); the tree is at most ENT depth levels deep
 * (the route bounds it to 20), so this recursion is bounded by that, not by input. */
static int leaves(const cJSON *n, int lv)
{
    const cJSON *ch = cJSON_GetObjectItem(n, "children");
    if (!ch || lv > 20)
        return 1;
    int s = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, ch) s += leaves(c, lv + 1);
    return s ? s : 1;
}

static void draw(fm_buf_t *b, const cJSON *n, int slot, int lv, int *maxlv)
{
    int w = leaves(n, lv);
    int cx = MARGIN + slot * (BOX_W + GAP_X) + (w * (BOX_W + GAP_X) - GAP_X) / 2;
    int y = MARGIN + lv * (BOX_H + GAP_Y);
    if (lv > *maxlv)
        *maxlv = lv;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(n, "type"));
    bool person = type && !strcmp(type, "person");
    bool repeat = cJSON_IsTrue(cJSON_GetObjectItem(n, "repeat"));
    fm_buf_addf(b, "<g class=\"entity %s%s\" data-id=\"", type ? type : "", repeat ? " repeat" : "");
    esc(b, cJSON_GetStringValue(cJSON_GetObjectItem(n, "id")), 64);
    fm_buf_addf(b, "\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"%d\" fill=\"%s\" stroke=\"#334\"%s/>",
                cx - BOX_W / 2, y, BOX_W, BOX_H, person ? 26 : 4, person ? "#eef6ee" : "#eef2fb",
                repeat ? " stroke-dasharray=\"4 3\"" : "");
    fm_buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">", cx, y + 22);
    esc(b, cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), 26);
    fm_buf_addf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#556\">%s</text></g>\n",
                cx, y + 40, type ? type : "");
    const cJSON *ch = cJSON_GetObjectItem(n, "children"), *c;
    int s = slot;
    cJSON_ArrayForEach(c, ch)
    {
        int cw = leaves(c, lv + 1);
        int ccx = MARGIN + s * (BOX_W + GAP_X) + (cw * (BOX_W + GAP_X) - GAP_X) / 2;
        int cy = MARGIN + (lv + 1) * (BOX_H + GAP_Y);
        fm_buf_addf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#667\"/>", cx, y + BOX_H, ccx, cy);
        const cJSON *rel = cJSON_GetObjectItem(c, "relationship");
        const cJSON *pct = cJSON_GetObjectItem(rel, "percentage");
        fm_buf_addf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s", (cx + ccx) / 2,
                    (y + BOX_H + cy) / 2, cJSON_GetStringValue(cJSON_GetObjectItem(rel, "type")));
        if (cJSON_IsNumber(pct))
            fm_buf_addf(b, " %.4g%%", pct->valuedouble);
        fm_buf_adds(b, "</text>\n");
        if (lv < 20)
            draw(b, c, s, lv + 1, maxlv);
        s += cw;
    }
}

char *ent_structure_svg(const cJSON *tree, size_t *len)
{
    fm_buf_t body = FM_BUF_INIT, b = FM_BUF_INIT;
    int maxlv = 0;
    draw(&body, tree, 0, 0, &maxlv);
    int width = 2 * MARGIN + leaves(tree, 0) * (BOX_W + GAP_X) - GAP_X;
    int height = 2 * MARGIN + (maxlv + 1) * (BOX_H + GAP_Y) - GAP_Y;
    fm_buf_addf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                    "font-family=\"sans-serif\" role=\"img\" aria-label=\"Group structure\">\n",
                width, height, width, height);
    fm_buf_add(&b, body.data ? body.data : "", body.len);
    fm_buf_adds(&b, "</svg>\n");
    fm_buf_release(&body);
    if (b.oom) {
        fm_buf_release(&b);
        return NULL;
    }
    return fm_buf_detach(&b, len);
}
