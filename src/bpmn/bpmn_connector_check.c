/*
 * bpmn_connector_check.c — publish checks of the connector tasks the engine runs itself
 * (src/modules/execution/exec_connector.c): a serviceTask of type
 * "io.camunda:http-json:1" (Camunda's REST connector as Camunda Modeler writes it) or
 * "integration" (a stored connector). Every input or task header the engine does not
 * honour is named in a warning (code connector-not-honoured), as is a Camunda secret
 * placeholder; an integration task without its `connector` header is an error.
 */
#include "bpmn_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ZEEBE "http://camunda.org/schema/zeebe/1.0"

static const char *const rest_inputs[] = {
    "url", "method", "headers", "queryParameters", "body", "authentication.type", "authentication.username",
    "authentication.password", "authentication.token", "authentication.oauthTokenEndpoint",
    "authentication.clientId", "authentication.clientSecret", "authentication.scopes", "authentication.audience",
    "authentication.clientAuthentication", "authentication.name", "authentication.value",
    "authentication.apiKeyLocation", "connectionTimeoutInSeconds", "readTimeoutInSeconds", NULL,
};
static const char *const integ_inputs[] = { "path", "method", "query", "headers", "body", NULL };
/* elementTemplate* headers are the Modeler's bookkeeping: read by nobody, nothing lost */
static const char *const rest_headers[] = { "resultVariable", "resultExpression", "errorExpression", "retryBackoff",
                                            "elementTemplateVersion", "elementTemplateId", NULL };
static const char *const integ_headers[] = { "connector", "method", "path", "resultVariable", "resultExpression",
                                             "errorExpression", "retryBackoff", NULL };
static const char *const auth_types[] = { "noAuth", "basic", "bearer", "apiKey", "oauth-client-credentials-flow",
                                          NULL };

static bool listed(const char *const *list, const char *s)
{
    for (int i = 0; s && list[i]; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

static void entry(cJSON *out, const char *id, const char *code, bool warning, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void entry(cJSON *out, const char *id, const char *code, bool warning, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "severity", warning ? "warning" : "error");
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToArray(out, o);
}

static const bpmn_node_t *zeebe_ext(const bpmn_node_t *n, const char *name)
{
    const bpmn_node_t *ee = bpmn_child(n, BPMN_NS, "extensionElements");
    return ee ? bpmn_child(ee, ZEEBE, name) : NULL;
}

static int check_task(cJSON *out, const bpmn_el_t *e, const char *type)
{
    bool rest = !strcmp(type, "io.camunda:http-json:1");
    const char *const *inputs = rest ? rest_inputs : integ_inputs, *const *headers = rest ? rest_headers : integ_headers;
    const bpmn_node_t *io = zeebe_ext(e->node, "ioMapping"), *th = zeebe_ext(e->node, "taskHeaders");
    for (size_t i = 0; io && i < io->nkids; i++) {
        const bpmn_node_t *k = io->kids[i];
        if (!bpmn_is(k, ZEEBE, "input"))
            continue;
        const char *t = bpmn_attr(k, "target"), *src = bpmn_attr(k, "source");
        if (t && !listed(inputs, t))
            entry(out, e->id, "connector-not-honoured", true,
                  "input '%s' of the %s connector task '%s' is not honoured by the engine", t, type, e->id);
        if (src && strstr(src, "{{secrets."))
            entry(out, e->id, "connector-not-honoured", true,
                  "input '%s' of '%s' names a Camunda secret, which is not resolved here: the job fails with an "
                  "incident (store the credentials in a connector and use type=\"integration\")", t ? t : "?",
                  e->id);
        if (rest && t && src && *src != '=' && !strcmp(t, "authentication.type") && !listed(auth_types, src))
            entry(out, e->id, "connector-not-honoured", true,
                  "authentication.type '%s' of '%s' is not supported (noAuth, basic, bearer, apiKey, "
                  "oauth-client-credentials-flow): the job fails with an incident", src, e->id);
    }
    bool has_url = false;
    for (size_t i = 0; io && i < io->nkids; i++)
        has_url = has_url || (bpmn_is(io->kids[i], ZEEBE, "input") && bpmn_attr(io->kids[i], "target") &&
                              !strcmp(bpmn_attr(io->kids[i], "target"), "url"));
    if (rest && !has_url)
        entry(out, e->id, "connector-no-url", true,
              "the REST connector task '%s' has no input 'url': unless a variable 'url' is set when it runs, the "
              "job fails with an incident", e->id);
    const char *connector = NULL;
    for (size_t i = 0; th && i < th->nkids; i++) {
        const bpmn_node_t *k = th->kids[i];
        const char *key = bpmn_is(k, ZEEBE, "header") ? bpmn_attr(k, "key") : NULL;
        if (key && !listed(headers, key))
            entry(out, e->id, "connector-not-honoured", true,
                  "task header '%s' of the %s connector task '%s' is not honoured by the engine", key, type, e->id);
        if (key && !strcmp(key, "connector"))
            connector = bpmn_attr(k, "value");
    }
    if (!rest && (!connector || !*connector)) {
        entry(out, e->id, "integration-without-connector", false,
              "serviceTask '%s' of type \"integration\" needs a zeebe:header key=\"connector\" naming a stored "
              "connector (its id or name)", e->id);
        return 1;
    }
    return 0;
}

int bpmn__connector_checks(const bpmn_model_t *m, cJSON *out)
{
    int errors = 0;
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (e->kind == BPMN_K_DI || !e->node || !e->id)
            continue;
        const bpmn_node_t *td = zeebe_ext(e->node, "taskDefinition");
        const char *type = td ? bpmn_attr(td, "type") : NULL;
        if (type && (!strcmp(type, "io.camunda:http-json:1") || !strcmp(type, "integration")))
            errors += check_task(out, e, type);
    }
    return errors;
}
