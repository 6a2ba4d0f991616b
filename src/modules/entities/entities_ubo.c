/*
 * entities_ubo.c — effective ownership for ultimate beneficial owners. The share a
 * holder has in a target is the sum, over every walk of ownership edges from the holder
 * to the target, of the product of the shares along it. Cross-holdings (A holds B, B
 * holds A) give infinitely many walks; their sum is the solution of a linear system,
 * which is solved, not approximated by cutting the cycle:
 *
 *   x[target] = 1,   x[i] = sum over edges i -> j of share(i, j) * x[j]
 *
 * The graph is split into strongly connected sets (Tarjan, iterative) and solved from
 * the target outwards: a set depends only on sets already solved, so a graph without
 * cycles costs O(nodes + edges) and each cycle costs a small dense solve. Walks stop at
 * the target (its own holdings do not count again). Pure: no database, no globals.
 */
#include "entities_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csr {
    int *start, *edge;      /* edges of node v: edge[start[v] .. start[v+1]) (edge indexes) */
} csr_t;

static void csr_free(csr_t *g)
{
    free(g->start);
    free(g->edge);
}

/* by_owner: edges leaving their owner; else edges entering the entity held. */
static int csr_build(csr_t *g, int n, const ent_edge_t *e, size_t ne, bool by_owner)
{
    g->start = calloc((size_t)n + 1, sizeof(int));
    g->edge = malloc((ne ? ne : 1) * sizeof(int));
    int *fill = calloc((size_t)n + 1, sizeof(int));
    if (!g->start || !g->edge || !fill) {
        free(fill);
        csr_free(g);
        return FM_ENOMEM;
    }
    for (size_t i = 0; i < ne; i++)
        g->start[(by_owner ? e[i].owner : e[i].owned) + 1]++;
    for (int v = 0; v < n; v++)
        g->start[v + 1] += g->start[v];
    for (size_t i = 0; i < ne; i++) {
        int v = by_owner ? e[i].owner : e[i].owned;
        g->edge[g->start[v] + fill[v]++] = (int)i;
    }
    free(fill);
    return FM_OK;
}

/* reach[v] = 1 when v holds, through any chain, a share of target (target included). */
static int reaching(int n, const ent_edge_t *e, size_t ne, int target, unsigned char *reach)
{
    csr_t in;
    int rc = csr_build(&in, n, e, ne, false);
    int *queue = malloc((size_t)n * sizeof(int));
    if (rc != FM_OK || !queue) {
        free(queue);
        if (rc == FM_OK)
            csr_free(&in);
        return FM_ENOMEM;
    }
    memset(reach, 0, (size_t)n);
    int head = 0, tail = 0;
    queue[tail++] = target;
    reach[target] = 1;
    while (head < tail) {
        int v = queue[head++];
        for (int k = in.start[v]; k < in.start[v + 1]; k++) {
            int o = e[in.edge[k]].owner;
            if (!reach[o]) {
                reach[o] = 1;
                queue[tail++] = o;
            }
        }
    }
    free(queue);
    csr_free(&in);
    return FM_OK;
}

