/*
 * prompts_store.c — the Prompt Engineering store on fm_dbq: prompts (name unique per
 * tenant), their immutable numbered versions, labels pointing at versions, and test
 * results. Every statement is scoped by tenant: a version, label or test row is reached
 * only through its prompt's tenant_id. Writes emit prompt.* events through the outbox.
 */
#include "prompts_int.h"

#include "../../bus/bus.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prompt_ver_clear(prompt_ver_t *v)
{
    free(v->template);
    cJSON_Delete(v->variables);
    cJSON_Delete(v->partials);
    cJSON_Delete(v->output_schema);
    memset(v, 0, sizeof(*v));
}

static int event(fm_dbc_t *w, const char *type, const char *id, const char *tenant, cJSON *data)
{
    int rc = bus_outbox_put_json(w, PROMPT_SOURCE, type, id, tenant, data);
    cJSON_Delete(data);
    return rc;
}

int prompt_resolve(fm_db_t *db, const char *tenant, const char *ref, char *id, size_t idlen)
{
    return fm_dbq_read_text(db, "SELECT id FROM prompts WHERE tenant_id = ?1 AND (id = ?2 OR name = ?2)", id, idlen,
                            "ss", tenant, ref);
}

/* ---- writing ---- */

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static int insert_version(fm_dbc_t *w, const char *id, int version, const char *actor, const cJSON *b)
{
    const cJSON *partials = cJSON_GetObjectItem(b, "partials");
    const char *fmt = str(b, "outputFormat");
    return fm_dbq_run(w,
                      "INSERT INTO prompt_versions(prompt_id, version, template, variables, partials, output_format, "
                      "output_schema, changelog, author, created_ms) VALUES (?, ?, ?, ?, coalesce(?, '{}'), ?, ?, ?, "
                      "?, ?)",
                      "sisjjsjssI", id, version, str(b, "template"), cJSON_GetObjectItem(b, "variables"), partials,
                      fmt ? fmt : "text", cJSON_GetObjectItem(b, "outputSchema"), str(b, "changelog"), actor,
                      fm_time_unix_ms());
}

static cJSON *version_event(const char *id, const char *name, int version)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", id);
    if (name)
        cJSON_AddStringToObject(d, "name", name);
    cJSON_AddNumberToObject(d, "version", version);
    return d;
}

int prompt_create(fm_db_t *db, const char *tenant, const char *actor, const cJSON *body, cJSON **out)
{
    *out = NULL;
    char id[64];
    fm_id_random("prm", id, sizeof(id));
    const char *desc = str(body, "description");
    const cJSON *tags = cJSON_GetObjectItem(body, "tags");
    int64_t now = fm_time_unix_ms();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "INSERT INTO prompts(id, tenant_id, name, description, tags, latest, created_ms, updated_ms) "
                        "VALUES (?, ?, ?, ?, coalesce(?, '[]'), 1, ?, ?)",
                        "ssssjII", id, tenant, str(body, "name"), desc ? desc : "", tags, now, now);
    if (rc == FM_OK)
        rc = insert_version(w, id, 1, actor, body);
    if (rc == FM_OK)
        rc = event(w, "prompt.created", id, tenant, version_event(id, str(body, "name"), 1));
    rc = fm_dbq_write_end(w, rc);
    return rc == FM_OK ? prompt_get(db, tenant, id, 1, NULL, out, NULL) : rc;
}

