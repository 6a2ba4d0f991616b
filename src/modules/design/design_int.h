/*
 * design_int.h — private to the Process Design module (9003): the store
 * (design_store.c) behind the routes (design.c), and the form store (design_forms.c)
 * whose routes design.c's table lists.
 */
#ifndef DESIGN_INT_H
#define DESIGN_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>

#define DESIGN_SOURCE "/flowmaster/design"
#define DESIGN_PUBLISHED "process.definition.published"
#define DESIGN_ARCHIVED "process.definition.archived"

typedef struct design_row {
    char *id, *name, *description, *status, *bpmn_id, *xml, *created, *updated;
    cJSON *tags;        /* array of strings */
    int revision, latest;
} design_row_t;

void design_row_release(design_row_t *r);
/* The API object of a row (no XML). */
cJSON *design_row_json(const design_row_t *r);

typedef struct design_new {
    const char *tenant, *name, *description, *bpmn_id, *xml;
    const cJSON *tags;  /* array of strings or NULL */
} design_new_t;

/* Each returns FM_OK, FM_ENOTFOUND, FM_ESTALE, FM_ECONFLICT or FM_EDB. */
int design_insert(fm_db_t *db, const design_new_t *n, design_row_t *out);
int design_get(fm_db_t *db, const char *tenant, const char *id, design_row_t *out);
int design_list(fm_db_t *db, const char *tenant, const char *q, const char *tag, const char *status,
                int offset, int limit, cJSON *into, int *total);
/* Replaces the draft (xml NULL: keep) and metadata (NULL: keep); if_rev > 0 must match. */
int design_update(fm_db_t *db, const design_new_t *n, const char *id, int if_rev, design_row_t *out);
int design_archive(fm_db_t *db, const char *tenant, const char *id);
/* Publishes xml as version latest+1 and writes the event in the same transaction. */
int design_publish(fm_db_t *db, const char *tenant, const char *id, const char *xml, const char *summary_json,
                   const char *note, const char *source, int *version, char *published_at);
int design_versions(fm_db_t *db, const char *tenant, const char *id, int offset, int limit,
                    cJSON *into, int *total);
/* *xml (caller frees), and the version's metadata as JSON in *meta (caller frees). */
int design_version_get(fm_db_t *db, const char *tenant, const char *id, int n, char **xml, cJSON **meta);

/* If-Match: "r3" (strong, quoted: fm_req_if_match); returns the revision, 0 when absent
 * or "*", -1 when junk, -2 when answered 412 already (weak or unquoted). */

/* The form store's routes (design_forms.c, docs/tasks.md "The form store"). */
int design_form_create(fm_req_t *r);
int design_form_list(fm_req_t *r);
int design_form_get(fm_req_t *r);
int design_form_update(fm_req_t *r);
int design_form_publish(fm_req_t *r);
int design_form_versions(fm_req_t *r);
int design_form_version_get(fm_req_t *r);

#endif
