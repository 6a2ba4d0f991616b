/*
 * market_int.h — private to the BAC Marketplace (9016 /marketplace): packages and their
 * signed versions, search, ratings and installs (market_store.c), installing a version
 * into a tenant through Process Design, Rules and Prompt Engineering (market_install.c),
 * and the routes
 * (marketplace.c). docs/marketplace.md is the contract.
 */
#ifndef MARKET_INT_H
#define MARKET_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define MARKET_SOURCE "/flowmaster/marketplace"
#define MARKET_MAX_MODELS 50

/* ---- market_store.c ---- */
/* The tenant's Ed25519 key pair, made on its first publish. */
int market_key(fm_db_t *db, const char *tenant, unsigned char pk[32], unsigned char sk[64]);

typedef struct market_pub {
    const char *tenant, *name, *version, *version_key, *license, *description, *changelog;
    const cJSON *tags;
    const char *content;            /* the exact bytes signed */
    const unsigned char *sig, *pk;  /* 64 and 32 bytes */
} market_pub_t;
/* A new package, or a new version of the tenant's own package. FM_ECONFLICT: the version
 * exists; FM_EPERM-like FM_EINVAL with why: the name belongs to another tenant or the
 * version is not newer than the latest. *id gets the package id. */
int market_publish(fm_db_t *db, const market_pub_t *p, char *id, size_t idl, char *why, size_t wl);

typedef struct market_query {
    const char *q, *tag, *sort;     /* sort: rating, downloads, recent, relevance */
    int offset, limit;
} market_query_t;
int market_search(fm_db_t *db, const market_query_t *q, cJSON *items, int *total);
/* The package with its versions (without content) and ratings. */
int market_get(fm_db_t *db, const char *id, cJSON **out);

typedef struct market_version {
    char *content;                  /* caller frees */
    unsigned char sig[64], pk[32];
    char version[32];
} market_version_t;
/* version NULL: the latest. */
int market_version_read(fm_db_t *db, const char *id, const char *version, market_version_t *out);
int market_rate(fm_db_t *db, const char *id, const char *tenant, const char *user, int stars, const char *review);
/* The tenant's install of a package: *objects (caller frees) and its version; FM_ENOTFOUND. */
int market_install_get(fm_db_t *db, const char *tenant, const char *id, cJSON **objects, char *version, size_t vl);
int market_install_put(fm_db_t *db, const char *tenant, const char *id, const char *version, const cJSON *objects);

/* "1.2.3" → "000001.000002.000003" (pre-release and build suffixes refused); false when
 * it is not a semantic version. */
bool market_semver_key(const char *v, char *key, size_t kl);

/* ---- market_install.c ---- */
/* Installs (or upgrades to) one version (processes, decisions, forms, prompts) into the
 * caller's tenant through the modules' routes with the caller's identity. on_conflict: "fail" (409 listing them, nothing
 * created), "rename" or "skip". Answers the request itself. */
int market_install(fm_req_t *r, const char *id, const market_version_t *v, const char *on_conflict, bool publish);

#endif
