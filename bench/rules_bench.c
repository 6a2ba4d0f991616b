/*
 * rules_bench.c — in-process evaluation rate of the rules engine, for
 * bench/rules_bench.sh: the 20-rule, 3-input FIRST table of bench/rules_table.json
 * (built as a JSON model, parsed once) over 64 generated inputs, and each FEEL
 * expression of bench/rules_exprs.json (parsed once, evaluated with its context).
 * The same inputs and expressions go to feelin in bench/feelin_bench.mjs. Last, the
 * table with 10k, 40k and 160k extra input keys (inputs built by dmn_inputs_from_json,
 * as POST /rules/{id}/evaluate does): the rate should fall linearly with the key count.
 *
 *   rules_bench <rules_table.json> <rules_exprs.json> [seconds per case]
 *
 * Prints "name evals/s" lines.
 */
#include "dmn/dmn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        b[n] = 0;
    return b;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The inputs: a small LCG, the same in feelin_bench.mjs. */
typedef struct { int age, score; const char *cat; } input_t;

static void make_inputs(input_t *in, int n)
{
    static const char *cats[] = { "A", "B", "C", "D" };
    unsigned s = 12345;
    for (int i = 0; i < n; i++) {
        s = (s * 1103515245u + 12345u) & 0x7fffffffu;
        in[i].age = 18 + (int)(s % 60);
        s = (s * 1103515245u + 12345u) & 0x7fffffffu;
        in[i].cat = cats[s % 4];
        s = (s * 1103515245u + 12345u) & 0x7fffffffu;
        in[i].score = 300 + (int)(s % 500);
    }
}

