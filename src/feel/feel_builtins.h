/*
 * feel_builtins.h — private to src/feel/: the built-in tables, split by family
 * (feel_builtins.c: numeric, list, context, conversion; feel_builtins_str.c: strings).
 */
#ifndef FEEL_BUILTINS_H
#define FEEL_BUILTINS_H

#include "feel_int.h"

extern const feel_builtin_t feel_builtins_str[];
extern const feel_builtin_t feel_builtins_core[];
uint32_t feel_builtin_regex_limit(const feel_eval_t *ev);

#endif
