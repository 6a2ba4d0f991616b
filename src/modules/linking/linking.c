/*
 * linking.c — Process Linking (8021): which processes depend on which. Links come from
 * published definitions (process.definition.published: callActivity calledElement,
 * zeebe:calledElement, message flows between pools) and from explicit "depends on"
 * links (POST /links). Calls name BPMN process ids; they resolve to the Process Design
 * processes that publish a <process> with that id. Offers the graph of a process in
 * both directions, impact analysis (everything that reaches it, transitively) and
 * call-cycle detection (POST /links/check, asked by Process Design on publish).
 */
#include "../modules.h"

#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"
#include "../../bus/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static int add_link(fm_dbc_t *w, const char *tenant, const char *from, const char *kind, const char *to,
                    const char *element, const char *note, char *id_out)
{
    char id[40], now[32];
    fm_id_random("lnk", id, sizeof(id));
    fm_time_rfc3339(now);
    if (id_out)
        strcpy(id_out, id);
    return fm_dbq_run(w, "INSERT INTO links(id, tenant_id, from_id, kind, to_ref, element, note, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "ssssssss", id, tenant, from, kind, to, element, note, now);
}

/* Loop thread: index a published definition. */
static void on_published(const bus_event_t *ev, void *arg)
{
    fm_mod_t *m = arg;
    cJSON *d = cJSON_Parse(ev->data);
    const cJSON *pid = cJSON_GetObjectItem(d, "processId"), *sum = cJSON_GetObjectItem(d, "summary");
    if (!cJSON_IsString(pid) || !ev->tenant || !m->db) {
        cJSON_Delete(d);
        return;
    }
    const char *id = pid->valuestring, *t = ev->tenant;
    const cJSON *name = cJSON_GetObjectItem(d, "name"), *ver = cJSON_GetObjectItem(d, "version");
    fm_dbc_t *w = fm_dbq_write_begin(m->db);
    if (!w) {
        cJSON_Delete(d);
        return;
    }
    int rc = fm_dbq_run(w, "INSERT INTO link_processes(tenant_id, process_id, name, version) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(tenant_id, process_id) DO UPDATE SET name = excluded.name, "
                           "version = excluded.version", "sssi",
                        t, id, cJSON_IsString(name) ? name->valuestring : "", cJSON_IsNumber(ver) ? ver->valueint : 0);
    rc = rc ? rc : fm_dbq_run(w, "DELETE FROM link_bpmn_ids WHERE tenant_id = ? AND process_id = ?", "ss", t, id);
    rc = rc ? rc : fm_dbq_run(w, "DELETE FROM links WHERE tenant_id = ? AND from_id = ? AND kind IN ('calls', 'message')",
                              "ss", t, id);
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(sum, "processes")) {
        const cJSON *b = cJSON_GetObjectItem(x, "id");
        if (!rc && cJSON_IsString(b))
            rc = fm_dbq_run(w, "INSERT OR IGNORE INTO link_bpmn_ids(tenant_id, process_id, bpmn_id) VALUES (?, ?, ?)",
                            "sss", t, id, b->valuestring);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(sum, "calls")) {
        const cJSON *c = cJSON_GetObjectItem(x, "calledElement"), *e = cJSON_GetObjectItem(x, "element");
        if (!rc && cJSON_IsString(c))
            rc = add_link(w, t, id, "calls", c->valuestring, cJSON_IsString(e) ? e->valuestring : NULL, NULL, NULL);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(sum, "messageFlows")) {
        const cJSON *s = cJSON_GetObjectItem(x, "sourceProcess"), *tg = cJSON_GetObjectItem(x, "targetProcess");
        const cJSON *e = cJSON_GetObjectItem(x, "id");
        if (!rc && cJSON_IsString(tg) && (!cJSON_IsString(s) || strcmp(s->valuestring, tg->valuestring)))
            rc = add_link(w, t, id, "message", tg->valuestring, cJSON_IsString(e) ? e->valuestring : NULL, NULL, NULL);
    }
    if (fm_dbq_write_end(w, rc) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "linking: could not index a published process", id);
    cJSON_Delete(d);
}

/* ---- the graph ---- */

typedef struct edge {
    char *from, *to, *kind, *ref, *element;   /* to NULL when unresolved */
} edge_t;

