/*
 * fm_db_int.h — private to fm_db.c and fm_dbq.c: a connection with its statement cache.
 * The writer's lives in fm_db_t; pooled readers carry theirs in and out of the pool.
 */
#ifndef FM_DB_INT_H
#define FM_DB_INT_H

#include "fm_db.h"

#define FM_DBC_STMTS 32

struct fm_dbc {
    fm_db_t *db;
    sqlite3 *c;
    bool writer;
    int64_t changes;            /* of the last fm_dbq_run */
    struct { sqlite3_stmt *st; bool busy; } stmts[FM_DBC_STMTS];
    int nstmts, evict;
};

struct fm_dbc *fm__db_writer(fm_db_t *db);
struct fm_dbc *fm__db_reader_take(fm_db_t *db);      /* NULL on error (logged) */
void fm__db_reader_give(fm_db_t *db, struct fm_dbc *c);
void fm__dbc_clear(struct fm_dbc *c);                /* finalizes the cached statements */

#endif
