/*
 * bpmn_camunda7.c — warnings for the Camunda 7 extensions (camunda: attributes and
 * extension elements, namespace http://camunda.org/schema/1.0/bpmn) that a model
 * carries and the execution engine does not honour: asynchronous continuations,
 * listeners, connectors, form keys outside the model, version bindings, and so on.
 * bpmn_validate() appends them, so saving and publishing a process name them.
 *
 * The honoured list mirrors src/modules/execution/exec_camunda7.c (which reads them)
 * and docs/execution.md "Camunda 7 models"; change the three together. Only warnings
 * come from here: what cannot run at all (untranslatable JUEL, a script condition) is
 * refused by the engine when an instance starts, naming the element and the construct.
 */
#include "bpmn_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CAMUNDA_NS "http://camunda.org/schema/1.0/bpmn"

/* Attributes the engine reads, by the element they are on ("*" any). */
static const struct { const char *el, *attr; } honoured_attrs[] = {
    { "userTask", "assignee" }, { "userTask", "candidateUsers" }, { "userTask", "candidateGroups" },
    { "userTask", "dueDate" },
    { "serviceTask", "type" }, { "serviceTask", "topic" }, { "serviceTask", "class" },
    { "serviceTask", "delegateExpression" }, { "serviceTask", "expression" },
    { "sendTask", "type" }, { "sendTask", "topic" }, { "sendTask", "class" },
    { "sendTask", "delegateExpression" }, { "sendTask", "expression" },
    { "businessRuleTask", "type" }, { "businessRuleTask", "topic" }, { "businessRuleTask", "class" },
    { "businessRuleTask", "delegateExpression" }, { "businessRuleTask", "expression" },
    { "businessRuleTask", "decisionRef" }, { "businessRuleTask", "resultVariable" },
    { "businessRuleTask", "mapDecisionResult" }, { "businessRuleTask", "decisionRefVersionTag" },
    { "scriptTask", "resultVariable" },
    { "messageEventDefinition", "type" }, { "messageEventDefinition", "topic" },
    { "messageEventDefinition", "class" }, { "messageEventDefinition", "delegateExpression" },
    { "messageEventDefinition", "expression" },
    { "multiInstanceLoopCharacteristics", "collection" },
    { "multiInstanceLoopCharacteristics", "elementVariable" },
};

/* Extension elements the engine reads, by the element they are on. */
static const struct { const char *el, *name; } honoured_exts[] = {
    { "*", "inputOutput" }, { "callActivity", "in" }, { "callActivity", "out" },
    { "userTask", "formData" }, { "serviceTask", "failedJobRetryTimeCycle" },
    { "sendTask", "failedJobRetryTimeCycle" }, { "businessRuleTask", "failedJobRetryTimeCycle" },
};

/* Why some common ones are not honoured (the rest get a general sentence). */
static const struct { const char *name, *why; } reasons[] = {
    { "asyncBefore", "every step is already its own transaction" },
    { "asyncAfter", "every step is already its own transaction" },
    { "exclusive", "every step is already its own transaction" },
    { "executionListener", "listeners run Java code; model the work as a task" },
    { "taskListener", "listeners run Java code; model the work as a task" },
    { "formKey", "the form lives outside the model: the task is created without a form and its answer is "
                 "not validated (camunda:formData or zeebe:userTaskForm are read)" },
    { "connector", "connectors are not run here: the task becomes a job of the connector's id for an "
                   "external worker" },
    { "properties", "extension properties are kept in the model only" },
    { "historyTimeToLive", "history is kept until it is deleted" },
    { "initiator", "the starting user is not recorded in a variable" },
    { "priority", "tasks get the default priority" },
    { "followUpDate", "tasks get no follow-up date" },
    { "calledElementBinding", "only the latest published version can be called: starting an instance is refused" },
    { "decisionRefBinding", "only latest or versionTag: starting an instance is refused" },
};

static bool honoured_attr(const char *el, const char *attr, const char *value)
{
    /* a version binding that asks for the latest is what happens anyway */
    if ((!strcmp(attr, "calledElementBinding") || !strcmp(attr, "decisionRefBinding")) && value &&
        (!strcmp(value, "latest") || (!strcmp(attr, "decisionRefBinding") && !strcmp(value, "versionTag"))))
        return true;
    for (size_t i = 0; i < sizeof(honoured_attrs) / sizeof(honoured_attrs[0]); i++)
        if ((!strcmp(honoured_attrs[i].el, "*") || !strcmp(honoured_attrs[i].el, el)) &&
            !strcmp(honoured_attrs[i].attr, attr))
            return true;
    return false;
}

static bool honoured_ext(const char *el, const char *name)
{
    for (size_t i = 0; i < sizeof(honoured_exts) / sizeof(honoured_exts[0]); i++)
        if ((!strcmp(honoured_exts[i].el, "*") || !strcmp(honoured_exts[i].el, el)) &&
            !strcmp(honoured_exts[i].name, name))
            return true;
    return false;
}

static void warn(cJSON *out, const char *id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn(cJSON *out, const char *id, const char *code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "severity", "warning");
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddItemToArray(out, o);
}

