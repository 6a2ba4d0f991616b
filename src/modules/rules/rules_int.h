/*
 * rules_int.h — private to the Business Rules Engine module (8018): the store
 * (rules_store.c, SQL on <data-dir>/rules.db) and the cache of parsed models
 * (rules_cache.c) that the routes (rules.c) use. docs/rules.md documents the API.
 */
#ifndef RULES_INT_H
#define RULES_INT_H

#include "../modules.h"
#include "dmn/dmn.h"

#include <cjson/cJSON.h>

#define RULES_SOURCE "/flowmaster/rules"
#define RULES_EVALUATED "rules.decision.evaluated"

typedef struct rules_version {
    char *id, *name, *format, *source, *created_at, *updated_at;
    char *version_tag;          /* NULL when the version has none */
    int version, latest;
} rules_version_t;

void rules_version_clear(rules_version_t *v);

/* FM_OK, FM_ENOTFOUND, FM_ESTALE (expected_version no longer latest), FM_EDB. */
/* m: the parsed model, whose decisions are indexed by id (rules_find_decision). */
int rules_insert(fm_db_t *db, const char *tenant, const char *name, const char *format, const char *source,
                 const char *decisions_json, const dmn_model_t *m, const char *version_tag, rules_version_t *out);
int rules_new_version(fm_db_t *db, const char *tenant, const char *id, int expected_version, const char *name,
                      const char *format, const char *source, const char *decisions_json, const dmn_model_t *m,
                      const char *version_tag, rules_version_t *out);
/* The rule set and version a DMN decision id resolves to: without version_tag the most
 * recently published latest version that contains it; with one, the most recently
 * published version (any) whose decision carries that tag. FM_ENOTFOUND when none. */
int rules_find_decision(fm_db_t *db, const char *tenant, const char *decision_id, const char *version_tag,
                        char *rule_id, size_t len, int *version);
/* Indexes the decision ids of versions stored before the index existed (module start). */
int rules_index_backfill(fm_db_t *db);
int rules_latest(fm_db_t *db, const char *tenant, const char *id, int *version);
/* version 0: the latest */
int rules_get(fm_db_t *db, const char *tenant, const char *id, int version, rules_version_t *out);
/* Items are summaries {id, name, version, createdAt, updatedAt}; q: name substring or NULL. */
/* Keyset paging on (name, id): next gets "name\x1fid" of the page's last item when more
 * follow, else "". */
int rules_list(fm_db_t *db, const char *tenant, const char *q, const char *after_name, const char *after_id,
               int limit, cJSON *into, char *next, size_t next_len);
int rules_versions(fm_db_t *db, const char *tenant, const char *id, cJSON *into);
/* One audit row plus the event in the same transaction. */
int rules_audit(fm_db_t *db, const char *tenant, const char *rule_id, int version, const char *decision,
                const char *inputs, const char *outputs, const char *matched, const char *warnings,
                const char *event_json);
/* The same row and event inside a write the caller holds (rules_audit.c batches them);
 * now: the row's time, RFC 3339. */
typedef struct fm_dbc fm_dbc_t;
int rules_audit_put(fm_dbc_t *w, const char *tenant, const char *rule_id, int version, const char *decision,
                    const char *inputs, const char *outputs, const char *matched, const char *warnings,
                    const char *event_json, const char *now);

/* rules_audit.c: the audit rows of a rule set, newest first, ids below `before` (0: from
 * the newest); items {id, ruleId, version, decision, inputs, outputs, matchedRules,
 * warnings, at}; *more when rows remain. */
int rules_audit_list(fm_db_t *db, const char *tenant, const char *rule_id, int64_t before, int limit, cJSON *into,
                     bool *more);

/* rules_audit.c: group commit of audit rows; submit waits until its row committed. */
int rules_audit_start(fm_db_t *db);     /* loop thread, module start */
void rules_audit_stop(void);            /* loop thread, module stop: drains the queue */
int rules_audit_submit(fm_db_t *db, const char *tenant, const char *rule_id, int version, const char *decision,
                       const char *inputs, const char *outputs, const char *matched, const char *warnings,
                       const char *event_json);

/* Parses a stored source into a model (format "dmn" or "json"). */
int rules_parse(const char *format, const char *source, size_t len, dmn_model_t **out, dmn_err_t *err);

/* Cache of parsed models by (tenant, id, version); any thread. A hit returns a
 * reference that rules_cache_put_back releases; models stay alive while referenced. */
typedef struct rules_cached rules_cached_t;
rules_cached_t *rules_cache_get(const char *tenant, const char *id, int version);
rules_cached_t *rules_cache_add(const char *tenant, const char *id, int version, dmn_model_t *m);  /* takes m */
const dmn_model_t *rules_cached_model(const rules_cached_t *c);
void rules_cache_put_back(rules_cached_t *c);
void rules_cache_clear(void);
/* The latest version of a rule set as this process last saw it (0: unknown). */
int rules_latest_known(const char *tenant, const char *id);
void rules_latest_note(const char *tenant, const char *id, int version);

#endif
