/*
 * dmn_import.c — DMN XML (1.1 to 1.5 namespaces) to the model of dmn_int.h:
 * item definitions, input data, decisions, business knowledge models, and the boxed
 * expressions literalExpression, decisionTable, context, invocation, list, relation
 * and functionDefinition. DMNDI and extension elements are ignored. First pass: every
 * `name` attribute becomes a known FEEL name, so "Monthly Salary" parses as one name.
 */
#include "dmn_int.h"
#include "dmn_xml.h"

#include "fm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dmn_ns[] = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",     /* 1.1 */
    "http://www.omg.org/spec/DMN/20180521/MODEL/",      /* 1.2 */
    "https://www.omg.org/spec/DMN/20191111/MODEL/",     /* 1.3 */
    "https://www.omg.org/spec/DMN/20211108/MODEL/",     /* 1.4 */
    "https://www.omg.org/spec/DMN/20230324/MODEL/",     /* 1.5 */
    NULL,
};

static const char *expr_kinds[] = { "literalExpression", "decisionTable", "context", "invocation",
                                    "list", "relation", "functionDefinition", NULL };

static bool is_expr(const xml_node_t *n)
{
    for (int i = 0; expr_kinds[i]; i++)
        if (!strcmp(n->name, expr_kinds[i]))
            return true;
    return false;
}

static xml_node_t *first_expr(const xml_node_t *n)
{
    for (xml_node_t *c = n->first; c; c = c->next)
        if (is_expr(c))
            return c;
    return NULL;
}

static const char *elem_id(const xml_node_t *n)
{
    const char *id = xml_attr(n, "id");
    if (!id)
        id = xml_attr(n, "name");
    return id ? id : n->name;
}

static void collect_names(dmn_model_t *m, const xml_node_t *n)
{
    for (const xml_node_t *c = n->first; c; c = c->next) {
        if (!strcmp(c->name, "DMNDI") || !strcmp(c->name, "extensionElements"))
            continue;
        const char *nm = xml_attr(c, "name");
        if (nm && strcmp(c->name, "definitions"))
            dmn_add_name(m, nm);
        collect_names(m, c);
    }
}

static dmn_expr_t *parse_expr(dmn_model_t *m, const xml_node_t *x, dmn_err_t *err);

static const char *text_of(const xml_node_t *x)
{
    const char *t = xml_child_text(x, "text");
    return t ? t : "";
}