typedef struct graph {
    edge_t *e;
    size_t n, cap;
} graph_t;

static void graph_release(graph_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->e[i].from);
        free(g->e[i].to);
        free(g->e[i].kind);
        free(g->e[i].ref);
        free(g->e[i].element);
    }
    free(g->e);
    g->e = NULL;
    g->n = g->cap = 0;
}

static bool edge_push(graph_t *g, edge_t e)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 32;
        edge_t *ne = realloc(g->e, cap * sizeof(*g->e));
        if (!ne)
            return false;
        g->e = ne;
        g->cap = cap;
    }
    g->e[g->n++] = e;
    return true;
}

static int edge_row(const fm_dbrow_t *r, void *arg)
{
    edge_t e = { fm_dbrow_dup(r, 0), fm_dbrow_dup(r, 4), fm_dbrow_dup(r, 1), fm_dbrow_dup(r, 2), fm_dbrow_dup(r, 3) };
    return edge_push(arg, e) ? FM_OK : FM_ENOMEM;
}

static int load_graph(fm_dbc_t *c, const char *tenant, graph_t *g)
{
    memset(g, 0, sizeof(*g));
    return fm_dbq_each(c, "SELECT l.from_id, l.kind, l.to_ref, l.element, "
                          "CASE WHEN l.kind = 'depends' THEN l.to_ref ELSE b.process_id END "
                          "FROM links l LEFT JOIN link_bpmn_ids b ON b.tenant_id = l.tenant_id "
                          "AND b.bpmn_id = l.to_ref AND l.kind <> 'depends' WHERE l.tenant_id = ? "
                          "ORDER BY l.created_at, l.id", edge_row, g, "s", tenant);
}

static int name_row(const fm_dbrow_t *r, void *arg)
{
    char *buf = arg;
    snprintf(buf, 256, "%s", fm_dbrow_str(r, 0));
    return FM_OK;
}

/* The process's name, "" when unknown; buf holds 256 bytes. */
static const char *name_of(fm_dbc_t *c, const char *tenant, const char *id, char buf[256])
{
    *buf = 0;
    fm_dbq_one(c, "SELECT name FROM link_processes WHERE tenant_id = ? AND process_id = ?", name_row, buf, "ss",
               tenant, id);
    return buf;
}

static cJSON *edge_json(const edge_t *e, bool outgoing)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", e->kind);
    cJSON_AddStringToObject(o, outgoing ? "to" : "from", outgoing ? (e->to ? e->to : "") : e->from);
    if (outgoing && !e->to)
        cJSON_AddNullToObject(o, "to");
    cJSON_AddStringToObject(o, "ref", e->ref);
    if (e->element)
        cJSON_AddStringToObject(o, "element", e->element);
    cJSON_AddBoolToObject(o, "resolved", e->to != NULL);
    return o;
}

static int graph(fm_req_t *r)
{
    const char *id = fm_req_param(r, "processId");
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    graph_t g;
    int rc = load_graph(c, fm_req_tenant(r), &g);
    if (rc != FM_OK) {
        graph_release(&g);
        fm_dbq_reader_done(c);
        return rc;
    }
    cJSON *o = cJSON_CreateObject(), *out = cJSON_CreateArray(), *in = cJSON_CreateArray();
    char name[256];
    cJSON_AddStringToObject(o, "processId", id);
    cJSON_AddStringToObject(o, "name", name_of(c, fm_req_tenant(r), id, name));
    for (size_t i = 0; i < g.n; i++) {
        const edge_t *e = &g.e[i];
        bool self = e->to && !strcmp(e->to, e->from);
        if (!strcmp(e->from, id) && !self)
            cJSON_AddItemToArray(out, edge_json(e, true));
        if (e->to && !strcmp(e->to, id) && !self)
            cJSON_AddItemToArray(in, edge_json(e, false));
    }
    cJSON_AddItemToObject(o, "outgoing", out);
    cJSON_AddItemToObject(o, "incoming", in);
    graph_release(&g);
    fm_dbq_reader_done(c);
    return fm_reply_json(r, 200, o);
}

