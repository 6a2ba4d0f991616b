/*
 * knowledge_store.c — the Knowledge Hub's database (migrations/knowledge/): collections,
 * sources and their chunks (indexed by FTS5 through triggers), feedback votes and the
 * per-term weights they add up to, and the search that ranks chunks by BM25, the hashed
 * embeddings when on, and feedback (docs/knowledge.md "Ranking"). Every query filters
 * on the tenant.
 */
#include "knowledge_int.h"

#include "../../fm_db.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- collections ---- */

#define COLL_SELECT                                                                                             \
    "SELECT c.name, c.description, c.created_ms AS \"createdAt\", c.updated_ms AS \"updatedAt\", "             \
    "(SELECT count(*) FROM sources s WHERE s.tenant_id = c.tenant_id AND s.collection = c.name) AS sources, "  \
    "(SELECT coalesce(sum(s.chunks), 0) FROM sources s WHERE s.tenant_id = c.tenant_id "                       \
    "AND s.collection = c.name) AS chunks FROM collections c "
#define COLL_HINTS "sstti"

int kn_coll_get(fm_db_t *db, const char *tenant, const char *name, cJSON **out)
{
    return fm_dbq_read_obj(db, COLL_SELECT "WHERE c.tenant_id = ? AND c.name = ?", COLL_HINTS, out, "ss", tenant,
                           name);
}

int kn_coll_create(fm_db_t *db, const char *tenant, const char *name, const char *desc, cJSON **out)
{
    int64_t now = fm_time_unix_ms();
    int rc = fm_dbq_write(db, "INSERT INTO collections(tenant_id, name, description, created_ms, updated_ms) "
                              "VALUES (?, ?, ?, ?, ?)",
                          "sssII", tenant, name, desc ? desc : "", now, now);
    return rc == FM_OK ? kn_coll_get(db, tenant, name, out) : rc;
}

int kn_coll_update(fm_db_t *db, const char *tenant, const char *name, const char *desc, cJSON **out)
{
    int rc = fm_dbq_write(db, "UPDATE collections SET description = ?, updated_ms = ? WHERE tenant_id = ? AND name = ?",
                          "sIss", desc ? desc : "", fm_time_unix_ms(), tenant, name);
    return rc == FM_OK ? kn_coll_get(db, tenant, name, out) : rc;
}

int kn_coll_delete(fm_db_t *db, const char *tenant, const char *name)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "DELETE FROM collections WHERE tenant_id = ? AND name = ?", "ss", tenant, name);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    static const char *const sql[] = {
        "DELETE FROM chunks WHERE tenant_id = ? AND collection = ?",
        "DELETE FROM sources WHERE tenant_id = ? AND collection = ?",
        "DELETE FROM feedback WHERE tenant_id = ? AND collection = ?",
        "DELETE FROM feedback_terms WHERE tenant_id = ? AND collection = ?",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == FM_OK; i++)
        rc = fm_dbq_run(w, sql[i], "ss", tenant, name);
    return fm_dbq_write_end(w, rc);
}

int kn_coll_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *items, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM collections WHERE tenant_id = ?",
        .rows_sql = COLL_SELECT "WHERE c.tenant_id = ? ORDER BY c.name LIMIT ? OFFSET ?",
        .hints = COLL_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "s", tenant);
}

/* ---- sources and chunks ---- */

#define SRC_SELECT                                                                                              \
    "SELECT id, collection, title, source, document_id AS \"documentId\", bytes, chunks, "                     \
    "created_ms AS \"createdAt\" FROM sources "
#define SRC_HINTS "sssssiit"

int kn_source_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out)
{
    return fm_dbq_read_obj(db, SRC_SELECT "WHERE tenant_id = ? AND id = ?", SRC_HINTS, out, "ss", tenant, id);
}

static void scope_of(const char *tenant, const char *coll, const char *src_id, const char *source, char *out,
                     size_t len)
{
    char t[20], c[20], s[20], u[20];
    kn_scope_token('t', tenant, NULL, t);
    kn_scope_token('c', tenant, coll, c);
    kn_scope_token('s', tenant, src_id, s);
    kn_scope_token('u', tenant, source, u);
    snprintf(out, len, "%s %s %s %s", t, c, s, u);
}