int prompt_add_version(fm_db_t *db, const char *tenant, const char *actor, const char *id, int expect,
                       const cJSON *body, cJSON **out)
{
    *out = NULL;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t latest = 0;
    int rc = fm_dbq_int(w, "SELECT latest FROM prompts WHERE tenant_id = ? AND id = ?", &latest, "ss", tenant, id);
    if (rc == FM_OK && expect > 0 && latest != expect)
        rc = FM_ESTALE;
    if (rc == FM_OK && latest >= PROMPT_MAX_VERSIONS)
        rc = FM_ETOOBIG;
    int v = (int)latest + 1;
    if (rc == FM_OK)
        rc = insert_version(w, id, v, actor, body);
    const char *desc = str(body, "description");
    const cJSON *tags = cJSON_GetObjectItem(body, "tags");
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "UPDATE prompts SET latest = ?, updated_ms = ?, description = coalesce(?, description), "
                        "tags = coalesce(?, tags) WHERE id = ?",
                        "iIsjs", v, fm_time_unix_ms(), desc, tags, id);
    if (rc == FM_OK)
        rc = event(w, "prompt.version.created", id, tenant, version_event(id, NULL, v));
    rc = fm_dbq_write_end(w, rc);
    return rc == FM_OK ? prompt_get(db, tenant, id, v, NULL, out, NULL) : rc;
}

int prompt_label_set(fm_db_t *db, const char *tenant, const char *id, const char *label, int version)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t n = 0;
    int rc = fm_dbq_int(w,
                        "SELECT count(*) FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id "
                        "WHERE p.tenant_id = ? AND p.id = ? AND (? = 0 OR v.version = ?)",
                        &n, "ssii", tenant, id, version, version);
    if (rc == FM_OK && n == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK && version > 0)
        rc = fm_dbq_run(w,
                        "INSERT INTO prompt_labels(prompt_id, label, version, updated_ms) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(prompt_id, label) DO UPDATE SET version = excluded.version, "
                        "updated_ms = excluded.updated_ms",
                        "ssiI", id, label, version, fm_time_unix_ms());
    else if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM prompt_labels WHERE prompt_id = ? AND label = ?", "ss", id, label);
    if (rc == FM_OK) {
        cJSON *d = version_event(id, NULL, version);
        cJSON_AddStringToObject(d, "label", label);
        rc = event(w, "prompt.label.moved", id, tenant, d);
    }
    return fm_dbq_write_end(w, rc);
}

int prompt_delete(fm_db_t *db, const char *tenant, const char *id)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "DELETE FROM prompts WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)
        rc = event(w, "prompt.deleted", id, tenant, version_event(id, NULL, 0));
    return fm_dbq_write_end(w, rc);
}

int prompt_test_add(fm_db_t *db, const char *tenant, const char *id, int version, const char *agent,
                    const cJSON *variables, const char *rendered, int http_status, const cJSON *output,
                    const char *detail, cJSON **out)
{
    char tid[64];
    fm_id_random("ptr", tid, sizeof(tid));
    bool passed = http_status >= 200 && http_status < 300;
    int rc = fm_dbq_write(db,
                          "INSERT INTO prompt_tests(id, prompt_id, version, agent_id, variables, rendered, status, "
                          "http_status, output, detail, at_ms) "
                          "SELECT ?, id, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM prompts WHERE tenant_id = ? AND id = ?",
                          "sisjssijsIss", tid, version, agent, variables, rendered, passed ? "passed" : "failed",
                          http_status, output, detail, fm_time_unix_ms(), tenant, id);
    if (rc != FM_OK)
        return rc;
    return fm_dbq_read_obj(db,
                           "SELECT t.id, t.version, t.agent_id AS agentId, t.variables, t.rendered, t.status, "
                           "t.http_status AS httpStatus, t.output, t.detail, t.at_ms AS at FROM prompt_tests t "
                           "WHERE t.id = ?",
                           "sisjssijst", out, "s", tid);
}

/* ---- reading ---- */

#define VERSION_COLS                                                                                             \
    "v.version, v.template, v.variables, v.partials, v.output_format AS outputFormat, "                          \
    "v.output_schema AS outputSchema, v.changelog, v.author, v.created_ms AS createdAt"
#define VERSION_HINTS "isjjsjsst"

