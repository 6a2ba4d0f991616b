/*
 * tasks_jsonschema.h — the JSON Schema subset that human-task forms are written in
 * (docs/tasks.md, "Forms"): type, properties, required, enum, minimum/maximum,
 * minLength/maxLength, pattern (PCRE2, UTF, with match limits), items,
 * additionalProperties, const and format (date-time, email, uri). Shared with the Event
 * Bus's schema registry (src/modules/eventbus). Other keywords are ignored, as JSON Schema ignores
 * unknown ones. Pure functions over cJSON: any thread.
 */
#ifndef TASKS_JSONSCHEMA_H
#define TASKS_JSONSCHEMA_H

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stddef.h>

/* Most violations reported for one document; the rest are counted but not listed. */
#define TASKS_SCHEMA_MAX_ERRORS 100

/* Checks that `schema` is a schema of our subset (keywords of the right types, patterns
 * that compile, nesting ≤ 32). 0 when usable; -1 with a reason ("/properties/age/minimum:
 * must be a number") in why. */
int tasks_schema_check(const cJSON *schema, char *why, size_t whylen);

/* Validates `doc` against a checked schema. Appends one {pointer, detail} object per
 * violation to `errors` (an array), the pointer being `base` + the JSON Pointer of the
 * offending value ("/response" + "/age"). Returns the number of violations. */
int tasks_schema_validate(const cJSON *schema, const cJSON *doc, const char *base, cJSON *errors);

/* Searches s for the PCRE2 (UTF) pattern with the match and depth limits above: 1 when
 * it matches somewhere, 0 when not, -1 when the pattern does not compile or a limit
 * stopped the match. Shared with the form-js validator (tasks_formjs.c). */
int tasks_schema_match(const char *pattern, const char *s);

/* Appends {pointer, detail} to errors (an array) and counts it in *n; past
 * TASKS_SCHEMA_MAX_ERRORS it only counts. Shared by the JSON Schema and form-js checks,
 * so both answer the same 422 shape. */
void tasks_schema_violation(cJSON *errors, int *n, const char *ptr, const char *fmt, va_list ap);

#endif
