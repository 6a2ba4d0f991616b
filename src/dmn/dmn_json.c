/*
 * dmn_json.c — the JSON face of DMN: FEEL values to and from JSON (numbers keep
 * their exact decimal text through cJSON raw items), and the JSON rule-set model of
 * docs/rules.md ("inputs", "decisions" with "literal" | "table" | "context", "bkms"),
 * built into the same model the XML importer builds.
 */
#include "dmn_int.h"

#include "fm.h"
#include "fm_json_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t key_hash(const char *k)
{
    size_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

/* A JSON object as a FEEL context in one pass: keys are deduplicated through a hash
 * table (a repeated key keeps its first place and its last value, as feel_ctx_put
 * would), so n keys cost O(n), not the O(n²) of putting them one by one. With m, a
 * key naming an inputData is typed by its typeRef (O(inputData) lookups, not O(n)). */
feel_value_t *dmn_inputs_from_json(feel_eval_t *ev, const dmn_model_t *m, const cJSON *obj)
{
    feel_value_t *o = feel_context(ev);
    size_t n = 0, k = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, obj) n++;
    if (!n || o->t != FEEL_CTX)
        return o;
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    size_t *slot = calloc(cap, sizeof(*slot));              /* entry index + 1, 0: empty */
    const cJSON **src = malloc(n * sizeof(*src));
    const char **keys = feel_alloc(ev, n * sizeof(*keys));
    feel_value_t **vals = feel_alloc(ev, n * sizeof(*vals));
    if (!slot || !src || !keys || !vals) {
        free(slot);
        free(src);
        feel_err(ev, "evaluation memory limit reached");
        return o;
    }
    cJSON_ArrayForEach(c, obj)
    {
        size_t h = key_hash(c->string) & (cap - 1);
        while (slot[h] && strcmp(keys[slot[h] - 1], c->string))
            h = (h + 1) & (cap - 1);
        if (slot[h]) {
            src[slot[h] - 1] = c;
            continue;
        }
        size_t kl = strlen(c->string);
        char *kc = feel_alloc(ev, kl + 1);
        if (!kc)
            break;
        memcpy(kc, c->string, kl);
        keys[k] = kc;
        src[k] = c;
        slot[h] = ++k;
    }
    for (size_t i = 0; i < k; i++)
        vals[i] = dmn_from_json(ev, src[i], FEEL_NULL);
    for (size_t i = 0; m && i < m->nnodes; i++) {
        if (m->nodes[i].k != NODE_INPUT)
            continue;
        feel_type_t t = dmn_input_type(m, m->nodes[i].name);
        size_t h = key_hash(m->nodes[i].name) & (cap - 1);
        while (slot[h] && strcmp(keys[slot[h] - 1], m->nodes[i].name))
            h = (h + 1) & (cap - 1);
        if (slot[h] && t != FEEL_NULL)
            vals[slot[h] - 1] = dmn_from_json(ev, src[slot[h] - 1], t);
    }
    free(slot);
    free(src);
    o->u.ctx.keys = keys;
    o->u.ctx.vals = vals;
    o->u.ctx.n = k;
    o->u.ctx.cap = n;
    return o;
}

feel_value_t *dmn_from_json(feel_eval_t *ev, const cJSON *j, feel_type_t as)
{
    if (!j || cJSON_IsNull(j))
        return feel_null();
    if (cJSON_IsBool(j))
        return feel_bool(cJSON_IsTrue(j));
    if (cJSON_IsRaw(j))     /* a number dmn_to_json wrote with its exact digits */
        return feel_num_parse(ev, j->valuestring);
    if (cJSON_IsNumber(j))
        return feel_num_double(ev, j->valuedouble);
    if (cJSON_IsString(j)) {
        if (as == FEEL_DATE || as == FEEL_TIME || as == FEEL_DT || as == FEEL_DTD || as == FEEL_YMD) {
            feel_value_t *t = feel_temporal_parse(ev, as, j->valuestring);
            if (t->t != FEEL_NULL)
                return t;
        }
        return feel_cstr(ev, j->valuestring);
    }
    if (cJSON_IsArray(j)) {
        feel_value_t *l = feel_list(ev, (size_t)cJSON_GetArraySize(j));
        size_t i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, j)
        {
            if (l->t == FEEL_LIST)
                l->u.list.items[i++] = dmn_from_json(ev, c, FEEL_NULL);
        }
        return l;
    }
    if (cJSON_IsObject(j))
        return dmn_inputs_from_json(ev, NULL, j);
    return feel_null();
}

