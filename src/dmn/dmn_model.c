/*
 * dmn_model.c — model plumbing shared by the XML and JSON importers: allocation,
 * the list of names FEEL text may use, FEEL parsing with element-tagged errors, the
 * requirement-cycle check, and freeing.
 */
#include "dmn_int.h"

#include "fm.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *dmn_xalloc(size_t n)
{
    return calloc(1, n ? n : 1);
}

char *dmn_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int dmn_fail(dmn_err_t *err, const char *elem, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        snprintf(err->element, sizeof(err->element), "%s", elem ? elem : "");
    }
    return FM_EINVAL;
}

void dmn_load_warn(dmn_model_t *m, const char *fmt, ...)
{
    if (m->nwarnings >= DMN_MAX_LOAD_WARNINGS)
        return;
    if (!m->warnings && !(m->warnings = calloc(DMN_MAX_LOAD_WARNINGS, sizeof(*m->warnings))))
        return;
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if ((m->warnings[m->nwarnings] = strdup(buf)))
        m->nwarnings++;
}

size_t dmn_model_warning_count(const dmn_model_t *m)
{
    return m->nwarnings;
}

const char *dmn_model_warning(const dmn_model_t *m, size_t i)
{
    return i < m->nwarnings ? m->warnings[i] : NULL;
}

void dmn_add_name(dmn_model_t *m, const char *name)
{
    if (!name || !*name)
        return;
    for (size_t i = 0; i < m->nnames; i++)
        if (!strcmp(m->names[i], name))
            return;
    if ((m->nnames + 2) % 64 == 0 || !m->names) {
        const char **n = realloc(m->names, (m->nnames + 66) * sizeof(*n));
        if (!n)
            return;
        m->names = n;
    }
    m->names[m->nnames++] = strdup(name);
    m->names[m->nnames] = NULL;
}

feel_expr_t *dmn_feel(const dmn_model_t *m, const char *text, feel_mode_t mode, const char *elem, dmn_err_t *err)
{
    feel_perr_t pe = { 0 };
    feel_expr_t *e = feel_parse(text ? text : "", mode, m->names, &pe);
    if (!e)
        dmn_fail(err, elem, "FEEL error at line %d, column %d: %s", pe.line, pe.col, pe.msg);
    return e;
}

const dmn_itemdef_t *dmn_itemdef(const dmn_model_t *m, const char *type_ref)
{
    if (!type_ref)
        return NULL;
    const char *colon = strchr(type_ref, ':');   /* "ns:tType" */
    if (colon && strncmp(type_ref, "feel:", 5))
        type_ref = colon + 1;
    for (size_t i = 0; i < m->nitems; i++)
        if (!strcmp(m->items[i].name, type_ref))
            return &m->items[i];
    return NULL;
}

/* DFS colouring: 0 new, 1 on the stack, 2 done. */
static int visit(const dmn_model_t *m, size_t i, unsigned char *col, dmn_err_t *err)
{
    if (col[i] == 1)
        return dmn_fail(err, m->nodes[i].id, "requirement cycle through '%s'", m->nodes[i].name);
    if (col[i] == 2)
        return FM_OK;
    col[i] = 1;
    for (size_t r = 0; r < m->nodes[i].nreqs; r++)
        if (visit(m, m->nodes[i].reqs[r], col, err) != FM_OK)
            return FM_EINVAL;
    col[i] = 2;
    return FM_OK;
}

int dmn_link(dmn_model_t *m, dmn_err_t *err)
{
    unsigned char *col = calloc(m->nnodes + 1, 1);
    if (!col)
        return dmn_fail(err, NULL, "out of memory");
    int rc = FM_OK;
    for (size_t i = 0; i < m->nnodes && rc == FM_OK; i++) {
        for (size_t j = 0; j < i && rc == FM_OK; j++)
            if (m->nodes[j].k != NODE_INPUT && m->nodes[i].k != NODE_INPUT &&
                !strcmp(m->nodes[i].name, m->nodes[j].name))
                rc = dmn_fail(err, m->nodes[i].id, "duplicate name '%s'", m->nodes[i].name);
        if (rc == FM_OK)
            rc = visit(m, i, col, err);
    }
    free(col);
    return rc;
}

