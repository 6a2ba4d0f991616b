/*
 * orch_int.h — private to the AI Agent Orchestration module (9007): provider calls
 * (orch_provider.c: openai, anthropic, the built-in local one), the store
 * (orch_store.c: agent configs, response cache, usage, audit) and the routes
 * (orch.c). docs/ai.md is the contract.
 */
#ifndef ORCH_INT_H
#define ORCH_INT_H

#include "../modules.h"
#include "../../fm_config.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- providers (orch_provider.c) ---- */

/* The provider named `name`: a configured [ai.provider.NAME], or the built-in "local"
 * (a configured "local" section overrides it). NULL when unknown. Any thread. */
const fm_ai_provider_t *orch_provider_find(const char *name);

/* Passes streamed text as it arrives (the calling thread); false stops the call. */
typedef bool (*orch_token_fn)(const char *text, size_t len, void *arg);

typedef struct orch_call {
    const fm_ai_provider_t *prov;
    const char *model;
    const char *system;         /* may be NULL */
    const cJSON *messages;      /* OpenAI-style: role, content, tool_calls, tool_call_id */
    const cJSON *tools;         /* [{name, description, inputSchema}] or NULL */
    double temperature;         /* < 0: not sent */
    int max_tokens;
    const cJSON *local_rules;   /* the local provider's rules (agent config local.rules) */
    orch_token_fn on_token;     /* set: stream */
    void *arg;
} orch_call_t;

typedef struct orch_answer {
    char *text;                 /* caller frees (free) */
    cJSON *tool_calls;          /* [{id, name, arguments}] or NULL; caller deletes */
    int input_tokens, output_tokens;
    long status;                /* provider HTTP status; 0: no answer (timeout, refused) */
    char error[256];            /* "" on success */
    bool streamed;              /* tokens already went to on_token: no fallback */
} orch_answer_t;

/* Runs one model call on the calling thread (a worker; the transfer itself runs on the
 * loop through fm_fetch). FM_OK, or FM_EIO with a->error set. */
int orch_provider_call(const orch_call_t *c, orch_answer_t *a);
void orch_answer_release(orch_answer_t *a);
/* Embeddings of inputs (an array of strings): openai's /embeddings, or the local
 * hashing embedder (the Knowledge Hub's: 256 dimensions, L2-normalised). *data gets
 * [{index, embedding}] (caller deletes). FM_EINVAL for a kind without embeddings
 * (anthropic), FM_EIO with a->error for a failed call. */
int orch_provider_embed(const fm_ai_provider_t *p, const char *model, const cJSON *inputs, orch_answer_t *a,
                        cJSON **data);

/* ---- store (orch_store.c) ---- */

int orch_config_put(fm_db_t *db, const char *tenant, const char *agent, const cJSON *config, bool create_only,
                    cJSON **out);
/* {agentId, config, revision, createdAt, updatedAt}; FM_ENOTFOUND. */
int orch_config_get(fm_db_t *db, const char *tenant, const char *agent, cJSON **out);

int orch_cache_get(fm_db_t *db, const char *tenant, const char *key, cJSON **out);
int orch_cache_put(fm_db_t *db, const char *tenant, const char *key, const cJSON *resp, int ttl_s);

typedef struct orch_usage {
    const char *call_id, *agent, *provider, *model;
    int input_tokens, output_tokens;
    double cost;
    bool cached;
} orch_usage_t;
int orch_usage_add(fm_db_t *db, const char *tenant, const orch_usage_t *u);
/* Tokens used by the tenant since `since_ms`, and the oldest such row's time. */
int orch_usage_since(fm_db_t *db, const char *tenant, int64_t since_ms, int64_t *tokens, int64_t *oldest_ms);
/* groupBy: "agent", "model", "provider" or "day". */
int orch_usage_report(fm_db_t *db, const char *tenant, int64_t from_ms, int64_t to_ms, const char *group_by,
                      cJSON **out);

typedef struct orch_audit {
    const char *call_id, *agent, *subject, *outcome, *provider, *model, *prompt, *answer, *detail;
    int status;
    const cJSON *steps;
} orch_audit_t;
int orch_audit_add(fm_db_t *db, const char *tenant, const orch_audit_t *a);
int orch_audit_list(fm_db_t *db, const char *tenant, const char *agent, int limit, cJSON **out);

#endif
