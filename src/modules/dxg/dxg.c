/*
 * dxg.c — DXG Service (9011), the Dynamic Experience Generator for human tasks: the
 * routes, and the case of a task gathered from the modules that own each part through
 * their public routes, with the caller's identity (fm_call): the task (9006), its
 * instance, variables and history (9005), related documents with their extracted
 * entities (9002), similar completed tasks and their answers (9006). What the caller
 * may not read is left out and named, never guessed. `analyze` answers the case,
 * `smart-form` the form prefilled from it (dxg_form.c), `briefing` a summary for the
 * person: from a template, and also written by an agent (9007) when one is named.
 * docs/dxg.md is the contract.
 */
#include "dxg_int.h"

#include "../orchestration/orch_client.h"

#include "../../fm_buf.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

/* GET or POST path as the caller; the parsed answer when 2xx, else NULL and *status. */
static cJSON *call(fm_req_t *r, fm_method_t m, const char *path, const char *body, int *status)
{
    char *out = NULL;
    int st = 0;
    cJSON *j = NULL;
    if (fm_call(r, m, path, body, &st, &out) == FM_OK && st >= 200 && st < 300 && out)
        j = cJSON_Parse(out);
    free(out);
    if (status)
        *status = st;
    return j;
}

static void unavailable(cJSON *kase, const char *what, int status)
{
    cJSON *u = cJSON_GetObjectItem(kase, "unavailable");
    cJSON *x = cJSON_CreateObject();
    cJSON_AddStringToObject(x, "part", what);
    cJSON_AddNumberToObject(x, "status", status);
    cJSON_AddItemToArray(u, x);
}

static cJSON *or_else(cJSON *x, cJSON *otherwise)
{
    if (x) {
        cJSON_Delete(otherwise);
        return x;
    }
    return otherwise;
}

static bool doc_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 4 && n < 64 && !strncmp(s, "doc_", 4) && strspn(s + 4, "abcdefghijklmnopqrstuvwxyz0123456789") == n - 4;
}

static void add_doc_id(cJSON *ids, const char *s)
{
    if (doc_id(s) && !cJSON_GetObjectItem(ids, s) && cJSON_GetArraySize(ids) < DXG_MAX_DOCUMENTS)
        cJSON_AddTrueToObject(ids, s);
}

/* Documents: ids found among the variables (a value or an array member "doc_…") and
 * those tagged with the instance id; each with its latest extraction. */
static void gather_documents(fm_req_t *r, cJSON *kase, const cJSON *vars, const char *instance)
{
    cJSON *ids = cJSON_CreateObject(), *docs = cJSON_AddArrayToObject(kase, "documents");
    const cJSON *v, *x;
    cJSON_ArrayForEach(v, vars)
    {
        add_doc_id(ids, cJSON_GetStringValue(v));
        const cJSON *arr = cJSON_IsArray(v) ? v : NULL;
        cJSON_ArrayForEach(x, arr) add_doc_id(ids, cJSON_GetStringValue(x));
    }
    char path[200];
    int st = 0;
    if (instance) {
        snprintf(path, sizeof(path), "/documents?tag=%s&limit=%d", instance, DXG_MAX_DOCUMENTS);
        cJSON *tagged = call(r, FM_GET, path, NULL, &st);
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(tagged, "items")) add_doc_id(ids, str(x, "id"));
        cJSON_Delete(tagged);
        if (st != 200 && st != 0)
            unavailable(kase, "documents", st);
    }
    cJSON_ArrayForEach(x, ids)
    {
        snprintf(path, sizeof(path), "/documents/%s", x->string);
        cJSON *meta = call(r, FM_GET, path, NULL, &st);
        if (!meta)
            continue;   /* gone, or another tenant's: not this case's */
        snprintf(path, sizeof(path), "/documents/%s/extract", x->string);
        cJSON *ex = call(r, FM_POST, path, NULL, &st);
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", x->string);
        cJSON_AddStringToObject(d, "name", str(meta, "name") ? str(meta, "name") : "");
        cJSON_AddItemToObject(d, "documentType",
                              or_else(cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "classification"), "type"),
                                              true), cJSON_CreateNull()));
        cJSON_AddItemToObject(d, "entities", or_else(cJSON_DetachItemFromObject(ex, "entities"), cJSON_CreateArray()));
        cJSON_AddItemToObject(d, "keyValues", or_else(cJSON_DetachItemFromObject(ex, "keyValues"), cJSON_CreateArray()));
        cJSON_AddItemToArray(docs, d);
        cJSON_Delete(meta);
        cJSON_Delete(ex);
    }
    cJSON_Delete(ids);
}

