/*
 * fm_embed.h — files embedded into the binary at build time by tools/fm_embed.c:
 * the SQL migrations (migrations/<module>/NNNN_name.sql) and the web apps (web/...).
 * The generated build/gen/fm_embedded.c defines both tables, sorted by path.
 */
#ifndef FM_EMBED_H
#define FM_EMBED_H

#include <stddef.h>

typedef struct fm_migration {
    const char *module;   /* folder name under migrations/ */
    int version;          /* NNNN */
    const char *name;     /* file name without .sql, e.g. "0001_init" */
    const char *sql;
} fm_migration_t;

typedef struct fm_asset {
    const char *path;     /* relative to web/, e.g. "frontend/index.html" */
    const unsigned char *data;
    size_t len;
} fm_asset_t;

extern const fm_migration_t fm_migrations[];
extern const size_t fm_nmigrations;
extern const fm_asset_t fm_assets[];
extern const size_t fm_nassets;

const fm_asset_t *fm_asset_find(const char *path);

#endif
