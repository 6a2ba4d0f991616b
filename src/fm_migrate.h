/*
 * fm_migrate.h — schema migrations: numbered SQL files per module, embedded at build
 * time (fm_embed.h), applied at start in one transaction, recorded in the module's
 * `schema_migrations` table. Every module database also gets the core `fm_outbox`
 * table (bus/bus.h) before its own migrations run.
 */
#ifndef FM_MIGRATE_H
#define FM_MIGRATE_H

#include "fm_db.h"
#include "fm_embed.h"

/* Applies every migration of `module` in list[0..n) not yet recorded, all in one
 * transaction; *applied (may be NULL) gets how many ran. On failure nothing is applied
 * and err names the migration and SQLite's reason. */
int fm_migrate_apply(fm_db_t *db, const char *module, const fm_migration_t *list, size_t n,
                     int *applied, char *err, size_t errlen);

/* Counts of applied and pending migrations of `module`. */
int fm_migrate_counts(fm_db_t *db, const char *module, const fm_migration_t *list, size_t n,
                      int *applied, int *pending);

/* Calls fn per migration of `module`, applied_at NULL when pending. db may be NULL
 * (a database that does not exist yet: everything pending). */
typedef void (*fm_migrate_row_fn)(const fm_migration_t *m, const char *applied_at, void *arg);
int fm_migrate_status(fm_db_t *db, const char *module, const fm_migration_t *list, size_t n,
                      fm_migrate_row_fn fn, void *arg);

#endif
