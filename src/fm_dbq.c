/*
 * fm_dbq.c — the statement helper of fm_dbq.h on SQLite: per-connection statement
 * caches, binding from a format, row callbacks, rows as cJSON objects, pages, and the
 * one place where SQLite result codes become FM_E* codes.
 */
#include "fm_dbq.h"
#include "fm_db_int.h"

#include "fm.h"
#include "fm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST(r) ((sqlite3_stmt *)(r))
#define ROW(st) ((const fm_dbrow_t *)(st))

/* ---- connections ---- */

fm_dbc_t *fm_dbq_write_begin(fm_db_t *db)
{
    return fm_db_write_begin(db) ? fm__db_writer(db) : NULL;
}

int fm_dbq_write_end(fm_dbc_t *w, int rc)
{
    return fm_db_write_end(w->db, rc);
}

fm_dbc_t *fm_dbq_reader(fm_db_t *db)
{
    return fm__db_reader_take(db);
}

void fm_dbq_reader_done(fm_dbc_t *c)
{
    if (c)
        fm__db_reader_give(c->db, c);
}

fm_db_t *fm_dbq_db(const fm_dbc_t *c)
{
    return c->db;
}

bool fm_dbq_is_writer(const fm_dbc_t *c)
{
    return c->writer;
}

int64_t fm_dbq_changes(fm_dbc_t *c)
{
    return c->changes;
}

/* ---- errors ---- */

/* The one mapping of SQLite codes; what is not the caller's doing is logged here. */
static int map_err(fm_dbc_t *c, int src)
{
    const char *why = sqlite3_errmsg(c->c);
    switch (src & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return FM_OK;
    case SQLITE_CONSTRAINT:
        switch (sqlite3_extended_errcode(c->c)) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_ROWID:
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return FM_ECONFLICT;    /* taken, or still referenced / not there to reference */
        default:                    /* NOT NULL, CHECK: the store let bad data through */
            fm_log_msg(FM_LOG_ERROR, "database constraint failed", why);
            return FM_EDB;
        }
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        fm_log_msg(FM_LOG_WARN, "database busy", why);
        return FM_EBUSY;
    case SQLITE_NOMEM:
        return FM_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        fm_log_msg(FM_LOG_ERROR, "database corrupt", why);
        return FM_EDB;
    default:
        fm_log_msg(FM_LOG_ERROR, "database error", why);
        return FM_EDB;
    }
}

/* ---- the statement cache ---- */

/* A statement for sql on c, reset and unbound: from the cache, or prepared and cached.
 * A cached one still stepping (a query run from the row callback of the same SQL)
 * is not shared: that caller gets its own, finalized after use (*slot = -1). */