/* Solves x_S = A_SS x_S + c for one strongly connected set S (nodes[0..k)). */
static int solve_set(const int *nodes, int k, const csr_t *out, const ent_edge_t *e, const int *loc, double *x,
                     char *why, size_t wl)
{
    if (k <= 0)
        return FM_OK;
    double *c = calloc((size_t)k, sizeof(double));
    if (!c)
        return FM_ENOMEM;
    for (int a = 0; a < k; a++) {
        int v = nodes[a];
        for (int q = out->start[v]; q < out->start[v + 1]; q++) {
            const ent_edge_t *ed = &e[out->edge[q]];
            if (loc[ed->owned] < 0)
                c[a] += ed->share * x[ed->owned];
        }
    }
    int rc = FM_OK;
    if (k <= ENT_UBO_DENSE) {
        /* (I - A) x = c by Gaussian elimination with partial pivoting. */
        size_t kk = (size_t)k;
        double *m = calloc(kk * kk, sizeof(double));
        if (!m) {
            free(c);
            return FM_ENOMEM;
        }
        for (int a = 0; a < k; a++) {
            m[(size_t)a * k + a] = 1.0;
            int v = nodes[a];
            for (int q = out->start[v]; q < out->start[v + 1]; q++) {
                const ent_edge_t *ed = &e[out->edge[q]];
                if (loc[ed->owned] >= 0)
                    m[(size_t)a * k + loc[ed->owned]] -= ed->share;
            }
        }
        for (int col = 0; col < k && rc == FM_OK; col++) {
            int piv = col;
            for (int r = col + 1; r < k; r++)
                if (fabs(m[(size_t)r * k + col]) > fabs(m[(size_t)piv * k + col]))
                    piv = r;
            if (fabs(m[(size_t)piv * k + col]) < 1e-12) {
                rc = FM_EINVAL;
                break;
            }
            if (piv != col) {
                for (int j = 0; j < k; j++) {
                    double t = m[(size_t)col * k + j];
                    m[(size_t)col * k + j] = m[(size_t)piv * k + j];
                    m[(size_t)piv * k + j] = t;
                }
                double t = c[col];
                c[col] = c[piv];
                c[piv] = t;
            }
            for (int r = col + 1; r < k; r++) {
                double f = m[(size_t)r * k + col] / m[(size_t)col * k + col];
                if (f == 0.0)
                    continue;
                for (int j = col; j < k; j++)
                    m[(size_t)r * k + j] -= f * m[(size_t)col * k + j];
                c[r] -= f * c[col];
            }
        }
        for (int r = k - 1; r >= 0 && rc == FM_OK; r--) {
            double s = c[r];
            for (int j = r + 1; j < k; j++)
                s -= m[(size_t)r * k + j] * x[nodes[j]];
            x[nodes[r]] = s / m[(size_t)r * k + r];
        }
        free(m);
    } else {
        /* Gauss-Seidel: converges because every column of A sums to at most 1 and the
         * set leaks (checked by the diagonal and by the sweep bound). */
        size_t set_edges = 0;
        for (int a = 0; a < k; a++)
            set_edges += (size_t)(out->start[nodes[a] + 1] - out->start[nodes[a]]);
        size_t max_sweeps = 50000000 / (set_edges + (size_t)k) + 10;
        bool done = false;
        for (int a = 0; a < k; a++)
            x[nodes[a]] = 0.0;
        for (size_t sweep = 0; sweep < max_sweeps && !done; sweep++) {
            double delta = 0.0, big = 0.0;
            for (int a = 0; a < k; a++) {
                int v = nodes[a];
                double s = c[a], self = 0.0;
                for (int q = out->start[v]; q < out->start[v + 1]; q++) {
                    const ent_edge_t *ed = &e[out->edge[q]];
                    if (ed->owned == v)
                        self += ed->share;
                    else if (loc[ed->owned] >= 0)
                        s += ed->share * x[ed->owned];
                }
                if (1.0 - self < 1e-12) {
                    rc = FM_EINVAL;
                    break;
                }
                double nv = s / (1.0 - self);
                delta = fmax(delta, fabs(nv - x[v]));
                big = fmax(big, fabs(nv));
                x[v] = nv;
            }
            if (rc != FM_OK)
                break;
            done = delta <= 1e-14 * fmax(1.0, big);
        }
        if (rc == FM_OK && !done)
            rc = FM_EINVAL;
    }
    free(c);
    if (rc != FM_OK) {
        snprintf(why, wl, "the ownership cycle through %d entities keeps all its shares among its members (no "
                          "owner outside the cycle): effective shares have no finite value; check the percentages",
                 k);
        return rc;
    }
    for (int a = 0; a < k; a++) {
        double *v = &x[nodes[a]];
        if (*v < 0.0 && *v > -1e-9)
            *v = 0.0;
        if (*v > 1.0 && *v < 1.0 + 1e-9)
            *v = 1.0;
    }
    return FM_OK;
}

