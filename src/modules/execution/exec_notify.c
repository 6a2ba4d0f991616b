/*
 * exec_notify.c — tasks of type "notification" the engine runs itself: a serviceTask,
 * sendTask or intermediate message throw event with zeebe:taskDefinition
 * type="notification" sends a message through the Notification Service (9009) with an
 * in-process call of its public route POST /notifications/send, and completes when the
 * service has accepted it (202, queued). Headers: channel, to, template (a template
 * id), templateVersion, locale, subject, body, urgent, userId, resultVariable. A header
 * value "=a.b" reads that variable; a missing header falls back to the variable of the
 * same name (a zeebe:ioMapping input). The message's data is the task's variables, and
 * its idempotency key is the job id, so a retried or re-run job sends one message.
 * A refusal (4xx but 404/408/429: bad address, template error, channel turned off) is an
 * incident at once; anything else (the module not running, 5xx) fails the job into its retries with the
 * engine's back-off. docs/notifications.md ("In processes") is the reference.
 */
#include "exec_int.h"

#include "../../fm_log.h"
#include "../../fm_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTIFICATION "notification"

bool ex_notify_is(const char *type)
{
    return type && !strcmp(type, NOTIFICATION);
}

/* The value of header `key` (or of the variable it names), added to body as `field`. */
static void put(cJSON *body, const ex_ownjob_t *j, const cJSON *vars, const char *key, const char *field)
{
    const char *h = ex_ownjob_header(j, key);
    const cJSON *v = NULL;
    if (h && *h == '=')
        v = ex_var_path(vars, h + 1);
    else if (!h || !*h)
        v = cJSON_GetObjectItemCaseSensitive(vars, key);
    if (h && *h && *h != '=') {
        if (!strcmp(field, "templateVersion"))
            cJSON_AddNumberToObject(body, field, atoi(h));
        else if (!strcmp(field, "urgent"))
            cJSON_AddBoolToObject(body, field, !strcmp(h, "true"));
        else
            cJSON_AddStringToObject(body, field, h);
    } else if (v && !cJSON_IsNull(v)) {
        cJSON_AddItemToObject(body, field, cJSON_Duplicate(v, true));
    }
}

bool ex_notify_run(fm_db_t *db, const char *job)
{
    ex_ownjob_t j;
    int loaded = ex_ownjob_load(db, job, ex_notify_is, &j);
    if (loaded <= 0)
        return loaded < 0;
    const cJSON *vars = j.vars;
    cJSON *body = cJSON_CreateObject();
    put(body, &j, vars, "channel", "channel");
    put(body, &j, vars, "to", "to");
    put(body, &j, vars, "template", "templateId");
    put(body, &j, vars, "templateVersion", "templateVersion");
    put(body, &j, vars, "locale", "locale");
    put(body, &j, vars, "subject", "subject");
    put(body, &j, vars, "body", "body");
    put(body, &j, vars, "html", "html");
    put(body, &j, vars, "userId", "userId");
    put(body, &j, vars, "urgent", "urgent");
    if (cJSON_GetObjectItem(body, "templateId")) {
        cJSON_DeleteItemFromObject(body, "subject");
        cJSON_DeleteItemFromObject(body, "body");
        cJSON_DeleteItemFromObject(body, "html");
    }
    cJSON_AddItemToObject(body, "data", cJSON_Duplicate(vars, true));
    char key[80];
    snprintf(key, sizeof(key), "job-%s", job);
    cJSON_AddStringToObject(body, "idempotencyKey", key);
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    int status = 0;
    char *out = NULL, why[300], msg[600];
    if (text)
        fm_call_system(j.tenant, FM_POST, "/notifications/send", text, &status, &out);
    cJSON_free(text);
    cJSON *ans = out ? cJSON_Parse(out) : NULL;
    if (status == 202) {
        const char *rv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j.headers, "resultVariable"));
        cJSON *res = cJSON_CreateObject();
        if (rv && *rv) {
            cJSON *n = cJSON_AddObjectToObject(res, rv);
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "id")),
                       *st = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "status"));
            cJSON_AddStringToObject(n, "id", id ? id : "");
            cJSON_AddStringToObject(n, "status", st ? st : "");
        }
        ex_job_complete(db, j.tenant, job, res, why, sizeof(why));
        cJSON_Delete(res);
    } else {
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "detail"));
        snprintf(msg, sizeof(msg), "notification task '%.100s': POST /notifications/send answered %d: %.400s",
                 j.element, status, detail ? detail : "no answer");
        /* a refusal will not change by retrying: an incident now; else the job's retries
         * (a 404 is the module not running in this process, which a restart may change) */
        ex_job_fail(db, j.tenant, job, msg, ex_ownjob_refused(status) ? 0 : -1, -1, NULL, why, sizeof(why));
    }
    cJSON_Delete(ans);
    free(out);
    ex_ownjob_clear(&j);
    return true;
}