int kn_source_insert(fm_db_t *db, const kn_source_new_t *s, cJSON **out)
{
    *out = NULL;
    char id[40], scope[96];
    fm_id_random("ksrc_", id, sizeof(id));
    scope_of(s->tenant, s->collection, id, s->source, scope, sizeof(scope));
    size_t maxlen = 0;
    for (size_t i = 0; i < s->nchunks; i++)
        if (s->chunks[i].len > maxlen)
            maxlen = s->chunks[i].len;
    char *buf = malloc(maxlen + 1);
    if (!buf)
        return FM_ENOMEM;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w) {
        free(buf);
        return FM_EDB;
    }
    int64_t now = fm_time_unix_ms(), one = 0;
    int rc = fm_dbq_int(w, "SELECT count(*) FROM collections WHERE tenant_id = ? AND name = ?", &one, "ss",
                        s->tenant, s->collection);
    if (rc == FM_OK && !one) {
        if (!strcmp(s->collection, "default"))
            rc = fm_dbq_run(w, "INSERT INTO collections(tenant_id, name, description, created_ms, updated_ms) "
                               "VALUES (?, 'default', 'made by the first ingest without a collection', ?, ?)",
                            "sII", s->tenant, now, now);
        else
            rc = FM_ENOTFOUND;
    }
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO sources(tenant_id, id, collection, title, source, document_id, bytes, "
                           "chunks, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssssssIII", s->tenant, id, s->collection, s->title, s->source, s->document_id,
                        (int64_t)s->len, (int64_t)s->nchunks, now);
    float vec[KN_VEC_DIMS];
    for (size_t i = 0; i < s->nchunks && rc == FM_OK; i++) {
        const kn_chunk_t *c = &s->chunks[i];
        memcpy(buf, s->text + c->off, c->len);
        buf[c->len] = '\0';
        if (s->embed)
            kn_embed(buf, c->len, vec);
        rc = fm_dbq_run(w, "INSERT INTO chunks(tenant_id, collection, source_id, position, heading, text, scope, "
                           "embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        "sssisssb", s->tenant, s->collection, id, (int)i, c->heading, buf, scope,
                        s->embed ? (const void *)vec : NULL, s->embed ? sizeof(vec) : (size_t)0);
    }
    free(buf);
    if (rc == FM_OK)
        rc = fm_dbq_obj(w, SRC_SELECT "WHERE tenant_id = ? AND id = ?", SRC_HINTS, out, "ss", s->tenant, id);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int kn_source_delete(fm_db_t *db, const char *tenant, const char *id)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "DELETE FROM sources WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    static const char *const sql[] = {
        "DELETE FROM chunks WHERE tenant_id = ? AND source_id = ?",
        "DELETE FROM feedback WHERE tenant_id = ? AND source_id = ?",
        "DELETE FROM feedback_terms WHERE tenant_id = ? AND source_id = ?",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == FM_OK; i++)
        rc = fm_dbq_run(w, sql[i], "ss", tenant, id);
    return fm_dbq_write_end(w, rc);
}

int kn_source_list(fm_db_t *db, const char *tenant, const char *collection, int offset, int limit, cJSON *items,
                   int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM sources WHERE tenant_id = ?1 AND (?2 IS NULL OR collection = ?2)",
        .rows_sql = SRC_SELECT "WHERE tenant_id = ?1 AND (?2 IS NULL OR collection = ?2) "
                               "ORDER BY created_ms, id LIMIT ?3 OFFSET ?4",
        .hints = SRC_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "ss", tenant, collection);
}

int kn_chunk_list(fm_db_t *db, const char *tenant, const char *source, int offset, int limit, cJSON *items,
                  int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM chunks WHERE tenant_id = ? AND source_id = ?",
        .rows_sql = "SELECT source_id || ':' || position AS id, source_id AS \"sourceId\", position, heading, text "
                    "FROM chunks WHERE tenant_id = ? AND source_id = ? ORDER BY position LIMIT ? OFFSET ?",
        .hints = "ssiss", .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "ss", tenant, source);
}

