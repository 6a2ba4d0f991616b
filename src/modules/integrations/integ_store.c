/*
 * integ_store.c — connectors and webhooks (tables of the same shape, migrations/
 * integrations/), their call and delivery logs, and the delivery keys a webhook has
 * seen. Every query filters on tenant_id except the public hook route's lookup by id.
 * Secrets are sealed here on the way in and opened on the way out; the public form of
 * a record (integ_rec_json) names which secrets are set, never their values. Records
 * read are kept in memory with their secrets opened (the call path reads its connector
 * per call); a write or delete of the record drops it. Log entries are written by group
 * commit: concurrent callers' entries share one transaction.
 */
#include "integ_int.h"

#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_KEEP 1000       /* entries kept per connector or webhook (the trim below) */
#define LOG_BATCH 256       /* entries per group-commit transaction at the most */
#define KEPT_MAX 256        /* records kept in memory with their secrets opened */

/* The same statement on the connectors or the webhooks table. */
#define BY_KIND(k, head, tail) ((k) == INTEG_CONNECTOR ? head "connectors" tail : head "webhooks" tail)
#define REC_COLS "id, tenant_id, name, config, secrets, version, created_at, updated_at"

void integ_rec_clear(integ_rec_t *r)
{
    cJSON_Delete(r->config);
    cJSON_Delete(r->secrets);
    r->config = r->secrets = NULL;
}

cJSON *integ_rec_json(const integ_rec_t *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    const cJSON *x;
    cJSON_ArrayForEach(x, r->config) if (strcmp(x->string, "name") && strcmp(x->string, "id"))
        cJSON_AddItemToObject(o, x->string, cJSON_Duplicate(x, true));
    cJSON *set = cJSON_AddArrayToObject(o, "secretsSet");
    cJSON_ArrayForEach(x, r->secrets) cJSON_AddItemToArray(set, cJSON_CreateString(x->string));
    cJSON_AddNumberToObject(o, "version", r->version);
    cJSON_AddStringToObject(o, "createdAt", r->created);
    cJSON_AddStringToObject(o, "updatedAt", r->updated);
    return o;
}

/* ---- records read, secrets opened, kept in memory ----
 * The call path reads its connector on every call; a record is kept here once read (its
 * secrets opened) and dropped when this process writes or deletes it (every write goes
 * through this file). `gen` counts drops: a reader that started before a drop does not
 * put back what it read (it may be the old row). */

typedef struct kept {
    integ_kind_t kind;
    integ_rec_t rec;        /* rec.config NULL: a free slot */
} kept_t;

static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static kept_t kept[KEPT_MAX];
static int kept_next;
static uint64_t kept_gen;

static void rec_wipe(integ_rec_t *r)
{
    cJSON *x;
    cJSON_ArrayForEach(x, r->secrets) if (cJSON_IsString(x))
        sodium_memzero(x->valuestring, strlen(x->valuestring));
    integ_rec_clear(r);
}

static int rec_copy(const integ_rec_t *from, integ_rec_t *to)
{
    *to = *from;
    to->config = cJSON_Duplicate(from->config, true);
    to->secrets = cJSON_Duplicate(from->secrets, true);
    if (to->config && to->secrets)
        return FM_OK;
    integ_rec_clear(to);
    return FM_ENOMEM;
}

/* A copy of the kept record (tenant NULL: any tenant); FM_ENOTFOUND when not kept. */
static int kept_get(integ_kind_t k, const char *tenant, const char *id, integ_rec_t *out, uint64_t *gen)
{
    int rc = FM_ENOTFOUND;
    pthread_mutex_lock(&kept_mu);
    *gen = kept_gen;
    for (int i = 0; i < KEPT_MAX && rc == FM_ENOTFOUND; i++)
        if (kept[i].rec.config && kept[i].kind == k && !strcmp(kept[i].rec.id, id))
            rc = !tenant || !strcmp(kept[i].rec.tenant, tenant) ? rec_copy(&kept[i].rec, out) : FM_EINVAL;
    pthread_mutex_unlock(&kept_mu);
    return rc == FM_EINVAL ? FM_ENOTFOUND : rc;
}