/* NULL when v nests deeper than FM_JSON_MAX_DEPTH (*deep) or memory ran out: the
 * server never holds JSON that printing or copying could not recurse through. */
static cJSON *to_json(feel_eval_t *ev, const feel_value_t *v, int depth, bool *deep)
{
    char buf[128];
    if ((v->t == FEEL_LIST || v->t == FEEL_CTX) && depth >= FM_JSON_MAX_DEPTH) {
        *deep = true;
        return NULL;
    }
    switch (v->t) {
    case FEEL_NULL: return cJSON_CreateNull();
    case FEEL_BOOL: return cJSON_CreateBool(v->u.b);
    case FEEL_NUM:
        feel_dec_format(v->u.n, buf, sizeof(buf));
        if (strchr(buf, 'E'))   /* JSON has no room for 1E+70 in plain form: keep the text */
            return cJSON_CreateString(buf);
        return cJSON_CreateRaw(buf);
    case FEEL_STR: {
        char *s = feel_alloc(ev, v->u.str.len + 1);
        if (!s)
            return cJSON_CreateNull();
        memcpy(s, v->u.str.s, v->u.str.len);
        return cJSON_CreateString(s);
    }
    case FEEL_LIST: {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; a && i < v->u.list.n; i++) {
            cJSON *x = to_json(ev, v->u.list.items[i], depth + 1, deep);
            if (!x) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, x);
        }
        return a;
    }
    case FEEL_CTX: {
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; o && i < v->u.ctx.n; i++) {
            cJSON *x = to_json(ev, v->u.ctx.vals[i], depth + 1, deep);
            if (!x) {
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddItemToObject(o, v->u.ctx.keys[i], x);
        }
        return o;
    }
    default:
        return cJSON_CreateString(feel_to_string(ev, v));
    }
}

cJSON *dmn_to_json(feel_eval_t *ev, const feel_value_t *v)
{
    bool deep = false;
    cJSON *j = to_json(ev, v, 0, &deep);
    if (!j)
        feel_err(ev, deep ? "the value nests deeper than %d lists and contexts, the JSON limit"
                          : "out of memory converting the value to JSON", FM_JSON_MAX_DEPTH);
    return j;
}

/* ---- the JSON model ---- */
static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void collect(dmn_model_t *m, const cJSON *j)
{
    const cJSON *c;
    if (cJSON_IsObject(j)) {
        const char *n = jstr(j, "name");
        if (n)
            dmn_add_name(m, n);
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "params");
        cJSON_ArrayForEach(c, ps)
        {
            if (cJSON_IsString(c))
                dmn_add_name(m, c->valuestring);
        }
        cJSON_ArrayForEach(c, j) collect(m, c);
    } else if (cJSON_IsArray(j)) {
        cJSON_ArrayForEach(c, j) collect(m, c);
    }
}

static dmn_expr_t *expr_from(dmn_model_t *m, const cJSON *d, const char *id, dmn_err_t *err);