static int ver_row(const fm_dbrow_t *row, void *arg)
{
    prompt_ver_t *v = arg;
    v->version = (int)fm_dbrow_int(row, 0);
    v->template = fm_dbrow_dup(row, 1);
    v->variables = fm_dbrow_json(row, 2);
    v->partials = fm_dbrow_json(row, 3);
    fm_dbrow_copy(row, 4, v->output_format, sizeof(v->output_format));
    v->output_schema = fm_dbrow_json(row, 5);
    return v->template ? FM_OK : FM_ENOMEM;
}

/* The version number asked for: `version`, else the label's, else the latest. */
static int pick(fm_dbc_t *c, const char *tenant, const char *id, int version, const char *label, int *out,
                const char **missing)
{
    int64_t v = 0;
    int rc;
    if (version > 0) {
        rc = fm_dbq_int(c,
                        "SELECT v.version FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id "
                        "WHERE p.tenant_id = ? AND p.id = ? AND v.version = ?",
                        &v, "ssi", tenant, id, version);
        if (missing && rc == FM_ENOTFOUND)
            *missing = "version";
    } else if (label && *label) {
        rc = fm_dbq_int(c,
                        "SELECT l.version FROM prompt_labels l JOIN prompts p ON p.id = l.prompt_id "
                        "WHERE p.tenant_id = ? AND p.id = ? AND l.label = ?",
                        &v, "sss", tenant, id, label);
        if (missing && rc == FM_ENOTFOUND)
            *missing = "label";
    } else {
        rc = fm_dbq_int(c, "SELECT latest FROM prompts WHERE tenant_id = ? AND id = ?", &v, "ss", tenant, id);
    }
    *out = (int)v;
    return rc;
}

static int exists(fm_dbc_t *c, const char *tenant, const char *id)
{
    int64_t n = 0;
    int rc = fm_dbq_int(c, "SELECT count(*) FROM prompts WHERE tenant_id = ? AND id = ?", &n, "ss", tenant, id);
    return rc == FM_OK && n == 0 ? FM_ENOTFOUND : rc;
}

int prompt_version(fm_db_t *db, const char *tenant, const char *id, int version, const char *label,
                   prompt_ver_t *v, const char **missing)
{
    memset(v, 0, sizeof(*v));
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int n = 0;
    int rc = exists(c, tenant, id);
    if (rc == FM_OK)
        rc = pick(c, tenant, id, version, label, &n, missing);
    if (rc == FM_OK)
        rc = fm_dbq_one(c, "SELECT " VERSION_COLS " FROM prompt_versions v WHERE v.prompt_id = ? AND v.version = ?",
                        ver_row, v, "si", id, n);
    fm_dbq_reader_done(c);
    if (rc != FM_OK)
        prompt_ver_clear(v);
    return rc;
}

int prompt_partial_template(fm_db_t *db, const char *tenant, const char *name, prompt_ver_t *v)
{
    char id[64];
    int rc = prompt_resolve(db, tenant, name, id, sizeof(id));
    if (rc != FM_OK)
        return rc;
    rc = prompt_version(db, tenant, id, 0, "production", v, NULL);
    return rc == FM_ENOTFOUND ? prompt_version(db, tenant, id, 0, NULL, v, NULL) : rc;
}

#define PROMPT_COLS                                                                                              \
    "p.id, p.name, p.description, p.tags, p.latest AS latestVersion, p.created_ms AS createdAt, "               \
    "p.updated_ms AS updatedAt, (SELECT json_group_object(label, version) FROM prompt_labels "                   \
    "WHERE prompt_id = p.id) AS labels"
#define PROMPT_HINTS "sssjittJ"