/* Completed tasks of the same element (or, outside processes, the same name), newest
 * answers first as the inbox lists them, at most DXG_MAX_SIMILAR. */
static void gather_similar(fm_req_t *r, cJSON *kase, const cJSON *task)
{
    cJSON *out = cJSON_AddArrayToObject(kase, "similarTasks");
    int st = 0;
    cJSON *page = call(r, FM_GET, "/tasks?status=completed&limit=500", NULL, &st);
    if (!page) {
        unavailable(kase, "similarTasks", st);
        return;
    }
    const char *el = str(task, "elementId"), *name = str(task, "name"), *self = str(task, "id");
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(page, "items"))
    {
        if (cJSON_GetArraySize(out) >= DXG_MAX_SIMILAR)
            break;
        const char *te = str(t, "elementId"), *tn = str(t, "name");
        bool same = el ? te && !strcmp(te, el) : tn && name && !strcmp(tn, name);
        if (!same || (self && str(t, "id") && !strcmp(str(t, "id"), self)))
            continue;
        cJSON *s = cJSON_CreateObject();
        static const char *const keep[] = { "id", "name", "processInstanceId", "completedAt", "completedBy",
                                            "response" };
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
            const cJSON *v = cJSON_GetObjectItem(t, keep[i]);
            cJSON_AddItemToObject(s, keep[i], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
        }
        cJSON_AddItemToArray(out, s);
    }
    cJSON_Delete(page);
}