static int parse_table(dmn_model_t *m, dmn_expr_t *e, const xml_node_t *x, dmn_err_t *err)
{
    const char *hp = xml_attr(x, "hitPolicy");
    static const char *hps[] = { "UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER", NULL };
    e->hp = HP_UNIQUE;
    if (hp) {
        int i = 0;
        while (hps[i] && strcmp(hps[i], hp))
            i++;
        if (!hps[i])
            return dmn_fail(err, e->id, "unknown hit policy '%s'", hp);
        e->hp = (dmn_hp_t)i;
    }
    const char *ag = xml_attr(x, "aggregation");
    if (ag) {
        if (e->hp != HP_COLLECT)
            return dmn_fail(err, e->id, "aggregation is only allowed with COLLECT");
        e->agg = !strcmp(ag, "SUM") ? AG_SUM : !strcmp(ag, "MIN") ? AG_MIN : !strcmp(ag, "MAX") ? AG_MAX
               : !strcmp(ag, "COUNT") ? AG_COUNT : (dmn_agg_t)-1;
        if ((int)e->agg < 0)
            return dmn_fail(err, e->id, "unknown aggregation '%s'", ag);
    }
    size_t ni = 0, no = 0, nr = 0;
    for (xml_node_t *c = x->first; c; c = c->next) {
        ni += !strcmp(c->name, "input");
        no += !strcmp(c->name, "output");
        nr += !strcmp(c->name, "rule");
    }
    if (no == 0)
        return dmn_fail(err, e->id, "decision table without an output");
    e->inputs = dmn_xalloc(ni * sizeof(*e->inputs));
    e->outputs = dmn_xalloc(no * sizeof(*e->outputs));
    e->rules = dmn_xalloc(nr * sizeof(*e->rules));
    if (!e->inputs || !e->outputs || !e->rules)
        return dmn_fail(err, e->id, "out of memory");
    for (xml_node_t *c = x->first; c; c = c->next) {
        if (!strcmp(c->name, "input")) {
            dmn_dt_input_t *in = &e->inputs[e->ninputs++];
            xml_node_t *ie = xml_child(c, "inputExpression");
            if (!ie)
                return dmn_fail(err, elem_id(c), "input without an inputExpression");
            if (!(in->expr = dmn_feel(m, text_of(ie), FEEL_EXPR, elem_id(ie), err)))
                return FM_EINVAL;
            xml_node_t *iv = xml_child(c, "inputValues");
            if (iv && *text_of(iv) && !(in->values = dmn_feel(m, text_of(iv), FEEL_UNARY, elem_id(iv), err)))
                return FM_EINVAL;
        } else if (!strcmp(c->name, "output")) {
            dmn_dt_output_t *o = &e->outputs[e->noutputs++];
            o->name = dmn_strdup(xml_attr(c, "name") ? xml_attr(c, "name") : "");
            xml_node_t *ov = xml_child(c, "outputValues");
            if (ov && *text_of(ov)) {
                if (!(o->values = dmn_feel(m, text_of(ov), FEEL_UNARY, elem_id(ov), err)))
                    return FM_EINVAL;
                size_t tl = strlen(text_of(ov));
                char *w = malloc(tl + 3);
                if (!w)
                    return dmn_fail(err, e->id, "out of memory");
                snprintf(w, tl + 3, "[%s]", text_of(ov));
                o->priority = dmn_feel(m, w, FEEL_EXPR, elem_id(ov), err);
                free(w);
                if (!o->priority)
                    return FM_EINVAL;
            }
            xml_node_t *d = xml_child(c, "defaultOutputEntry");
            if (d && *text_of(d) && !(o->dflt = dmn_feel(m, text_of(d), FEEL_EXPR, elem_id(d), err)))
                return FM_EINVAL;
        } else if (!strcmp(c->name, "rule")) {
            dmn_rule_t *r = &e->rules[e->nrules++];
            char rid[32];
            snprintf(rid, sizeof(rid), "rule-%zu", e->nrules);
            r->id = dmn_strdup(xml_attr(c, "id") ? xml_attr(c, "id") : rid);
            r->in = dmn_xalloc(ni * sizeof(*r->in));
            r->out = dmn_xalloc(no * sizeof(*r->out));
            if (!r->in || !r->out)
                return dmn_fail(err, r->id, "out of memory");
            size_t ki = 0, ko = 0;
            for (xml_node_t *ce = c->first; ce; ce = ce->next) {
                if (!strcmp(ce->name, "inputEntry")) {
                    if (ki == ni)
                        return dmn_fail(err, r->id, "rule has more input entries than the table has inputs");
                    if (!(r->in[ki++] = dmn_feel(m, text_of(ce), FEEL_UNARY, elem_id(ce), err)))
                        return FM_EINVAL;
                } else if (!strcmp(ce->name, "outputEntry")) {
                    if (ko == no)
                        return dmn_fail(err, r->id, "rule has more output entries than the table has outputs");
                    const char *t = text_of(ce);
                    if (!(r->out[ko++] = dmn_feel(m, *t ? t : "null", FEEL_EXPR, elem_id(ce), err)))
                        return FM_EINVAL;
                }
            }
            if (ki != ni || ko != no)
                return dmn_fail(err, r->id, "rule has %zu input and %zu output entries; the table has %zu and %zu",
                                ki, ko, ni, no);
        }
    }
    return FM_OK;
}

