/*
 * rules_cache.c — parsed DMN models by (tenant, rule id, version), so evaluation
 * never re-parses. Versions are immutable, so an entry never goes stale; the table is
 * bounded (CACHE_SLOTS, oldest use evicted). Entries are reference counted: eviction
 * only drops the cache's reference, and the last holder frees the model. Any thread.
 */
#include "rules_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 256

struct rules_cached {
    char key[160];
    dmn_model_t *model;
    atomic_int refs;
    uint64_t used;
};

static rules_cached_t *slots[CACHE_SLOTS];
static uint64_t tick;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void make_key(char *k, size_t n, const char *tenant, const char *id, int version)
{
    snprintf(k, n, "%s\x1f%s\x1f%d", tenant, id, version);
}

static void unref(rules_cached_t *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
        dmn_model_free(c->model);
        free(c);
    }
}

rules_cached_t *rules_cache_get(const char *tenant, const char *id, int version)
{
    char k[160];
    make_key(k, sizeof(k), tenant, id, version);
    rules_cached_t *hit = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < CACHE_SLOTS && !hit; i++)
        if (slots[i] && !strcmp(slots[i]->key, k)) {
            hit = slots[i];
            atomic_fetch_add(&hit->refs, 1);
            hit->used = ++tick;
        }
    pthread_mutex_unlock(&mu);
    return hit;
}

rules_cached_t *rules_cache_add(const char *tenant, const char *id, int version, dmn_model_t *m)
{
    rules_cached_t *c = calloc(1, sizeof(*c));
    if (!c) {
        dmn_model_free(m);
        return NULL;
    }
    make_key(c->key, sizeof(c->key), tenant, id, version);
    c->model = m;
    atomic_init(&c->refs, 2);   /* the cache's and the caller's */
    rules_cached_t *old = NULL;
    pthread_mutex_lock(&mu);
    int victim = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (slots[i] && !strcmp(slots[i]->key, c->key)) {   /* raced with another loader */
            victim = i;
            break;
        }
        if (!slots[i]) {
            victim = i;
            break;
        }
        if (slots[i]->used < slots[victim]->used)
            victim = i;
    }
    old = slots[victim];
    c->used = ++tick;
    slots[victim] = c;
    pthread_mutex_unlock(&mu);
    unref(old);
    return c;
}

const dmn_model_t *rules_cached_model(const rules_cached_t *c)
{
    return c->model;
}

void rules_cache_put_back(rules_cached_t *c)
{
    unref(c);
}

void rules_cache_clear(void)
{
    pthread_mutex_lock(&mu);
    rules_cached_t *all[CACHE_SLOTS];
    memcpy(all, slots, sizeof(slots));
    memset(slots, 0, sizeof(slots));
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < CACHE_SLOTS; i++)
        unref(all[i]);
}

/* ---- latest version per rule set ----
 * This process is the only writer of rules.db, so the latest version it wrote or read
 * is the latest there is: remembering it saves a database read per evaluation. */
#define LATEST_SLOTS 4096

typedef struct latest {
    char key[128];
    int version;
} latest_t;

static latest_t latest[LATEST_SLOTS];
static pthread_rwlock_t latest_mu = PTHREAD_RWLOCK_INITIALIZER;

static size_t latest_slot(const char *key)
{
    size_t h = 1469598103934665603ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h % LATEST_SLOTS;
}

int rules_latest_known(const char *tenant, const char *id)
{
    char k[128];
    snprintf(k, sizeof(k), "%s\x1f%s", tenant, id);
    size_t s = latest_slot(k);
    int v = 0;
    pthread_rwlock_rdlock(&latest_mu);
    if (!strcmp(latest[s].key, k))
        v = latest[s].version;
    pthread_rwlock_unlock(&latest_mu);
    return v;
}

void rules_latest_note(const char *tenant, const char *id, int version)
{
    char k[128];
    int n = snprintf(k, sizeof(k), "%s\x1f%s", tenant, id);
    if (n <= 0 || (size_t)n >= sizeof(k))
        return;     /* too long to remember: the database answers */
    size_t s = latest_slot(k);
    pthread_rwlock_wrlock(&latest_mu);
    /* never move backwards: a slow reader must not undo a newer PUT */
    if (strcmp(latest[s].key, k) || latest[s].version < version) {
        memcpy(latest[s].key, k, (size_t)n + 1);
        latest[s].version = version;
    }
    pthread_rwlock_unlock(&latest_mu);
}

int rules_parse(const char *format, const char *source, size_t len, dmn_model_t **out, dmn_err_t *err)
{
    if (!strcmp(format, "dmn"))
        return dmn_load_xml(source, len, out, err);
    cJSON *j = cJSON_ParseWithLength(source, len);
    if (!j) {
        memset(err, 0, sizeof(*err));
        snprintf(err->msg, sizeof(err->msg), "the JSON model does not parse");
        err->malformed = true;
        return FM_EINVAL;
    }
    int rc = dmn_load_json(j, out, err);
    cJSON_Delete(j);
    return rc;
}
