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

static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int exec_bound(sqlite3 *w, const char *sql, const char *a, const char *b, const char *c,
                      const char *d, const char *e, const char *f)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, sql, -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    const char *v[] = { a, b, c, d, e, f };
    for (int i = 0; i < 6 && i < sqlite3_bind_parameter_count(st); i++)
        bind_s(st, i + 1, v[i]);
    int rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    sqlite3_finalize(st);
    return rc;
}

static int add_link(sqlite3 *w, const char *tenant, const char *from, const char *kind, const char *to,
                    const char *element, const char *note, char *id_out)
{
    char id[40], now[32];
    fm_id_random("lnk", id, sizeof(id));
    fm_time_rfc3339(now);
    if (id_out)
        strcpy(id_out, id);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "INSERT INTO links(id, tenant_id, from_id, kind, to_ref, element, note, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    const char *v[] = { id, tenant, from, kind, to, element, note, now };
    for (int i = 0; i < 8; i++)
        bind_s(st, i + 1, v[i]);
    int rc = sqlite3_step(st) == SQLITE_DONE ? FM_OK : FM_EDB;
    sqlite3_finalize(st);
    return rc;
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
    char vbuf[24];
    snprintf(vbuf, sizeof(vbuf), "%d", cJSON_IsNumber(ver) ? ver->valueint : 0);
    sqlite3 *w = fm_db_write_begin(m->db);
    if (!w) {
        cJSON_Delete(d);
        return;
    }
    int rc = exec_bound(w, "INSERT INTO link_processes(tenant_id, process_id, name, version) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(tenant_id, process_id) DO UPDATE SET name = excluded.name, "
                           "version = excluded.version",
                        t, id, cJSON_IsString(name) ? name->valuestring : "", vbuf, NULL, NULL);
    rc = rc ? rc : exec_bound(w, "DELETE FROM link_bpmn_ids WHERE tenant_id = ? AND process_id = ?", t, id,
                              NULL, NULL, NULL, NULL);
    rc = rc ? rc : exec_bound(w, "DELETE FROM links WHERE tenant_id = ? AND from_id = ? AND kind IN ('calls', 'message')",
                              t, id, NULL, NULL, NULL, NULL);
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(sum, "processes")) {
        const cJSON *b = cJSON_GetObjectItem(x, "id");
        if (!rc && cJSON_IsString(b))
            rc = exec_bound(w, "INSERT OR IGNORE INTO link_bpmn_ids(tenant_id, process_id, bpmn_id) VALUES (?, ?, ?)",
                            t, id, b->valuestring, NULL, NULL, NULL);
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
    if (fm_db_write_end(m->db, rc) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "linking: could not index a published process", id);
    cJSON_Delete(d);
}

/* ---- the graph ---- */

typedef struct edge {
    char *from, *to, *kind, *ref, *element;   /* to NULL when unresolved */
} edge_t;

typedef struct graph {
    edge_t *e;
    size_t n;
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
    g->n = 0;
}

static char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? strdup(s) : NULL;
}

static int load_graph(sqlite3 *c, const char *tenant, graph_t *g)
{
    memset(g, 0, sizeof(*g));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT l.from_id, l.kind, l.to_ref, l.element, "
                              "CASE WHEN l.kind = 'depends' THEN l.to_ref ELSE b.process_id END "
                              "FROM links l LEFT JOIN link_bpmn_ids b ON b.tenant_id = l.tenant_id "
                              "AND b.bpmn_id = l.to_ref AND l.kind <> 'depends' WHERE l.tenant_id = ? "
                              "ORDER BY l.created_at, l.id", -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    bind_s(st, 1, tenant);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (g->n == cap) {
            cap = cap ? cap * 2 : 32;
            g->e = realloc(g->e, cap * sizeof(*g->e));
        }
        g->e[g->n++] = (edge_t){ col(st, 0), col(st, 4), col(st, 1), col(st, 2), col(st, 3) };
    }
    sqlite3_finalize(st);
    return FM_OK;
}

static const char *name_of(sqlite3 *c, const char *tenant, const char *id, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    *buf = 0;
    if (sqlite3_prepare_v2(c, "SELECT name FROM link_processes WHERE tenant_id = ? AND process_id = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        bind_s(st, 1, tenant);
        bind_s(st, 2, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
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
    sqlite3 *c = fm_db_reader(db_of(r));
    if (!c)
        return FM_EDB;
    graph_t g;
    int rc = load_graph(c, fm_req_tenant(r), &g);
    if (rc != FM_OK) {
        fm_db_reader_done(db_of(r), c);
        return rc;
    }
    cJSON *o = cJSON_CreateObject(), *out = cJSON_CreateArray(), *in = cJSON_CreateArray();
    char name[256];
    cJSON_AddStringToObject(o, "processId", id);
    cJSON_AddStringToObject(o, "name", name_of(c, fm_req_tenant(r), id, name, sizeof(name)));
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
    fm_db_reader_done(db_of(r), c);
    return fm_reply_json(r, 200, o);
}

/* Everything that reaches id over any link, breadth first, with its distance. */
static int impact(fm_req_t *r)
{
    const char *id = fm_req_param(r, "processId");
    sqlite3 *c = fm_db_reader(db_of(r));
    if (!c)
        return FM_EDB;
    graph_t g;
    int rc = load_graph(c, fm_req_tenant(r), &g);
    if (rc != FM_OK) {
        fm_db_reader_done(db_of(r), c);
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
            cJSON_AddStringToObject(it, "name", name_of(c, fm_req_tenant(r), e->from, name, sizeof(name)));
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
    fm_db_reader_done(db_of(r), c);
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

static int check(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    const cJSON *pid = cJSON_GetObjectItem(j, "processId"), *sum = cJSON_GetObjectItem(j, "summary");
    if (!cJSON_IsString(pid))
        return fm_reply_invalid(r, "processId", "is required (a Process Design id)");
    if (!cJSON_IsObject(sum))
        return fm_reply_invalid(r, "summary", "is required (the summary of the definition)");
    sqlite3 *c = fm_db_reader(db_of(r));
    if (!c)
        return FM_EDB;
    graph_t g;
    int rc = load_graph(c, fm_req_tenant(r), &g);
    if (rc != FM_OK) {
        fm_db_reader_done(db_of(r), c);
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
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c, "SELECT process_id FROM link_bpmn_ids WHERE tenant_id = ? AND bpmn_id = ? "
                                  "AND process_id <> ?", -1, &st, NULL) != SQLITE_OK)
            continue;
        bind_s(st, 1, fm_req_tenant(r));
        bind_s(st, 2, ce->valuestring);
        bind_s(st, 3, pid->valuestring);
        while (sqlite3_step(st) == SQLITE_ROW || own) {
            g.e = realloc(g.e, (g.n + 1) * sizeof(*g.e));
            g.e[g.n++] = (edge_t){ strdup(pid->valuestring),
                                   own ? strdup(pid->valuestring) : col(st, 0), strdup("calls"),
                                   strdup(ce->valuestring), NULL };
            if (own)
                break;
        }
        sqlite3_finalize(st);
    }
    fm_db_reader_done(db_of(r), c);
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
    sqlite3 *w = fm_db_write_begin(db_of(r));
    if (!w)
        return FM_EDB;
    char id[40];
    int rc = add_link(w, fm_req_tenant(r), from, "depends", to, NULL, cJSON_IsString(n) ? n->valuestring : NULL, id);
    rc = fm_db_write_end(db_of(r), rc);
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
