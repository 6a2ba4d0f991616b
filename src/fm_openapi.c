/*
 * fm_openapi.c — the OpenAPI 3.1 description of the API, generated from the routing
 * table the gateway serves, so it is never out of date: every path and method, its
 * path parameters, whether it needs a token (and which permission, as
 * x-flowmaster-permission), and whether it is built yet (x-flowmaster-implemented).
 * Request and response bodies are described per module in docs/; here every error is
 * the RFC 9457 problem schema.
 */
#include "fm_openapi.h"

#include "fm_http_int.h"
#include "fm_mod.h"

#include <stdio.h>
#include <string.h>

static cJSON *problem_response(const char *why)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "description", why);
    cJSON *content = cJSON_AddObjectToObject(r, "content");
    cJSON *media = cJSON_AddObjectToObject(content, "application/problem+json");
    cJSON *schema = cJSON_AddObjectToObject(media, "schema");
    cJSON_AddStringToObject(schema, "$ref", "#/components/schemas/Problem");
    return r;
}

static cJSON *components(void)
{
    cJSON *c = cJSON_CreateObject();
    cJSON *sec = cJSON_AddObjectToObject(c, "securitySchemes");
    cJSON *bearer = cJSON_AddObjectToObject(sec, "bearer");
    cJSON_AddStringToObject(bearer, "type", "http");
    cJSON_AddStringToObject(bearer, "scheme", "bearer");
    cJSON_AddStringToObject(bearer, "bearerFormat", "JWT (EdDSA); see /.well-known/jwks.json");
    cJSON *params = cJSON_AddObjectToObject(c, "parameters");
    cJSON *tenant = cJSON_AddObjectToObject(params, "tenant");
    cJSON_AddStringToObject(tenant, "name", "X-Tenant-Id");
    cJSON_AddStringToObject(tenant, "in", "header");
    cJSON_AddBoolToObject(tenant, "required", true);
    cJSON_AddStringToObject(tenant, "description", "The tenant; must be the token's.");
    cJSON_AddItemToObject(tenant, "schema", cJSON_Parse("{\"type\":\"string\",\"maxLength\":64}"));
    cJSON *schemas = cJSON_AddObjectToObject(c, "schemas");
    cJSON_AddItemToObject(schemas, "Problem", cJSON_Parse(
        "{\"type\":\"object\",\"description\":\"RFC 9457 problem details\",\"properties\":{"
        "\"type\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},\"status\":{\"type\":\"integer\"},"
        "\"detail\":{\"type\":\"string\"},\"instance\":{\"type\":\"string\"},"
        "\"errors\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
        "\"pointer\":{\"type\":\"string\"},\"detail\":{\"type\":\"string\"}}}}},"
        "\"required\":[\"type\",\"title\",\"status\"]}"));
    return c;
}

/* "/views/{processId}.svg" → its parameter names, in order. */
static void add_path_params(cJSON *params, const fm_rentry_t *e)
{
    for (int i = 0; i < e->nseg; i++) {
        const fm_seg_t *g = &e->seg[i];
        if (g->kind != SEG_PARAM && g->kind != SEG_SUFFIX)
            continue;
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", g->name);
        cJSON_AddStringToObject(p, "in", "path");
        cJSON_AddBoolToObject(p, "required", true);
        cJSON_AddItemToObject(p, "schema", cJSON_Parse("{\"type\":\"string\"}"));
        cJSON_AddItemToArray(params, p);
    }
}

static const char *lower_method(fm_method_t m)
{
    static const char *names[FM_METHOD_COUNT] = { "get", "post", "put", "patch", "delete", "head", "options" };
    return m < FM_METHOD_COUNT ? names[m] : "get";
}

cJSON *fm_openapi(void)
{
    const fm_routing_t *routing = fm__routing();
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.1.0");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "FlowMaster API");
    cJSON_AddStringToObject(info, "version", FM_VERSION);
    cJSON_AddStringToObject(info, "description",
                            "Every route of every module, as the gateway (9000) serves them; each module's "
                            "own port serves its own. Generated from the routing table.");
    cJSON *servers = cJSON_AddArrayToObject(doc, "servers");
    cJSON *srv = cJSON_CreateObject();
    cJSON_AddStringToObject(srv, "url", "/");
    cJSON_AddItemToArray(servers, srv);
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    cJSON_AddItemToObject(doc, "components", components());
    if (!routing)
        return doc;
    for (size_t i = 0; i < routing->api.n; i++) {
        const fm_rentry_t *e = routing->api.v[i];
        const fm_route_t *def = e->def;
        cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, def->pattern);
        if (!item)
            item = cJSON_AddObjectToObject(paths, def->pattern);
        cJSON *op = cJSON_AddObjectToObject(item, lower_method(def->method));
        char opid[300];
        snprintf(opid, sizeof(opid), "%s %s", fm_method_name(def->method), def->pattern);
        cJSON_AddStringToObject(op, "operationId", opid);
        cJSON *tags = cJSON_AddArrayToObject(op, "tags");
        cJSON_AddItemToArray(tags, cJSON_CreateString(e->module_name));
        cJSON *params = cJSON_AddArrayToObject(op, "parameters");
        add_path_params(params, e);
        bool public_route = (def->flags & FM_R_PUBLIC) != 0;
        cJSON *security = cJSON_AddArrayToObject(op, "security");
        if (!public_route) {
            cJSON *ref = cJSON_CreateObject();
            cJSON_AddStringToObject(ref, "$ref", "#/components/parameters/tenant");
            cJSON_AddItemToArray(params, ref);
            cJSON *req = cJSON_CreateObject();
            cJSON_AddItemToObject(req, "bearer", cJSON_CreateArray());
            cJSON_AddItemToArray(security, req);
        }
        if (def->perm)
            cJSON_AddStringToObject(op, "x-flowmaster-permission", def->perm);
        cJSON_AddBoolToObject(op, "x-flowmaster-implemented", def->handler != NULL);
        if (def->flags & FM_R_JSON) {
            cJSON *body = cJSON_AddObjectToObject(op, "requestBody");
            cJSON_AddBoolToObject(body, "required", true);
            cJSON *content = cJSON_AddObjectToObject(body, "content");
            cJSON *media = cJSON_AddObjectToObject(content, "application/json");
            cJSON_AddItemToObject(media, "schema", cJSON_Parse("{\"type\":\"object\"}"));
        }
        cJSON *responses = cJSON_AddObjectToObject(op, "responses");
        if (def->handler) {
            cJSON *ok = cJSON_AddObjectToObject(responses, "2XX");
            cJSON_AddStringToObject(ok, "description", "success (see the module's docs)");
            cJSON_AddItemToObject(responses, "default", problem_response("an RFC 9457 problem"));
        } else {
            cJSON_AddItemToObject(responses, "501", problem_response("in the catalogue, not built yet"));
        }
    }
    return doc;
}