/* ---- search ---- */

typedef struct cand {
    int64_t id;
    double bm25, cos, fb, score;
} cand_t;

typedef struct cands {
    cand_t *v;
    size_t n, cap;
} cands_t;

static cand_t *cand_find(cands_t *c, int64_t id)
{
    for (size_t i = 0; i < c->n; i++)     /* at most a few hundred */
        if (c->v[i].id == id)
            return &c->v[i];
    return NULL;
}

static cand_t *cand_add(cands_t *c, int64_t id)
{
    cand_t *x = cand_find(c, id);
    if (x)
        return x;
    if (c->n == c->cap)
        return NULL;
    c->v[c->n] = (cand_t){ id, 0, 0, 0, 0 };
    return &c->v[c->n++];
}

static int on_fts(const fm_dbrow_t *row, void *arg)
{
    cand_t *x = cand_add(arg, fm_dbrow_int(row, 0));
    if (x)
        x->bm25 = fm_dbrow_double(row, 1);
    return FM_OK;
}

static int on_feedback(const fm_dbrow_t *row, void *arg)
{
    cands_t *c = arg;
    int64_t id = fm_dbrow_int(row, 0);
    double w = fm_dbrow_double(row, 1);
    cand_t *x = w > 0 ? cand_add(c, id) : cand_find(c, id);
    if (x)
        x->fb = w;
    return FM_OK;
}

typedef struct vscan {
    cands_t *c;
    const float *q;
    cand_t top[KN_CANDIDATES];  /* the best by cosine not already candidates */
    size_t ntop;
} vscan_t;

static int on_vector(const fm_dbrow_t *row, void *arg)
{
    vscan_t *s = arg;
    size_t len = 0;
    const void *b = fm_dbrow_blob(row, 1, &len);
    if (len != KN_VEC_DIMS * sizeof(float))
        return FM_OK;
    float v[KN_VEC_DIMS];
    memcpy(v, b, sizeof(v));
    double cos = kn_dot(s->q, v);
    int64_t id = fm_dbrow_int(row, 0);
    cand_t *x = cand_find(s->c, id);
    if (x) {
        x->cos = cos;
        return FM_OK;
    }
    if (cos <= 0)
        return FM_OK;
    if (s->ntop < KN_CANDIDATES) {
        s->top[s->ntop++] = (cand_t){ id, 0, cos, 0, 0 };
        return FM_OK;
    }
    size_t lo = 0;
    for (size_t i = 1; i < s->ntop; i++)
        if (s->top[i].cos < s->top[lo].cos)
            lo = i;
    if (cos > s->top[lo].cos)
        s->top[lo] = (cand_t){ id, 0, cos, 0, 0 };
    return FM_OK;
}

static int by_score(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

typedef struct fetch {
    cJSON *into;
    double score;
} fetch_t;

static int on_passage(const fm_dbrow_t *row, void *arg)
{
    fetch_t *f = arg;
    cJSON *o = cJSON_CreateObject();
    char id[96];
    snprintf(id, sizeof(id), "%s:%lld", fm_dbrow_str(row, 0), (long long)fm_dbrow_int(row, 1));
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "sourceId", fm_dbrow_str(row, 0));
    cJSON_AddNumberToObject(o, "position", (double)fm_dbrow_int(row, 1));
    cJSON_AddStringToObject(o, "title", fm_dbrow_str(row, 5));
    cJSON_AddStringToObject(o, "source", fm_dbrow_str(row, 6));
    cJSON_AddStringToObject(o, "heading", fm_dbrow_str(row, 3));
    cJSON_AddStringToObject(o, "collection", fm_dbrow_str(row, 4));
    cJSON_AddStringToObject(o, "text", fm_dbrow_str(row, 2));
    cJSON_AddNumberToObject(o, "score", round(f->score * 1e6) / 1e6);
    cJSON_AddItemToArray(f->into, o);
    return FM_OK;
}