static int table_from(dmn_model_t *m, dmn_expr_t *e, const cJSON *t, dmn_err_t *err)
{
    static const char *hps[] = { "UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER", NULL };
    const char *hp = jstr(t, "hitPolicy");
    e->hp = HP_UNIQUE;
    if (hp) {
        int i = 0;
        while (hps[i] && strcmp(hps[i], hp))
            i++;
        if (!hps[i])
            return dmn_fail(err, e->id, "unknown hit policy '%s'", hp);
        e->hp = (dmn_hp_t)i;
    }
    const char *ag = jstr(t, "aggregation");
    if (ag) {
        e->agg = !strcmp(ag, "SUM") ? AG_SUM : !strcmp(ag, "MIN") ? AG_MIN : !strcmp(ag, "MAX") ? AG_MAX
               : !strcmp(ag, "COUNT") ? AG_COUNT : (dmn_agg_t)-1;
        if ((int)e->agg < 0 || e->hp != HP_COLLECT)
            return dmn_fail(err, e->id, "bad aggregation '%s' (COLLECT only: SUM, MIN, MAX, COUNT)", ag);
    }
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(t, "inputs");
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(t, "outputs");
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(t, "rules");
    if (!cJSON_IsArray(ins) || !cJSON_IsArray(outs) || !cJSON_IsArray(rules) || cJSON_GetArraySize(outs) < 1)
        return dmn_fail(err, e->id, "a table needs arrays inputs, outputs (one or more) and rules");
    size_t ni = (size_t)cJSON_GetArraySize(ins), no = (size_t)cJSON_GetArraySize(outs);
    size_t nr = (size_t)cJSON_GetArraySize(rules);
    e->inputs = dmn_xalloc(ni * sizeof(*e->inputs));
    e->outputs = dmn_xalloc(no * sizeof(*e->outputs));
    e->rules = dmn_xalloc(nr * sizeof(*e->rules));
    if (!e->inputs || !e->outputs || !e->rules)
        return dmn_fail(err, e->id, "out of memory");
    const cJSON *c;
    cJSON_ArrayForEach(c, ins)
    {
        const char *x = cJSON_IsString(c) ? c->valuestring : jstr(c, "expression");
        if (!x)
            return dmn_fail(err, e->id, "each table input is a FEEL string or {expression, values?}");
        dmn_dt_input_t *in = &e->inputs[e->ninputs++];
        if (!(in->expr = dmn_feel(m, x, FEEL_EXPR, e->id, err)))
            return FM_EINVAL;
        const char *vals = cJSON_IsObject(c) ? jstr(c, "values") : NULL;
        if (vals && !(in->values = dmn_feel(m, vals, FEEL_UNARY, e->id, err)))
            return FM_EINVAL;
    }
    cJSON_ArrayForEach(c, outs)
    {
        const char *name = cJSON_IsString(c) ? c->valuestring : jstr(c, "name");
        if (!name)
            return dmn_fail(err, e->id, "each table output is a name or {name, values?, default?}");
        dmn_dt_output_t *o = &e->outputs[e->noutputs++];
        o->name = dmn_strdup(name);
        const char *vals = cJSON_IsObject(c) ? jstr(c, "values") : NULL;
        if (vals) {
            if (!(o->values = dmn_feel(m, vals, FEEL_UNARY, e->id, err)))
                return FM_EINVAL;
            char *w = malloc(strlen(vals) + 3);
            if (!w)
                return dmn_fail(err, e->id, "out of memory");
            sprintf(w, "[%s]", vals);
            o->priority = dmn_feel(m, w, FEEL_EXPR, e->id, err);
            free(w);
            if (!o->priority)
                return FM_EINVAL;
        }
        const char *dflt = cJSON_IsObject(c) ? jstr(c, "default") : NULL;
        if (dflt && !(o->dflt = dmn_feel(m, dflt, FEEL_EXPR, e->id, err)))
            return FM_EINVAL;
    }
    cJSON_ArrayForEach(c, rules)
    {
        dmn_rule_t *r = &e->rules[e->nrules++];
        char rid[32];
        snprintf(rid, sizeof(rid), "rule-%zu", e->nrules);
        r->id = dmn_strdup(jstr(c, "id") ? jstr(c, "id") : rid);
        const cJSON *when = cJSON_GetObjectItemCaseSensitive(c, "when");
        const cJSON *then = cJSON_GetObjectItemCaseSensitive(c, "then");
        if (!cJSON_IsArray(when) || !cJSON_IsArray(then) || (size_t)cJSON_GetArraySize(when) != ni ||
            (size_t)cJSON_GetArraySize(then) != no)
            return dmn_fail(err, r->id, "rule needs 'when' with %zu tests and 'then' with %zu expressions", ni, no);
        r->in = dmn_xalloc(ni * sizeof(*r->in));
        r->out = dmn_xalloc(no * sizeof(*r->out));
        if (!r->in || !r->out)
            return dmn_fail(err, r->id, "out of memory");
        size_t k = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, when)
        {
            if (!cJSON_IsString(x) || !(r->in[k++] = dmn_feel(m, x->valuestring, FEEL_UNARY, r->id, err)))
                return cJSON_IsString(x) ? FM_EINVAL : dmn_fail(err, r->id, "tests are FEEL strings");
        }
        k = 0;
        cJSON_ArrayForEach(x, then)
        {
            if (!cJSON_IsString(x) || !(r->out[k++] = dmn_feel(m, x->valuestring, FEEL_EXPR, r->id, err)))
                return cJSON_IsString(x) ? FM_EINVAL : dmn_fail(err, r->id, "outputs are FEEL strings");
        }
    }
    return FM_OK;
}

