/*
 * integ_int.h — private to the External Integration module (9015): the secrets box
 * (integ_secret.c), the store of connectors and webhooks with their logs
 * (integ_store.c), outbound calls through fm_fetch (integ_call.c) and inbound hooks
 * (integ_hooks.c). The routes are in integrations.c.
 */
#ifndef INTEG_INT_H
#define INTEG_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>

#define INTEG_SOURCE "/flowmaster/integrations"
#define INTEG_OPERATOR_TENANT "default"
#define INTEG_NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* ---- integ_secret.c ---- */
int integ_secret_start(void);      /* loads or creates the key; logs once when it creates one */
void integ_secret_stop(void);
/* JSON text → nonce || secretbox (caller frees *out). */
int integ_seal(const char *plain, unsigned char **out, size_t *outlen);
/* The reverse; NULL when it does not open (caller frees). */
char *integ_unseal(const unsigned char *box, size_t len);

/* ---- integ_store.c ---- */
typedef enum { INTEG_CONNECTOR, INTEG_WEBHOOK } integ_kind_t;

typedef struct integ_rec {
    char id[40], tenant[80], name[80];
    cJSON *config;      /* without secrets */
    cJSON *secrets;     /* {"auth.password": "…"}; never sent out */
    int version;
    char created[32], updated[32];
} integ_rec_t;

void integ_rec_clear(integ_rec_t *r);
/* The public form: config + id, name, version, createdAt, updatedAt, secretsSet. */
cJSON *integ_rec_json(const integ_rec_t *r);
/* tenant NULL: any tenant (the public hook route finds its webhook by id). */
int integ_get(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, integ_rec_t *out);
int integ_insert(fm_db_t *db, integ_kind_t k, integ_rec_t *r);   /* fills id, times, version */
/* FM_ESTALE when the stored version is not `expect`. */
int integ_update(fm_db_t *db, integ_kind_t k, integ_rec_t *r, int expect);
int integ_delete(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, int expect);
int integ_list(fm_db_t *db, integ_kind_t k, const char *tenant, int offset, int limit, cJSON *into, int *total);
int integ_version(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, int *version);

/* Logs: entry is taken; its "id" is set. */
int integ_log_add(fm_db_t *db, const char *tenant, const char *owner, cJSON *entry);
int integ_log_list(fm_db_t *db, const char *tenant, const char *owner, int offset, int limit, cJSON *into,
                   int *total);
/* FM_ECONFLICT when (webhook, key) was seen before. */
int integ_seen_add(fm_db_t *db, const char *webhook, const char *key);
int integ_seen_drop(fm_db_t *db, const char *webhook, const char *key);

/* ---- integ_call.c ---- */
/* The connector's answer to one call: status 0 and error set when no HTTP answer came. */
typedef struct integ_result {
    long status;
    char *body;             /* NUL-terminated */
    size_t len;
    cJSON *headers;         /* {lower-case name: value} */
    char error[400];
    bool timed_out, too_big;
    int attempts;
    double ms;
} integ_result_t;

typedef struct integ_call {
    const char *method, *path;
    const cJSON *query, *headers;   /* objects of strings (already FEEL-evaluated), may be NULL */
    const char *body, *content_type;
} integ_call_t;

void integ_result_clear(integ_result_t *r);
/* Runs a call through the connector: auth, default headers, timeouts, retries, TLS,
 * redirects, size limit, private-address policy. Blocks this (worker) thread on a
 * condition variable until the loop answers. Logs the call. */
int integ_execute(fm_db_t *db, const integ_rec_t *c, const integ_call_t *call, integ_result_t *res,
                  char *call_id, size_t idlen);
/* Replaces every secret value of c in s (in place, never longer) with "***". */
void integ_redact(const integ_rec_t *c, char *s);
void integ_oauth_forget(const char *connector_id);
bool integ_private_allowed(const char *tenant);
/* The OAuth token cache of integ_execute, for the engine's calls (integ_engine.c):
 * a cached unexpired token (caller frees) or NULL; keep one for ttl_s seconds. */
char *integ_token_cached(const integ_rec_t *c);
void integ_token_keep(const integ_rec_t *c, const char *token, long ttl_s);
/* Raw response header lines → {lower-case name: value} (the first of each name). */
cJSON *integ_headers_parse(const char *raw);

/* ---- integ_hooks.c ---- */
int integ_hook_receive(fm_req_t *r);

/* ---- integrations.c ---- */
/* FEEL `text` over the members of vars; *out (caller frees) or FM_EINVAL and why. */
int integ_feel(const char *text, const cJSON *vars, cJSON **out, char *why, size_t wl);
bool integ_feel_parses(const char *text, char *why, size_t wl);

#endif
