/*
 * fm_core_routes.c — the routes every port has: GET /health and GET /ready, and
 * GET /metrics on the gateway. They belong to no module; fm_routing_build installs them.
 */
#include "fm_http_int.h"
#include "fm_mod.h"

/* Each port speaks for the modules that own it (9000: gateway and mcp; the registry's
 * GET /services is the whole-platform view). Under fm_call: for every module. */
static const fm_port_t *port_of(const fm_req_t *r)
{
    return r->port;
}

/* Formatted by hand rather than through cJSON: load balancers and monitors poll it,
 * and cJSON's number printing (printf + a strtod round trip) was most of its cost. */
static int health(fm_req_t *r)
{
    const fm_port_t *p = port_of(r);
    fm_buf_t b = FM_BUF_INIT;
    fm_buf_adds(&b, "{\"status\":\"ok\"");
    if (r->port)
        fm_buf_addf(&b, ",\"port\":%d", r->port->port);
    fm_buf_addf(&b, ",\"module\":\"%s\",\"modules\":[", p ? p->mods[0]->def->name : "core");
    size_t n = p ? p->nmods : fm_mods_count();
    for (size_t i = 0; i < n; i++)
        fm_buf_addf(&b, "%s\"%s\"", i ? "," : "", (p ? p->mods[i] : fm_mods_at(i))->def->name);
    fm_buf_addf(&b, "],\"version\":\"%s\",\"uptimeSeconds\":%.3f}", FM_VERSION, fm_uptime());
    int rc = b.oom ? FM_ENOMEM : fm_reply_raw(r, 200, "application/json", b.data, b.len);
    fm_buf_release(&b);
    return rc;
}

static int ready(fm_req_t *r)
{
    const fm_port_t *p = port_of(r);
    bool ok = fm_serving();
    cJSON *o = cJSON_CreateObject();
    cJSON *mods = cJSON_CreateArray();
    size_t n = p ? p->nmods : fm_mods_count();
    for (size_t i = 0; i < n; i++) {
        const fm_mod_t *m = p ? p->mods[i] : fm_mods_at(i);
        bool mok = fm_mod_ready(m);
        ok = ok && mok;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", m->def->name);
        cJSON_AddStringToObject(e, "database", !(m->def->flags & FM_M_DB) ? "none"
                                               : m->db ? "open" : "closed");
        cJSON *mig = cJSON_AddObjectToObject(e, "migrations");
        cJSON_AddNumberToObject(mig, "applied", m->mig_applied);
        cJSON_AddNumberToObject(mig, "pending", m->mig_pending);
        cJSON_AddBoolToObject(e, "ready", mok);
        cJSON_AddItemToArray(mods, e);
    }
    cJSON_AddStringToObject(o, "status", ok ? "ready" : "not-ready");
    cJSON_AddItemToObject(o, "modules", mods);
    return fm_reply_json(r, ok ? 200 : 503, o);
}

static int metrics(fm_req_t *r)
{
    fm_buf_t b = FM_BUF_INIT;
    fm_metrics_render(&b);
    if (b.oom) {
        fm_buf_release(&b);
        return FM_ENOMEM;
    }
    int rc = fm_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    fm_buf_release(&b);
    return rc;
}

const fm_route_t fm_core_health = { FM_GET, "/health", health, FM_R_PUBLIC, NULL };
const fm_route_t fm_core_ready = { FM_GET, "/ready", ready, FM_R_PUBLIC, NULL };
const fm_route_t fm_core_metrics = { FM_GET, "/metrics", metrics, 0, "metrics:read" };