int prompt_get(fm_db_t *db, const char *tenant, const char *id, int version, const char *label, cJSON **out,
               const char **missing)
{
    *out = NULL;
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int n = 0;
    cJSON *p = NULL, *v = NULL;
    int rc = fm_dbq_obj(c, "SELECT " PROMPT_COLS " FROM prompts p WHERE p.tenant_id = ? AND p.id = ?", PROMPT_HINTS,
                        &p, "ss", tenant, id);
    if (rc == FM_OK)
        rc = pick(c, tenant, id, version, label, &n, missing);
    if (rc == FM_OK)
        rc = fm_dbq_obj(c, "SELECT " VERSION_COLS " FROM prompt_versions v WHERE v.prompt_id = ? AND v.version = ?",
                        VERSION_HINTS, &v, "si", id, n);
    fm_dbq_reader_done(c);
    if (rc != FM_OK) {
        cJSON_Delete(p);
        cJSON_Delete(v);
        return rc;
    }
    cJSON_AddItemToObject(p, "version", v);
    *out = p;
    return FM_OK;
}

int prompt_list(fm_db_t *db, const char *tenant, const char *q, const char *tag, const char *label, int offset,
                int limit, cJSON *items, int *total)
{
    /* q: a case-insensitive substring of the name or description; tag: one of the tags;
     * label: prompts that have it. Linear in the tenant's prompts, paged. */
#define LIST_WHERE                                                                                               \
    " FROM prompts p WHERE p.tenant_id = ?1 AND (?2 IS NULL OR instr(lower(p.name), lower(?2)) > 0 OR "         \
    "instr(lower(p.description), lower(?2)) > 0) AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(p.tags) "   \
    "WHERE value = ?3)) AND (?4 IS NULL OR EXISTS (SELECT 1 FROM prompt_labels l WHERE l.prompt_id = p.id AND "  \
    "l.label = ?4))"
    fm_dbq_page_t pg = {
        .count_sql = "SELECT count(*)" LIST_WHERE,
        .rows_sql = "SELECT " PROMPT_COLS LIST_WHERE " ORDER BY p.name, p.id LIMIT ?5 OFFSET ?6",
        .hints = PROMPT_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &pg, items, total, "ssss", tenant, q, tag, label);
#undef LIST_WHERE
}

int prompt_versions(fm_db_t *db, const char *tenant, const char *id, int offset, int limit, cJSON *items,
                    int *total)
{
    fm_dbq_page_t pg = {
        .count_sql = "SELECT count(*) FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id "
                     "WHERE p.tenant_id = ?1 AND p.id = ?2",
        .rows_sql = "SELECT " VERSION_COLS ", (SELECT json_group_array(label) FROM prompt_labels l "
                    "WHERE l.prompt_id = v.prompt_id AND l.version = v.version) AS labels "
                    "FROM prompt_versions v JOIN prompts p ON p.id = v.prompt_id "
                    "WHERE p.tenant_id = ?1 AND p.id = ?2 ORDER BY v.version DESC LIMIT ?3 OFFSET ?4",
        .hints = VERSION_HINTS "J", .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &pg, items, total, "ss", tenant, id);
}

int prompt_tests(fm_db_t *db, const char *tenant, const char *id, int version, int offset, int limit,
                 cJSON *items, int *total)
{
    fm_dbq_page_t pg = {
        .count_sql = "SELECT count(*) FROM prompt_tests t JOIN prompts p ON p.id = t.prompt_id "
                     "WHERE p.tenant_id = ?1 AND p.id = ?2 AND (?3 = 0 OR t.version = ?3)",
        .rows_sql = "SELECT t.id, t.version, t.agent_id AS agentId, t.variables, t.rendered, t.status, "
                    "t.http_status AS httpStatus, t.output, t.detail, t.at_ms AS at "
                    "FROM prompt_tests t JOIN prompts p ON p.id = t.prompt_id "
                    "WHERE p.tenant_id = ?1 AND p.id = ?2 AND (?3 = 0 OR t.version = ?3) "
                    "ORDER BY t.at_ms DESC, t.rowid DESC LIMIT ?4 OFFSET ?5",
        .hints = "sisjssijst", .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &pg, items, total, "ssi", tenant, id, version);
}
