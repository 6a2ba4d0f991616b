/*
 * doc_store.c — Document Intelligence's store: rows in documents.db through fm_dbq, and
 * the bytes as content-addressed blob files <data-dir>/documents/<sha[0:2]>/<sha256>.
 * A blob is shared by every row (of any tenant) holding the same bytes; it is written
 * and removed inside the write transaction of the row that adds or drops the last
 * reference, so the one writer orders uploads and deletes of the same bytes. Every query
 * filters on tenant_id.
 */
#include "doc_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOC_HINTS "ssssiisjs-tt"
#define DOC_COLS                                                                                             \
    "id, name, media_type AS \"mediaType\", format, size, text_chars AS \"textChars\", sha256, tags, "    \
    "doc_type AS \"documentType\", tenant_id, created_ms AS \"createdAt\", extracted_ms AS \"extractedAt\""

static void blob_path(const char *sha, char *out, size_t n, bool dir_only)
{
    if (dir_only)
        snprintf(out, n, "%s/documents/%.2s", fm_cfg()->data_dir, sha);
    else
        snprintf(out, n, "%s/documents/%.2s/%s", fm_cfg()->data_dir, sha, sha);
}

int doc_store_init(void)
{
    char d[600];
    snprintf(d, sizeof(d), "%s/documents", fm_cfg()->data_dir);
    if (mkdir(d, 0700) != 0 && errno != EEXIST) {
        fm_log_msg(FM_LOG_ERROR, "documents: cannot create the blob folder", d);
        return FM_EIO;
    }
    return FM_OK;
}

/* Writes the blob unless it is there (same name = same bytes): temp file, fsync, rename. */
static int blob_write(const char *sha, const char *data, size_t len)
{
    char path[700], dir[700], tmp[720];
    blob_path(sha, path, sizeof(path), false);
    struct stat st;
    if (stat(path, &st) == 0 && (size_t)st.st_size == len)
        return FM_OK;
    blob_path(sha, dir, sizeof(dir), true);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return FM_EIO;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return FM_EIO;
    const char *p = data;
    size_t n = len;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return FM_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return FM_EIO;
    }
    return FM_OK;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)data, len);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

static void lower(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

int doc_insert(fm_db_t *db, const doc_new_t *n, cJSON **out)
{
    char id[40], sha[65], key[1024];
    fm_id_random("doc", id, sizeof(id));
    sha256_hex(n->data, n->size, sha);
    lower(n->name, key, sizeof(key));
    int64_t now = fm_time_unix_ms();
    cJSON *tags = n->tags ? cJSON_Duplicate(n->tags, 1) : cJSON_CreateArray();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w) {
        cJSON_Delete(tags);
        return FM_EDB;
    }
    int rc = blob_write(sha, n->data, n->size);
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "INSERT INTO documents(id, tenant_id, name, name_key, media_type, format, size, sha256, tags, "
                        "text_chars, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssssssIsjIsI", id, n->tenant, n->name, key, n->media_type, doc_format_name(n->format),
                        (int64_t)n->size, sha, tags, (int64_t)n->text_len, n->actor, now);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO document_texts(id, tenant_id, text) VALUES (?, ?, ?)", "sss", id, n->tenant,
                        n->text);
    if (rc == FM_OK)
        rc = fm_dbq_obj(w, "SELECT " DOC_COLS " FROM documents WHERE tenant_id = ? AND id = ?", DOC_HINTS, out,
                        "ss", n->tenant, id);
    if (rc == FM_OK) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", id);
        cJSON_AddStringToObject(d, "name", n->name);
        cJSON_AddStringToObject(d, "mediaType", n->media_type);
        cJSON_AddStringToObject(d, "format", doc_format_name(n->format));
        cJSON_AddNumberToObject(d, "size", (double)n->size);
        cJSON_AddStringToObject(d, "sha256", sha);
        cJSON_AddItemToObject(d, "tags", cJSON_Duplicate(tags, 1));
        rc = bus_outbox_put_json(w, DOC_SOURCE, DOC_UPLOADED, id, n->tenant, d);
        cJSON_Delete(d);
    }
    cJSON_Delete(tags);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK && *out) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int doc_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out)
{
    return fm_dbq_read_obj(db, "SELECT " DOC_COLS " FROM documents WHERE tenant_id = ? AND id = ?", DOC_HINTS, out,
                           "ss", tenant, id);
}