void dmn_expr_free(dmn_expr_t *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->type_ref);
    feel_expr_free(e->feel);
    for (size_t i = 0; i < e->ninputs; i++) {
        feel_expr_free(e->inputs[i].expr);
        feel_expr_free(e->inputs[i].values);
    }
    free(e->inputs);
    for (size_t i = 0; i < e->noutputs; i++) {
        free(e->outputs[i].name);
        feel_expr_free(e->outputs[i].values);
        feel_expr_free(e->outputs[i].priority);
        feel_expr_free(e->outputs[i].dflt);
    }
    free(e->outputs);
    for (size_t r = 0; r < e->nrules; r++) {
        free(e->rules[r].id);
        for (size_t i = 0; i < e->ninputs && e->rules[r].in; i++)
            feel_expr_free(e->rules[r].in[i]);
        for (size_t i = 0; i < e->noutputs && e->rules[r].out; i++)
            feel_expr_free(e->rules[r].out[i]);
        free(e->rules[r].in);
        free(e->rules[r].out);
    }
    free(e->rules);
    for (size_t i = 0; i < e->nentries; i++) {
        free(e->entries[i].name);
        dmn_expr_free(e->entries[i].value);
    }
    free(e->entries);
    free(e->callee);
    for (size_t i = 0; i < e->ncols; i++)
        free(e->cols[i]);
    free(e->cols);
    for (size_t i = 0; i < e->nparams; i++)
        free(e->params[i]);
    free(e->params);
    dmn_expr_free(e->body);
    free(e);
}

void dmn_model_free(dmn_model_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nnodes; i++) {
        free(m->nodes[i].id);
        free(m->nodes[i].name);
        free(m->nodes[i].type_ref);
        free(m->nodes[i].version_tag);
        free(m->nodes[i].var_name);
        free(m->nodes[i].reqs);
        dmn_expr_free(m->nodes[i].expr);
    }
    free(m->nodes);
    for (size_t i = 0; i < m->nitems; i++) {
        free(m->items[i].name);
        free(m->items[i].type_ref);
        feel_expr_free(m->items[i].allowed);
    }
    free(m->items);
    for (size_t i = 0; i < m->nnames; i++)
        free((char *)m->names[i]);
    free(m->names);
    for (size_t i = 0; i < m->nwarnings; i++)
        free(m->warnings[i]);
    free(m->warnings);
    free(m->name);
    free(m);
}

const char *dmn_model_name(const dmn_model_t *m)
{
    return m->name ? m->name : "";
}

size_t dmn_decision_count(const dmn_model_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nnodes; i++)
        n += m->nodes[i].k == NODE_DECISION;
    return n;
}

static const dmn_node_t *nth_decision(const dmn_model_t *m, size_t k)
{
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].k == NODE_DECISION && k-- == 0)
            return &m->nodes[i];
    return NULL;
}

const char *dmn_decision_name(const dmn_model_t *m, size_t k)
{
    const dmn_node_t *nd = nth_decision(m, k);
    return nd ? nd->name : NULL;
}

const char *dmn_decision_id(const dmn_model_t *m, size_t k)
{
    const dmn_node_t *nd = nth_decision(m, k);
    return nd ? nd->id : NULL;
}

const char *dmn_decision_version_tag(const dmn_model_t *m, size_t k)
{
    const dmn_node_t *nd = nth_decision(m, k);
    return nd ? nd->version_tag : NULL;
}

const char *dmn_find_decision(const dmn_model_t *m, const char *key)
{
    for (size_t i = 0; key && i < m->nnodes; i++)
        if (m->nodes[i].k == NODE_DECISION && !strcmp(m->nodes[i].name, key))
            return m->nodes[i].name;
    for (size_t i = 0; key && i < m->nnodes; i++)
        if (m->nodes[i].k == NODE_DECISION && m->nodes[i].id && !strcmp(m->nodes[i].id, key))
            return m->nodes[i].name;
    return NULL;
}

bool dmn_has_decision(const dmn_model_t *m, const char *key)
{
    return dmn_find_decision(m, key) != NULL;
}

static feel_type_t base_type(const char *t)
{
    if (!t)
        return FEEL_NULL;
    if (!strncmp(t, "feel:", 5))
        t += 5;
    if (!strcmp(t, "date")) return FEEL_DATE;
    if (!strcmp(t, "time")) return FEEL_TIME;
    if (!strcmp(t, "dateTime") || !strcmp(t, "date and time")) return FEEL_DT;
    if (!strcmp(t, "dayTimeDuration") || !strcmp(t, "days and time duration")) return FEEL_DTD;
    if (!strcmp(t, "yearMonthDuration") || !strcmp(t, "years and months duration")) return FEEL_YMD;
    if (!strcmp(t, "number")) return FEEL_NUM;
    if (!strcmp(t, "string")) return FEEL_STR;
    if (!strcmp(t, "boolean")) return FEEL_BOOL;
    return FEEL_NULL;
}

feel_type_t dmn_input_type(const dmn_model_t *m, const char *name)
{
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].k == NODE_INPUT && !strcmp(m->nodes[i].name, name)) {
            const char *t = m->nodes[i].type_ref;
            const dmn_itemdef_t *d = dmn_itemdef(m, t);
            for (int hop = 0; d && hop < 8 && !d->is_collection; hop++) {
                t = d->type_ref;
                d = dmn_itemdef(m, t);
            }
            return d ? FEEL_NULL : base_type(t);
        }
    return FEEL_NULL;
}
