/*
 * dmn.h — DMN models: import (DMN 1.1–1.5 XML via expat, or the JSON model of
 * docs/rules.md), then evaluation of decisions over the decision requirement graph.
 *
 *   dmn_model_t *m; dmn_err_t err;
 *   if (dmn_load_xml(xml, len, &m, &err)) ... err.msg, err.element (the element id)
 *   feel_eval_t *ev = feel_eval_new(NULL);
 *   dmn_trace_t tr;                     // matched rules and warnings of this run
 *   feel_value_t *out = dmn_evaluate(m, ev, "Approval Status", inputs, &tr);
 *
 * A loaded model is immutable: many threads may evaluate it at once, each with its
 * own feel_eval_t. Every FEEL expression is parsed once at load time. Loading rejects
 * unknown hit policies, unparsable FEEL, unknown references and requirement cycles,
 * naming the offending element. Evaluation results and the trace live in ev's arena.
 */
#ifndef DMN_H
#define DMN_H

#include "feel/feel.h"

#include <cjson/cJSON.h>

typedef struct dmn_model dmn_model_t;

typedef struct dmn_err {
    char msg[256];
    char element[128];          /* id (or name) of the offending element, or "" */
    bool malformed;             /* the document itself did not parse (HTTP 400, not 422) */
} dmn_err_t;

int dmn_load_xml(const char *xml, size_t len, dmn_model_t **out, dmn_err_t *err);   /* FM_OK or FM_EINVAL */
int dmn_load_json(const cJSON *model, dmn_model_t **out, dmn_err_t *err);
void dmn_model_free(dmn_model_t *m);

const char *dmn_model_name(const dmn_model_t *m);
size_t dmn_decision_count(const dmn_model_t *m);
const char *dmn_decision_name(const dmn_model_t *m, size_t i);
const char *dmn_decision_id(const dmn_model_t *m, size_t i);
/* The decision's own version tag (camunda:versionTag on a DMN decision), or NULL. */
const char *dmn_decision_version_tag(const dmn_model_t *m, size_t i);
/* The name of the decision whose name, else whose id, is `key`; NULL when none. */
const char *dmn_find_decision(const dmn_model_t *m, const char *key);
bool dmn_has_decision(const dmn_model_t *m, const char *key);     /* by name or id */
/* typeRef of input data `name` resolved to a FEEL base type, or FEEL_NULL when free. */
feel_type_t dmn_input_type(const dmn_model_t *m, const char *name);
/* What import accepted but will not evaluate (a BKM or decision without logic). */
size_t dmn_model_warning_count(const dmn_model_t *m);
const char *dmn_model_warning(const dmn_model_t *m, size_t i);

/* What a run did: per decision table, the ids of the rules that matched. */
typedef struct dmn_hit {
    const char *decision;       /* decision owning the table */
    const char *table;          /* table id */
    const char **rules;         /* rule ids, in rule order */
    size_t nrules;
} dmn_hit_t;

typedef struct dmn_trace {
    dmn_hit_t *hits;
    size_t nhits, caphits;
    const char **warnings;
    size_t nwarnings, capwarnings;
} dmn_trace_t;

/* Evaluates `decision` (its name or id; NULL: every decision) with `inputs` (a FEEL_CTX of input data
 * by name, may be NULL). Returns the decision's value, or with NULL decision a context
 * of every decision's value. trace may be NULL. Never NULL; errors give null and a
 * warning in the trace. */
feel_value_t *dmn_evaluate(const dmn_model_t *m, feel_eval_t *ev, const char *decision,
                           const feel_value_t *inputs, dmn_trace_t *trace);

/* JSON ↔ FEEL: numbers keep their decimal text; strings become dates/times/durations
 * when `as` says so (FEEL_NULL: leave strings alone). */
feel_value_t *dmn_from_json(feel_eval_t *ev, const cJSON *j, feel_type_t as);
cJSON *dmn_to_json(feel_eval_t *ev, const feel_value_t *v);

#endif
