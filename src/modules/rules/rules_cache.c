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
