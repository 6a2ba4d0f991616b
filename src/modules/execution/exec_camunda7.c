/*
 * exec_camunda7.c — Camunda 7 models (the `camunda:` extensions, namespace
 * http://camunda.org/schema/1.0/bpmn) compiled into the same node fields the zeebe:
 * extensions fill, so the token machine runs them unchanged: user task assignment and
 * due date, camunda:formData as a JSON Schema form, external tasks and Java delegates
 * as jobs, camunda:decisionRef as a called decision (with camunda:mapDecisionResult
 * applied to the decision's value), camunda:inputOutput as input/output mappings,
 * camunda:in/out on call activities, camunda:collection on multi-instance, and JUEL
 * `${…}` anywhere an expression is read (exec_juel.c translates it to FEEL).
 *
 * exec_def.c calls in here with one line per hook; where a zeebe: extension and a
 * camunda: one say the same thing, the zeebe: one wins. What is present but not
 * honoured is named as a warning at publish by src/bpmn/bpmn_camunda7.c.
 * docs/execution.md "Camunda 7 models" lists all of it.
 */
#include "exec_int.h"
#include "exec_juel.h"

#include "../../bpmn/bpmn.h"
#include "../../fm_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define C7_VALUE_DEPTH 8            /* camunda:list / camunda:map nesting */

static const char *cattr(const bpmn_node_t *n, const char *name)
{
    return bpmn_attr_ns(n, EX_CAMUNDA_NS, name);
}