int ent_ubo_solve(int n, const ent_edge_t *e, size_t ne, int target, double *x, char *why, size_t wl)
{
    if (n <= 0 || target < 0 || target >= n)
        return FM_EINVAL;
    for (int v = 0; v < n; v++)
        x[v] = 0.0;
    x[target] = 1.0;
    unsigned char *reach = malloc((size_t)n);
    int *index = malloc((size_t)n * sizeof(int)), *low = malloc((size_t)n * sizeof(int));
    int *stack = malloc((size_t)n * sizeof(int)), *loc = malloc((size_t)n * sizeof(int));
    int *cs_node = malloc((size_t)n * sizeof(int)), *cs_pos = malloc((size_t)n * sizeof(int));
    unsigned char *on = calloc((size_t)n, 1);
    csr_t out = { 0 };
    int rc = FM_ENOMEM;
    if (!reach || !index || !low || !stack || !loc || !cs_node || !cs_pos || !on)
        goto done;
    if ((rc = reaching(n, e, ne, target, reach)) != FM_OK || (rc = csr_build(&out, n, e, ne, true)) != FM_OK)
        goto done;
    for (int v = 0; v < n; v++) {
        index[v] = -1;
        loc[v] = -1;
    }
    int counter = 0, sp = 0;
    for (int root = 0; root < n && rc == FM_OK; root++) {
        if (!reach[root] || index[root] >= 0)
            continue;
        int depth = 0;
        cs_node[0] = root;
        cs_pos[0] = out.start[root];
        index[root] = low[root] = counter++;
        stack[sp++] = root;
        on[root] = 1;
        while (depth >= 0 && rc == FM_OK) {
            int v = cs_node[depth];
            /* The target absorbs: walks end there, so its own holdings are not followed. */
            int end = v == target ? cs_pos[depth] : out.start[v + 1];
            if (cs_pos[depth] < end) {
                int w = e[out.edge[cs_pos[depth]++]].owned;
                if (!reach[w])
                    continue;
                if (index[w] < 0) {
                    index[w] = low[w] = counter++;
                    stack[sp++] = w;
                    on[w] = 1;
                    depth++;
                    cs_node[depth] = w;
                    cs_pos[depth] = out.start[w];
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                /* v roots a strongly connected set: every set it reaches is solved. */
                int top = sp;
                do
                    on[stack[--sp]] = 0;
                while (stack[sp] != v);
                int k = top - sp;
                const int *set = stack + sp;
                if (!(k == 1 && set[0] == target)) {
                    for (int a = 0; a < k; a++)
                        loc[set[a]] = a;
                    rc = solve_set(set, k, &out, e, loc, x, why, wl);
                    for (int a = 0; a < k; a++)
                        loc[set[a]] = -1;
                }
            }
            depth--;
            if (depth >= 0 && low[v] < low[cs_node[depth]])
                low[cs_node[depth]] = low[v];
        }
    }
done:
    csr_free(&out);
    free(reach);
    free(index);
    free(low);
    free(stack);
    free(loc);
    free(cs_node);
    free(cs_pos);
    free(on);
    return rc;
}

int ent_ubo_paths(int n, const ent_edge_t *e, size_t ne, int from, int target, ent_path_t *out, int keep)
{
    enum { MAX_EDGES_ON_PATH = 14, BUDGET = 20000 };
    csr_t g;
    unsigned char *reach = malloc((size_t)n), *onpath = calloc((size_t)n, 1);
    if (!reach || !onpath || reaching(n, e, ne, target, reach) != FM_OK || csr_build(&g, n, e, ne, true) != FM_OK) {
        free(reach);
        free(onpath);
        return 0;
    }
    int path[MAX_EDGES_ON_PATH + 1], pos[MAX_EDGES_ON_PATH + 1];
    double prod[MAX_EDGES_ON_PATH + 1];
    int depth = 0, found = 0, budget = BUDGET;
    path[0] = from;
    pos[0] = g.start[from];
    prod[0] = 1.0;
    onpath[from] = 1;
    while (depth >= 0 && budget > 0) {
        int v = path[depth];
        if (pos[depth] >= g.start[v + 1] || depth == MAX_EDGES_ON_PATH) {
            onpath[v] = 0;
            depth--;
            continue;
        }
        const ent_edge_t *ed = &e[g.edge[pos[depth]++]];
        int w = ed->owned;
        if (!reach[w] || onpath[w])
            continue;
        budget--;
        double p = prod[depth] * ed->share;
        if (w == target) {
            /* Keep the `keep` largest, in descending order. */
            int at = found < keep ? found : keep;
            while (at > 0 && out[at - 1].share < p)
                at--;
            if (at < keep) {
                int last = found < keep ? found : keep - 1;
                memmove(&out[at + 1], &out[at], (size_t)(last - at) * sizeof(*out));
                for (int i = 0; i <= depth; i++)
                    out[at].nodes[i] = path[i];
                out[at].nodes[depth + 1] = target;
                out[at].nodes[depth + 2] = -1;
                out[at].share = p;
                if (found < keep)
                    found++;
            }
            continue;
        }
        depth++;
        path[depth] = w;
        pos[depth] = g.start[w];
        prod[depth] = p;
        onpath[w] = 1;
    }
    csr_free(&g);
    free(reach);
    free(onpath);
    return found;
}
