/*
 * dmn_tck.c — the DMN TCK runner. Walks <tck>/compliance-level-{2,3}/<case>/, loads
 * each model with the DMN importer, evaluates every testCase's result nodes and
 * compares them with the typed expected values. Prints one line per failure and then
 * exactly "N passed, N failed, N skipped" (counted per testCase).
 *
 *   dmn_tck <tck-dir> <known-failures-file> [-v]
 *
 * Known failures (one "<case>:<testCase id> reason" per line) still count as failed,
 * but only a failure missing from that list makes the exit status 1, so a regression
 * breaks `make test`. A listed case that now passes is reported, so the list shrinks.
 * Numbers compare as decimals: exactly, or — when the expected text has 10 or more
 * significant digits (values a double-based engine printed) — within one unit of its
 * last digit.
 */
#include "dmn/dmn.h"
#include "dmn/dmn_xml.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char **known;
static size_t nknown;
static int verbose;

static char *slurp(const char *path, size_t *len)
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
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

static void load_known(const char *path)
{
    size_t len;
    char *b = path ? slurp(path, &len) : NULL;
    if (!b)
        return;
    for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
        if (*line == '#' || !*line)
            continue;
        char *sp = strchr(line, ' ');
        if (sp)
            *sp = 0;
        known = realloc(known, (nknown + 1) * sizeof(*known));
        known[nknown++] = strdup(line);
    }
    free(b);
}

static bool is_known(const char *id)
{
    for (size_t i = 0; i < nknown; i++)
        if (!strcmp(known[i], id))
            return true;
    return false;
}

static const char *trim(char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\n' || s[l - 1] == '\t' || s[l - 1] == '\r'))
        s[--l] = 0;
    return s;
}

/* A TCK value element (value | component* | list) to FEEL. */
static feel_value_t *tck_value(feel_eval_t *ev, const xml_node_t *n)
{
    const xml_node_t *v = xml_child(n, "value");
    const xml_node_t *l = xml_child(n, "list");
    if (l) {
        size_t k = 0;
        for (const xml_node_t *c = l->first; c; c = c->next)
            k += !strcmp(c->name, "item");
        feel_value_t *out = feel_list(ev, k);
        size_t i = 0;
        for (const xml_node_t *c = l->first; c; c = c->next)
            if (!strcmp(c->name, "item"))
                out->u.list.items[i++] = tck_value(ev, c);
        return out;
    }
    if (xml_child(n, "component")) {
        feel_value_t *ctx = feel_context(ev);
        for (const xml_node_t *c = n->first; c; c = c->next)
            if (!strcmp(c->name, "component"))
                feel_ctx_put(ev, ctx, xml_attr(c, "name") ? xml_attr(c, "name") : "", tck_value(ev, c));
        return ctx;
    }
    if (!v)
        return feel_null();
    const char *nil = xml_attr(v, "nil");
    if (nil && !strcmp(nil, "true"))
        return feel_null();
    if (xml_child(v, "component") || xml_child(v, "list"))
        return tck_value(ev, v);
    const char *type = xml_attr(v, "type");
    const char *t = type ? strchr(type, ':') : NULL;
    t = t ? t + 1 : type ? type : "string";
    char *text = v->text;
    if (!strcmp(t, "string"))
        return feel_str(ev, text, strlen(text));
    const char *s = trim(text);
    if (!strcmp(t, "decimal") || !strcmp(t, "double") || !strcmp(t, "int") || !strcmp(t, "integer") ||
        !strcmp(t, "long") || !strcmp(t, "float"))
        return feel_num_parse(ev, s);
    if (!strcmp(t, "boolean"))
        return feel_bool(!strcmp(s, "true"));
    if (!strcmp(t, "date"))
        return feel_temporal_parse(ev, FEEL_DATE, s);
    if (!strcmp(t, "time"))
        return feel_temporal_parse(ev, FEEL_TIME, s);
    if (!strcmp(t, "dateTime"))
        return feel_temporal_parse(ev, FEEL_DT, s);
    if (!strcmp(t, "duration") || !strcmp(t, "dayTimeDuration") || !strcmp(t, "yearMonthDuration"))
        return feel_temporal_parse(ev, FEEL_DTD, s);
    return feel_str(ev, text, strlen(text));
}

static int sig_digits(feel_dec_t d)
{
    char b[96];
    feel_dec_format(d, b, sizeof(b));
    int n = 0, lead = 1;
    for (char *p = b; *p; p++) {
        if (*p < '0' || *p > '9')
            continue;
        if (*p == '0' && lead)
            continue;
        lead = 0;
        n++;
    }
    return n;
}

static bool same(const feel_value_t *want, const feel_value_t *got)
{
    if (want->t == FEEL_NUM && got->t == FEEL_NUM) {
        if (feel_dec_cmp(want->u.n, got->u.n) == 0)
            return true;
        if (sig_digits(want->u.n) < 10)
            return false;
        feel_dec_t diff, ulp = { 1, want->u.n.e };
        feel_dec_sub(want->u.n, got->u.n, &diff);
        if (diff.c < 0)
            diff.c = -diff.c;
        return feel_dec_cmp(diff, ulp) <= 0;
    }
    if (want->t == FEEL_LIST && got->t == FEEL_LIST) {
        if (want->u.list.n != got->u.list.n)
            return false;
        for (size_t i = 0; i < want->u.list.n; i++)
            if (!same(want->u.list.items[i], got->u.list.items[i]))
                return false;
        return true;
    }
    if (want->t == FEEL_CTX && got->t == FEEL_CTX) {
        if (want->u.ctx.n != got->u.ctx.n)
            return false;
        for (size_t i = 0; i < want->u.ctx.n; i++) {
            const feel_value_t *g = feel_ctx_get(got, want->u.ctx.keys[i]);
            if (!g || !same(want->u.ctx.vals[i], g))
                return false;
        }
        return true;
    }
    if (want->t == FEEL_DTD && got->t == FEEL_YMD) {   /* xsd:duration is read as days-time first */
        return false;
    }
    return feel_equal(want, got) == 1;
}