static bpmn_node_t *ext(const bpmn_node_t *n, const char *ns, const char *name)
{
    bpmn_node_t *ee = n ? bpmn_child(n, BPMN_NS, "extensionElements") : NULL;
    return ee ? bpmn_child(ee, ns, name) : NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

feel_expr_t *ex_c7_juel(const char *src, const char *what, const char *el, char *err, size_t errlen)
{
    char why[300];
    char *feel = ex_juel_to_feel(src, why, sizeof(why));
    if (!feel) {
        set_err(err, errlen, "%s of '%s': JUEL cannot be translated to FEEL: %s", what, el, why);
        return NULL;
    }
    feel_perr_t pe;
    feel_expr_t *e = feel_parse(feel, FEEL_EXPR, NULL, &pe);
    if (!e)
        set_err(err, errlen, "%s of '%s': the FEEL translation of its JUEL does not parse (%s)", what, el, pe.msg);
    free(feel);
    return e;
}

/* A camunda: attribute value: JUEL becomes FEEL, anything else is literal text. */
static void value_of(ex_expr_t *x, const char *src, const char *what, const char *el, char *err, size_t errlen)
{
    if (!src || !*src)
        return;
    if (ex_juel_is(src))
        x->feel = ex_c7_juel(src, what, el, err, errlen);
    else
        x->text = strdup(src);
}

/* Appends text as a FEEL string literal. */
static void feel_string(fm_buf_t *b, const char *s)
{
    fm_buf_adds(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fm_buf_add(b, "\\", 1);
        if (*s == '\n')
            fm_buf_adds(b, "\\n");
        else if (*s != '\r')
            fm_buf_add(b, s, 1);
    }
    fm_buf_adds(b, "\"");
}

/* The FEEL text of a camunda:inputParameter / outputParameter / list item / map
 * entry: its camunda:list or camunda:map, else its text (JUEL or a literal string),
 * else null. */
static void param_feel(fm_buf_t *b, const bpmn_node_t *k, int depth, const char *what, const char *el,
                       char *err, size_t errlen)
{
    if (depth > C7_VALUE_DEPTH) {
        set_err(err, errlen, "%s of '%s': camunda:list/camunda:map nested deeper than %d", what, el,
                C7_VALUE_DEPTH);
        return;
    }
    bpmn_node_t *list = bpmn_child(k, EX_CAMUNDA_NS, "list"), *map = bpmn_child(k, EX_CAMUNDA_NS, "map");
    if (bpmn_child(k, EX_CAMUNDA_NS, "script")) {
        set_err(err, errlen, "%s of '%s': camunda:script values are not supported (no script engine)", what, el);
        return;
    }
    if (list) {
        fm_buf_adds(b, "[");
        for (size_t i = 0, n = 0; i < list->nkids; i++) {
            if (list->kids[i]->ns == NULL || strcmp(list->kids[i]->ns, EX_CAMUNDA_NS))
                continue;
            if (n++)
                fm_buf_adds(b, ", ");
            param_feel(b, list->kids[i], depth + 1, what, el, err, errlen);
        }
        fm_buf_adds(b, "]");
    } else if (map) {
        fm_buf_adds(b, "{");
        for (size_t i = 0, n = 0; i < map->nkids; i++) {
            bpmn_node_t *e = map->kids[i];
            if (!bpmn_is(e, EX_CAMUNDA_NS, "entry"))
                continue;
            if (n++)
                fm_buf_adds(b, ", ");
            feel_string(b, bpmn_attr(e, "key") ? bpmn_attr(e, "key") : "");
            fm_buf_adds(b, ": ");
            param_feel(b, e, depth + 1, what, el, err, errlen);
        }
        fm_buf_adds(b, "}");
    } else if (!k->text || !*k->text) {
        fm_buf_adds(b, "null");
    } else if (ex_juel_is(k->text)) {
        char why[300];
        char *f = ex_juel_to_feel(k->text, why, sizeof(why));
        if (!f) {
            set_err(err, errlen, "%s of '%s': JUEL cannot be translated to FEEL: %s", what, el, why);
            return;
        }
        fm_buf_addf(b, "(%s)", f);
        free(f);
    } else
        feel_string(b, k->text);
}

static ex_map_t *map_add(ex_map_t **arr, int *cnt)
{
    ex_map_t *a = realloc(*arr, sizeof(ex_map_t) * (size_t)(*cnt + 1));
    if (!a)
        return NULL;
    *arr = a;
    ex_map_t *mp = &a[(*cnt)++];
    memset(mp, 0, sizeof(*mp));
    return mp;
}

static void map_feel(ex_map_t *mp, const char *feel, const char *target, const char *what, const char *el,
                     char *err, size_t errlen)
{
    feel_perr_t pe;
    mp->source.feel = feel ? feel_parse(feel, FEEL_EXPR, NULL, &pe) : NULL;
    if (!mp->source.feel)
        set_err(err, errlen, "%s '%s' of '%s': %s", what, target ? target : "", el,
                feel ? pe.msg : "out of memory");
    mp->target = target ? strdup(target) : NULL;
}

/* camunda:inputOutput: inputs become the element's local variables, outputs what it
 * hands back — the semantics of zeebe:ioMapping on the same element. */
static void input_output(ex_node_t *x, const bpmn_node_t *io, char *err, size_t errlen)
{
    for (size_t i = 0; i < io->nkids && !err[0]; i++) {
        bpmn_node_t *k = io->kids[i];
        bool in = bpmn_is(k, EX_CAMUNDA_NS, "inputParameter"), out = bpmn_is(k, EX_CAMUNDA_NS, "outputParameter");
        if (!in && !out)
            continue;
        const char *name = bpmn_attr(k, "name");
        const char *what = in ? "camunda:inputParameter" : "camunda:outputParameter";
        if (!name || !*name) {
            set_err(err, errlen, "%s of '%s' has no name", what, x->id);
            return;
        }
        fm_buf_t b = FM_BUF_INIT;
        param_feel(&b, k, 0, what, x->id, err, errlen);
        ex_map_t *mp = map_add(in ? &x->ins : &x->outs, in ? &x->nins : &x->nouts);
        if (!mp) {
            fm_buf_release(&b);
            set_err(err, errlen, "out of memory");
            return;
        }
        if (!err[0])
            map_feel(mp, b.oom ? NULL : b.data, name, what, x->id, err, errlen);
        else
            mp->target = strdup(name);
        fm_buf_release(&b);
        if (in)
            x->has_ins = true;
        else
            x->has_outs = true;
    }
}

/* camunda:in / camunda:out of a call activity. As in Camunda 7, a call activity
 * passes nothing it is not told to: no camunda:in, an empty child; no camunda:out,
 * nothing comes back; variables="all" passes everything. */
static void call_mappings(ex_node_t *x, const bpmn_node_t *n, char *err, size_t errlen)
{
    bpmn_node_t *ee = bpmn_child(n, BPMN_NS, "extensionElements");
    bool all[2] = { false, false }, one[2] = { false, false };
    for (size_t i = 0; ee && i < ee->nkids && !err[0]; i++) {
        bpmn_node_t *k = ee->kids[i];
        bool in = bpmn_is(k, EX_CAMUNDA_NS, "in"), out = bpmn_is(k, EX_CAMUNDA_NS, "out");
        if (!in && !out)
            continue;
        const char *what = in ? "camunda:in" : "camunda:out";
        const char *v = bpmn_attr(k, "variables"), *src = bpmn_attr(k, "source"),
                   *sx = bpmn_attr(k, "sourceExpression"), *target = bpmn_attr(k, "target");
        if (v && !strcmp(v, "all")) {
            all[out] = true;
            continue;
        }
        if (bpmn_attr(k, "businessKey"))
            continue;   /* the child always gets the parent's business key; bpmn_camunda7.c warns otherwise */
        if ((!src && !sx) || !target) {
            set_err(err, errlen, "%s of callActivity '%s' needs source or sourceExpression, and target", what, x->id);
            return;
        }
        ex_map_t *mp = map_add(in ? &x->ins : &x->outs, in ? &x->nins : &x->nouts);
        if (!mp) {
            set_err(err, errlen, "out of memory");
            return;
        }
        if (sx) {
            mp->source.feel = ex_c7_juel(sx, what, x->id, err, errlen);
            mp->target = strdup(target);
        } else
            map_feel(mp, src, target, what, x->id, err, errlen);
        one[out] = true;
    }
    for (int d = 0; d < 2 && !err[0]; d++)
        if (all[d] && one[d])
            set_err(err, errlen, "callActivity '%s': camunda:%s variables=\"all\" together with single mappings "
                    "is not supported", x->id, d ? "out" : "in");
    /* no mapping at all, or single ones: exactly those; variables="all": everything */
    x->has_ins = !all[0];
    x->has_outs = !all[1];
}

/* A JSON Schema (the Human Task Service's form) from camunda:formData. */
static void form_data(ex_node_t *x, const bpmn_node_t *fd, char *err, size_t errlen)
{
    cJSON *schema = cJSON_CreateObject(), *props = cJSON_CreateObject(), *req = cJSON_CreateArray();
    cJSON_AddStringToObject(schema, "type", "object");
    for (size_t i = 0; i < fd->nkids && !err[0]; i++) {
        bpmn_node_t *f = fd->kids[i];
        if (!bpmn_is(f, EX_CAMUNDA_NS, "formField"))
            continue;
        const char *id = bpmn_attr(f, "id"), *type = bpmn_attr(f, "type");
        if (!id || !*id) {
            set_err(err, errlen, "camunda:formField of '%s' has no id", x->id);
            break;
        }
        cJSON *p = cJSON_CreateObject();
        if (bpmn_attr(f, "label"))
            cJSON_AddStringToObject(p, "title", bpmn_attr(f, "label"));
        bool number = type && !strcmp(type, "long");
        if (type && (!strcmp(type, "string") || !strcmp(type, "date")))
            cJSON_AddStringToObject(p, "type", "string");
        else if (number)
            cJSON_AddStringToObject(p, "type", "integer");
        else if (type && !strcmp(type, "boolean"))
            cJSON_AddStringToObject(p, "type", "boolean");
        else if (type && !strcmp(type, "enum")) {
            cJSON *vals = cJSON_CreateArray();
            for (size_t j = 0; j < f->nkids; j++)
                if (bpmn_is(f->kids[j], EX_CAMUNDA_NS, "value") && bpmn_attr(f->kids[j], "id"))
                    cJSON_AddItemToArray(vals, cJSON_CreateString(bpmn_attr(f->kids[j], "id")));
            cJSON_AddItemToObject(p, "enum", vals);
        }
        bpmn_node_t *val = bpmn_child(f, EX_CAMUNDA_NS, "validation");
        for (size_t j = 0; val && j < val->nkids; j++) {
            bpmn_node_t *c = val->kids[j];
            const char *cn = bpmn_is(c, EX_CAMUNDA_NS, "constraint") ? bpmn_attr(c, "name") : NULL;
            const char *cfg = bpmn_attr(c, "config");
            if (!cn)
                continue;
            if (!strcmp(cn, "required"))
                cJSON_AddItemToArray(req, cJSON_CreateString(id));
            else if (cfg && (!strcmp(cn, "min") || !strcmp(cn, "max")))
                cJSON_AddNumberToObject(p, !strcmp(cn, "min") ? "minimum" : "maximum", atof(cfg));
            else if (cfg && (!strcmp(cn, "minlength") || !strcmp(cn, "maxlength")))
                cJSON_AddNumberToObject(p, !strcmp(cn, "minlength") ? "minLength" : "maxLength", atof(cfg));
            /* readonly and custom validators: bpmn_camunda7.c warns */
        }
        cJSON_AddItemToObject(props, id, p);
    }
    cJSON_AddItemToObject(schema, "properties", props);
    if (cJSON_GetArraySize(req))
        cJSON_AddItemToObject(schema, "required", req);
    else
        cJSON_Delete(req);
    if (!err[0])
        x->form = cJSON_PrintUnformatted(schema);
    cJSON_Delete(schema);
}

static int decision_map_of(const char *s)
{
    if (!s || !strcmp(s, "resultList"))
        return EX_C7_RESULT_LIST;
    if (!strcmp(s, "singleEntry"))
        return EX_C7_SINGLE_ENTRY;
    if (!strcmp(s, "singleResult"))
        return EX_C7_SINGLE_RESULT;
    if (!strcmp(s, "collectEntries"))
        return EX_C7_COLLECT_ENTRIES;
    return 0;
}

/* Whether the model was written for Camunda 7: it declares the camunda: namespace and
 * not zeebe:, or Camunda Modeler marked it for the Camunda Platform (7). */
static bool c7_model(const bpmn_node_t *n)
{
    while (n && n->parent)
        n = n->parent;
    if (!n)
        return false;
    const char *plat = NULL;
    for (size_t i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].name, "executionPlatform"))
            plat = n->attrs[i].value;
    if (plat)
        return !strcmp(plat, "Camunda Platform");
    bool c7 = false, zb = false;
    for (size_t i = 0; i < n->ndecls; i++) {
        c7 |= n->decls[i].uri && !strcmp(n->decls[i].uri, EX_CAMUNDA_NS);
        zb |= n->decls[i].uri && !strcmp(n->decls[i].uri, ZEEBE_NS);
    }
    return c7 && !zb;
}

