/*
 * doc_ai.c — Document Intelligence's extraction through an AI agent (9007): the prompt
 * (the caller's JSON Schema and the document text, bounded), the agent's answer read as
 * JSON and validated with the core JSON Schema subset checker (tasks_jsonschema.h, as
 * the Event Bus and Prompt Engineering use it); an answer that is not JSON or does not
 * fit is a 502 naming why. docs/documents.md "Extraction through an agent".
 */
#include "doc_int.h"

#include "../../fm_buf.h"
#include "../orchestration/orch_client.h"
#include "../tasks/tasks_jsonschema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The prompt: what to do, the schema, the first DOC_AI_TEXT_MAX bytes of the text (cut
 * at a UTF-8 boundary); *sent gets the bytes of text it holds. */
static char *prompt_of(const char *schema, const char *text, size_t len, size_t *sent)
{
    size_t n = len;
    if (n > DOC_AI_TEXT_MAX) {
        n = DOC_AI_TEXT_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    *sent = n;
    fm_buf_t b = { 0 };
    fm_buf_adds(&b, "Extract the data that the JSON Schema below describes from the document below. Answer with "
                    "one JSON value only, valid against the schema: no prose, no code fences. Leave out what the "
                    "document does not say, unless the schema requires it.\n\nJSON Schema:\n");
    fm_buf_adds(&b, schema);
    if (n < len)
        fm_buf_addf(&b, "\n\nDocument (the first %zu of %zu bytes):\n<<<\n", n, len);
    else
        fm_buf_adds(&b, "\n\nDocument:\n<<<\n");
    fm_buf_add(&b, text, n);
    fm_buf_adds(&b, "\n>>>\n");
    return fm_buf_detach(&b, NULL);
}

/* The JSON value in an answer: surrounding white space and one ``` / ```json fence
 * around it are allowed. NULL when it is not exactly one JSON value. */
static cJSON *answer_json(const char *s)
{
    const char *ws = " \t\r\n";
    size_t len = strlen(s);
    size_t a = strspn(s, ws), e = len;
    while (e > a && strchr(ws, s[e - 1]))
        e--;
    if (e - a >= 6 && !strncmp(s + a, "```", 3) && !strncmp(s + e - 3, "```", 3)) {
        a += 3;
        if (e - a >= 4 && !strncmp(s + a, "json", 4))
            a += 4;
        e -= 3;
    }
    if (e <= a)
        return NULL;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s + a, e - a, &end, 0);
    if (j && end) {
        while (end < s + e && strchr(ws, *end))
            end++;
        if (end != s + e) {
            cJSON_Delete(j);
            j = NULL;
        }
    }
    return j;
}

int doc_ai_extract(fm_req_t *r, const char *agent, const cJSON *schema, const char *text, size_t len, cJSON *out)
{
    char *sj = cJSON_PrintUnformatted(schema);
    if (!sj)
        return FM_ENOMEM;
    size_t sent = 0;
    char *prompt = prompt_of(sj, text, len, &sent);
    cJSON_free(sj);
    if (!prompt)
        return FM_ENOMEM;
    cJSON *ans = NULL;
    int rc = orch_client_invoke(r, agent, "agentId", "the extraction", prompt, "document-extract", true, &ans);
    free(prompt);
    if (rc != FM_OK)
        return rc;
    const char *output = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ans, "output"));
    cJSON *result = answer_json(output);
    if (!result) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddStringToObject(ext, "agentId", agent);
        char head[501];
        snprintf(head, sizeof(head), "%s", output);
        cJSON_AddStringToObject(ext, "output", head);
        cJSON_Delete(ans);
        return fm_reply_problem(r, 502, "urn:flowmaster:problem:agent-answer", "Agent Answer Unusable", ext,
                                "agent '%s' did not answer with one JSON value (the output is in 'output'); "
                                "nothing was stored", agent), FM_REPLIED;
    }
    cJSON *errs = cJSON_CreateArray();
    int nv = tasks_schema_validate(schema, result, "", errs);
    if (nv > 0) {
        fm_buf_t b = { 0 };
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, errs)
        {
            if (i++ == 3)
                break;
            const char *ptr = cJSON_GetStringValue(cJSON_GetObjectItem(v, "pointer"));
            const char *d = cJSON_GetStringValue(cJSON_GetObjectItem(v, "detail"));
            fm_buf_addf(&b, "%s%.200s: %.200s", i > 1 ? "; " : "", ptr && *ptr ? ptr : "/", d ? d : "");
        }
        char *list = fm_buf_detach(&b, NULL);
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddStringToObject(ext, "agentId", agent);
        cJSON_AddItemToObject(ext, "violations", errs);
        cJSON_AddItemToObject(ext, "answer", result);
        cJSON_Delete(ans);
        fm_reply_problem(r, 502, "urn:flowmaster:problem:agent-answer", "Agent Answer Unusable", ext,
                         "the answer of agent '%s' does not fit the schema (%d violation%s: %s); nothing was stored",
                         agent, nv, nv == 1 ? "" : "s", list ? list : "");
        free(list);
        return FM_REPLIED;
    }
    cJSON_Delete(errs);
    cJSON *ai = cJSON_AddObjectToObject(out, "ai");
    cJSON_AddStringToObject(ai, "agentId", agent);
    static const char *const keep[] = { "provider", "model", "callId", "usage", "cached" };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        cJSON *v = cJSON_DetachItemFromObject(ans, keep[i]);
        if (v)
            cJSON_AddItemToObject(ai, keep[i], v);
    }
    cJSON_AddItemToObject(ai, "result", result);
    cJSON_AddNumberToObject(ai, "textBytes", (double)sent);
    cJSON_AddBoolToObject(ai, "textTruncated", sent < len);
    cJSON_Delete(ans);
    return FM_OK;
}