static void kept_put(integ_kind_t k, const integ_rec_t *r, uint64_t gen)
{
    integ_rec_t copy;
    if (rec_copy(r, &copy) != FM_OK)
        return;
    pthread_mutex_lock(&kept_mu);
    if (gen == kept_gen) {
        int at = kept_next;
        for (int i = 0; i < KEPT_MAX; i++)
            if (kept[i].rec.config && kept[i].kind == k && !strcmp(kept[i].rec.id, r->id))
                at = i;
        if (at == kept_next)
            kept_next = (kept_next + 1) % KEPT_MAX;
        rec_wipe(&kept[at].rec);
        kept[at].kind = k;
        kept[at].rec = copy;
        copy.config = copy.secrets = NULL;
    }
    pthread_mutex_unlock(&kept_mu);
    rec_wipe(&copy);
}

/* This process changed or deleted the record: what is kept of it goes. */
static void kept_drop(const char *id)
{
    pthread_mutex_lock(&kept_mu);
    kept_gen++;
    for (int i = 0; i < KEPT_MAX; i++)
        if (kept[i].rec.config && !strcmp(kept[i].rec.id, id))
            rec_wipe(&kept[i].rec);
    pthread_mutex_unlock(&kept_mu);
}

/* A row of REC_COLS into *arg (an integ_rec_t); FM_EIO when the secrets do not open. */
static int row_rec(const fm_dbrow_t *st, void *arg)
{
    integ_rec_t *r = arg;
    memset(r, 0, sizeof(*r));
    fm_dbrow_copy(st, 0, r->id, sizeof(r->id));
    fm_dbrow_copy(st, 1, r->tenant, sizeof(r->tenant));
    fm_dbrow_copy(st, 2, r->name, sizeof(r->name));
    r->config = cJSON_Parse(fm_dbrow_str(st, 3));
    size_t blen = 0;
    const void *blob = fm_dbrow_blob(st, 4, &blen);
    char *plain = blob ? integ_unseal(blob, blen) : NULL;
    if (blob && !plain) {
        fm_log_msg(FM_LOG_ERROR, "integrations: secrets do not open with the configured key", r->id);
        cJSON_Delete(r->config);
        r->config = NULL;
        return FM_EIO;
    }
    r->secrets = plain ? cJSON_Parse(plain) : cJSON_CreateObject();
    if (plain) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
    r->version = (int)fm_dbrow_int(st, 5);
    fm_dbrow_copy(st, 6, r->created, sizeof(r->created));
    fm_dbrow_copy(st, 7, r->updated, sizeof(r->updated));
    if (!r->config || !r->secrets) {
        integ_rec_clear(r);
        return FM_ENOMEM;
    }
    return FM_OK;
}

int integ_get(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, integ_rec_t *out)
{
    uint64_t gen;
    if (kept_get(k, tenant, id, out, &gen) == FM_OK)
        return FM_OK;
    int rc = fm_dbq_read_one(db, BY_KIND(k, "SELECT " REC_COLS " FROM ", " WHERE id = ?1 AND (?2 IS NULL OR "
                                                                       "tenant_id = ?2)"),
                             row_rec, out, "ss", id, tenant);
    if (rc == FM_OK)
        kept_put(k, out, gen);
    return rc;
}

/* config as text and the secrets sealed (caller frees both); FM_OK or why not. */
static int seal_body(const integ_rec_t *r, char **cfg, unsigned char **box, size_t *blen)
{
    *cfg = cJSON_PrintUnformatted(r->config);
    char *sec = cJSON_PrintUnformatted(r->secrets);
    int rc = *cfg && sec ? integ_seal(sec, box, blen) : FM_ENOMEM;
    if (sec) {
        sodium_memzero(sec, strlen(sec));
        cJSON_free(sec);
    }
    return rc;
}

static int rev_row(const fm_dbrow_t *st, void *arg)
{
    integ_rec_t *r = arg;
    r->version = (int)fm_dbrow_int(st, 0);
    fm_dbrow_copy(st, 1, r->created, sizeof(r->created));
    return FM_OK;
}

/* Runs the INSERT or UPDATE of a record: ?1 name, ?2 config, ?3 sealed secrets, ?4 the
 * time, ?5 id, ?6 tenant, ?7 the expected version (the INSERT's first); the RETURNING
 * row (version, created_at) goes into r. */
