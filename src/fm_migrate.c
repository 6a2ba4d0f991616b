/* fm_migrate.c — applies and reports embedded migrations; see fm_migrate.h. */
#include "fm_migrate.h"

#include "fm.h"
#include "fm_log.h"

#include <stdio.h>
#include <string.h>

static const char core_schema[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS fm_outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL,"
    "  event TEXT NOT NULL, created_at TEXT NOT NULL);";

/* applied_at of `version`, copied into out; 0 if applied, 1 if pending, <0 on error. */
static int lookup(sqlite3 *c, int version, char out[40])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT applied_at FROM schema_migrations WHERE version = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return FM_EDB;
    sqlite3_bind_int(st, 1, version);
    int rc = sqlite3_step(st);
    int out_rc = 1;
    if (rc == SQLITE_ROW) {
        snprintf(out, 40, "%s", (const char *)sqlite3_column_text(st, 0));
        out_rc = 0;
    } else if (rc != SQLITE_DONE) {
        out_rc = FM_EDB;
    }
    sqlite3_finalize(st);
    return out_rc;
}

int fm_migrate_apply(fm_db_t *db, const char *module, const fm_migration_t *list, size_t n,
                     int *applied, char *err, size_t errlen)
{
    int count = 0, rc = FM_OK;
    sqlite3 *c = fm_db_write_begin(db);
    if (!c) {
        snprintf(err, errlen, "%s: cannot begin a transaction", fm_db_path(db));
        return FM_EDB;
    }
    char why[512], at[40];
    if (fm_db_exec(c, core_schema, why, sizeof(why)) != FM_OK) {
        snprintf(err, errlen, "%s: core schema: %s", module, why);
        rc = FM_EDB;
        goto done;
    }
    for (size_t i = 0; i < n && list[i].module; i++) {
        const fm_migration_t *m = &list[i];
        if (strcmp(m->module, module))
            continue;
        int st = lookup(c, m->version, at);
        if (st < 0) {
            snprintf(err, errlen, "%s: reading schema_migrations: %s", module, sqlite3_errmsg(c));
            rc = FM_EDB;
            goto done;
        }
        if (st == 0)
            continue;
        if (fm_db_exec(c, m->sql, why, sizeof(why)) != FM_OK) {
            snprintf(err, errlen, "migration %s/%s.sql failed: %s", module, m->name, why);
            rc = FM_EDB;
            goto done;
        }
        sqlite3_stmt *ins = NULL;
        fm_time_rfc3339(at);
        if (sqlite3_prepare_v2(c, "INSERT INTO schema_migrations(version, name, applied_at) "
                                  "VALUES (?, ?, ?)", -1, &ins, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "%s: %s", module, sqlite3_errmsg(c));
            rc = FM_EDB;
            goto done;
        }
        sqlite3_bind_int(ins, 1, m->version);
        sqlite3_bind_text(ins, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, at, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(ins);
        sqlite3_finalize(ins);
        if (step != SQLITE_DONE) {
            snprintf(err, errlen, "%s: recording %s: %s", module, m->name, sqlite3_errmsg(c));
            rc = FM_EDB;
            goto done;
        }
        count++;
    }
done:
    rc = fm_db_write_end(db, rc);
    if (applied)
        *applied = rc == FM_OK ? count : 0;
    return rc;
}

typedef struct { int applied, pending; } counts_t;

static void count_row(const fm_migration_t *m, const char *applied_at, void *arg)
{
    (void)m;
    counts_t *c = arg;
    if (applied_at)
        c->applied++;
    else
        c->pending++;
}

int fm_migrate_counts(fm_db_t *db, const char *module, const fm_migration_t *list, size_t n,
                      int *applied, int *pending)
{
    counts_t c = { 0, 0 };
    int rc = fm_migrate_status(db, module, list, n, count_row, &c);
    *applied = c.applied;
    *pending = c.pending;
    return rc;
}

int fm_migrate_status(fm_db_t *db, const char *module, const fm_migration_t *list, size_t n,
                      fm_migrate_row_fn fn, void *arg)
{
    sqlite3 *c = db ? fm_db_reader(db) : NULL;
    if (db && !c)
        return FM_EDB;
    bool have_table = false;
    if (c) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(c, "SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'",
                               -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            have_table = true;
        sqlite3_finalize(st);
    }
    int rc = FM_OK;
    char at[40];
    for (size_t i = 0; i < n && list[i].module; i++) {
        if (strcmp(list[i].module, module))
            continue;
        int st = have_table ? lookup(c, list[i].version, at) : 1;
        if (st < 0) {
            rc = FM_EDB;
            break;
        }
        fn(&list[i], st == 0 ? at : NULL, arg);
    }
    if (c)
        fm_db_reader_done(db, c);
    return rc;
}
