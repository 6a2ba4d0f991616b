/*
 * orch_client.h — how other modules have an agent (9007) write something for them: an
 * in-process call of the public route POST /agents/{id}/invoke with the caller's
 * identity and tenant, its failures turned into one problem+json answer. Used by the
 * Knowledge Hub (answers with citations) and Document Intelligence (extraction to a
 * JSON Schema).
 */
#ifndef ORCH_CLIENT_H
#define ORCH_CLIENT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define ORCH_AGENT_ID_MAX 100

/* True for an agent id the invoke route can take (1–100 of A-Z a-z 0-9 . _ -). */
bool orch_client_agent_ok(const char *agent);

/* Invokes `agent` with `input` (one user message) as the caller (`task_type` may be
 * NULL; the response cache is skipped when `cache` is false). FM_OK with the parsed
 * answer ({callId, output, provider, model, usage, …}, caller frees) in *answer; or
 * FM_REPLIED after answering: 403 when the caller may not invoke agents, 422 naming
 * `field` when there is no such agent, 429 (quota) passed on, 502 for anything else the
 * agent or its providers did (the detail of 9007 quoted). `what` says in those answers
 * what the agent was asked for ("the answer"). */
int orch_client_invoke(fm_req_t *r, const char *agent, const char *field, const char *what, const char *input,
                       const char *task_type, bool cache, cJSON **answer);

#endif