/* Expected durations are parsed as days-and-time; re-read as years-and-months when
 * the text says so. */
static feel_value_t *expected_value(feel_eval_t *ev, const xml_node_t *exp)
{
    const xml_node_t *v = xml_child(exp, "value");
    const char *type = v ? xml_attr(v, "type") : NULL;
    if (type && strstr(type, "uration")) {
        const char *s = trim(v->text);
        return feel_temporal_parse(ev, FEEL_DTD, s);
    }
    return tck_value(ev, exp);
}

typedef struct totals {
    int passed, failed, skipped, unexpected, fixed;
} totals_t;

static void run_case(const char *dir, const char *level, const char *name, totals_t *tot)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s/%s/%s-test-01.xml", dir, level, name, name);
    size_t len;
    char *tx = slurp(path, &len);
    if (!tx) {
        tot->skipped++;
        return;
    }
    char why[512];
    xml_node_t *tests = xml_parse(tx, len, why, sizeof(why));
    free(tx);
    if (!tests) {
        printf("SKIP %s: test file: %s\n", name, why);
        tot->skipped++;
        return;
    }
    const char *model_file = xml_child_text(tests, "modelName");
    snprintf(path, sizeof(path), "%s/%s/%s/%s", dir, level, name, model_file ? model_file : "");
    char *mx = slurp(path, &len);
    dmn_model_t *m = NULL;
    dmn_err_t err = { 0 };
    if (!mx || dmn_load_xml(mx, len, &m, &err) != 0)
        snprintf(why, sizeof(why), "model: %s [%s]", mx ? err.msg : "cannot read", err.element);
    free(mx);
    feel_eval_t *ev = feel_eval_new(NULL);
    for (xml_node_t *tc = tests->first; tc; tc = tc->next) {
        if (strcmp(tc->name, "testCase"))
            continue;
        char id[256];
        snprintf(id, sizeof(id), "%s:%s", name, xml_attr(tc, "id") ? xml_attr(tc, "id") : "?");
        bool ok = m != NULL, any = false;
        char detail[1024] = "";
        if (!m)
            snprintf(detail, sizeof(detail), "%s", why);
        feel_value_t *inputs = feel_context(ev);
        for (xml_node_t *in = tc->first; m && in; in = in->next)
            if (!strcmp(in->name, "inputNode"))
                feel_ctx_put(ev, inputs, xml_attr(in, "name") ? xml_attr(in, "name") : "", tck_value(ev, in));
        for (xml_node_t *rn = tc->first; m && rn; rn = rn->next) {
            if (strcmp(rn->name, "resultNode"))
                continue;
            any = true;
            const char *dec = xml_attr(rn, "name");
            const char *er = xml_attr(rn, "errorResult");
            dmn_trace_t tr;
            feel_value_t *got = dmn_evaluate(m, ev, dec, inputs, &tr);
            xml_node_t *exp = xml_child(rn, "expected");
            feel_value_t *want = er && !strcmp(er, "true") ? feel_null() : exp ? expected_value(ev, exp) : feel_null();
            if (want->t == FEEL_DTD && got->t == FEEL_YMD) {
                const xml_node_t *v = xml_child(exp, "value");
                want = feel_temporal_parse(ev, FEEL_YMD, trim(v->text));
            }
            if (!same(want, got)) {
                ok = false;
                if (strlen(detail) < 600)
                    snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s: want %.120s got %.120s%s%.150s; ",
                             dec ? dec : "?", feel_to_string(ev, want), feel_to_string(ev, got),
                             tr.nwarnings ? " — " : "", tr.nwarnings ? tr.warnings[0] : "");
            }
            feel_eval_clear_error(ev);
        }
        feel_eval_reset(ev);
        if (!any && m) {
            tot->skipped++;
            continue;
        }
        bool k = is_known(id);
        if (ok) {
            tot->passed++;
            if (k) {
                tot->fixed++;
                printf("NOW PASSES (remove from known failures): %s\n", id);
            }
        } else {
            tot->failed++;
            if (!k)
                tot->unexpected++;
            if (!k || verbose)
                printf("%s %s: %s\n", k ? "known" : "FAIL", id, detail);
        }
    }
    feel_eval_free(ev);
    dmn_model_free(m);
    xml_free(tests);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/conformance/dmn-tck";
    load_known(argc > 2 ? argv[2] : NULL);
    verbose = argc > 3 && !strcmp(argv[3], "-v");
    totals_t tot = { 0 };
    const char *levels[] = { "compliance-level-2", "compliance-level-3" };
    bool found = false;
    for (int l = 0; l < 2; l++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, levels[l]);
        DIR *d = opendir(path);
        if (!d)
            continue;
        found = true;
        char *names[1024];
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)) && n < 1024)
            if (e->d_name[0] != '.')
                names[n++] = strdup(e->d_name);
        closedir(d);
        qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++) {
            run_case(dir, levels[l], names[i], &tot);
            free(names[i]);
        }
    }
    if (!found)
        printf("no TCK fixtures under %s\n", dir);
    if (tot.fixed)
        printf("%d known failure(s) now pass\n", tot.fixed);
    if (tot.unexpected)
        printf("%d failure(s) not in the known-failures list\n", tot.unexpected);
    printf("%d passed, %d failed, %d skipped\n", tot.passed, tot.failed, tot.skipped);
    for (size_t i = 0; i < nknown; i++)
        free(known[i]);
    free(known);
    return tot.unexpected ? 1 : 0;
}
