/*
 * prompts_check.h — the checks Prompt Engineering (8012) makes on a prompt version
 * before storing it (Mustache templates and partials through fm_mustache_check, the
 * variables and output schemas through tasks_schema_check, names, sizes, members),
 * without answering anything: POST/PUT /prompts (prompts.c) and the BAC Marketplace's
 * publish (src/modules/marketplace) both call it. Pure function over cJSON: any thread.
 */
#ifndef PROMPTS_CHECK_H
#define PROMPTS_CHECK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct prompt_problem {
    char pointer[200];  /* relative, without a leading '/': "template", "partials/sign" */
    char detail[400];
    int line, column;   /* > 0 when a template is not Mustache this server renders */
} prompt_problem_t;

/* Checks j as the body of POST /prompts (create) or PUT /prompts/{id} (!create).
 * known: the members allowed (NULL: those of 8012's routes); max_name: the longest name
 * allowed (at most 100). 0 when it may be stored; -1 with the first problem in *p. */
int prompt_check(const cJSON *j, bool create, const char *const *known, size_t max_name, prompt_problem_t *p);

#endif