/* Everything that reaches id over any link, breadth first, with its distance. */
static int impact(fm_req_t *r)
{
    const char *id = fm_req_param(r, "processId");
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    graph_t g;
    int rc = load_graph(c, fm_req_tenant(r), &g);
    if (rc != FM_OK) {
        graph_release(&g);
        fm_dbq_reader_done(c);
        return rc;
    }
    size_t cap = g.n + 2, n = 0;
    char **q = malloc(cap * sizeof(char *));
    int *depth = malloc(cap * sizeof(int));
    q[n] = strdup(id);
    depth[n++] = 0;
    cJSON *items = cJSON_CreateArray();
    char name[256];
    for (size_t h = 0; h < n; h++) {
        for (size_t i = 0; i < g.n; i++) {
            const edge_t *e = &g.e[i];
            if (!e->to || strcmp(e->to, q[h]) || !strcmp(e->from, e->to))
                continue;
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = !strcmp(q[k], e->from);
            if (seen || n == cap)
                continue;
            q[n] = strdup(e->from);
            depth[n] = depth[h] + 1;
            cJSON *it = cJSON_CreateObject();
            cJSON_AddStringToObject(it, "processId", e->from);
            cJSON_AddStringToObject(it, "name", name_of(c, fm_req_tenant(r), e->from, name));
            cJSON_AddNumberToObject(it, "depth", depth[n]);
            cJSON_AddStringToObject(it, "via", e->kind);
            cJSON_AddStringToObject(it, "dependsOn", q[h]);
            cJSON_AddItemToArray(items, it);
            n++;
        }
    }
    for (size_t k = 0; k < n; k++)
        free(q[k]);
    free(q);
    free(depth);
    graph_release(&g);
    fm_dbq_reader_done(c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "processId", id);
    cJSON_AddNumberToObject(o, "affectedCount", cJSON_GetArraySize(items));
    cJSON_AddItemToObject(o, "affected", items);
    return fm_reply_json(r, 200, o);
}

/* Depth-first search along call edges for a path from cur back to start. */
static bool find_cycle(const graph_t *g, const char *start, const char *cur, char **path, size_t depth,
                       size_t max, cJSON *cycles)
{
    if (depth >= max)
        return false;
    path[depth] = (char *)cur;
    bool found = false;
    for (size_t i = 0; i < g->n && cJSON_GetArraySize(cycles) < 10; i++) {
        const edge_t *e = &g->e[i];
        if (strcmp(e->kind, "calls") || !e->to || strcmp(e->from, cur))
            continue;
        if (!strcmp(e->to, start)) {
            cJSON *c = cJSON_CreateArray();
            for (size_t k = 0; k <= depth; k++)
                cJSON_AddItemToArray(c, cJSON_CreateString(path[k]));
            cJSON_AddItemToArray(c, cJSON_CreateString(start));
            cJSON_AddItemToArray(cycles, c);
            found = true;
            continue;
        }
        bool on_path = false;
        for (size_t k = 0; k <= depth && !on_path; k++)
            on_path = !strcmp(path[k], e->to);
        if (!on_path)
            found |= find_cycle(g, start, e->to, path, depth + 1, max, cycles);
    }
    return found;
}

typedef struct { graph_t *g; const char *from, *ref; } call_t;

/* A process publishing the called BPMN id: a call edge to it. */
static int call_row(const fm_dbrow_t *r, void *arg)
{
    call_t *k = arg;
    edge_t e = { strdup(k->from), fm_dbrow_dup(r, 0), strdup("calls"), strdup(k->ref), NULL };
    return edge_push(k->g, e) ? FM_OK : FM_ENOMEM;
}