int kn_search(fm_db_t *db, const kn_query_t *q, cJSON *into)
{
    cand_t store[3 * KN_CANDIDATES];
    cands_t c = { store, 0, sizeof(store) / sizeof(store[0]) };
    char ftok[20], stok[20], utok[20];
    const char *sfilt = NULL, *ufilt = NULL;
    if (q->source_id) {
        kn_scope_token('s', q->tenant, q->source_id, stok);
        sfilt = stok;
    }
    if (q->title) {
        kn_scope_token('u', q->tenant, q->title, utok);
        ufilt = utok;
    }
    if (q->collection)
        kn_scope_token('c', q->tenant, q->collection, ftok);
    else
        kn_scope_token('t', q->tenant, NULL, ftok);
    fm_dbc_t *r = fm_dbq_reader(db);
    if (!r)
        return FM_EDB;
    int rc = FM_OK;
    if (q->nterms > 0) {
        /* terms hold only letters and digits, so quoting them makes any question safe FTS5 */
        size_t cap = 128 + (size_t)q->nterms * (KN_TERM_MAX + 8);
        char *m = malloc(cap);
        if (!m) {
            fm_dbq_reader_done(r);
            return FM_ENOMEM;
        }
        int w = snprintf(m, cap, "scope : %s", ftok);
        if (sfilt)
            w += snprintf(m + w, cap - (size_t)w, " AND scope : %s", sfilt);
        if (ufilt)
            w += snprintf(m + w, cap - (size_t)w, " AND scope : %s", ufilt);
        w += snprintf(m + w, cap - (size_t)w, " AND {text heading} : (");
        for (int i = 0; i < q->nterms; i++)
            w += snprintf(m + w, cap - (size_t)w, "%s\"%s\"", i ? " OR " : "", q->terms[i]);
        snprintf(m + w, cap - (size_t)w, ")");
        rc = fm_dbq_each(r,
                         "SELECT c.id, -m.r FROM (SELECT rowid AS id, bm25(chunks_fts, 1.0, 0.5, 0.0) AS r "
                         "FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY r LIMIT ?2) m "
                         "JOIN chunks c ON c.id = m.id WHERE c.tenant_id = ?3 AND (?4 IS NULL OR c.collection = ?4)",
                         on_fts, &c, "siss", m, KN_CANDIDATES, q->tenant, q->collection);
        free(m);
        cJSON *terms = cJSON_CreateArray();
        for (int i = 0; i < q->nterms; i++)
            cJSON_AddItemToArray(terms, cJSON_CreateString(q->terms[i]));
        if (rc == FM_OK)
            rc = fm_dbq_each(r,
                             "SELECT c.id, sum(f.weight) AS w FROM feedback_terms f JOIN chunks c "
                             "ON c.tenant_id = f.tenant_id AND c.source_id = f.source_id AND c.position = f.position "
                             "WHERE f.tenant_id = ?1 AND f.term IN (SELECT value FROM json_each(?2)) "
                             "AND (?3 IS NULL OR f.collection = ?3) AND (?4 IS NULL OR instr(c.scope, ?4) > 0) "
                             "AND (?5 IS NULL OR instr(c.scope, ?5) > 0) "
                             "GROUP BY c.id ORDER BY w DESC, c.id LIMIT ?6",
                             on_feedback, &c, "sjsssi", q->tenant, terms, q->collection, sfilt, ufilt,
                             KN_CANDIDATES);
        cJSON_Delete(terms);
    }
    if (rc == FM_OK && q->vectors) {
        float qv[KN_VEC_DIMS];
        kn_embed(q->question, strlen(q->question), qv);
        vscan_t *s = calloc(1, sizeof(*s));
        if (!s)
            rc = FM_ENOMEM;
        if (s) {
            s->c = &c;
            s->q = qv;
            rc = fm_dbq_each(r,
                             "SELECT id, embedding FROM chunks WHERE tenant_id = ?1 AND (?2 IS NULL OR collection = ?2) "
                             "AND (?3 IS NULL OR instr(scope, ?3) > 0) AND (?4 IS NULL OR instr(scope, ?4) > 0) "
                             "AND embedding IS NOT NULL LIMIT ?5",
                             on_vector, s, "ssssi", q->tenant, q->collection, sfilt, ufilt, KN_VEC_SCAN_MAX);
            for (size_t i = 0; i < s->ntop; i++) {
                cand_t *x = cand_add(&c, s->top[i].id);
                if (x)
                    x->cos = s->top[i].cos;
            }
            free(s);
        }
    }
    double maxb = 0;
    for (size_t i = 0; i < c.n; i++)
        if (c.v[i].bm25 > maxb)
            maxb = c.v[i].bm25;
    size_t keep = 0;
    for (size_t i = 0; i < c.n; i++) {
        cand_t *x = &c.v[i];
        double base = maxb > 0 ? x->bm25 / maxb : 0;
        if (q->vectors)
            base = 0.5 * base + 0.5 * (x->cos > 0 ? x->cos : 0);
        if (base <= 0 && x->fb <= 0)
            continue;
        x->score = base + KN_FEEDBACK_STEP * x->fb / (q->nterms > 0 ? q->nterms : 1);
        c.v[keep++] = *x;
    }
    c.n = keep;
    qsort(c.v, c.n, sizeof(cand_t), by_score);
    for (size_t i = 0; i < c.n && i < (size_t)q->k && rc == FM_OK; i++) {
        fetch_t f = { into, c.v[i].score };
        rc = fm_dbq_one(r,
                        "SELECT c.source_id, c.position, c.text, c.heading, c.collection, s.title, s.source "
                        "FROM chunks c JOIN sources s ON s.tenant_id = c.tenant_id AND s.id = c.source_id "
                        "WHERE c.id = ? AND c.tenant_id = ?",
                        on_passage, &f, "Is", c.v[i].id, q->tenant);
        if (rc == FM_ENOTFOUND)
            rc = FM_OK;
    }
    fm_dbq_reader_done(r);
    return rc;
}