static void not_honoured(cJSON *out, const char *id, const char *what, const char *name)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (!strcmp(reasons[i].name, name)) {
            warn(out, id, "camunda7-not-honoured", "%s camunda:%s on '%s' is not honoured: %s", what, name, id,
                 reasons[i].why);
            return;
        }
    warn(out, id, "camunda7-not-honoured", "%s camunda:%s on '%s' is not honoured by the engine", what, name, id);
}

/* The camunda: attributes of n (an element, or an event/loop definition inside one);
 * none: the engine reads none of them there (a message end event's delegate). */
static void check_attrs(cJSON *out, const char *id, const bpmn_node_t *n, bool none)
{
    for (size_t i = 0; i < n->nattrs; i++) {
        const bpmn_attr_t *a = &n->attrs[i];
        if (!a->ns || strcmp(a->ns, CAMUNDA_NS) || (!none && honoured_attr(n->name, a->name, a->value)))
            continue;
        not_honoured(out, id, "the attribute", a->name);
    }
}

static void check_element(cJSON *out, const bpmn_el_t *e)
{
    const bpmn_node_t *n = e->node;
    check_attrs(out, e->id, n, false);
    for (size_t i = 0; i < n->nkids; i++) {
        const bpmn_node_t *k = n->kids[i];
        if (bpmn_is(k, BPMN_NS, "multiInstanceLoopCharacteristics") ||
            (k->ns && !strcmp(k->ns, BPMN_NS) && strstr(k->name, "EventDefinition")))
            check_attrs(out, e->id, k, strcmp(e->type, "intermediateThrowEvent") &&
                                       bpmn_is(k, BPMN_NS, "messageEventDefinition"));
        if (!bpmn_is(k, BPMN_NS, "extensionElements"))
            continue;
        for (size_t j = 0; j < k->nkids; j++) {
            const bpmn_node_t *x = k->kids[j];
            if (!x->ns || strcmp(x->ns, CAMUNDA_NS))
                continue;
            if (!honoured_ext(e->type, x->name))
                not_honoured(out, e->id, "the extension element", x->name);
            else if (!strcmp(x->name, "formData"))
                for (size_t f = 0; f < x->nkids; f++) {
                    bpmn_node_t *v = bpmn_child(x->kids[f], CAMUNDA_NS, "validation");
                    for (size_t c = 0; v && c < v->nkids; c++) {
                        const char *cn = bpmn_attr(v->kids[c], "name");
                        if (cn && strcmp(cn, "required") && strcmp(cn, "min") && strcmp(cn, "max") &&
                            strcmp(cn, "minlength") && strcmp(cn, "maxlength"))
                            warn(out, e->id, "camunda7-not-honoured",
                                 "form field constraint '%s' on '%s' is not checked", cn, e->id);
                    }
                }
        }
    }
    /* a decision result Camunda 7 keys by output name: single-output decisions give
     * their value alone here, so these maps cannot be built for them */
    const char *dr = bpmn_attr_ns(n, CAMUNDA_NS, "decisionRef");
    const char *map = bpmn_attr_ns(n, CAMUNDA_NS, "mapDecisionResult");
    if (dr && bpmn_attr_ns(n, CAMUNDA_NS, "resultVariable") && (!map || !strcmp(map, "resultList") ||
                                                                !strcmp(map, "singleResult")))
        warn(out, e->id, "camunda7-partial",
             "camunda:mapDecisionResult '%s' on '%s' works for decisions with several outputs only; a "
             "single-output decision makes an incident (use singleEntry or collectEntries)",
             map ? map : "resultList", e->id);
    const bpmn_node_t *ee = bpmn_child(n, BPMN_NS, "extensionElements");
    const bpmn_node_t *io = ee ? bpmn_child(ee, CAMUNDA_NS, "inputOutput") : NULL;
    if (io && bpmn_child(io, CAMUNDA_NS, "outputParameter") && strcmp(e->type, "callActivity"))
        warn(out, e->id, "camunda7-partial",
             "with camunda:outputParameter only the outputs leave '%s' (the rule of zeebe:ioMapping); Camunda 7 "
             "also let through the variables a worker or a form answer sets", e->id);
    for (size_t i = 0; ee && !strcmp(e->type, "callActivity") && i < ee->nkids; i++) {
        const bpmn_node_t *k = ee->kids[i];
        if (!bpmn_is(k, CAMUNDA_NS, "in") && !bpmn_is(k, CAMUNDA_NS, "out"))
            continue;
        const char *bk = bpmn_attr(k, "businessKey"), *local = bpmn_attr(k, "local");
        if (bk && strcmp(bk, "#{execution.processBusinessKey}") && strcmp(bk, "${execution.processBusinessKey}"))
            warn(out, e->id, "camunda7-not-honoured",
                 "camunda:in businessKey=\"%s\" on '%s' is not honoured: the called instance gets the caller's "
                 "business key", bk, e->id);
        if (local && !strcmp(local, "true"))
            warn(out, e->id, "camunda7-not-honoured", "camunda:%s local=\"true\" on '%s' is not honoured: "
                 "the mapping reads the variables the element sees", k->name, e->id);
    }
}

void bpmn__camunda7_warnings(const bpmn_model_t *m, cJSON *out)
{
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (e->kind == BPMN_K_DI || !e->node || !e->id)
            continue;
        check_element(out, e);
    }
}
