/*
 * feel_names.c — the variable names a parsed expression mentions (its N_NAME nodes),
 * so a caller holding many variables can put only those into the context: the
 * Execution Engine does this for every expression it evaluates, which keeps an
 * expression's cost independent of unrelated large variables. A walk with an explicit
 * stack: no recursion over the input.
 */
#include "feel_int.h"

#include <stdlib.h>
#include <string.h>

int feel_expr_names(const feel_expr_t *e, const char **names, int max)
{
    if (!e || !e->root)
        return 0;
    size_t cap = 64, top = 0;
    const feel_node_t **stack = malloc(sizeof(*stack) * cap);
    if (!stack)
        return -1;
    int n = 0;
    stack[top++] = e->root;
    while (top) {
        const feel_node_t *x = stack[--top];
        if (x->k == N_NAME && x->name) {
            bool seen = false;
            for (int i = 0; i < n && !seen; i++)
                seen = !strcmp(names[i], x->name);
            if (!seen) {
                if (n == max) {
                    n = -1;
                    break;
                }
                names[n++] = x->name;
            }
        }
        /* N_FUNC keeps its parameters in names; its kids array is not sized by n */
        size_t nk = x->k == N_FUNC || !x->kids ? 0 : x->n;
        if (top + 3 + nk > cap) {
            size_t nc = (top + 3 + nk) * 2;
            const feel_node_t **s = realloc(stack, sizeof(*stack) * nc);
            if (!s) {
                n = -1;
                break;
            }
            stack = s;
            cap = nc;
        }
        if (x->a)
            stack[top++] = x->a;
        if (x->b)
            stack[top++] = x->b;
        if (x->c)
            stack[top++] = x->c;
        for (size_t i = 0; i < nk; i++)
            if (x->kids[i])
                stack[top++] = x->kids[i];
    }
    free(stack);
    return n;
}
