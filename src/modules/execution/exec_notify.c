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
 * A refusal (4xx: bad address, template error, channel turned off) is an incident at
 * once; anything else (the service down, 5xx) fails the job into its retries with the
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

typedef struct njob {
    char tenant[80], inst[48], type[64], element[200];
    int token;
    cJSON *headers;
} njob_t;

static int njob_row(const fm_dbrow_t *st, void *arg)
{
    njob_t *j = arg;
    fm_dbrow_copy(st, 0, j->tenant, sizeof(j->tenant));
    fm_dbrow_copy(st, 1, j->inst, sizeof(j->inst));
    j->token = (int)fm_dbrow_int(st, 2);
    fm_dbrow_copy(st, 3, j->type, sizeof(j->type));
    j->headers = fm_dbrow_json(st, 4);
    fm_dbrow_copy(st, 5, j->element, sizeof(j->element));
    return FM_OK;
}

/* A variable by dotted path ("customer.email"); NULL when there is none. */
static const cJSON *var_path(const cJSON *vars, const char *path)
{
    char key[128];
    const cJSON *v = vars;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n == 0 || n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
        path += n + (path[n] == '.');
    }
    return v == vars ? NULL : v;
}

/* The value of header `key` (or of the variable it names), added to body as `field`. */
static void put(cJSON *body, const njob_t *j, const cJSON *vars, const char *key, const char *field)
{
    const char *h = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->headers, key));
    const cJSON *v = NULL;
    if (h && *h == '=')
        v = var_path(vars, h + 1);
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
    njob_t j = { 0 };
    if (fm_dbq_read_one(db, "SELECT tenant_id, instance_id, token_id, type, headers, element FROM jobs "
                            "WHERE id = ? AND state = 'activatable'", njob_row, &j, "s", job) != FM_OK ||
        !ex_notify_is(j.type)) {
        cJSON_Delete(j.headers);
        return false;
    }
    cJSON *vars = NULL;
    if (ex_store_token_vars(db, j.tenant, j.inst, j.token, &vars) != FM_OK || !vars) {
        cJSON_Delete(j.headers);
        return true;    /* the instance moved on meanwhile */
    }
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
        /* a refusal will not change by retrying: an incident now; else the job's retries */
        bool refused = status >= 400 && status < 500 && status != 408 && status != 429;
        ex_job_fail(db, j.tenant, job, msg, refused ? 0 : -1, -1, NULL, why, sizeof(why));
    }
    cJSON_Delete(ans);
    free(out);
    cJSON_Delete(vars);
    cJSON_Delete(j.headers);
    return true;
}
