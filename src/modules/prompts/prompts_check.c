/*
 * prompts_check.c — checking a prompt version before it is stored (prompts_check.h):
 * the one place the rules of docs/prompts.md "A version" are written, shared by 8012's
 * routes and the marketplace's publish.
 */
#include "prompts_check.h"

#include "prompts_int.h"

#include "../../fm_mustache.h"
#include "../tasks/tasks_jsonschema.h"

#include <stdio.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

static int bad(prompt_problem_t *p, const char *ptr, const char *detail)
{
    snprintf(p->pointer, sizeof(p->pointer), "%s", ptr);
    snprintf(p->detail, sizeof(p->detail), "%s", detail);
    return -1;
}

static int check_template(const char *tpl, const char *field, prompt_problem_t *p)
{
    fm_mustache_err_t e;
    if (fm_mustache_check(tpl, strlen(tpl), &e) == 0)
        return 0;
    char d[320];
    snprintf(d, sizeof(d), "line %d, column %d: %s", e.line, e.column, e.message);
    p->line = e.line;
    p->column = e.column;
    return bad(p, field, d);
}

static int check_schema(const cJSON *s, const char *field, prompt_problem_t *p)
{
    if (!s)
        return 0;
    char why[300], d[400];
    if (!cJSON_IsObject(s))
        return bad(p, field, "must be a JSON Schema object");
    if (tasks_schema_check(s, why, sizeof(why)) == 0)
        return 0;
    snprintf(d, sizeof(d), "not a schema this server checks (docs/prompts.md): %s", why);
    return bad(p, field, d);
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

int prompt_check(const cJSON *j, bool create, const char *const *known, size_t max_name, prompt_problem_t *p)
{
    static const char *const all[] = { "name", "description", "tags", "template", "variables", "partials",
                                       "outputFormat", "outputSchema", "changelog", NULL };
    memset(p, 0, sizeof(*p));
    const cJSON *x;
    char d[200];
    cJSON_ArrayForEach(x, j)
    {
        bool ok = false;
        for (const char *const *k = known ? known : all; *k && !ok; k++)
            ok = !strcmp(*k, x->string);
        if (!ok) {
            snprintf(d, sizeof(d), "unknown member '%.60s'; see docs/prompts.md", x->string);
            return bad(p, x->string, d);
        }
    }
    const char *name = str(j, "name");
    if (create) {
        size_t n = name ? strlen(name) : 0;
        if (max_name > PROMPT_MAX_NAME)
            max_name = PROMPT_MAX_NAME;
        snprintf(d, sizeof(d), "required: 1 to %zu letters, digits, '-', '_' or '.'", max_name);
        if (n < 1 || n > max_name || strspn(name, NAME_CHARS) != n)
            return bad(p, "name", d);
    } else if (cJSON_GetObjectItem(j, "name")) {
        return bad(p, "name", "a prompt's name does not change; create another prompt");
    }
    const cJSON *de = cJSON_GetObjectItem(j, "description");
    if (de && (!cJSON_IsString(de) || strlen(de->valuestring) > PROMPT_MAX_DESCRIPTION))
        return bad(p, "description", "a string of at most 2000 bytes");
    const cJSON *c = cJSON_GetObjectItem(j, "changelog");
    if (c && (!cJSON_IsString(c) || strlen(c->valuestring) > PROMPT_MAX_CHANGELOG))
        return bad(p, "changelog", "a string of at most 2000 bytes");
    const cJSON *tags = cJSON_GetObjectItem(j, "tags");
    if (tags && (!cJSON_IsArray(tags) || cJSON_GetArraySize(tags) > PROMPT_MAX_TAGS))
        return bad(p, "tags", "an array of at most 20 tags");
    cJSON_ArrayForEach(x, tags) if (!cJSON_IsString(x) || !*x->valuestring || strlen(x->valuestring) > PROMPT_MAX_TAG)
        return bad(p, "tags", "each tag is a string of 1 to 40 bytes");
    const char *tpl = str(j, "template");
    if (!tpl || !*tpl || strlen(tpl) > FM_MUSTACHE_MAX_TEMPLATE)
        return bad(p, "template", "required: a Mustache template of at most 256 KiB");
    if (check_template(tpl, "template", p))
        return -1;
    const cJSON *parts = cJSON_GetObjectItem(j, "partials");
    if (parts && (!cJSON_IsObject(parts) || cJSON_GetArraySize(parts) > PROMPT_MAX_PARTIALS))
        return bad(p, "partials", "an object of at most 20 named templates");
    cJSON_ArrayForEach(x, parts)
    {
        char f[160];
        snprintf(f, sizeof(f), "partials/%.100s", x->string);
        if (!cJSON_IsString(x) || strlen(x->valuestring) > FM_MUSTACHE_MAX_TEMPLATE)
            return bad(p, f, "a Mustache template of at most 256 KiB");
        if (check_template(x->valuestring, f, p))
            return -1;
    }
    if (check_schema(cJSON_GetObjectItem(j, "variables"), "variables", p))
        return -1;
    const char *fmt = str(j, "outputFormat");
    const cJSON *fo = cJSON_GetObjectItem(j, "outputFormat");
    if (fo && (!fmt || (strcmp(fmt, "text") && strcmp(fmt, "json"))))
        return bad(p, "outputFormat", "\"text\" or \"json\"");
    const cJSON *os = cJSON_GetObjectItem(j, "outputSchema");
    if (os && (!fmt || strcmp(fmt, "json")))
        return bad(p, "outputSchema", "only with \"outputFormat\": \"json\"");
    return check_schema(os, "outputSchema", p);
}
