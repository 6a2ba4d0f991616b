/*
 * sched_ptimer.c — timer start events of published processes as read-only entries of
 * `GET /schedules` (kind `process-timer`), so one list shows everything that will fire.
 * The Execution Engine arms and fires them; they are read from its public accessor
 * `GET /executions/start-timers` (fm_call, the caller's tenant) on each request, never
 * copied into this module's database. Changing one is changing the process.
 */
#include "sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sched_ptimer_is(const char *id)
{
    return id && !strncmp(id, SCHED_PTIMER_PREFIX, strlen(SCHED_PTIMER_PREFIX));
}

static cJSON *entry(const cJSON *t)
{
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItem(t, "processId"));
    const char *bpmn = cJSON_GetStringValue(cJSON_GetObjectItem(t, "bpmnProcessId"));
    const char *el = cJSON_GetStringValue(cJSON_GetObjectItem(t, "elementId"));
    const char *due = cJSON_GetStringValue(cJSON_GetObjectItem(t, "dueAt"));
    if (!pid || !el)
        return NULL;
    char id[400], name[400];
    snprintf(id, sizeof(id), SCHED_PTIMER_PREFIX "%s:%s", pid, el);
    snprintf(name, sizeof(name), "%s / %s", bpmn && *bpmn ? bpmn : pid, el);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "kind", "process-timer");
    cJSON_AddBoolToObject(o, "readOnly", true);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "trigger", "process-timer");
    cJSON *a = cJSON_AddObjectToObject(o, "action");
    cJSON_AddStringToObject(a, "kind", "process");
    cJSON_AddStringToObject(a, "processId", pid);
    cJSON *p = cJSON_AddObjectToObject(o, "process");
    cJSON_AddStringToObject(p, "processId", pid);
    cJSON_AddStringToObject(p, "bpmnProcessId", bpmn ? bpmn : "");
    cJSON_AddItemToObject(p, "version", cJSON_Duplicate(cJSON_GetObjectItem(t, "version"), true));
    cJSON_AddStringToObject(p, "elementId", el);
    cJSON_AddItemToObject(p, "repeat", cJSON_Duplicate(cJSON_GetObjectItem(t, "repeat"), true));
    cJSON_AddItemToObject(p, "everyMs", cJSON_Duplicate(cJSON_GetObjectItem(t, "everyMs"), true));
    cJSON_AddStringToObject(o, "timezone", "UTC");
    cJSON_AddBoolToObject(o, "enabled", true);
    if (due)
        cJSON_AddStringToObject(o, "nextFireAt", due);
    else
        cJSON_AddNullToObject(o, "nextFireAt");
    return o;
}

cJSON *sched_ptimers(const char *tenant)
{
    cJSON *out = cJSON_CreateArray();
    int status = 0;
    char *body = NULL;
    /* no engine in this process (or it failed): the list has the stored schedules only */
    if (fm_call_system(tenant, FM_GET, "/executions/start-timers", NULL, &status, &body) == FM_OK &&
        status == 200) {
        cJSON *j = cJSON_Parse(body);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "items"))
        {
            cJSON *e = entry(t);
            if (e)
                cJSON_AddItemToArray(out, e);
        }
        cJSON_Delete(j);
    }
    free(body);
    return out;
}

cJSON *sched_ptimer_find(const char *tenant, const char *id)
{
    cJSON *all = sched_ptimers(tenant), *found = NULL, *e;
    cJSON_ArrayForEach(e, all) if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "id")), id))
    {
        found = cJSON_DetachItemViaPointer(all, e);
        break;
    }
    cJSON_Delete(all);
    return found;
}

int sched_ptimer_refuse(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    cJSON *e = sched_ptimer_find(fm_req_tenant(r), id);
    if (!e)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no schedule '%s'", id);
    cJSON *p = cJSON_GetObjectItem(e, "process");
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddStringToObject(ext, "scheduleId", id);
    cJSON_AddStringToObject(ext, "processId", cJSON_GetStringValue(cJSON_GetObjectItem(p, "processId")));
    cJSON_AddStringToObject(ext, "elementId", cJSON_GetStringValue(cJSON_GetObjectItem(p, "elementId")));
    int rc = fm_reply_problem(r, 409, "urn:flowmaster:problem:schedule-read-only", "Read-only Schedule", ext,
                              "'%s' is the timer start event '%s' of the published process '%s': it comes from "
                              "the process and is read-only here; change the process (Process Design) and "
                              "publish it, or archive it to stop the timer",
                              id, cJSON_GetStringValue(cJSON_GetObjectItem(p, "elementId")),
                              cJSON_GetStringValue(cJSON_GetObjectItem(p, "processId")));
    cJSON_Delete(e);
    return rc;
}