static int parse_entries(dmn_model_t *m, dmn_expr_t *e, const xml_node_t *x, const char *tag, dmn_err_t *err)
{
    size_t n = 0;
    for (xml_node_t *c = x->first; c; c = c->next)
        n += !strcmp(c->name, tag);
    e->entries = dmn_xalloc(n * sizeof(*e->entries));
    if (!e->entries)
        return dmn_fail(err, e->id, "out of memory");
    for (xml_node_t *c = x->first; c; c = c->next) {
        if (strcmp(c->name, tag))
            continue;
        dmn_entry_t *en = &e->entries[e->nentries++];
        xml_node_t *var = xml_child(c, !strcmp(tag, "binding") ? "parameter" : "variable");
        if (var)
            en->name = dmn_strdup(xml_attr(var, "name"));
        xml_node_t *vx = first_expr(c);
        if (!vx) {
            if (!strcmp(tag, "binding"))
                continue;       /* binding without expression: null */
            return dmn_fail(err, elem_id(c), "context entry without an expression");
        }
        if (!(en->value = parse_expr(m, vx, err)))
            return FM_EINVAL;
    }
    return FM_OK;
}

static dmn_expr_t *parse_expr(dmn_model_t *m, const xml_node_t *x, dmn_err_t *err)
{
    dmn_expr_t *e = dmn_xalloc(sizeof(*e));
    if (!e) {
        dmn_fail(err, NULL, "out of memory");
        return NULL;
    }
    e->id = dmn_strdup(elem_id(x));
    e->type_ref = dmn_strdup(xml_attr(x, "typeRef"));
    int rc = FM_OK;
    if (!strcmp(x->name, "literalExpression")) {
        e->k = X_LITERAL;
        const char *t = text_of(x);
        e->feel = dmn_feel(m, *t ? t : "null", FEEL_EXPR, e->id, err);
        rc = e->feel ? FM_OK : FM_EINVAL;
    } else if (!strcmp(x->name, "decisionTable")) {
        e->k = X_TABLE;
        rc = parse_table(m, e, x, err);
    } else if (!strcmp(x->name, "context")) {
        e->k = X_CONTEXT;
        rc = parse_entries(m, e, x, "contextEntry", err);
    } else if (!strcmp(x->name, "invocation")) {
        e->k = X_INVOCATION;
        xml_node_t *callee = first_expr(x);
        if (!callee || strcmp(callee->name, "literalExpression"))
            rc = dmn_fail(err, e->id, "invocation needs the called function's name");
        else {
            e->callee = dmn_strdup(text_of(callee));
            rc = parse_entries(m, e, x, "binding", err);
        }
    } else if (!strcmp(x->name, "list")) {
        e->k = X_LIST;
        size_t n = 0;
        for (xml_node_t *c = x->first; c; c = c->next)
            n += is_expr(c);
        e->entries = dmn_xalloc(n * sizeof(*e->entries));
        for (xml_node_t *c = x->first; c && rc == FM_OK && e->entries; c = c->next)
            if (is_expr(c)) {
                dmn_entry_t *en = &e->entries[e->nentries++];
                if (!(en->value = parse_expr(m, c, err)))
                    rc = FM_EINVAL;
            }
    } else if (!strcmp(x->name, "relation")) {
        e->k = X_RELATION;
        size_t nc = 0, nr = 0;
        for (xml_node_t *c = x->first; c; c = c->next) {
            nc += !strcmp(c->name, "column");
            nr += !strcmp(c->name, "row");
        }
        e->cols = dmn_xalloc(nc * sizeof(*e->cols));
        e->entries = dmn_xalloc(nc * nr * sizeof(*e->entries));
        for (xml_node_t *c = x->first; c && e->cols; c = c->next)
            if (!strcmp(c->name, "column"))
                e->cols[e->ncols++] = dmn_strdup(xml_attr(c, "name") ? xml_attr(c, "name") : "");
        for (xml_node_t *row = x->first; row && rc == FM_OK && e->entries; row = row->next) {
            if (strcmp(row->name, "row"))
                continue;
            size_t k = 0;
            for (xml_node_t *c = row->first; c && rc == FM_OK; c = c->next)
                if (is_expr(c)) {
                    if (k++ == nc) {
                        rc = dmn_fail(err, elem_id(row), "relation row has more cells than columns");
                        break;
                    }
                    if (!(e->entries[e->nentries++].value = parse_expr(m, c, err)))
                        rc = FM_EINVAL;
                }
            while (rc == FM_OK && k++ < nc)
                e->nentries++;      /* missing cells are null */
        }
    } else if (!strcmp(x->name, "functionDefinition") || !strcmp(x->name, "encapsulatedLogic")) {
        e->k = X_FUNCTION;
        const char *kind = xml_attr(x, "kind");
        if (kind && strcmp(kind, "FEEL"))
            rc = dmn_fail(err, e->id, "function kind '%s' is not supported", kind);
        size_t np = 0;
        for (xml_node_t *c = x->first; c; c = c->next)
            np += !strcmp(c->name, "formalParameter");
        e->params = dmn_xalloc(np * sizeof(char *));
        for (xml_node_t *c = x->first; c && e->params; c = c->next)
            if (!strcmp(c->name, "formalParameter"))
                e->params[e->nparams++] = dmn_strdup(xml_attr(c, "name") ? xml_attr(c, "name") : "");
        xml_node_t *body = first_expr(x);
        if (rc == FM_OK && body && !(e->body = parse_expr(m, body, err)))
            rc = FM_EINVAL;
    }
    if (rc != FM_OK) {
        dmn_expr_free(e);
        return NULL;
    }
    return e;
}

