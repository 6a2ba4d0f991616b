/*
 * fm_dbq.h — how a module talks to its database: run a statement with its parameters
 * bound from a short format, read one row, every row, or a page of rows, into a struct
 * or a cJSON object keyed by column names, with errors mapped once to FM_E*. Module code
 * needs no sqlite3 type or call (a second backend will sit behind this header).
 *
 * A connection (fm_dbc_t) is either the writer, held from fm_dbq_write_begin to
 * fm_dbq_write_end (one transaction, committed when rc == FM_OK, else rolled back), or
 * a reader borrowed with fm_dbq_reader and given back with fm_dbq_reader_done on every
 * path. Statements are prepared once per connection and kept (keyed by their text),
 * so a store writes its SQL inline. Any thread; one connection is used by one thread
 * at a time. docs/hacking.md is the guide.
 *
 * Parameter formats, one letter per `?`/`?N` of the statement (the statement's highest
 * parameter number must equal the number of letters; else FM_EDB, logged):
 *   s  const char *       text; NULL binds NULL          i  int
 *   I  int64_t                                           d  double
 *   b  const void *, size_t   blob; NULL binds NULL      n  (no argument) NULL
 *   j  const cJSON *      stored as its unformatted text; NULL binds NULL
 *
 * Row → cJSON hints (fm_dbq_obj, fm_dbq_array, fm_dbq_page), one letter per column,
 * columns past the string's end are 'a'; keys are the column names, so alias them
 * (`health_url AS "healthUrl"`):
 *   a  by the stored type (NULL → null)     s  text (NULL → null)
 *   i  number                               b  boolean (0 → false)
 *   j  JSON text parsed (NULL or invalid → null)
 *   J  JSON text parsed (NULL or invalid → {}), for columns that always hold an object
 *   t  epoch milliseconds → RFC 3339 text (NULL → null)
 *   -  left out
 *
 * Errors: FM_ENOTFOUND (fm_dbq_one/obj/int/str found no row), FM_ECONFLICT (a unique,
 * primary-key or foreign-key constraint), FM_EBUSY (locked past the busy timeout),
 * FM_ENOMEM, FM_EDB (anything else: NOT NULL or CHECK, a format that does not fit the
 * statement, bad SQL, corrupt files; logged once here with SQLite's message, which is
 * never sent to the client). FM_EINVAL only for a NULL connection, sql or fmt.
 *
 * Two examples, shortened from docs/hacking.md (whose code tests/unit/test_dbq.c runs).
 *
 * 1. A write and its event in one transaction:
 *
 *   fm_dbc_t *w = fm_dbq_write_begin(db);
 *   if (!w)
 *       return FM_EDB;
 *   int rc = fm_dbq_run(w, "INSERT INTO notes(id, tenant_id, title, tags, created_ms) VALUES (?, ?, ?, ?, ?)",
 *                       "sssjI", id, tenant, title, tags, fm_time_unix_ms());
 *   if (rc == FM_OK)
 *       rc = bus_outbox_put(w, "/flowmaster/notes", "notes.note.created", id, tenant, "{}");
 *   return fm_dbq_write_end(w, rc);       // FM_ECONFLICT: the id is taken
 *
 * 2. A page of a list endpoint on a reader borrowed for the call, rows as objects keyed
 *    by column names:
 *
 *   fm_dbq_page_t p = {
 *       .count_sql = "SELECT count(*) FROM notes WHERE tenant_id = ?",
 *       .rows_sql = "SELECT id, title, tags, pinned, created_ms AS \"createdAt\" FROM notes "
 *                   "WHERE tenant_id = ? ORDER BY created_ms, id LIMIT ? OFFSET ?",
 *       .hints = "ssjbt", .offset = offset, .limit = limit,
 *   };
 *   return fm_dbq_read_page(db, &p, items, total, "s", tenant);
 */
#ifndef FM_DBQ_H
#define FM_DBQ_H

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fm_db fm_db_t;        /* fm_db.h */
typedef struct fm_dbc fm_dbc_t;      /* a connection: the writer or a borrowed reader */
typedef struct fm_dbrow fm_dbrow_t;  /* the current row, valid inside a row callback */

/* ---- connections ---- */

fm_dbc_t *fm_dbq_write_begin(fm_db_t *db);      /* NULL: error (logged), nothing held */
int fm_dbq_write_end(fm_dbc_t *w, int rc);      /* commits when rc == FM_OK; returns the outcome */
fm_dbc_t *fm_dbq_reader(fm_db_t *db);           /* NULL: error (logged) */
void fm_dbq_reader_done(fm_dbc_t *c);           /* NULL is fine */
fm_db_t *fm_dbq_db(const fm_dbc_t *c);
bool fm_dbq_is_writer(const fm_dbc_t *c);

/* ---- statements ---- */

/* Runs a statement that returns no rows (rows it returns are ignored). */
int fm_dbq_run(fm_dbc_t *c, const char *sql, const char *fmt, ...);
/* Rows changed by the last fm_dbq_run on c. */
int64_t fm_dbq_changes(fm_dbc_t *c);

/* One statement in a write transaction of its own (begin, run, end): FM_ENOTFOUND when
 * it changed no row (and nothing is kept), else as fm_dbq_write_end. For a handler whose
 * change is one UPDATE or DELETE. */
int fm_dbq_write(fm_db_t *db, const char *sql, const char *fmt, ...);

/* Row callback: return FM_OK to go on; anything else stops and is returned. */
typedef int (*fm_dbq_row_fn)(const fm_dbrow_t *row, void *arg);

/* The first row through fn; FM_ENOTFOUND when there is none. */
int fm_dbq_one(fm_dbc_t *c, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...);
/* Every row through fn (also RETURNING rows of a write). */
int fm_dbq_each(fm_dbc_t *c, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...);