static int check(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    const cJSON *pid = cJSON_GetObjectItem(j, "processId"), *sum = cJSON_GetObjectItem(j, "summary");
    if (!cJSON_IsString(pid))
        return fm_reply_invalid(r, "processId", "is required (a Process Design id)");
    if (!cJSON_IsObject(sum))
        return fm_reply_invalid(r, "summary", "is required (the summary of the definition)");
    fm_dbc_t *c = fm_dbq_reader(db_of(r));
    if (!c)
        return FM_EDB;
    graph_t g;
    int rc = load_graph(c, fm_req_tenant(r), &g);
    if (rc != FM_OK) {
        graph_release(&g);
        fm_dbq_reader_done(c);
        return rc;
    }
    /* drop the process's current calls, add the new ones (resolved like the index) */
    size_t keep = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (!strcmp(g.e[i].from, pid->valuestring) && !strcmp(g.e[i].kind, "calls")) {
            free(g.e[i].from);
            free(g.e[i].to);
            free(g.e[i].kind);
            free(g.e[i].ref);
            free(g.e[i].element);
        } else {
            g.e[keep++] = g.e[i];
        }
    }
    g.n = keep;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(sum, "calls")) {
        const cJSON *ce = cJSON_GetObjectItem(x, "calledElement");
        if (!cJSON_IsString(ce))
            continue;
        /* own BPMN ids resolve to itself (recursion) */
        bool own = false;
        const cJSON *p;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(sum, "processes"))
            own |= cJSON_IsString(cJSON_GetObjectItem(p, "id")) &&
                   !strcmp(cJSON_GetObjectItem(p, "id")->valuestring, ce->valuestring);
        if (own) {
            edge_push(&g, (edge_t){ strdup(pid->valuestring), strdup(pid->valuestring), strdup("calls"),
                                    strdup(ce->valuestring), NULL });
            continue;
        }
        call_t k = { &g, pid->valuestring, ce->valuestring };
        fm_dbq_each(c, "SELECT process_id FROM link_bpmn_ids WHERE tenant_id = ? AND bpmn_id = ? AND process_id <> ?",
                    call_row, &k, "sss", fm_req_tenant(r), ce->valuestring, pid->valuestring);
    }
    fm_dbq_reader_done(c);
    cJSON *cycles = cJSON_CreateArray();
    char *path[64];
    find_cycle(&g, pid->valuestring, pid->valuestring, path, 0, 64, cycles);
    graph_release(&g);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "cycles", cycles);
    return fm_reply_json(r, 200, o);
}

static bool process_exists(fm_req_t *r, const char *id)
{
    char path[200];
    for (const char *p = id; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", *p))
            return false;
    if (!*id || strlen(id) > 64)
        return false;
    snprintf(path, sizeof(path), "/processes/%s", id);
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_GET, path, NULL, &status, &out);
    free(out);
    return rc == FM_OK && status == 200;
}

static const fm_field_t link_fields[] = {
    { "from", FM_F_STRING, true, 1, 64, NULL },
    { "to", FM_F_STRING, true, 1, 64, NULL },
    { "kind", FM_F_STRING, false, 1, 16, NULL },
    { "note", FM_F_STRING, false, 0, 2000, NULL },
};

static int create(fm_req_t *r)
{
    if (fm_req_check(r, link_fields, sizeof(link_fields) / sizeof(link_fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const char *from = cJSON_GetObjectItem(j, "from")->valuestring, *to = cJSON_GetObjectItem(j, "to")->valuestring;
    const cJSON *k = cJSON_GetObjectItem(j, "kind"), *n = cJSON_GetObjectItem(j, "note");
    if (k && strcmp(k->valuestring, "depends"))
        return fm_reply_invalid(r, "kind", "only \"depends\" links are made by hand; calls and message "
                                           "links come from published definitions");
    if (!strcmp(from, to))
        return fm_reply_invalid(r, "to", "a process cannot depend on itself");
    if (!process_exists(r, from))
        return fm_reply_invalid(r, "from", "no such process");
    if (!process_exists(r, to))
        return fm_reply_invalid(r, "to", "no such process");
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w)
        return FM_EDB;
    char id[40];
    int rc = add_link(w, fm_req_tenant(r), from, "depends", to, NULL, cJSON_IsString(n) ? n->valuestring : NULL, id);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "to", to);
    cJSON_AddStringToObject(o, "kind", "depends");
    if (cJSON_IsString(n))
        cJSON_AddStringToObject(o, "note", n->valuestring);
    char loc[120];
    snprintf(loc, sizeof(loc), "/links/%s/graph", from);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, o);
}

static const fm_route_t routes[] = {
    { FM_POST, "/links", create, FM_R_JSON, "process:write" },
    { FM_POST, "/links/check", check, FM_R_JSON, "process:read" },
    { FM_GET, "/links/{processId}/graph", graph, 0, "process:read" },
    { FM_GET, "/links/{processId}/impact", impact, 0, "process:read" },
};

static const fm_sub_t subs[] = {
    { "process.definition.published", on_published },
    { NULL, NULL },
};

const fm_module_t fm_linking_module = {
    "linking", "Process Linking", 8021, FM_M_DB, FM_ROUTES(routes), subs, NULL, NULL,
};