static void like_of(const char *q, char *like, size_t n)
{
    char key[300];
    lower(q, key, sizeof(key));
    size_t o = 0;
    like[o++] = '%';
    for (const char *p = key; *p && o + 3 < n; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            like[o++] = '\\';
        like[o++] = *p;
    }
    like[o++] = '%';
    like[o] = '\0';
}

#define LIST_WHERE                                                                                           \
    " FROM documents WHERE tenant_id = ? AND (? IS NULL OR name_key LIKE ?2 ESCAPE '\\') "                 \
    "AND (? IS NULL OR format = ?3 OR media_type = ?3) "                                                     \
    "AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(documents.tags) WHERE value = ?4)) "                 \
    "AND (? IS NULL OR doc_type = ?5)"

int doc_list(fm_db_t *db, const char *tenant, const doc_filter_t *f, int offset, int limit, cJSON *items,
             int *total)
{
    char like[700];
    if (f->q)
        like_of(f->q, like, sizeof(like));
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" LIST_WHERE,
        .rows_sql = "SELECT " DOC_COLS LIST_WHERE " ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?",
        .hints = DOC_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, items, total, "sssss", tenant, f->q ? like : NULL, f->type, f->tag,
                            f->doc_type);
}

int doc_text_get(fm_db_t *db, const char *tenant, const char *id, char **text)
{
    return fm_dbq_read_str(db, "SELECT text FROM document_texts WHERE tenant_id = ? AND id = ?", text, "ss", tenant,
                           id);
}

typedef struct content_row {
    char sha[65], media[128];
    int64_t size;
} content_row_t;

static int content_row(const fm_dbrow_t *row, void *arg)
{
    content_row_t *c = arg;
    fm_dbrow_copy(row, 0, c->sha, sizeof(c->sha));
    fm_dbrow_copy(row, 1, c->media, sizeof(c->media));
    c->size = fm_dbrow_int(row, 2);
    return FM_OK;
}

int doc_content_get(fm_db_t *db, const char *tenant, const char *id, char **data, size_t *len, char *media,
                    size_t ml)
{
    content_row_t c;
    int rc = fm_dbq_read_one(db, "SELECT sha256, media_type, size FROM documents WHERE tenant_id = ? AND id = ?",
                             content_row, &c, "ss", tenant, id);
    if (rc != FM_OK)
        return rc;
    snprintf(media, ml, "%s", c.media);
    char path[700];
    blob_path(c.sha, path, sizeof(path), false);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fm_log_msg(FM_LOG_ERROR, "documents: a blob is missing", path);
        return FM_EIO;
    }
    char *buf = malloc((size_t)c.size + 1);
    size_t got = buf ? fread(buf, 1, (size_t)c.size, f) : 0;
    fclose(f);
    if (!buf)
        return FM_ENOMEM;
    if (got != (size_t)c.size) {
        free(buf);
        return FM_EIO;
    }
    *data = buf;
    *len = got;
    return FM_OK;
}

int doc_delete(fm_db_t *db, const char *tenant, const char *id)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    char *sha = NULL;
    int64_t left = 0;
    int rc = fm_dbq_str(w, "SELECT sha256 FROM documents WHERE tenant_id = ? AND id = ?", &sha, "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM documents WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM document_texts WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM document_extractions WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_int(w, "SELECT count(*) FROM documents WHERE sha256 = ?", &left, "s", sha);
    if (rc == FM_OK) {
        char d[100];
        snprintf(d, sizeof(d), "{\"id\":\"%s\"}", id);
        rc = bus_outbox_put(w, DOC_SOURCE, "document.deleted", id, tenant, d);
    }
    if (rc == FM_OK && left == 0) {
        char path[700];
        blob_path(sha, path, sizeof(path), false);
        unlink(path);   /* still under the writer: no upload of these bytes runs meanwhile */
    }
    free(sha);
    return fm_dbq_write_end(w, rc);
}

