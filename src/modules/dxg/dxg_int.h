/*
 * dxg_int.h — what the DXG Service's files share: the case of one human task as
 * gathered from the other modules through their public routes (dxg.c), and the smart
 * form built from it (dxg_form.c). docs/dxg.md is the contract.
 */
#ifndef DXG_INT_H
#define DXG_INT_H

#include "../modules.h"

#define DXG_MAX_DOCUMENTS 10
#define DXG_MAX_SIMILAR 20
#define DXG_MAX_HISTORY 50
#define DXG_MAX_FIELDS 200

/* Everything known about a task: {task, process, variables, history, documents,
 * similarTasks, unavailable}. Each member is what the caller may read: a module that
 * refused or is not running is named in `unavailable`, never guessed. */
typedef struct dxg_case {
    cJSON *o;
} dxg_case_t;

/* The form's fields with a prefill for each one the case can fill:
 * {fields: [{key, label, type, required, value?, source?, confidence?, detail?}],
 *  hints: {focus, review: [keys], prefilled, total}}. */
cJSON *dxg_smart_form(const cJSON *kase);

#endif