/* ---- feedback ---- */

int kn_feedback_add(fm_db_t *db, const char *tenant, const char *source_id, int position, const char *question,
                    const char *const *terms, int nterms, bool helpful, const char *corrected, const char *actor,
                    cJSON **out)
{
    *out = NULL;
    char id[40];
    fm_id_random("kfb_", id, sizeof(id));
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    char *coll = NULL;
    int rc = fm_dbq_str(w, "SELECT collection FROM chunks WHERE tenant_id = ? AND source_id = ? AND position = ?",
                        &coll, "ssi", tenant, source_id, position);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO feedback(tenant_id, id, collection, source_id, position, question, helpful, "
                           "corrected_answer, actor, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssssisissI", tenant, id, coll, source_id, position, question, helpful ? 1 : 0, corrected,
                        actor, fm_time_unix_ms());
    for (int i = 0; i < nterms && rc == FM_OK; i++)
        rc = fm_dbq_run(w, "INSERT INTO feedback_terms(tenant_id, collection, term, source_id, position, weight) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET "
                           "weight = max(-?7, min(?7, weight + excluded.weight))",
                        "ssssiii", tenant, coll, terms[i], source_id, position, helpful ? 1 : -1,
                        KN_FEEDBACK_WEIGHT_MAX);
    if (rc == FM_OK)
        rc = fm_dbq_obj(w,
                        "SELECT id, collection, source_id || ':' || position AS \"passageId\", question, helpful, "
                        "corrected_answer AS \"correctedAnswer\", created_ms AS \"createdAt\" FROM feedback "
                        "WHERE tenant_id = ? AND id = ?",
                        "ssssbst", out, "ss", tenant, id);
    free(coll);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int kn_feedback_list(fm_db_t *db, const char *tenant, const char *collection, int offset, int limit, cJSON *items,
                     int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM feedback WHERE tenant_id = ?1 AND (?2 IS NULL OR collection = ?2)",
        .rows_sql = "SELECT id, collection, source_id || ':' || position AS \"passageId\", question, helpful, "
                    "corrected_answer AS \"correctedAnswer\", created_ms AS \"createdAt\" FROM feedback "
                    "WHERE tenant_id = ?1 AND (?2 IS NULL OR collection = ?2) ORDER BY created_ms, id "
                    "LIMIT ?3 OFFSET ?4",
        .hints = "ssssbst", .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "ss", tenant, collection);
}