void ex_c7_node(ex_node_t *x, const bpmn_node_t *n, char *err, size_t errlen)
{
    bool zeebe_job = ext(n, ZEEBE_NS, "taskDefinition") != NULL;
    /* jobs: external tasks by topic, Java delegates by their class or expression */
    if (!zeebe_job && !x->job_type && (x->kind == N_JOB || x->kind == N_SEND || x->kind == N_RULE)) {
        /* a message throw event keeps them on its event definition */
        bpmn_node_t *med = bpmn_child(n, BPMN_NS, "messageEventDefinition");
        const bpmn_node_t *h = n;
        if (med && !cattr(n, "class") && !cattr(n, "delegateExpression") && !cattr(n, "expression") &&
            !cattr(n, "type"))
            h = med;
        const char *type = cattr(h, "type"), *topic = cattr(h, "topic");
        const char *delegate = cattr(h, "class") ? cattr(h, "class")
                             : cattr(h, "delegateExpression") ? cattr(h, "delegateExpression")
                                                              : cattr(h, "expression");
        bpmn_node_t *conn = ext(n, EX_CAMUNDA_NS, "connector");
        bpmn_node_t *cid = conn ? bpmn_child(conn, EX_CAMUNDA_NS, "connectorId") : NULL;
        if (type && !strcmp(type, "external")) {
            if (!topic || !*topic)
                set_err(err, errlen, "external task '%s' has no camunda:topic", x->id);
            else
                x->job_type = strdup(topic);
        } else if (type)
            set_err(err, errlen, "%s '%s': camunda:type '%s' is not supported (only \"external\")", x->type, x->id,
                    type);
        else if (delegate && *delegate)
            x->job_type = strdup(delegate);
        else if (cid && cid->text && *cid->text)
            x->job_type = strdup(cid->text);
        if (x->job_type) {
            x->retries = 3;
            bpmn_node_t *rc = ext(n, EX_CAMUNDA_NS, "failedJobRetryTimeCycle");
            if (rc && rc->text && rc->text[0] == 'R' && atoi(rc->text + 1) > 0)
                x->retries = atoi(rc->text + 1);
        }
    }
    /* business rule task: the decision by its DMN id */
    if (x->kind == N_RULE && !x->job_type && !ext(n, ZEEBE_NS, "calledDecision") && cattr(n, "decisionRef")) {
        x->decision = strdup(cattr(n, "decisionRef"));
        if (ex_juel_is(x->decision))
            set_err(err, errlen, "businessRuleTask '%s': a camunda:decisionRef given by an expression is not "
                    "supported (name the decision id)", x->id);
        if (cattr(n, "resultVariable"))
            x->result_var = strdup(cattr(n, "resultVariable"));
        const char *bind = cattr(n, "decisionRefBinding"), *tag = cattr(n, "decisionRefVersionTag");
        if (bind && !strcmp(bind, "versionTag") && tag && *tag)
            x->decision_tag = strdup(tag);
        else if (bind && strcmp(bind, "latest"))
            set_err(err, errlen, "businessRuleTask '%s': camunda:decisionRefBinding '%s' is not supported (latest, "
                    "or versionTag with camunda:decisionRefVersionTag)", x->id, bind);
        x->dec_map = decision_map_of(cattr(n, "mapDecisionResult"));
        if (!x->dec_map)
            set_err(err, errlen, "businessRuleTask '%s': camunda:mapDecisionResult '%s' is not one of singleEntry, "
                    "singleResult, collectEntries, resultList", x->id, cattr(n, "mapDecisionResult"));
    }
    /* user task: assignment, due date, generated form */
    if (x->kind == N_USER) {
        if (!ext(n, ZEEBE_NS, "assignmentDefinition")) {
            value_of(&x->assignee, cattr(n, "assignee"), "camunda:assignee", x->id, err, errlen);
            value_of(&x->cand_users, cattr(n, "candidateUsers"), "camunda:candidateUsers", x->id, err, errlen);
            value_of(&x->cand_groups, cattr(n, "candidateGroups"), "camunda:candidateGroups", x->id, err, errlen);
        }
        if (!ext(n, ZEEBE_NS, "taskSchedule"))
            value_of(&x->due, cattr(n, "dueDate"), "camunda:dueDate", x->id, err, errlen);
        bpmn_node_t *fd = ext(n, EX_CAMUNDA_NS, "formData");
        if (fd && !ext(n, ZEEBE_NS, "formDefinition"))
            form_data(x, fd, err, errlen);
    }
    /* input/output mappings */
    bpmn_node_t *io = ext(n, EX_CAMUNDA_NS, "inputOutput");
    if (io && !ext(n, ZEEBE_NS, "ioMapping") && x->kind != N_CALL && x->kind != N_START &&
        x->kind != N_BOUNDARY && x->kind != N_XOR && x->kind != N_AND && x->kind != N_OR && x->kind != N_EVENTGW &&
        x->kind != N_COMPLEX)
        input_output(x, io, err, errlen);
    if (x->kind == N_CALL && !ext(n, ZEEBE_NS, "ioMapping") && c7_model(n))
        call_mappings(x, n, err, errlen);
    const char *cb = x->kind == N_CALL ? cattr(n, "calledElementBinding") : NULL;
    if (cb && strcmp(cb, "latest"))
        set_err(err, errlen, "callActivity '%s': camunda:calledElementBinding '%s' is not supported (the latest "
                "published version is called)", x->id, cb);
    /* multi-instance over a collection */
    bpmn_node_t *mi = bpmn_child(n, BPMN_NS, "multiInstanceLoopCharacteristics");
    const char *coll = mi ? cattr(mi, "collection") : NULL;
    if (coll && *coll && !ext(mi, ZEEBE_NS, "loopCharacteristics")) {
        if (ex_juel_is(coll))
            x->mi_coll = ex_c7_juel(coll, "camunda:collection", x->id, err, errlen);
        else {
            feel_perr_t pe;
            x->mi_coll = feel_parse(coll, FEEL_EXPR, NULL, &pe);
            if (!x->mi_coll)
                set_err(err, errlen, "camunda:collection of '%s': '%s' is not a variable name", x->id, coll);
        }
        if (cattr(mi, "elementVariable"))
            x->mi_in_elem = strdup(cattr(mi, "elementVariable"));
    }
}