static cJSON *table_model(const cJSON *t)
{
    cJSON *m = cJSON_CreateObject();
    cJSON *inputs = cJSON_AddArrayToObject(m, "inputs");
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(t, "inputs"))
    {
        cJSON *i = cJSON_CreateObject();
        cJSON_AddStringToObject(i, "name", x->valuestring);
        cJSON_AddItemToArray(inputs, i);
    }
    cJSON *decs = cJSON_AddArrayToObject(m, "decisions");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToArray(decs, d);
    cJSON_AddStringToObject(d, "name", "Tier");
    cJSON_AddItemToObject(d, "requires", cJSON_Duplicate(cJSON_GetObjectItem(t, "inputs"), 1));
    cJSON *tab = cJSON_AddObjectToObject(d, "table");
    cJSON_AddStringToObject(tab, "hitPolicy", "FIRST");
    cJSON_AddItemToObject(tab, "inputs", cJSON_Duplicate(cJSON_GetObjectItem(t, "inputs"), 1));
    cJSON *outs = cJSON_AddArrayToObject(tab, "outputs");
    cJSON_AddItemToArray(outs, cJSON_CreateString("tier"));
    cJSON *rules = cJSON_AddArrayToObject(tab, "rules");
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(t, "rules"))
    {
        cJSON *rule = cJSON_CreateObject();
        cJSON *when = cJSON_AddArrayToObject(rule, "when"), *then = cJSON_AddArrayToObject(rule, "then");
        for (int k = 0; k < 3; k++)
            cJSON_AddItemToArray(when, cJSON_CreateString(cJSON_GetArrayItem(r, k)->valuestring));
        cJSON_AddItemToArray(then, cJSON_CreateString(cJSON_GetArrayItem(r, 3)->valuestring));
        cJSON_AddItemToArray(rules, rule);
    }
    return m;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s rules_table.json rules_exprs.json [seconds]\n", argv[0]);
        return 2;
    }
    double secs = argc > 3 ? atof(argv[3]) : 2.0;
    char *ts = slurp(argv[1]), *es = slurp(argv[2]);
    cJSON *t = ts ? cJSON_Parse(ts) : NULL, *ex = es ? cJSON_Parse(es) : NULL;
    if (!t || !ex) {
        fprintf(stderr, "cannot read the bench inputs\n");
        return 1;
    }
    cJSON *mj = table_model(t);
    dmn_model_t *m;
    dmn_err_t err;
    if (dmn_load_json(mj, &m, &err)) {
        fprintf(stderr, "model: %s\n", err.msg);
        return 1;
    }
    input_t in[64];
    make_inputs(in, 64);
    feel_eval_t *ev = feel_eval_new(NULL);
    long n = 0;
    double t0 = now(), t1;
    unsigned long check = 0;
    do {
        for (int k = 0; k < 1000; k++, n++) {
            const input_t *x = &in[n & 63];
            feel_value_t *c = feel_context(ev);
            feel_ctx_put(ev, c, "age", feel_num_int(ev, x->age));
            feel_ctx_put(ev, c, "category", feel_cstr(ev, x->cat));
            feel_ctx_put(ev, c, "score", feel_num_int(ev, x->score));
            feel_value_t *v = dmn_evaluate(m, ev, "Tier", c, NULL);
            check += v->t == FEEL_STR ? v->u.str.len : 0;
            feel_eval_reset(ev);
        }
        t1 = now();
    } while (t1 - t0 < secs);
    printf("table-20-rules-FIRST %.0f\n", n / (t1 - t0));
    if (!check)
        fprintf(stderr, "warning: no table output\n");

    const cJSON *e;
    cJSON_ArrayForEach(e, ex)
    {
        const char *text = cJSON_GetObjectItem(e, "expr")->valuestring;
        const cJSON *ctxj = cJSON_GetObjectItem(e, "context");
        const char *names[16];
        int k = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, ctxj) if (k < 15) names[k++] = x->string;
        names[k] = NULL;
        feel_perr_t pe;
        feel_expr_t *fx = feel_parse(text, FEEL_EXPR, names, &pe);
        if (!fx) {
            fprintf(stderr, "%s: %s\n", text, pe.msg);
            return 1;
        }
        n = 0;
        t0 = now();
        do {
            for (int i = 0; i < 1000; i++, n++) {
                feel_value_t *c = feel_context(ev);
                cJSON_ArrayForEach(x, ctxj) feel_ctx_put(ev, c, x->string, dmn_from_json(ev, x, FEEL_NULL));
                feel_value_t *v = feel_eval(ev, fx, c);
                if (v->t == FEEL_NULL) {
                    fprintf(stderr, "%s gave null: %s\n", text, feel_eval_error(ev));
                    return 1;
                }
                feel_eval_reset(ev);
            }
            t1 = now();
        } while (t1 - t0 < secs);
        printf("expr-%s %.0f\n", cJSON_GetObjectItem(e, "name")->valuestring, n / (t1 - t0));
        feel_expr_free(fx);
    }
    static const int wide[] = { 10000, 40000, 160000 };
    for (size_t w = 0; w < sizeof(wide) / sizeof(wide[0]); w++) {
        cJSON *obj = cJSON_CreateObject();
        char key[32];
        for (int i = 0; i < wide[w]; i++) {
            snprintf(key, sizeof(key), "extra%d", i);
            cJSON_AddNumberToObject(obj, key, i);
        }
        cJSON_AddNumberToObject(obj, "age", 30);
        cJSON_AddStringToObject(obj, "category", "B");
        cJSON_AddNumberToObject(obj, "score", 600);
        n = 0;
        t0 = now();
        do {
            feel_value_t *v = dmn_evaluate(m, ev, "Tier", dmn_inputs_from_json(ev, m, obj), NULL);
            check += v->t == FEEL_STR;
            feel_eval_reset(ev);
            n++;
            t1 = now();
        } while (t1 - t0 < secs);
        printf("table-with-%d-input-keys %.1f\n", wide[w], n / (t1 - t0));
        cJSON_Delete(obj);
    }
    feel_eval_free(ev);
    dmn_model_free(m);
    cJSON_Delete(mj);
    cJSON_Delete(t);
    cJSON_Delete(ex);
    free(ts);
    free(es);
    return 0;
}