static sqlite3_stmt *stmt_get(fm_dbc_t *c, const char *sql, int *slot, int *err)
{
    bool in_use = false;
    for (int i = 0; i < c->nstmts; i++)
        if (!strcmp(sqlite3_sql(c->stmts[i].st), sql)) {
            if (c->stmts[i].busy) {
                in_use = true;
                break;
            }
            c->stmts[i].busy = true;
            *slot = i;
            return c->stmts[i].st;
        }
    sqlite3_stmt *st = NULL;
    int prc = sqlite3_prepare_v3(c->c, sql, -1, in_use ? 0 : SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (prc != SQLITE_OK || !st) {
        fm_log_msg(FM_LOG_ERROR, "statement failed to prepare", sqlite3_errmsg(c->c));
        sqlite3_finalize(st);
        *err = prc == SQLITE_NOMEM ? FM_ENOMEM : FM_EDB;
        return NULL;
    }
    *slot = -1;
    if (in_use)
        return st;
    int i = c->nstmts;
    if (i == FM_DBC_STMTS) {    /* full: replace one not in use, round robin */
        for (int k = 0; k < FM_DBC_STMTS; k++, c->evict = (c->evict + 1) % FM_DBC_STMTS)
            if (!c->stmts[c->evict].busy)
                break;
        i = c->evict;
        c->evict = (c->evict + 1) % FM_DBC_STMTS;
        if (c->stmts[i].busy)
            return st;          /* every slot stepping: use it uncached */
        sqlite3_finalize(c->stmts[i].st);
    } else {
        c->nstmts++;
    }
    c->stmts[i].st = st;
    c->stmts[i].busy = true;
    *slot = i;
    return st;
}

static void stmt_put(fm_dbc_t *c, sqlite3_stmt *st, int slot)
{
    if (!st)
        return;
    if (slot < 0) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    c->stmts[slot].busy = false;
}

/* ---- binding ---- */

static int bind_va(fm_dbc_t *c, sqlite3_stmt *st, const char *fmt, va_list *ap, int extra)
{
    int n = (int)strlen(fmt);
    if (sqlite3_bind_parameter_count(st) != n + extra) {
        char why[160];
        snprintf(why, sizeof(why), "%d parameters in the statement, %d in the format \"%.40s\"",
                 sqlite3_bind_parameter_count(st), n + extra, fmt);
        fm_log_msg(FM_LOG_ERROR, "statement and format disagree", why);
        return FM_EDB;      /* the store's bug, not the client's input */
    }
    int rc = SQLITE_OK;
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        int at = i + 1;
        switch (fmt[i]) {
        case 's': {
            const char *s = va_arg(*ap, const char *);
            rc = s ? sqlite3_bind_text(st, at, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, at);
            break;
        }
        case 'i':
            rc = sqlite3_bind_int(st, at, va_arg(*ap, int));
            break;
        case 'I':
            rc = sqlite3_bind_int64(st, at, va_arg(*ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_double(st, at, va_arg(*ap, double));
            break;
        case 'b': {
            const void *p = va_arg(*ap, const void *);
            size_t len = va_arg(*ap, size_t);
            if (len > 0x7fffffff)
                return FM_ETOOBIG;
            rc = p ? sqlite3_bind_blob(st, at, p, (int)len, SQLITE_STATIC) : sqlite3_bind_null(st, at);
            break;
        }
        case 'n':
            rc = sqlite3_bind_null(st, at);
            break;
        case 'j': {
            const cJSON *v = va_arg(*ap, const cJSON *);
            char *t = v ? cJSON_PrintUnformatted(v) : NULL;
            if (v && !t)
                return FM_ENOMEM;
            rc = t ? sqlite3_bind_text(st, at, t, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, at);
            cJSON_free(t);
            break;
        }
        default: {
            char why[64];
            snprintf(why, sizeof(why), "format letter '%c'", fmt[i]);
            fm_log_msg(FM_LOG_ERROR, "statement format unknown", why);
            return FM_EDB;
        }
        }
    }
    return rc == SQLITE_OK ? FM_OK : map_err(c, rc);
}

/* ---- running ---- */

enum { M_RUN, M_ONE, M_EACH };

/* Prepares (cached), binds fmt then `extra` ints, steps per mode, gives back. */
/* Steps a bound statement: every row to fn (M_EACH), the first one (M_ONE: none is
 * FM_ENOTFOUND) or none (M_RUN: the changed-row count is kept for fm_dbq_changes). */
static int step_rows(fm_dbc_t *c, sqlite3_stmt *st, int mode, fm_dbq_row_fn fn, void *arg)
{
    int step, rc;
    bool any = false;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        any = true;
        if (mode == M_RUN)
            continue;
        if (fn && (rc = fn(ROW(st), arg)) != FM_OK)
            return rc;
        if (mode == M_ONE)
            return FM_OK;
    }
    rc = map_err(c, step);
    if (rc == FM_OK && mode == M_RUN)
        c->changes = sqlite3_changes(c->c);
    if (rc == FM_OK && mode == M_ONE && !any)
        rc = FM_ENOTFOUND;
    return rc;
}

static int exec_va(fm_dbc_t *c, const char *sql, int mode, fm_dbq_row_fn fn, void *arg,
                   const int *extra, int nextra, const char *fmt, va_list *ap)
{
    if (!c || !sql || !fmt)
        return FM_EINVAL;
    int slot = -1, rc = FM_OK;
    sqlite3_stmt *st = stmt_get(c, sql, &slot, &rc);
    if (!st)
        return rc;
    rc = bind_va(c, st, fmt, ap, nextra);
    for (int i = 0; i < nextra && rc == FM_OK; i++)
        if (sqlite3_bind_int(st, (int)strlen(fmt) + 1 + i, extra[i]) != SQLITE_OK)
            rc = FM_EDB;
    if (rc != FM_OK)
        goto out;
    rc = step_rows(c, st, mode, fn, arg);
out:
    stmt_put(c, st, slot);
    return rc;
}

typedef struct { const char *hints; cJSON *out; } obj_ctx_t;

static int obj_row(const fm_dbrow_t *r, void *arg)
{
    obj_ctx_t *o = arg;
    cJSON *item = fm_dbrow_object(r, o->hints);
    if (!item)
        return FM_ENOMEM;
    if (cJSON_IsArray(o->out))
        cJSON_AddItemToArray(o->out, item);
    else
        o->out = item;
    return FM_OK;
}

static int obj_va(fm_dbc_t *c, const char *sql, const char *hints, cJSON **out, const char *fmt, va_list *ap)
{
    obj_ctx_t o = { hints, NULL };
    int rc = exec_va(c, sql, M_ONE, obj_row, &o, NULL, 0, fmt, ap);
    *out = rc == FM_OK ? o.out : NULL;
    if (rc != FM_OK)
        cJSON_Delete(o.out);
    return rc;
}

static int array_va(fm_dbc_t *c, const char *sql, const char *hints, cJSON *into, const char *fmt, va_list *ap)
{
    obj_ctx_t o = { hints, into };
    return exec_va(c, sql, M_EACH, obj_row, &o, NULL, 0, fmt, ap);
}

static int int_row(const fm_dbrow_t *r, void *arg)
{
    *(int64_t *)arg = fm_dbrow_int(r, 0);
    return FM_OK;
}

static int str_row(const fm_dbrow_t *r, void *arg)
{
    char **out = arg;
    *out = fm_dbrow_dup(r, 0);
    return *out || fm_dbrow_null(r, 0) ? FM_OK : FM_ENOMEM;
}

static int str_va(fm_dbc_t *c, const char *sql, char **out, const char *fmt, va_list *ap)
{
    *out = NULL;
    int rc = exec_va(c, sql, M_ONE, str_row, out, NULL, 0, fmt, ap);
    if (rc != FM_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

typedef struct { const fm_dbq_page_t *p; cJSON *into; int seen; bool more; } page_ctx_t;

static int page_row(const fm_dbrow_t *r, void *arg)
{
    page_ctx_t *x = arg;
    if (x->p->cursor && x->seen == x->p->limit) {
        x->more = true;         /* the row past the page: only says that one follows */
        return FM_OK;
    }
    x->seen++;
    if (x->p->cursor)
        x->p->cursor(r, x->p->next, x->p->next_len);
    cJSON *item = x->p->item ? x->p->item(r, x->p->arg) : fm_dbrow_object(r, x->p->hints);
    if (item)
        cJSON_AddItemToArray(x->into, item);
    return FM_OK;
}

static int page_va(fm_dbc_t *c, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, va_list *ap)
{
    int rc = FM_OK;
    *total = 0;
    if (p->count_sql) {
        int64_t n = 0;
        va_list again;
        va_copy(again, *ap);
        rc = exec_va(c, p->count_sql, M_ONE, int_row, &n, NULL, 0, fmt, &again);
        va_end(again);
        if (rc != FM_OK)
            return rc == FM_ENOTFOUND ? FM_EDB : rc;
        *total = n > 0x7fffffff ? 0x7fffffff : (int)n;
    }
    if (p->limit <= 0)
        return FM_OK;
    page_ctx_t x = { p, into, 0, false };
    if (p->cursor) {
        if (!p->next || !p->next_len)
            return FM_EINVAL;
        int extra = p->limit < 0x7fffffff ? p->limit + 1 : p->limit;
        rc = exec_va(c, p->rows_sql, M_EACH, page_row, &x, &extra, 1, fmt, ap);
        if (!x.more || rc != FM_OK)
            p->next[0] = 0;
        if (!p->count_sql)
            *total = x.seen;
        return rc;
    }
    int extra[2] = { p->limit, p->offset < 0 ? 0 : p->offset };
    rc = exec_va(c, p->rows_sql, M_EACH, page_row, &x, extra, 2, fmt, ap);
    if (!p->count_sql)
        *total = extra[1] + x.seen;
    return rc;
}

/* ---- on a connection ---- */

int fm_dbq_run(fm_dbc_t *c, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c)
        c->changes = 0;
    int rc = exec_va(c, sql, M_RUN, NULL, NULL, NULL, 0, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_one(fm_dbc_t *c, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_va(c, sql, M_ONE, fn, arg, NULL, 0, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_each(fm_dbc_t *c, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_va(c, sql, M_EACH, fn, arg, NULL, 0, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_obj(fm_dbc_t *c, const char *sql, const char *hints, cJSON **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = obj_va(c, sql, hints, out, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_array(fm_dbc_t *c, const char *sql, const char *hints, cJSON *into, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = array_va(c, sql, hints, into, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_int(fm_dbc_t *c, const char *sql, int64_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *out = 0;
    int rc = exec_va(c, sql, M_ONE, int_row, out, NULL, 0, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_str(fm_dbc_t *c, const char *sql, char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = str_va(c, sql, out, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_page(fm_dbc_t *c, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = page_va(c, p, into, total, fmt, &ap);
    va_end(ap);
    return rc;
}

/* ---- a write of its own ---- */

int fm_dbq_write(fm_db_t *db, const char *sql, const char *fmt, ...)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_va(w, sql, M_RUN, NULL, NULL, NULL, 0, fmt, &ap);
    va_end(ap);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    return fm_dbq_write_end(w, rc);
}

/* ---- on a reader borrowed for the one call ---- */

int fm_dbq_read_one(fm_db_t *db, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_va(c, sql, M_ONE, fn, arg, NULL, 0, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

int fm_dbq_read_each(fm_db_t *db, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_va(c, sql, M_EACH, fn, arg, NULL, 0, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

int fm_dbq_read_obj(fm_db_t *db, const char *sql, const char *hints, cJSON **out, const char *fmt, ...)
{
    *out = NULL;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = obj_va(c, sql, hints, out, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

int fm_dbq_read_array(fm_db_t *db, const char *sql, const char *hints, cJSON *into, const char *fmt, ...)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = array_va(c, sql, hints, into, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

int fm_dbq_read_int(fm_db_t *db, const char *sql, int64_t *out, const char *fmt, ...)
{
    *out = 0;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = exec_va(c, sql, M_ONE, int_row, out, NULL, 0, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

int fm_dbq_read_str(fm_db_t *db, const char *sql, char **out, const char *fmt, ...)
{
    *out = NULL;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = str_va(c, sql, out, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

int fm_dbq_read_text(fm_db_t *db, const char *sql, char *out, size_t len, const char *fmt, ...)
{
    if (len)
        out[0] = 0;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = str_va(c, sql, &s, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    if (rc == FM_OK && len)
        snprintf(out, len, "%s", s ? s : "");
    free(s);
    return rc;
}

int fm_dbq_read_page(fm_db_t *db, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, ...)
{
    *total = 0;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    va_list ap;
    va_start(ap, fmt);
    int rc = page_va(c, p, into, total, fmt, &ap);
    va_end(ap);
    fm_dbq_reader_done(c);
    return rc;
}

/* ---- rows ---- */

int fm_dbrow_ncols(const fm_dbrow_t *r)
{
    return sqlite3_column_count(ST(r));
}

const char *fm_dbrow_name(const fm_dbrow_t *r, int i)
{
    return sqlite3_column_name(ST(r), i);
}

bool fm_dbrow_null(const fm_dbrow_t *r, int i)
{
    return sqlite3_column_type(ST(r), i) == SQLITE_NULL;
}

const char *fm_dbrow_text(const fm_dbrow_t *r, int i)
{
    return (const char *)sqlite3_column_text(ST(r), i);
}

const char *fm_dbrow_str(const fm_dbrow_t *r, int i)
{
    const char *s = fm_dbrow_text(r, i);
    return s ? s : "";
}

char *fm_dbrow_dup(const fm_dbrow_t *r, int i)
{
    const char *s = fm_dbrow_text(r, i);
    return s ? strdup(s) : NULL;
}

void fm_dbrow_copy(const fm_dbrow_t *r, int i, char *out, size_t len)
{
    snprintf(out, len, "%s", fm_dbrow_str(r, i));
}

int64_t fm_dbrow_int(const fm_dbrow_t *r, int i)
{
    return sqlite3_column_int64(ST(r), i);
}

double fm_dbrow_double(const fm_dbrow_t *r, int i)
{
    return sqlite3_column_double(ST(r), i);
}

const void *fm_dbrow_blob(const fm_dbrow_t *r, int i, size_t *len)
{
    const void *p = sqlite3_column_blob(ST(r), i);
    *len = (size_t)sqlite3_column_bytes(ST(r), i);
    return p;
}

cJSON *fm_dbrow_json(const fm_dbrow_t *r, int i)
{
    const char *s = fm_dbrow_text(r, i);
    return s ? cJSON_Parse(s) : NULL;
}

static cJSON *by_type(const fm_dbrow_t *r, int i)
{
    switch (sqlite3_column_type(ST(r), i)) {
    case SQLITE_INTEGER:
        return cJSON_CreateNumber((double)fm_dbrow_int(r, i));
    case SQLITE_FLOAT:
        return cJSON_CreateNumber(fm_dbrow_double(r, i));
    case SQLITE_TEXT:
        return cJSON_CreateString(fm_dbrow_text(r, i));
    default:
        return cJSON_CreateNull();      /* NULL; a blob has no JSON form here */
    }
}

cJSON *fm_dbrow_object(const fm_dbrow_t *r, const char *hints)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    size_t nh = hints ? strlen(hints) : 0;
    int n = fm_dbrow_ncols(r);
    for (int i = 0; i < n; i++) {
        char h = (size_t)i < nh ? hints[i] : 'a';
        bool null = fm_dbrow_null(r, i);
        cJSON *v = NULL;
        switch (h) {
        case '-':
            continue;
        case 's':
            v = null ? cJSON_CreateNull() : cJSON_CreateString(fm_dbrow_text(r, i));
            break;
        case 'i':
            v = null ? cJSON_CreateNull() : cJSON_CreateNumber((double)fm_dbrow_int(r, i));
            break;
        case 'b':
            v = null ? cJSON_CreateNull() : cJSON_CreateBool(fm_dbrow_int(r, i) != 0);
            break;
        case 'j':
        case 'J':
            v = fm_dbrow_json(r, i);
            if (!v)
                v = h == 'J' ? cJSON_CreateObject() : cJSON_CreateNull();
            break;
        case 't': {
            char at[32];
            if (!null)
                fm_time_rfc3339_at(fm_dbrow_int(r, i), at);
            v = null ? cJSON_CreateNull() : cJSON_CreateString(at);
            break;
        }
        default:
            v = by_type(r, i);
            break;
        }
        if (!v) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, fm_dbrow_name(r, i), v);
    }
    return o;
}

/* ---- the writer's hot path (fm_dbq_wrun/wone/weach): fm_db_stmt's cache ---- */

/* As exec_va, with the statement from the writer's cache keyed by the SQL's address;
 * the text-keyed cache when that one is full (fm_db_stmt gives NULL). */
static int wexec_va(fm_dbc_t *w, const char *sql, int mode, fm_dbq_row_fn fn, void *arg, const char *fmt,
                    va_list *ap)
{
    if (!w || !sql || !fmt || !w->writer)
        return FM_EINVAL;
    sqlite3_stmt *st = fm_db_stmt(w->db, sql);      /* reset, bindings cleared */
    if (!st)
        return exec_va(w, sql, mode, fn, arg, NULL, 0, fmt, ap);
    int rc = bind_va(w, st, fmt, ap, 0);
    if (rc != FM_OK)
        goto out;
    rc = step_rows(w, st, mode, fn, arg);
out:
    sqlite3_reset(st);
    return rc;
}

int fm_dbq_wrun(fm_dbc_t *w, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (w)
        w->changes = 0;
    int rc = wexec_va(w, sql, M_RUN, NULL, NULL, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_wone(fm_dbc_t *w, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = wexec_va(w, sql, M_ONE, fn, arg, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_weach(fm_dbc_t *w, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = wexec_va(w, sql, M_EACH, fn, arg, fmt, &ap);
    va_end(ap);
    return rc;
}

int fm_dbq_vpage(fm_dbc_t *c, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, va_list ap)
{
    va_list mine;
    va_copy(mine, ap);
    int rc = page_va(c, p, into, total, fmt, &mine);
    va_end(mine);
    return rc;
}

int64_t fm_dbq_last_id(fm_dbc_t *c)
{
    return c ? sqlite3_last_insert_rowid(c->c) : 0;
}
