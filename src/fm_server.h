/*
 * fm_server.h — `flowmaster serve` and what the other commands share with it: choosing
 * the modules, opening and migrating their databases.
 */
#ifndef FM_SERVER_H
#define FM_SERVER_H

#include "fm_mod.h"

#include <stddef.h>

/* Fills *mods (caller frees with fm_mods_release) with the modules named in `list`
 * ("all" or "a,b,c"), in module-table order. err names an unknown module. */
int fm_mods_select(const char *list, fm_mod_t **mods, size_t *n, char *err, size_t errlen);
void fm_mods_release(fm_mod_t *mods, size_t n);

/* Creates the data dir and proves it writable; err names the path and the reason. */
int fm_data_dir_prepare(const char *dir, char *err, size_t errlen);
/* Opens and migrates the database of every FM_M_DB module; `background`: checkpoints
 * are left to fm_db_checkpoint (serve), not done inside commits. */
int fm_mods_open_dbs(fm_mod_t *mods, size_t n, bool background, char *err, size_t errlen);

/* For start hooks (loop thread): fn runs once every port is bound, before the start-up
 * summary, in registration order (at most 4). First-start work that must not happen
 * when a port is taken belongs here (the first administrator). Not FM_OK stops serve. */
int fm_on_bound(int (*fn)(fm_mod_t *m), fm_mod_t *m);
/* The administrator the start-up summary shows; `password` only when it was generated
 * on this start (copied, wiped once printed), else NULL. */
void fm_banner_admin(const char *email, const char *password);

/* Runs the server with the installed config until SIGINT/SIGTERM. Returns the exit code. */
int fm_serve(void);

#endif
