/*
 * fm_mustache.h — Mustache templates (the logic-less subset every implementation
 * shares): {{name}} escaped, {{{name}}} and {{& name}} raw, dotted names, {{.}},
 * {{#section}} over lists, objects and truthy values, {{^inverted}}, {{! comments }},
 * {{> partials}} and standalone tag lines removed as the spec says. Set-delimiter tags
 * ({{=<% %>=}}) and lambdas are not supported: a template using them is a syntax error.
 * Used by the Notification Service (templates of mail, SMS, push) and meant for the
 * Prompt Engineering module too.
 *
 * Truthiness follows mustache.js: false, null, 0, "" and [] are falsy. Objects and
 * arrays printed by {{name}} come out as compact JSON. With `escape_html` {{name}}
 * escapes & < > " ' (for HTML bodies); without it {{name}} is raw (text bodies, SMS).
 * With `strict` a variable tag whose name resolves to nothing is an error naming it
 * (sections on a missing name are simply false).
 *
 * Every input is bounded: template size, tags, section nesting, partial depth, output
 * size and the number of tag evaluations (so nested sections over long lists cannot run
 * away with an empty output either). Pure functions, any thread.
 */
#ifndef FM_MUSTACHE_H
#define FM_MUSTACHE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define FM_MUSTACHE_MAX_TEMPLATE (256 * 1024)   /* bytes of one template or partial */
#define FM_MUSTACHE_MAX_TAGS 10000              /* tags in one template */
#define FM_MUSTACHE_MAX_NESTING 32              /* open sections inside each other */
#define FM_MUSTACHE_MAX_NAME 128                /* bytes of a tag name */
#define FM_MUSTACHE_MAX_PARTIAL_DEPTH 8         /* partials inside partials */
#define FM_MUSTACHE_MAX_OUTPUT (1024 * 1024)    /* default output limit */
#define FM_MUSTACHE_MAX_STEPS 1000000           /* tag evaluations per render */

typedef enum {
    FM_MUSTACHE_OK = 0,
    FM_MUSTACHE_ESYNTAX,    /* unclosed tag or section, mismatched close, bad name... */
    FM_MUSTACHE_EMISSING,   /* strict: a variable resolved to nothing (err.name) */
    FM_MUSTACHE_ELIMIT,     /* a bound above was passed */
    FM_MUSTACHE_ENOMEM,
} fm_mustache_code_t;

typedef struct fm_mustache_err {
    fm_mustache_code_t code;
    int line, column;       /* 1-based, of the offending tag in `source` */
    char source[FM_MUSTACHE_MAX_NAME + 16];   /* "template" or "partial <name>" */
    char name[FM_MUSTACHE_MAX_NAME + 1];      /* the tag name concerned, if any */
    char message[200];      /* one sentence, no trailing period */
} fm_mustache_err_t;

typedef struct fm_mustache_opts {
    bool escape_html;
    bool strict;
    const cJSON *partials;  /* object: partial name → template string; may be NULL */
    size_t max_output;      /* 0: FM_MUSTACHE_MAX_OUTPUT */
} fm_mustache_opts_t;

/* Checks the syntax of a template (not its partials). 0 or an fm_mustache_code_t, with
 * err filled (err may be NULL). */
int fm_mustache_check(const char *tpl, size_t len, fm_mustache_err_t *err);

/* Renders tpl with data (any JSON value; NULL is an empty object). On success *out is
 * a NUL-terminated string the caller frees and *out_len its length. On failure *out is
 * NULL and err says why. */
int fm_mustache_render(const char *tpl, size_t len, const cJSON *data, const fm_mustache_opts_t *opts,
                       char **out, size_t *out_len, fm_mustache_err_t *err);

#endif