static int64_t parse_ms(const char *s)
{
    struct tm tm = { 0 };
    int ms = 0;
    if (!s || sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec, &ms) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The case of the task in the path, or NULL after answering (404: no such task the
 * caller may see). */
static cJSON *gather(fm_req_t *r)
{
    const char *id = fm_req_param(r, "task_id");
    if (strlen(id) > 64 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(id)) {
        fm_reply_invalid(r, "task_id", "not a task id");
        return NULL;
    }
    char path[200];
    int st = 0;
    snprintf(path, sizeof(path), "/tasks/%s", id);
    cJSON *task = call(r, FM_GET, path, NULL, &st);
    if (!task) {
        if (st == 404 || st == 403)
            fm_reply_problem(r, 404, NULL, NULL, NULL, "no task '%s' that you may see", id);
        else
            fm_reply_problem(r, 502, NULL, "Bad Gateway", NULL, "the Human Task Service answered %d", st);
        return NULL;
    }
    cJSON *kase = cJSON_CreateObject();
    cJSON_AddArrayToObject(kase, "unavailable");
    int64_t created = parse_ms(str(task, "createdAt"));
    cJSON_AddNumberToObject(task, "waitingSeconds", created ? (double)((fm_time_unix_ms() - created) / 1000) : 0);
    cJSON_AddItemToObject(kase, "task", task);
    cJSON *vars = cJSON_CreateObject();
    const char *instance = str(task, "processInstanceId");
    cJSON *process = cJSON_CreateNull(), *history = cJSON_CreateArray();
    if (instance) {
        snprintf(path, sizeof(path), "/executions/%s", instance);
        cJSON *inst = call(r, FM_GET, path, NULL, &st);
        if (inst) {
            cJSON_Delete(process);
            process = cJSON_CreateObject();
            static const char *const keep[] = { "id", "processId", "bpmnProcessId", "version", "state",
                                                "businessKey", "startedAt" };
            for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
                const cJSON *v = cJSON_GetObjectItem(inst, keep[i]);
                if (v)
                    cJSON_AddItemToObject(process, keep[i], cJSON_Duplicate(v, true));
            }
            const cJSON *v;
            cJSON_ArrayForEach(v, cJSON_GetObjectItem(inst, "variables"))
                cJSON_AddItemToObject(vars, v->string, cJSON_Duplicate(v, true));
            cJSON_Delete(inst);
            snprintf(path, sizeof(path), "/executions/%s/history?limit=%d", instance, DXG_MAX_HISTORY);
            cJSON *h = call(r, FM_GET, path, NULL, &st);
            cJSON_ArrayForEach(v, cJSON_GetObjectItem(h, "items"))
            {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddItemToObject(e, "at", cJSON_Duplicate(cJSON_GetObjectItem(v, "at"), true));
                cJSON_AddItemToObject(e, "type", cJSON_Duplicate(cJSON_GetObjectItem(v, "type"), true));
                const cJSON *el = cJSON_GetObjectItem(v, "elementId");
                cJSON_AddItemToObject(e, "elementId", el ? cJSON_Duplicate(el, true) : cJSON_CreateNull());
                cJSON_AddItemToArray(history, e);
            }
            cJSON_Delete(h);
        } else {
            unavailable(kase, "process", st);
        }
    }
    /* the task's own variables (its input mappings) over the instance's */
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(task, "variables"))
    {
        cJSON_DeleteItemFromObject(vars, v->string);
        cJSON_AddItemToObject(vars, v->string, cJSON_Duplicate(v, true));
    }
    cJSON_AddItemToObject(kase, "process", process);
    cJSON_AddItemToObject(kase, "variables", vars);
    cJSON_AddItemToObject(kase, "history", history);
    gather_documents(r, kase, vars, instance);
    gather_similar(r, kase, task);
    return kase;
}

static int analyze(fm_req_t *r)
{
    cJSON *kase = gather(r);
    return kase ? fm_reply_json(r, 200, kase) : FM_OK;
}

static int smart_form(fm_req_t *r)
{
    cJSON *kase = gather(r);
    if (!kase)
        return FM_OK;
    cJSON *o = dxg_smart_form(kase);
    cJSON_AddStringToObject(o, "taskId", str(cJSON_GetObjectItem(kase, "task"), "id"));
    cJSON_AddItemToObject(o, "unavailable", cJSON_DetachItemFromObject(kase, "unavailable"));
    cJSON_Delete(kase);
    return fm_reply_json(r, 200, o);
}

static void duration(int64_t s, char *out, size_t len)
{
    if (s < 120)
        snprintf(out, len, "%lld seconds", (long long)s);
    else if (s < 7200)
        snprintf(out, len, "%lld minutes", (long long)(s / 60));
    else if (s < 172800)
        snprintf(out, len, "%lld hours", (long long)(s / 3600));
    else
        snprintf(out, len, "%lld days", (long long)(s / 86400));
}

