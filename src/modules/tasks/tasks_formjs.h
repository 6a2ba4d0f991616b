/*
 * tasks_formjs.h — Camunda Forms: the form-js schema that Camunda Modeler and Web
 * Modeler write ({"type":"default","components":[...],"schemaVersion":n,"id":...}),
 * accepted as a human-task form beside JSON Schema (docs/tasks.md, "Forms"). A
 * response is checked against the input components' rules the way form-js checks them
 * in the browser (validate.required, min/max, minLength/maxLength, pattern,
 * validationType email/phone; number, date/time, checkbox types; select, radio,
 * checklist and taglist options from `values` or a task variable named by `valuesKey`),
 * through groups (`path`) and dynamic lists, skipping components hidden by a FEEL
 * `conditional.hide` or disabled. Pure functions over cJSON: any thread.
 */
#ifndef TASKS_FORMJS_H
#define TASKS_FORMJS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define TASKS_FORMJS_MAX_DEPTH 16        /* groups and dynamic lists inside each other */
#define TASKS_FORMJS_MAX_COMPONENTS 2000
#define TASKS_FORMJS_MAX_CONDITIONS 1000 /* conditional.hide evaluations per response */

/* True when form is a form-js schema (an object with a "components" array). */
bool tasks_formjs_is(const cJSON *form);

/* Checks that form is a usable form-js schema: components are objects with a type,
 * input components have a key, rules have the right types, patterns compile,
 * conditions parse as FEEL, nesting and size are bounded. 0, or -1 with a reason
 * ("/components/2/validate/min: must be a number") in why. */
int tasks_formjs_check(const cJSON *form, char *why, size_t whylen);

/* Validates response against a checked form-js schema; variables (the task's, may be
 * NULL) supply `valuesKey` options and, with the response, the context of FEEL
 * conditions. Appends {pointer, detail} per violation to errors (pointer = base + the
 * JSON Pointer of the field's key path: "/response/address/city"); returns how many.
 * A response needing more than TASKS_FORMJS_MAX_CONDITIONS condition evaluations (a
 * long dynamic list of conditional fields) is one violation: it cannot be checked. */
int tasks_formjs_validate(const cJSON *form, const cJSON *response, const cJSON *variables,
                          const char *base, cJSON *errors);

#endif