bool ex_c7_script_refused(const bpmn_node_t *expr, const char *el, char *err, size_t errlen)
{
    const char *lang = bpmn_attr(expr, "language");
    if (cattr(expr, "resource")) {
        set_err(err, errlen, "'%s': a condition from an external resource (camunda:resource) is not supported", el);
        return true;
    }
    if (!lang || !*lang)
        return false;
    static const char *ok[] = { "feel", "juel", "http://www.w3.org/1999/XPath",
                                "https://www.omg.org/spec/DMN/20191111/FEEL/", NULL };
    for (int i = 0; ok[i]; i++)
        if (!strcasecmp(lang, ok[i]))
            return false;
    set_err(err, errlen, "'%s': a %s script condition is not supported (JUEL or FEEL only)", el, lang);
    return true;
}

/* ---- camunda:mapDecisionResult over the decision's value ---- */

/* One rule's result as Camunda 7 has it: a map of output name to value. Here a single
 * output decision gives its value alone, so the name is unknown: false. */
static bool entry_value(const cJSON *r, const cJSON **v, int *nout)
{
    if (cJSON_IsObject(r)) {
        *nout = cJSON_GetArraySize(r);
        *v = r->child;
        return true;
    }
    *nout = 1;
    *v = r;
    return false;
}

cJSON *ex_c7_decision_result(int mode, const cJSON *val, char *why, size_t whylen)
{
    static const char *names[] = { "", "singleEntry", "singleResult", "collectEntries", "resultList" };
    /* the rules a decision matched: a list (collect), one (a single hit), none (null) */
    const cJSON *one = val;
    int n = cJSON_IsArray(val) ? cJSON_GetArraySize(val) : cJSON_IsNull(val) || !val ? 0 : 1;
    if (cJSON_IsArray(val))
        one = val->child;
    if ((mode == EX_C7_SINGLE_ENTRY || mode == EX_C7_SINGLE_RESULT) && n > 1) {
        snprintf(why, whylen, "camunda:mapDecisionResult '%s': the decision returned %d results", names[mode], n);
        return NULL;
    }
    cJSON *out = mode == EX_C7_SINGLE_ENTRY || mode == EX_C7_SINGLE_RESULT ? NULL : cJSON_CreateArray();
    for (int i = 0; i < n; i++, one = cJSON_IsArray(val) ? one->next : NULL) {
        const cJSON *v;
        int nout;
        bool named = entry_value(one, &v, &nout);
        if ((mode == EX_C7_SINGLE_ENTRY || mode == EX_C7_COLLECT_ENTRIES) && nout != 1) {
            snprintf(why, whylen, "camunda:mapDecisionResult '%s': a result has %d outputs, not one", names[mode],
                     nout);
            cJSON_Delete(out);
            return NULL;
        }
        if ((mode == EX_C7_SINGLE_RESULT || mode == EX_C7_RESULT_LIST) && !named) {
            snprintf(why, whylen, "camunda:mapDecisionResult '%s' needs the output's name, which a single-output "
                     "decision does not return here: use singleEntry or collectEntries", names[mode]);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON *item = cJSON_Duplicate(mode == EX_C7_SINGLE_ENTRY || mode == EX_C7_COLLECT_ENTRIES ? v : one, true);
        if (!out)
            return item;
        cJSON_AddItemToArray(out, item);
    }
    return out ? out : cJSON_CreateNull();
}
