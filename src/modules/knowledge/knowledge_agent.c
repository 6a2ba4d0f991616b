/*
 * knowledge_agent.c — the answer written by an AI agent (9007): the prompt with the top
 * passages numbered, and the citation marks read back out of the agent's answer so they
 * can be mapped to passages (knowledge.c) and the ones that name no given passage
 * dropped. docs/knowledge.md "Answers written by an agent".
 */
#include "knowledge_int.h"

#include "../../fm_buf.h"

#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    return s ? s : "";
}

char *kn_agent_prompt(const char *question, const cJSON *passages, int n)
{
    fm_buf_t b = { 0 };
    fm_buf_adds(&b, "Answer the question using only the numbered passages below. After each statement, cite the "
                    "passage(s) it comes from as [n] (for example [1] or [2, 3]). Cite only the numbers listed. "
                    "If the passages do not answer the question, say so.\n\nQuestion: ");
    fm_buf_adds(&b, question);
    fm_buf_adds(&b, "\n\nPassages:\n");
    for (int i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(passages, i);
        fm_buf_addf(&b, "\n[%d] %s", i + 1, str_of(p, "title"));
        if (*str_of(p, "source"))
            fm_buf_addf(&b, " (%s)", str_of(p, "source"));
        fm_buf_adds(&b, "\n");
        fm_buf_adds(&b, str_of(p, "text"));
        fm_buf_adds(&b, "\n");
    }
    return fm_buf_detach(&b, NULL);
}

static void drop(cJSON *dropped, long v)
{
    int size = cJSON_GetArraySize(dropped);
    if (size >= KN_DROPPED_MAX)
        return;
    const cJSON *x;
    cJSON_ArrayForEach(x, dropped)      /* at most KN_DROPPED_MAX */
        if ((long)x->valuedouble == v)
            return;
    cJSON_AddItemToArray(dropped, cJSON_CreateNumber((double)v));
}

void kn_agent_citations(const char *answer, int n, bool *cited, cJSON *dropped)
{
    for (int i = 0; i < n; i++)
        cited[i] = false;
    const char *s = answer;
    while ((s = strchr(s, '[')) != NULL) {
        /* a mark is '[' digits (',' ' '* digits)* ']'; anything else is plain text */
        const char *q = s + 1;
        long nums[8];
        int k = 0;
        bool ok = true;
        for (;;) {
            while (*q == ' ')
                q++;
            long v = 0;
            int digits = 0;
            while (*q >= '0' && *q <= '9') {
                if (digits < 9)
                    v = v * 10 + (*q - '0');
                digits++;
                q++;
            }
            if (!digits || digits > 9 || k == 8) {
                ok = false;
                break;
            }
            nums[k++] = v;
            while (*q == ' ')
                q++;
            if (*q == ',') {
                q++;
                continue;
            }
            ok = *q == ']';
            break;
        }
        if (ok) {
            for (int i = 0; i < k; i++) {
                if (nums[i] >= 1 && nums[i] <= n)
                    cited[nums[i] - 1] = true;
                else
                    drop(dropped, nums[i]);
            }
            s = q + 1;
        } else {
            s++;
        }
    }
}