int doc_extraction_put(fm_db_t *db, const char *tenant, const char *id, const cJSON *result)
{
    const cJSON *cls = cJSON_GetObjectItem(result, "classification");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(cls, "type"));
    int64_t now = fm_time_unix_ms();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "UPDATE documents SET doc_type = ?, extracted_ms = ? WHERE tenant_id = ? AND id = ?",
                        "sIss", type, now, tenant, id);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT OR REPLACE INTO document_extractions(id, tenant_id, result, at_ms) VALUES (?, ?, ?, ?)",
                        "ssjI", id, tenant, result, now);
    if (rc == FM_OK) {
        /* The event carries the summary; the entities are read with the document. */
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", id);
        if (type)
            cJSON_AddStringToObject(d, "documentType", type);
        else
            cJSON_AddNullToObject(d, "documentType");
        cJSON_AddItemToObject(d, "stats", cJSON_Duplicate(cJSON_GetObjectItem(result, "stats"), 1));
        const char *agent = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(result, "ai"), "agentId"));
        if (agent)      /* extracted through an agent too (doc_ai.c) */
            cJSON_AddStringToObject(d, "agentId", agent);
        rc = bus_outbox_put_json(w, DOC_SOURCE, DOC_EXTRACTED, id, tenant, d);
        cJSON_Delete(d);
    }
    return fm_dbq_write_end(w, rc);
}

/* ---- custom patterns ---- */

int doc_pattern_insert(fm_db_t *db, const char *tenant, const char *name, const char *pattern, double conf,
                       cJSON **out)
{
    char id[40];
    fm_id_random("pat", id, sizeof(id));
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "INSERT INTO document_patterns(id, tenant_id, name, pattern, confidence, created_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        "ssssdI", id, tenant, name, pattern, conf, fm_time_unix_ms());
    if (rc == FM_OK)
        rc = fm_dbq_obj(w,
                        "SELECT id, name, pattern, confidence, created_ms AS \"createdAt\" FROM document_patterns "
                        "WHERE tenant_id = ? AND id = ?",
                        "sssat", out, "ss", tenant, id);
    return fm_dbq_write_end(w, rc);
}

int doc_pattern_list(fm_db_t *db, const char *tenant, cJSON *items)
{
    return fm_dbq_read_array(db,
                             "SELECT id, name, pattern, confidence, created_ms AS \"createdAt\" FROM document_patterns "
                             "WHERE tenant_id = ? ORDER BY name",
                             "sssat", items, "s", tenant);
}

