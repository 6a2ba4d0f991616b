/*
 * prompts_int.h — what the Prompt Engineering module's files share: the store
 * (prompts_store.c) of prompts, versions, labels and test results, and the limits every
 * request is held to. docs/prompts.md is the contract.
 */
#ifndef PROMPTS_INT_H
#define PROMPTS_INT_H

#include "../modules.h"

#include "../../fm_dbq.h"

#define PROMPT_SOURCE "/flowmaster/prompts"
#define PROMPT_MAX_NAME 100
#define PROMPT_MAX_DESCRIPTION 2000
#define PROMPT_MAX_TAGS 20
#define PROMPT_MAX_TAG 40
#define PROMPT_MAX_PARTIALS 20
#define PROMPT_MAX_LABEL 40
#define PROMPT_MAX_VERSIONS 10000   /* per prompt */
#define PROMPT_MAX_CHANGELOG 2000

/* A version as stored: the JSON members are parsed objects (or NULL). */
typedef struct prompt_ver {
    int version;
    char *template;
    cJSON *variables, *partials, *output_schema;
    char output_format[8];
} prompt_ver_t;

void prompt_ver_clear(prompt_ver_t *v);

/* `ref` is an id ("prm_...") or a name of the tenant; *id gets the id. */
int prompt_resolve(fm_db_t *db, const char *tenant, const char *ref, char *id, size_t idlen);
/* New prompt with version 1 (body already checked); *out the prompt as GET shows it.
 * FM_ECONFLICT when the tenant has a prompt of that name. */
int prompt_create(fm_db_t *db, const char *tenant, const char *actor, const cJSON *body, cJSON **out);
/* A new version from body; expect > 0 must be the latest version (FM_ESTALE otherwise).
 * Description and tags in body, when present, replace the prompt's. */
int prompt_add_version(fm_db_t *db, const char *tenant, const char *actor, const char *id, int expect,
                       const cJSON *body, cJSON **out);
/* The prompt with its labels and one version: `version` > 0, else the one `label`
 * points at, else the latest. FM_ENOTFOUND names nothing more; *missing says "version"
 * or "label" when the prompt exists but that does not. */
int prompt_get(fm_db_t *db, const char *tenant, const char *id, int version, const char *label, cJSON **out,
               const char **missing);
/* The version record itself (for rendering). */
int prompt_version(fm_db_t *db, const char *tenant, const char *id, int version, const char *label,
                   prompt_ver_t *v, const char **missing);
/* The template of another prompt of the tenant by name, for {{> name}}: its
 * `production` label's version, else its latest. */
int prompt_partial_template(fm_db_t *db, const char *tenant, const char *name, prompt_ver_t *v);
int prompt_list(fm_db_t *db, const char *tenant, const char *q, const char *tag, const char *label, int offset,
                int limit, cJSON *items, int *total);
int prompt_versions(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *items,
                    int *total);
/* Points label at version (which must exist: FM_ENOTFOUND), or removes it (version 0). */
int prompt_label_set(fm_db_t *db, const char *tenant, const char *id, const char *label, int version);
int prompt_delete(fm_db_t *db, const char *tenant, const char *id);
/* Stores a test run; *out the stored result. */
int prompt_test_add(fm_db_t *db, const char *tenant, const char *id, int version, const char *agent,
                    const cJSON *variables, const char *rendered, int http_status, const cJSON *output,
                    const char *detail, cJSON **out);
int prompt_tests(fm_db_t *db, const char *tenant, const char *id, int version, int offset, int limit,
                 cJSON *items, int *total);

#endif
