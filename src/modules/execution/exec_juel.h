/*
 * exec_juel.h — JUEL (the expression language of Camunda 7 models: `${…}`, `#{…}`)
 * translated to FEEL text once, when a definition is compiled. Pure and thread-safe;
 * no FEEL parser involved (the caller parses what comes out).
 *
 * The common subset is translated: variables, `a.b`, `a[0]` / `a['k']`, literals
 * (strings, numbers, true, false, null), `== != < > <= >=` and `eq ne lt gt le ge`,
 * `&& || !` and `and or not`, `empty`, `+ - * / div % mod`, unary minus, `? :` and
 * parentheses; text around `${…}` ("Dear ${name}") becomes a string concatenation.
 * What has no FEEL meaning here (method and function calls, `execution`, `task`,
 * beans, lambdas, assignments) is refused with a reason naming the construct.
 * Docs: docs/execution.md "Camunda 7 models" (the table of what becomes what).
 */
#ifndef EXEC_JUEL_H
#define EXEC_JUEL_H

#include <stdbool.h>
#include <stddef.h>

#define EX_JUEL_MAX_LEN 8192        /* input characters; longer is refused */
#define EX_JUEL_MAX_DEPTH 40        /* nesting of parentheses, operators and indexes */
#define EX_JUEL_MAX_OUT 65536       /* FEEL characters produced */

/* Whether s holds a JUEL expression (`${` or `#{` outside a `\` escape). */
bool ex_juel_is(const char *s);

/* The FEEL text of src (caller frees), or NULL with why saying what cannot be
 * translated ("method call 'execution.getVariable(…)'"). */
char *ex_juel_to_feel(const char *src, char *why, size_t whylen);

#endif