static dmn_expr_t *expr_from(dmn_model_t *m, const cJSON *d, const char *id, dmn_err_t *err)
{
    dmn_expr_t *e = dmn_xalloc(sizeof(*e));
    if (!e) {
        dmn_fail(err, id, "out of memory");
        return NULL;
    }
    e->id = dmn_strdup(jstr(d, "id") ? jstr(d, "id") : id);
    e->type_ref = dmn_strdup(jstr(d, "type"));
    const char *lit = jstr(d, "literal");
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(d, "table");
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(d, "context");
    int rc = FM_OK;
    if (lit) {
        e->k = X_LITERAL;
        rc = (e->feel = dmn_feel(m, lit, FEEL_EXPR, e->id, err)) ? FM_OK : FM_EINVAL;
    } else if (cJSON_IsObject(table)) {
        e->k = X_TABLE;
        rc = table_from(m, e, table, err);
    } else if (cJSON_IsArray(ctx)) {
        e->k = X_CONTEXT;
        e->entries = dmn_xalloc((size_t)cJSON_GetArraySize(ctx) * sizeof(*e->entries));
        const cJSON *c;
        cJSON_ArrayForEach(c, ctx)
        {
            if (rc != FM_OK || !e->entries)
                break;
            dmn_entry_t *en = &e->entries[e->nentries++];
            en->name = dmn_strdup(jstr(c, "name"));
            if (!(en->value = expr_from(m, c, e->id, err)))
                rc = FM_EINVAL;
        }
    } else {
        rc = dmn_fail(err, e->id, "needs one of 'literal', 'table' or 'context'");
    }
    if (rc != FM_OK) {
        dmn_expr_free(e);
        return NULL;
    }
    return e;
}