static long find_node(const dmn_model_t *m, const char *href)
{
    if (!href)
        return -1;
    const char *h = strchr(href, '#');
    h = h ? h + 1 : href;
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].id && !strcmp(m->nodes[i].id, h))
            return (long)i;
    return -1;
}

static int add_reqs(dmn_model_t *m, dmn_node_t *nd, const xml_node_t *x, dmn_err_t *err)
{
    size_t cap = 0;
    for (xml_node_t *c = x->first; c; c = c->next)
        cap += !strcmp(c->name, "informationRequirement") || !strcmp(c->name, "knowledgeRequirement");
    nd->reqs = dmn_xalloc(cap * sizeof(size_t));
    if (!nd->reqs)
        return dmn_fail(err, nd->id, "out of memory");
    for (xml_node_t *c = x->first; c; c = c->next) {
        if (strcmp(c->name, "informationRequirement") && strcmp(c->name, "knowledgeRequirement"))
            continue;
        xml_node_t *r = c->first;
        while (r && strcmp(r->name, "requiredDecision") && strcmp(r->name, "requiredInput") &&
               strcmp(r->name, "requiredKnowledge"))
            r = r->next;
        if (!r)
            continue;
        long k = find_node(m, xml_attr(r, "href"));
        if (k < 0)
            return dmn_fail(err, elem_id(c), "requirement '%s' names no element of this model",
                            xml_attr(r, "href") ? xml_attr(r, "href") : "");
        nd->reqs[nd->nreqs++] = (size_t)k;
    }
    return FM_OK;
}

