/*
 * test_entities.c — the pure parts of the Legal Entity Service: LEI check digits (real
 * GLEIF codes), VAT id shapes, calendar dates and validity windows, and the ownership
 * solver: chains, two paths, cross-holdings solved exactly, a closed cycle refused, a
 * strongly connected set large enough for the iterative solver compared with plain
 * fixed-point iteration, and the main paths in order.
 */
#include "fm_test.h"

#include "modules/entities/entities_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void lei(void **state)
{
    (void)state;
    char why[200];
    const char *good[] = { "HWUPKR0MPOU8FGXBT394", "7LTWFZYICNSX8D621K86", "529900T8BM49AURSDO55",
                           "5493001KJTIIGC8Y1R12", "213800D1EI4B9WTWWD28" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(ent_lei_valid(good[i], why, sizeof(why)));
    assert_false(ent_lei_valid("HWUPKR0MPOU8FGXBT395", why, sizeof(why)));
    assert_non_null(strstr(why, "check digits"));
    assert_false(ent_lei_valid("HWUPKR0MPOU8FGXBT39", why, sizeof(why)));
    assert_false(ent_lei_valid("HWUPKR0MPOU8FGXBT3A4", why, sizeof(why)));
    assert_false(ent_lei_valid("hwupkr0mpou8fgxbt394", why, sizeof(why)));
    /* two transposed characters change the remainder */
    assert_false(ent_lei_valid("WHUPKR0MPOU8FGXBT394", why, sizeof(why)));
}

static void vat_and_dates(void **state)
{
    (void)state;
    char why[200];
    assert_true(ent_vat_valid("DE123456789", why, sizeof(why)));
    assert_false(ent_vat_valid("DE12345678", why, sizeof(why)));
    assert_true(ent_vat_valid("ATU12345678", why, sizeof(why)));
    assert_false(ent_vat_valid("AT12345678", why, sizeof(why)));
    assert_true(ent_vat_valid("FRXX123456789", why, sizeof(why)));
    assert_false(ent_vat_valid("de123456789", why, sizeof(why)));
    assert_false(ent_vat_valid("DE 23456789", why, sizeof(why)));
    assert_true(ent_date_valid("2024-02-29"));
    assert_false(ent_date_valid("2023-02-29"));
    assert_false(ent_date_valid("1900-02-29"));
    assert_true(ent_date_valid("2000-02-29"));
    assert_false(ent_date_valid("2024-13-01"));
    assert_false(ent_date_valid("2024-1-01"));
    assert_true(ent_valid_on(NULL, NULL, "2024-01-01"));
    assert_true(ent_valid_on("2024-01-01", "2024-01-01", "2024-01-01"));
    assert_false(ent_valid_on("2024-01-02", NULL, "2024-01-01"));
    assert_false(ent_valid_on(NULL, "2023-12-31", "2024-01-01"));
}

static void chain_and_two_paths(void **state)
{
    (void)state;
    /* 0 target; 1 Alpha; 2 Beta; 3 Petra; 4 Quentin */
    ent_edge_t e[] = { { 3, 1, 0.6 }, { 4, 1, 0.4 }, { 1, 0, 0.5 }, { 3, 0, 0.1 }, { 3, 2, 0.5 }, { 2, 0, 0.2 } };
    double x[5];
    char why[200];
    assert_int_equal(ent_ubo_solve(5, e, 6, 0, x, why, sizeof(why)), FM_OK);
    assert_true(fabs(x[0] - 1.0) < 1e-12);
    assert_true(fabs(x[3] - 0.5) < 1e-12);
    assert_true(fabs(x[4] - 0.2) < 1e-12);
    assert_true(fabs(x[1] - 0.5) < 1e-12 && fabs(x[2] - 0.2) < 1e-12);
    ent_path_t p[5];
    int n = ent_ubo_paths(5, e, 6, 3, 0, p, 5);
    assert_int_equal(n, 3);
    assert_true(fabs(p[0].share - 0.3) < 1e-12 && fabs(p[1].share - 0.1) < 1e-12 && fabs(p[2].share - 0.1) < 1e-12);
    assert_int_equal(p[0].nodes[0], 3);
    assert_int_equal(p[0].nodes[1], 1);
    assert_int_equal(p[0].nodes[2], 0);
    assert_int_equal(p[0].nodes[3], -1);
    /* keep fewer than found: the largest stays */
    assert_int_equal(ent_ubo_paths(5, e, 6, 3, 0, p, 1), 1);
    assert_true(fabs(p[0].share - 0.3) < 1e-12);
}

static void cross_holdings_exact(void **state)
{
    (void)state;
    /* 0 target; 1 A; 2 B; 3 P; 4 Q; A and B hold each other; the target holds A back
     * (walks end at the target, so that edge changes nothing). */
    ent_edge_t e[] = { { 1, 0, 0.4 }, { 2, 0, 0.3 }, { 2, 1, 0.5 }, { 1, 2, 0.2 },
                       { 3, 1, 0.5 }, { 4, 2, 0.8 }, { 0, 1, 0.0001 } };
    double x[5];
    char why[200];
    assert_int_equal(ent_ubo_solve(5, e, 7, 0, x, why, sizeof(why)), FM_OK);
    double xa = 0.46 / 0.9, xb = 0.3 + 0.5 * xa;
    assert_true(fabs(x[1] - xa) < 1e-12);
    assert_true(fabs(x[2] - xb) < 1e-12);
    assert_true(fabs(x[3] - 0.5 * xa) < 1e-12);
    assert_true(fabs(x[4] - 0.8 * xb) < 1e-12);
}

static void closed_cycle_refused(void **state)
{
    (void)state;
    ent_edge_t e[] = { { 1, 0, 0.5 }, { 2, 1, 1.0 }, { 1, 2, 1.0 } };
    double x[3];
    char why[300] = "";
    assert_int_equal(ent_ubo_solve(3, e, 3, 0, x, why, sizeof(why)), FM_EINVAL);
    assert_non_null(strstr(why, "cycle"));
    /* a self-holding of 100 % is the same */
    ent_edge_t s[] = { { 1, 0, 0.5 }, { 1, 1, 1.0 } };
    assert_int_equal(ent_ubo_solve(2, s, 2, 0, x, why, sizeof(why)), FM_EINVAL);
}

/* A ring of n companies, each holding 60 % of the next and 30/n % of the target, with
 * one person holding 40 % of each: one strongly connected set of n > ENT_UBO_DENSE nodes,
 * solved by Gauss-Seidel, compared with Jacobi iteration run to a fixed point here. */
static void large_cycle_iterative(void **state)
{
    (void)state;
    int ring = ENT_UBO_DENSE + 100, n = ring + 2, target = 0, person = ring + 1;
    ent_edge_t *e = calloc((size_t)ring * 3, sizeof(*e));
    size_t ne = 0;
    for (int i = 1; i <= ring; i++) {
        int next = i == ring ? 1 : i + 1;
        e[ne++] = (ent_edge_t){ i, next, 0.6 };
        e[ne++] = (ent_edge_t){ i, target, 0.3 / ring };
        e[ne++] = (ent_edge_t){ person, i, 0.4 };
    }
    double *x = calloc((size_t)n, sizeof(double)), *y = calloc((size_t)n, sizeof(double));
    double *z = calloc((size_t)n, sizeof(double));
    char why[200];
    assert_int_equal(ent_ubo_solve(n, e, ne, target, x, why, sizeof(why)), FM_OK);
    y[target] = 1.0;
    for (int it = 0; it < 2000; it++) {
        memset(z, 0, (size_t)n * sizeof(double));
        z[target] = 1.0;
        for (size_t k = 0; k < ne; k++)
            if (e[k].owner != target)
                z[e[k].owner] += e[k].share * y[e[k].owned];
        memcpy(y, z, (size_t)n * sizeof(double));
    }
    for (int i = 0; i < n; i++)
        assert_true(fabs(x[i] - y[i]) < 1e-9);
    /* by symmetry each company holds (0.3 / n) / (1 - 0.6) of the target, the person 30 % */
    assert_true(fabs(x[1] - 0.75 / ring) < 1e-12);
    assert_true(fabs(x[person] - 0.3) < 1e-9);
    free(e);
    free(x);
    free(y);
    free(z);
}

static void unrelated_nodes_are_zero(void **state)
{
    (void)state;
    ent_edge_t e[] = { { 1, 0, 0.5 }, { 2, 3, 0.9 } };
    double x[4];
    char why[200];
    assert_int_equal(ent_ubo_solve(4, e, 2, 0, x, why, sizeof(why)), FM_OK);
    assert_true(x[2] == 0.0 && x[3] == 0.0 && fabs(x[1] - 0.5) < 1e-12);
    ent_path_t p[2];
    assert_int_equal(ent_ubo_paths(4, e, 2, 2, 0, p, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lei),
        cmocka_unit_test(vat_and_dates),
        cmocka_unit_test(chain_and_two_paths),
        cmocka_unit_test(cross_holdings_exact),
        cmocka_unit_test(closed_cycle_refused),
        cmocka_unit_test(large_cycle_iterative),
        cmocka_unit_test(unrelated_nodes_are_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
