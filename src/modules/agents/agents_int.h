/*
 * agents_int.h — what the Agent Service's files share: the store (agents_store.c) of
 * personas with their skills and of lessons (what an agent learned), and the limits.
 * docs/agents.md is the contract.
 */
#ifndef AGENTS_INT_H
#define AGENTS_INT_H

#include "../modules.h"

#include "../../fm_dbq.h"

#define AGENT_SOURCE "/flowmaster/agents"
#define AGENT_MAX_NAME 100
#define AGENT_MAX_TEXT 2000          /* description, tone, a skill's description */
#define AGENT_MAX_PROMPT (64 * 1024) /* system prompt */
#define AGENT_MAX_TOOLS 50
#define AGENT_MAX_SKILLS 50
#define AGENT_MAX_LESSON (16 * 1024) /* input or output of a lesson */
#define AGENT_MAX_LESSONS 10000      /* per agent: the oldest go first past this */
#define AGENT_MAX_EXAMPLES 10        /* k of GET /agents/{id}/examples */

int agent_resolve(fm_db_t *db, const char *tenant, const char *ref, char *id, size_t idlen);
/* body checked; FM_ECONFLICT for a name the tenant has. */
int agent_insert(fm_db_t *db, const char *tenant, const cJSON *body, cJSON **out);
/* Replaces the persona (expect > 0: FM_ESTALE unless it is the revision). */
int agent_replace(fm_db_t *db, const char *tenant, const char *id, int expect, const cJSON *body, cJSON **out);
int agent_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out);
int agent_delete(fm_db_t *db, const char *tenant, const char *id);
int agent_list(fm_db_t *db, const char *tenant, const char *q, int offset, int limit, cJSON *items, int *total);

int agent_learn(fm_db_t *db, const char *tenant, const char *agent, const char *author, const cJSON *body,
                cJSON **out);
int agent_lessons(fm_db_t *db, const char *tenant, const char *agent, const char *kind, int offset, int limit,
                  cJSON *items, int *total);
int agent_lesson_delete(fm_db_t *db, const char *tenant, const char *agent, const char *lesson);
/* The k lessons most like `text` (FTS5 BM25 over their inputs) that can serve as
 * examples: examples, corrections, and feedback rated helpful. */
int agent_examples(fm_db_t *db, const char *tenant, const char *agent, const char *text, int k, cJSON *items);

#endif