/* The first row as a new object (caller frees) built with hints; FM_ENOTFOUND. */
int fm_dbq_obj(fm_dbc_t *c, const char *sql, const char *hints, cJSON **out, const char *fmt, ...);
/* Every row as an object appended to the array `into`. */
int fm_dbq_array(fm_dbc_t *c, const char *sql, const char *hints, cJSON *into, const char *fmt, ...);
/* The first column of the first row: an integer, or a copy of its text (caller frees;
 * NULL when the value is NULL). FM_ENOTFOUND when there is no row. */
int fm_dbq_int(fm_dbc_t *c, const char *sql, int64_t *out, const char *fmt, ...);
int fm_dbq_str(fm_dbc_t *c, const char *sql, char **out, const char *fmt, ...);

/* One page of a list: `count_sql` (SELECT count(*) …) and `rows_sql` take the same
 * parameters (fmt), and rows_sql's last two are LIMIT and OFFSET, bound by the helper.
 * Items come from `item` when set, else from `hints`. limit <= 0 counts only; a NULL
 * count_sql makes total the rows seen before this page plus those on it (for lists
 * with no total).
 *
 * Keyset paging instead (set `cursor`): rows_sql's one last parameter is LIMIT (no
 * OFFSET), its WHERE starts after the caller's decoded cursor, and the helper asks for
 * limit + 1 rows; `next` (next_len bytes) gets the cursor written by cursor() for the
 * page's last row when more rows follow, else "". offset is not used. */
typedef struct fm_dbq_page {
    const char *count_sql, *rows_sql;
    const char *hints;
    cJSON *(*item)(const fm_dbrow_t *row, void *arg);   /* NULL item: the row is skipped */
    void *arg;
    int offset, limit;
    void (*cursor)(const fm_dbrow_t *row, char *out, size_t len);
    char *next;
    size_t next_len;
} fm_dbq_page_t;
int fm_dbq_page(fm_dbc_t *c, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, ...);

/* The same reads on a reader borrowed and given back inside the call, for a store
 * function that reads once (several reads that belong together share one fm_dbq_reader). */
int fm_dbq_read_one(fm_db_t *db, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...);
int fm_dbq_read_each(fm_db_t *db, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...);
int fm_dbq_read_obj(fm_db_t *db, const char *sql, const char *hints, cJSON **out, const char *fmt, ...);
int fm_dbq_read_array(fm_db_t *db, const char *sql, const char *hints, cJSON *into, const char *fmt, ...);
int fm_dbq_read_int(fm_db_t *db, const char *sql, int64_t *out, const char *fmt, ...);
int fm_dbq_read_str(fm_db_t *db, const char *sql, char **out, const char *fmt, ...);
/* The same into a buffer (cut to len - 1 bytes; "" for NULL), for ids and names. */
int fm_dbq_read_text(fm_db_t *db, const char *sql, char *out, size_t len, const char *fmt, ...);
int fm_dbq_read_page(fm_db_t *db, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, ...);

/* ---- the current row (column i from 0) ---- */

int fm_dbrow_ncols(const fm_dbrow_t *r);
const char *fm_dbrow_name(const fm_dbrow_t *r, int i);
bool fm_dbrow_null(const fm_dbrow_t *r, int i);
const char *fm_dbrow_text(const fm_dbrow_t *r, int i);        /* NULL for NULL; valid in the callback */
const char *fm_dbrow_str(const fm_dbrow_t *r, int i);         /* "" for NULL */
char *fm_dbrow_dup(const fm_dbrow_t *r, int i);               /* caller frees; NULL for NULL */
/* Copies the text (or "" for NULL) into out, truncated to len. */
void fm_dbrow_copy(const fm_dbrow_t *r, int i, char *out, size_t len);
int64_t fm_dbrow_int(const fm_dbrow_t *r, int i);
double fm_dbrow_double(const fm_dbrow_t *r, int i);
const void *fm_dbrow_blob(const fm_dbrow_t *r, int i, size_t *len);
cJSON *fm_dbrow_json(const fm_dbrow_t *r, int i);             /* parsed; NULL for NULL or invalid */
/* The row as an object keyed by column names (hints as above); caller frees. */
cJSON *fm_dbrow_object(const fm_dbrow_t *r, const char *hints);

/* ---- the writer's hot path: statements kept by the address of their SQL ----
 * (issue 13 phase 3, for the Execution Engine.) As fm_dbq_run / fm_dbq_one / fm_dbq_each
 * on the writer w, but the statement is found by the address of `sql`, which must be a
 * static string (a `static const char SQL_X[]`): no text comparison, and no eviction
 * from the 32-statement cache when a module's transactions run more statements than
 * that. Past the writer's 64 such statements they fall back to the text-keyed cache.
 * A row callback of fm_dbq_wone/weach must not run the same static statement again. */
int fm_dbq_wrun(fm_dbc_t *w, const char *sql, const char *fmt, ...);
int fm_dbq_wone(fm_dbc_t *w, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...);
int fm_dbq_weach(fm_dbc_t *w, const char *sql, fm_dbq_row_fn fn, void *arg, const char *fmt, ...);
/* fm_dbq_page with the parameters as a va_list, for a store's own variadic list helper
 * (one reply_rows taking each list's filters). */
int fm_dbq_vpage(fm_dbc_t *c, const fm_dbq_page_t *p, cJSON *into, int *total, const char *fmt, va_list ap);
/* The rowid of the last row inserted on c (an INTEGER PRIMARY KEY). */
int64_t fm_dbq_last_id(fm_dbc_t *c);

#endif