static int write_rec(fm_db_t *db, const char *sql, integ_rec_t *r, const char *at, int expect)
{
    char *cfg = NULL;
    unsigned char *box = NULL;
    size_t blen = 0;
    int rc = seal_body(r, &cfg, &box, &blen);
    fm_dbc_t *w = rc == FM_OK ? fm_dbq_write_begin(db) : NULL;
    if (rc == FM_OK && !w)
        rc = FM_EDB;
    if (w) {
        rc = fm_dbq_one(w, sql, rev_row, r, "ssbsssi", r->name, cfg, box, blen, at, r->id, r->tenant, expect);
        rc = fm_dbq_write_end(w, rc);
    }
    cJSON_free(cfg);
    free(box);
    kept_drop(r->id);
    return rc;
}

int integ_insert(fm_db_t *db, integ_kind_t k, integ_rec_t *r)
{
    fm_id_random(k == INTEG_CONNECTOR ? "int" : "hook", r->id, sizeof(r->id));
    fm_time_rfc3339(r->created);
    memcpy(r->updated, r->created, sizeof(r->updated));
    r->version = 1;
    return write_rec(db, BY_KIND(k, "INSERT INTO ", "(name, config, secrets, id, tenant_id, version, created_at, "
                                    "updated_at) VALUES (?1, ?2, ?3, ?5, ?6, ?7, ?4, ?4) "
                                    "RETURNING version, created_at"), r, r->created, 1);
}

int integ_update(fm_db_t *db, integ_kind_t k, integ_rec_t *r, int expect)
{
    fm_time_rfc3339(r->updated);
    int rc = write_rec(db, BY_KIND(k, "UPDATE ", " SET name = ?1, config = ?2, secrets = ?3, version = version + 1, "
                                       "updated_at = ?4 WHERE id = ?5 AND tenant_id = ?6 AND version = ?7 "
                                       "RETURNING version, created_at"), r, r->updated, expect);
    return rc == FM_ENOTFOUND ? FM_ESTALE : rc;
}

int integ_version(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, int *version)
{
    int64_t v = 0;
    int rc = fm_dbq_read_int(db, BY_KIND(k, "SELECT version FROM ", " WHERE id = ? AND tenant_id = ?"), &v, "ss", id,
                             tenant);
    if (rc == FM_OK)
        *version = (int)v;
    return rc;
}

int integ_delete(fm_db_t *db, integ_kind_t k, const char *tenant, const char *id, int expect)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, BY_KIND(k, "DELETE FROM ", " WHERE id = ?1 AND tenant_id = ?2 AND (?3 < 0 OR "
                                                      "version = ?3)"), "ssi", id, tenant, expect);
    if (rc == FM_OK && !fm_dbq_changes(w))
        rc = FM_ESTALE;
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM log_entries WHERE owner_id = ?", "s", id);
    if (rc == FM_OK && k == INTEG_WEBHOOK)
        rc = fm_dbq_run(w, "DELETE FROM hook_seen WHERE webhook_id = ?", "s", id);
    rc = fm_dbq_write_end(w, rc);
    kept_drop(id);
    return rc;
}

static cJSON *rec_item(const fm_dbrow_t *st, void *arg)
{
    integ_rec_t r;
    if ((*(int *)arg = row_rec(st, &r)) != FM_OK)
        return NULL;
    cJSON *o = integ_rec_json(&r);
    integ_rec_clear(&r);
    return o;
}

int integ_list(fm_db_t *db, integ_kind_t k, const char *tenant, int offset, int limit, cJSON *into, int *total)
{
    int bad = FM_OK;
    fm_dbq_page_t p = {
        .count_sql = BY_KIND(k, "SELECT count(*) FROM ", " WHERE tenant_id = ?"),
        .rows_sql = BY_KIND(k, "SELECT " REC_COLS " FROM ", " WHERE tenant_id = ? ORDER BY name, id LIMIT ? OFFSET ?"),
        .item = rec_item, .arg = &bad, .offset = offset, .limit = limit,
    };
    int rc = fm_dbq_read_page(db, &p, into, total, "s", tenant);
    return rc == FM_OK ? bad : rc;
}