int doc_pattern_delete(fm_db_t *db, const char *tenant, const char *id)
{
    return fm_dbq_write(db, "DELETE FROM document_patterns WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
}

typedef struct pat_acc {
    doc_custom_t *v;
    int n, cap;
} pat_acc_t;

static int pattern_row(const fm_dbrow_t *row, void *arg)
{
    pat_acc_t *a = arg;
    if (a->n == a->cap)
        return FM_OK;
    doc_custom_t *c = &a->v[a->n];
    char why[8];
    if (doc_custom_compile(fm_dbrow_str(row, 1), &c->code, why, sizeof(why)) != FM_OK)
        return FM_OK;   /* checked at create; a later PCRE2 might disagree: skip it */
    fm_dbrow_copy(row, 0, c->name, sizeof(c->name));
    c->confidence = fm_dbrow_double(row, 2);
    a->n++;
    return FM_OK;
}

int doc_patterns_load(fm_db_t *db, const char *tenant, doc_custom_t **out, int *n)
{
    pat_acc_t a = { calloc(100, sizeof(doc_custom_t)), 0, 100 };
    if (!a.v)
        return FM_ENOMEM;
    int rc = fm_dbq_read_each(db,
                              "SELECT name, pattern, confidence FROM document_patterns WHERE tenant_id = ? "
                              "ORDER BY name LIMIT 100",
                              pattern_row, &a, "s", tenant);
    if (rc != FM_OK) {
        for (int i = 0; i < a.n; i++)
            doc_custom_free(a.v[i].code);
        free(a.v);
        return rc;
    }
    *out = a.v;
    *n = a.n;
    return FM_OK;
}

/* ---- document types ---- */

int doc_type_insert(fm_db_t *db, const char *tenant, const char *name, const cJSON *rules, double threshold,
                    cJSON **out)
{
    char id[40];
    fm_id_random("dtp", id, sizeof(id));
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "INSERT INTO document_types(id, tenant_id, name, rules, threshold, created_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        "sssjdI", id, tenant, name, rules, threshold, fm_time_unix_ms());
    if (rc == FM_OK)
        rc = fm_dbq_obj(w,
                        "SELECT id, name, rules, threshold, created_ms AS \"createdAt\" FROM document_types "
                        "WHERE tenant_id = ? AND id = ?",
                        "ssjat", out, "ss", tenant, id);
    return fm_dbq_write_end(w, rc);
}

int doc_type_list(fm_db_t *db, const char *tenant, cJSON *items)
{
    return fm_dbq_read_array(db,
                             "SELECT id, name, rules, threshold, created_ms AS \"createdAt\" FROM document_types "
                             "WHERE tenant_id = ? ORDER BY name",
                             "ssjat", items, "s", tenant);
}

int doc_type_delete(fm_db_t *db, const char *tenant, const char *id)
{
    return fm_dbq_write(db, "DELETE FROM document_types WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
}

typedef struct type_acc {
    doc_type_t *v;
    int n, cap;
} type_acc_t;

static int type_row(const fm_dbrow_t *row, void *arg)
{
    type_acc_t *a = arg;
    if (a->n == a->cap)
        return FM_OK;
    doc_type_t *t = &a->v[a->n];
    cJSON *rules = fm_dbrow_json(row, 1);
    int nr = cJSON_GetArraySize(rules);
    t->rules = calloc(nr > 0 ? (size_t)nr : 1, sizeof(doc_rule_t));
    if (!t->rules) {
        cJSON_Delete(rules);
        return FM_ENOMEM;
    }
    fm_dbrow_copy(row, 0, t->name, sizeof(t->name));
    t->threshold = fm_dbrow_double(row, 2);
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        doc_rule_t *x = &t->rules[t->nrules];
        const char *kw = cJSON_GetStringValue(cJSON_GetObjectItem(r, "keyword"));
        const char *pat = cJSON_GetStringValue(cJSON_GetObjectItem(r, "pattern"));
        x->weight = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "weight"));
        char why[8];
        if (kw)
            lower(kw, x->keyword, sizeof(x->keyword));
        else if (!pat || doc_custom_compile(pat, &x->code, why, sizeof(why)) != FM_OK)
            continue;
        t->nrules++;
    }
    cJSON_Delete(rules);
    a->n++;
    return FM_OK;
}

int doc_types_load(fm_db_t *db, const char *tenant, doc_type_t **out, int *n)
{
    type_acc_t a = { calloc(100, sizeof(doc_type_t)), 0, 100 };
    if (!a.v)
        return FM_ENOMEM;
    int rc = fm_dbq_read_each(db,
                              "SELECT name, rules, threshold FROM document_types WHERE tenant_id = ? ORDER BY name "
                              "LIMIT 100",
                              type_row, &a, "s", tenant);
    if (rc != FM_OK || a.n == 0) {
        doc_types_free(a.v, a.n);
        return rc != FM_OK ? rc : doc_types_builtin(out, n);
    }
    *out = a.v;
    *n = a.n;
    return FM_OK;
}