static int load(dmn_model_t *m, const xml_node_t *root, dmn_err_t *err)
{
    int i = 0;
    while (dmn_ns[i] && strcmp(dmn_ns[i], root->ns))
        i++;
    if (strcmp(root->name, "definitions") || !dmn_ns[i])
        return dmn_fail(err, NULL, "not a DMN 1.1-1.5 document (root '%s' in namespace '%s')", root->name, root->ns);
    m->name = dmn_strdup(xml_attr(root, "name") ? xml_attr(root, "name") : "");
    collect_names(m, root);
    size_t nn = 0, ni = 0;
    for (xml_node_t *c = root->first; c; c = c->next) {
        nn += !strcmp(c->name, "decision") || !strcmp(c->name, "inputData") ||
              !strcmp(c->name, "businessKnowledgeModel");
        ni += !strcmp(c->name, "itemDefinition");
        if (!strcmp(c->name, "decisionService"))
            return dmn_fail(err, elem_id(c), "decision services are not supported");
    }
    m->nodes = dmn_xalloc(nn * sizeof(*m->nodes));
    m->items = dmn_xalloc(ni * sizeof(*m->items));
    if (!m->nodes || !m->items)
        return dmn_fail(err, NULL, "out of memory");
    for (xml_node_t *c = root->first; c; c = c->next) {
        if (!strcmp(c->name, "itemDefinition")) {
            dmn_itemdef_t *d = &m->items[m->nitems++];
            d->name = dmn_strdup(xml_attr(c, "name") ? xml_attr(c, "name") : "");
            d->type_ref = dmn_strdup(xml_child_text(c, "typeRef"));
            d->is_collection = xml_attr(c, "isCollection") && !strcmp(xml_attr(c, "isCollection"), "true");
            xml_node_t *av = xml_child(c, "allowedValues");
            if (av && *text_of(av) && !(d->allowed = dmn_feel(m, text_of(av), FEEL_UNARY, elem_id(av), err)))
                return FM_EINVAL;
            continue;
        }
        dmn_nkind_t k;
        if (!strcmp(c->name, "decision"))
            k = NODE_DECISION;
        else if (!strcmp(c->name, "inputData"))
            k = NODE_INPUT;
        else if (!strcmp(c->name, "businessKnowledgeModel"))
            k = NODE_BKM;
        else
            continue;
        dmn_node_t *nd = &m->nodes[m->nnodes++];
        nd->k = k;
        nd->id = dmn_strdup(xml_attr(c, "id") ? xml_attr(c, "id") : xml_attr(c, "name"));
        nd->name = dmn_strdup(xml_attr(c, "name"));
        if (k == NODE_DECISION)
            nd->version_tag = dmn_strdup(xml_attr(c, "versionTag"));    /* camunda:versionTag */
        if (!nd->name || !*nd->name)
            return dmn_fail(err, nd->id, "%s without a name", c->name);
        xml_node_t *var = xml_child(c, "variable");
        nd->type_ref = dmn_strdup(var ? xml_attr(var, "typeRef") : NULL);
        nd->var_name = dmn_strdup(var ? xml_attr(var, "name") : NULL);
    }
    size_t idx = 0;
    for (xml_node_t *c = root->first; c; c = c->next) {
        if (strcmp(c->name, "decision") && strcmp(c->name, "inputData") && strcmp(c->name, "businessKnowledgeModel"))
            continue;
        dmn_node_t *nd = &m->nodes[idx++];
        if (add_reqs(m, nd, c, err) != FM_OK)
            return FM_EINVAL;
        /* a DRD may hold placeholders (the logic comes later): kept, with a warning;
         * only evaluating what needs them is an error (dmn_eval.c) */
        if (nd->k == NODE_DECISION) {
            xml_node_t *x = first_expr(c);
            if (!x)
                dmn_load_warn(m, "decision '%s' (%s) has no decision logic: evaluating it gives null", nd->name,
                              nd->id);
            else if (!(nd->expr = parse_expr(m, x, err)))
                return FM_EINVAL;
        } else if (nd->k == NODE_BKM) {
            xml_node_t *x = xml_child(c, "encapsulatedLogic");
            if (x && !(nd->expr = parse_expr(m, x, err)))
                return FM_EINVAL;
            if (!nd->expr || !nd->expr->body)
                dmn_load_warn(m, "business knowledge model '%s' (%s) has no logic: invoking it gives null", nd->name,
                              nd->id);
        }
    }
    return dmn_link(m, err);
}

int dmn_load_xml(const char *xml, size_t len, dmn_model_t **out, dmn_err_t *err)
{
    char why[200];
    *out = NULL;
    if (err)
        memset(err, 0, sizeof(*err));
    xml_node_t *root = xml_parse(xml, len, why, sizeof(why));
    if (!root) {
        dmn_fail(err, NULL, "malformed XML: %s", why);
        if (err)
            err->malformed = true;
        return FM_EINVAL;
    }
    dmn_model_t *m = dmn_xalloc(sizeof(*m));
    if (!m) {
        xml_free(root);
        return dmn_fail(err, NULL, "out of memory");
    }
    int rc = load(m, root, err);
    xml_free(root);
    if (rc != FM_OK) {
        dmn_model_free(m);
        return rc;
    }
    *out = m;
    return FM_OK;
}