/* ---- the call and delivery logs: group commit ---- */

typedef struct log_item {
    fm_db_t *db;
    const char *id, *tenant, *owner, *text;
    int rc;
    bool done;
    struct log_item *next;
} log_item_t;

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_cv = PTHREAD_COND_INITIALIZER;
static log_item_t *log_head;
static bool log_flushing;

/* One transaction for a batch: each entry, then the newest LOG_KEEP of each owner kept
 * (the index makes the trim a short range scan; once per owner per batch). */
static int log_write(fm_db_t *db, log_item_t **batch, int n)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_OK;
    for (int i = 0; i < n && rc == FM_OK; i++)
        rc = fm_dbq_run(w, "INSERT INTO log_entries(id, tenant_id, owner_id, entry) "
                           "VALUES (?, ?, ?, ?)",
                        "ssss", batch[i]->id, batch[i]->tenant, batch[i]->owner, batch[i]->text);
    for (int i = 0; i < n && rc == FM_OK; i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(batch[j]->owner, batch[i]->owner);
        if (!seen)
            rc = fm_dbq_run(w, "DELETE FROM log_entries WHERE owner_id = ?1 AND seq <= (SELECT seq FROM "
                               "log_entries WHERE owner_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                            "si", batch[i]->owner, LOG_KEEP);
    }
    return fm_dbq_write_end(w, rc);
}

int integ_log_add(fm_db_t *db, const char *tenant, const char *owner, cJSON *entry)
{
    char id[40];
    fm_id_random("log", id, sizeof(id));
    cJSON_DeleteItemFromObject(entry, "id");
    cJSON_AddStringToObject(entry, "id", id);
    char *text = cJSON_PrintUnformatted(entry);
    if (!text)
        return FM_ENOMEM;
    log_item_t me = { .db = db, .id = id, .tenant = tenant, .owner = owner, .text = text };
    pthread_mutex_lock(&log_mu);
    me.next = log_head;
    log_head = &me;
    while (!me.done) {
        if (log_flushing) {
            pthread_cond_wait(&log_cv, &log_mu);
            continue;
        }
        /* this caller commits every queued entry of its database, its own among them */
        log_item_t *batch[LOG_BATCH];
        int n = 0;
        for (log_item_t **p = &log_head; *p && n < LOG_BATCH;) {
            if ((*p)->db == db) {
                batch[n++] = *p;
                *p = (*p)->next;
            } else {
                p = &(*p)->next;
            }
        }
        log_flushing = true;
        pthread_mutex_unlock(&log_mu);
        int rc = log_write(db, batch, n);
        pthread_mutex_lock(&log_mu);
        for (int i = 0; i < n; i++) {
            batch[i]->rc = rc;
            batch[i]->done = true;
        }
        log_flushing = false;
        pthread_cond_broadcast(&log_cv);
    }
    pthread_mutex_unlock(&log_mu);
    cJSON_free(text);
    return me.rc;
}

static cJSON *entry_item(const fm_dbrow_t *st, void *arg)
{
    (void)arg;
    return fm_dbrow_json(st, 0);
}

int integ_log_list(fm_db_t *db, const char *tenant, const char *owner, int offset, int limit, cJSON *into,
                   int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM log_entries WHERE owner_id = ? AND tenant_id = ?",
        .rows_sql = "SELECT entry FROM log_entries WHERE owner_id = ? AND tenant_id = ? "
                    "ORDER BY seq DESC LIMIT ? OFFSET ?",
        .item = entry_item, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "ss", owner, tenant);
}

int integ_seen_add(fm_db_t *db, const char *webhook, const char *key)
{
    /* FM_ECONFLICT from the primary key: the key was seen */
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "INSERT INTO hook_seen(webhook_id, key, at_ms) VALUES (?, ?, ?)", "ssI", webhook, key,
                        fm_time_unix_ms());
    return fm_dbq_write_end(w, rc);
}

int integ_seen_drop(fm_db_t *db, const char *webhook, const char *key)
{
    int rc = fm_dbq_write(db, "DELETE FROM hook_seen WHERE webhook_id = ?1 AND key = ?2", "ss", webhook, key);
    return rc == FM_ENOTFOUND ? FM_OK : rc;
}