/* The template briefing: what the task is, how long it waits, the key facts. */
static char *template_briefing(const cJSON *kase)
{
    const cJSON *task = cJSON_GetObjectItem(kase, "task"), *proc = cJSON_GetObjectItem(kase, "process");
    fm_buf_t b = { 0 };
    char waited[40];
    duration((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(task, "waitingSeconds")), waited, sizeof(waited));
    fm_buf_addf(&b, "Task \"%s\"", str(task, "name") ? str(task, "name") : str(task, "id"));
    if (cJSON_IsObject(proc))
        fm_buf_addf(&b, " in process %s (instance %s%s%s)",
                    str(proc, "bpmnProcessId") ? str(proc, "bpmnProcessId") : str(proc, "processId"), str(proc, "id"),
                    str(proc, "businessKey") ? ", business key " : "",
                    str(proc, "businessKey") ? str(proc, "businessKey") : "");
    fm_buf_addf(&b, " has been waiting for %s", waited);
    if (str(task, "dueDate"))
        fm_buf_addf(&b, "; it is due %s", str(task, "dueDate"));
    fm_buf_addf(&b, ".");
    const cJSON *v;
    int n = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(kase, "variables"))
    {
        if (n == 8 || !(cJSON_IsString(v) || cJSON_IsNumber(v) || cJSON_IsBool(v)))
            continue;
        char *val = cJSON_PrintUnformatted(v);
        fm_buf_addf(&b, "%s %s = %.80s", n++ ? "," : " Key facts:", v->string, val ? val : "");
        cJSON_free(val);
    }
    if (n)
        fm_buf_addf(&b, ".");
    int docs = cJSON_GetArraySize(cJSON_GetObjectItem(kase, "documents"));
    if (docs)
        fm_buf_addf(&b, " %d related document%s.", docs, docs == 1 ? "" : "s");
    int sim = cJSON_GetArraySize(cJSON_GetObjectItem(kase, "similarTasks"));
    if (sim)
        fm_buf_addf(&b, " %d similar task%s answered before.", sim, sim == 1 ? " was" : "s were");
    return fm_buf_detach(&b, NULL);
}

static int briefing(fm_req_t *r)
{
    const cJSON *j = fm_req_json(r);
    static const char *const known[] = { "agentId", NULL };
    if (!fm_req_members_known(r, j, "", known, "docs/dxg.md"))
        return FM_OK;
    const char *agent = str(j, "agentId");
    if (cJSON_GetObjectItem(j, "agentId") && !orch_client_agent_ok(agent))
        return fm_reply_invalid(r, "agentId", "the id of an agent on 9007");
    cJSON *kase = gather(r);
    if (!kase)
        return FM_OK;
    char *text = template_briefing(kase);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "taskId", str(cJSON_GetObjectItem(kase, "task"), "id"));
    cJSON_AddStringToObject(o, "briefing", text ? text : "");
    cJSON_AddStringToObject(o, "source", "template");
    if (agent) {
        fm_buf_t b = { 0 };
        fm_buf_addf(&b, "Write a short case briefing for the person who works this task. Facts: %s", text ? text : "");
        char *facts = fm_buf_detach(&b, NULL);
        cJSON *ans = NULL;
        int rc = orch_client_invoke(r, agent, "agentId", "the briefing", facts ? facts : "", NULL, true, &ans);
        free(facts);
        if (rc != FM_OK) {
            free(text);
            cJSON_Delete(o);
            cJSON_Delete(kase);
            return rc == FM_REPLIED ? FM_OK : rc;
        }
        cJSON *w = cJSON_AddObjectToObject(o, "written");
        cJSON_AddStringToObject(w, "agentId", agent);
        cJSON_AddItemToObject(w, "text", or_else(cJSON_DetachItemFromObject(ans, "output"), cJSON_CreateNull()));
        cJSON_AddItemToObject(w, "provider", or_else(cJSON_DetachItemFromObject(ans, "provider"), cJSON_CreateNull()));
        cJSON_Delete(ans);
    }
    free(text);
    cJSON_AddItemToObject(o, "unavailable", cJSON_DetachItemFromObject(kase, "unavailable"));
    cJSON_Delete(kase);
    return fm_reply_json(r, 200, o);
}

static const fm_route_t routes[] = {
    { FM_POST, "/api/v1/analyze/{task_id}", analyze, FM_R_JSON, "dxg:use" },
    { FM_POST, "/api/v1/smart-form/{task_id}", smart_form, FM_R_JSON, "dxg:use" },
    { FM_POST, "/api/v1/briefing/{task_id}", briefing, FM_R_JSON, "dxg:use" },
};

const fm_module_t fm_dxg_module = {
    "dxg", "DXG Service", 9011, 0, FM_ROUTES(routes), NULL, NULL, NULL,
};
