/*
 * entities_bench.c — the ultimate-beneficial-owner solver (src/modules/entities/
 * entities_ubo.c) on a generated 10,000-entity ownership graph: 8,000 companies and
 * 2,000 persons, each company held by one to three holders, 5 % of holdings pointing
 * back up the graph (cross-holdings, so strongly connected sets exist). Prints the
 * solve time per target (p50/p99 over 200 targets) and the main-paths time.
 *
 *   build/bench/entities_bench [entities]
 */
#include "modules/entities/entities_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int companies = n * 4 / 5;
    srand(42);
    ent_edge_t *e = malloc((size_t)companies * 3 * sizeof(*e));
    size_t ne = 0, back = 0;
    for (int c = 0; c < companies; c++) {
        int holders = 1 + rand() % 3;
        double left = 1.0;
        for (int h = 0; h < holders; h++) {
            double share = h == holders - 1 ? left * 0.9 : left * (0.2 + 0.5 * (rand() / (double)RAND_MAX));
            left -= share;
            int owner;
            if (rand() % 100 < 45 || c == 0)
                owner = companies + rand() % (n - companies);          /* a person */
            else if (rand() % 100 < 5 && c + 1 < companies) {
                owner = c + 1 + rand() % (companies - c - 1);           /* held from below: a cycle */
                back++;
            } else
                owner = rand() % c;                                      /* a company above */
            e[ne++] = (ent_edge_t){ owner, c, share };
        }
    }
    double *x = malloc((size_t)n * sizeof(double)), t[200], tp[200];
    char why[300];
    int failed = 0;
    for (int k = 0; k < 200; k++) {
        int target = companies - 1 - (k * 37) % companies;
        double a = now_ms();
        if (ent_ubo_solve(n, e, ne, target, x, why, sizeof(why)) != FM_OK)
            failed++;
        t[k] = now_ms() - a;
        int best = -1;
        for (int i = companies; i < n; i++)
            if (best < 0 || x[i] > x[best])
                best = i;
        ent_path_t p[5];
        a = now_ms();
        ent_ubo_paths(n, e, ne, best, target, p, 5);
        tp[k] = now_ms() - a;
    }
    qsort(t, 200, sizeof(double), cmp_d);
    qsort(tp, 200, sizeof(double), cmp_d);
    printf("entities %d, ownership edges %zu (%zu pointing back: cross-holdings)\n", n, ne, back);
    printf("UBO solve per target: p50 %.2f ms, p99 %.2f ms (%d of 200 refused as closed cycles)\n", t[100], t[197],
           failed);
    printf("main paths of the top holder: p50 %.2f ms, p99 %.2f ms\n", tp[100], tp[197]);
    free(e);
    free(x);
    return 0;
}