static long node_by_name(const dmn_model_t *m, const char *name)
{
    for (size_t i = 0; i < m->nnodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return (long)i;
    return -1;
}

static int load(dmn_model_t *m, const cJSON *j, dmn_err_t *err)
{
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(j, "inputs");
    const cJSON *decs = cJSON_GetObjectItemCaseSensitive(j, "decisions");
    const cJSON *bkms = cJSON_GetObjectItemCaseSensitive(j, "bkms");
    if (!cJSON_IsObject(j) || !cJSON_IsArray(decs) || cJSON_GetArraySize(decs) == 0)
        return dmn_fail(err, NULL, "a JSON model needs a non-empty 'decisions' array");
    if ((inputs && !cJSON_IsArray(inputs)) || (bkms && !cJSON_IsArray(bkms)))
        return dmn_fail(err, NULL, "'inputs' and 'bkms' are arrays");
    m->name = dmn_strdup(jstr(j, "name") ? jstr(j, "name") : "");
    collect(m, j);
    size_t n = (size_t)cJSON_GetArraySize(decs) + (size_t)cJSON_GetArraySize(inputs) + (size_t)cJSON_GetArraySize(bkms);
    m->nodes = dmn_xalloc(n * sizeof(*m->nodes));
    if (!m->nodes)
        return dmn_fail(err, NULL, "out of memory");
    const cJSON *groups[3] = { inputs, bkms, decs };
    const dmn_nkind_t kinds[3] = { NODE_INPUT, NODE_BKM, NODE_DECISION };
    for (int g = 0; g < 3; g++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, groups[g])
        {
            const char *name = jstr(c, "name");
            if (!name || !*name)
                return dmn_fail(err, NULL, "every input, bkm and decision needs a 'name'");
            dmn_node_t *nd = &m->nodes[m->nnodes++];
            nd->k = kinds[g];
            nd->name = dmn_strdup(name);
            nd->id = dmn_strdup(jstr(c, "id") ? jstr(c, "id") : name);
            nd->type_ref = dmn_strdup(jstr(c, "type"));
        }
    }
    size_t i = 0;
    for (int g = 0; g < 3; g++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, groups[g])
        {
            dmn_node_t *nd = &m->nodes[i++];
            const cJSON *req = cJSON_GetObjectItemCaseSensitive(c, "requires");
            size_t nreq = (size_t)cJSON_GetArraySize(req);
            nd->reqs = dmn_xalloc(nreq * sizeof(size_t));
            const cJSON *r;
            cJSON_ArrayForEach(r, req)
            {
                long k = cJSON_IsString(r) ? node_by_name(m, r->valuestring) : -1;
                if (k < 0)
                    return dmn_fail(err, nd->id, "'requires' names no input, bkm or decision: %s",
                                    cJSON_IsString(r) ? r->valuestring : "(not a string)");
                nd->reqs[nd->nreqs++] = (size_t)k;
            }
            if (nd->k == NODE_INPUT)
                continue;
            dmn_expr_t *body = expr_from(m, c, nd->id, err);
            if (!body)
                return FM_EINVAL;
            if (nd->k == NODE_DECISION) {
                nd->expr = body;
                continue;
            }
            dmn_expr_t *fn = dmn_xalloc(sizeof(*fn));
            if (!fn) {
                dmn_expr_free(body);
                return dmn_fail(err, nd->id, "out of memory");
            }
            fn->k = X_FUNCTION;
            fn->id = dmn_strdup(nd->id);
            fn->body = body;
            nd->expr = fn;
            const cJSON *ps = cJSON_GetObjectItemCaseSensitive(c, "params");
            fn->params = dmn_xalloc((size_t)cJSON_GetArraySize(ps) * sizeof(char *));
            cJSON_ArrayForEach(r, ps)
            {
                if (!cJSON_IsString(r))
                    return dmn_fail(err, nd->id, "params are names");
                fn->params[fn->nparams++] = dmn_strdup(r->valuestring);
            }
        }
    }
    return dmn_link(m, err);
}

int dmn_load_json(const cJSON *j, dmn_model_t **out, dmn_err_t *err)
{
    *out = NULL;
    if (err)
        memset(err, 0, sizeof(*err));
    dmn_model_t *m = dmn_xalloc(sizeof(*m));
    if (!m)
        return dmn_fail(err, NULL, "out of memory");
    int rc = load(m, j, err);
    if (rc != FM_OK) {
        dmn_model_free(m);
        return rc;
    }
    *out = m;
    return FM_OK;
}
