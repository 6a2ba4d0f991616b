/*
 * agents_store.c — the Agent Service store on fm_dbq: personas (name unique per
 * tenant, skills kept with the persona), and lessons with an FTS5 index over their
 * inputs for similarity. Every statement is scoped by tenant; writes emit agent.*
 * events through the outbox.
 */
#include "agents_int.h"

#include "../../bus/bus.h"
#include "../../fm_fts.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_COLS                                                                                               \
    "id, name, description, system_prompt AS systemPrompt, tone, tools, default_model AS defaultModel, skills, " \
    "revision, created_ms AS createdAt, updated_ms AS updatedAt"
#define AGENT_HINTS "sssssjsjitt"
#define LESSON_COLS                                                                                              \
    "l.public_id AS id, l.kind, l.input, l.output, l.rating, l.note, l.author, l.created_ms AS createdAt"
#define LESSON_HINTS "ssssissst"

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static int event(fm_dbc_t *w, const char *type, const char *id, const char *tenant, const char *extra_key,
                 const char *extra)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", id);
    if (extra_key)
        cJSON_AddStringToObject(d, extra_key, extra);
    int rc = bus_outbox_put_json(w, AGENT_SOURCE, type, id, tenant, d);
    cJSON_Delete(d);
    return rc;
}

int agent_resolve(fm_db_t *db, const char *tenant, const char *ref, char *id, size_t idlen)
{
    return fm_dbq_read_text(db, "SELECT id FROM agents WHERE tenant_id = ?1 AND (id = ?2 OR name = ?2)", id, idlen,
                            "ss", tenant, ref);
}

int agent_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out)
{
    return fm_dbq_read_obj(db, "SELECT " AGENT_COLS " FROM agents WHERE tenant_id = ? AND id = ?", AGENT_HINTS, out,
                           "ss", tenant, id);
}

/* The persona members of body, bound in the order of the INSERT/UPDATE below. */
#define PERSONA_ARGS(b)                                                                                          \
    str(b, "description") ? str(b, "description") : "", str(b, "systemPrompt") ? str(b, "systemPrompt") : "",   \
        str(b, "tone"), cJSON_GetObjectItem(b, "tools"), str(b, "defaultModel"), cJSON_GetObjectItem(b, "skills")

int agent_insert(fm_db_t *db, const char *tenant, const cJSON *body, cJSON **out)
{
    *out = NULL;
    char id[64];
    fm_id_random("agt", id, sizeof(id));
    int64_t now = fm_time_unix_ms();
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "INSERT INTO agents(id, tenant_id, name, description, system_prompt, tone, tools, "
                        "default_model, skills, created_ms, updated_ms) "
                        "VALUES (?, ?, ?, ?, ?, ?, coalesce(?, '[]'), ?, coalesce(?, '[]'), ?, ?)",
                        "ssssssjsjII", id, tenant, str(body, "name"), PERSONA_ARGS(body), now, now);
    if (rc == FM_OK)
        rc = event(w, "agent.created", id, tenant, "name", str(body, "name"));
    rc = fm_dbq_write_end(w, rc);
    return rc == FM_OK ? agent_get(db, tenant, id, out) : rc;
}

int agent_replace(fm_db_t *db, const char *tenant, const char *id, int expect, const cJSON *body, cJSON **out)
{
    *out = NULL;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t rev = 0;
    int rc = fm_dbq_int(w, "SELECT revision FROM agents WHERE tenant_id = ? AND id = ?", &rev, "ss", tenant, id);
    if (rc == FM_OK && expect > 0 && rev != expect)
        rc = FM_ESTALE;
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "UPDATE agents SET name = ?, description = ?, system_prompt = ?, tone = ?, "
                        "tools = coalesce(?, '[]'), default_model = ?, skills = coalesce(?, '[]'), "
                        "revision = revision + 1, updated_ms = ? WHERE id = ?",
                        "ssssjsjIs", str(body, "name"), PERSONA_ARGS(body), fm_time_unix_ms(), id);
    if (rc == FM_OK)
        rc = event(w, "agent.updated", id, tenant, NULL, NULL);
    rc = fm_dbq_write_end(w, rc);
    return rc == FM_OK ? agent_get(db, tenant, id, out) : rc;
}

int agent_delete(fm_db_t *db, const char *tenant, const char *id)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "DELETE FROM lessons_fts WHERE rowid IN (SELECT id FROM lessons WHERE tenant_id = ? AND "
                        "agent_id = ?)",
                        "ss", tenant, id);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM agents WHERE tenant_id = ? AND id = ?", "ss", tenant, id);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)
        rc = event(w, "agent.deleted", id, tenant, NULL, NULL);
    return fm_dbq_write_end(w, rc);
}

int agent_list(fm_db_t *db, const char *tenant, const char *q, int offset, int limit, cJSON *items, int *total)
{
#define WHERE                                                                                                    \
    " FROM agents WHERE tenant_id = ?1 AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0 OR "                \
    "instr(lower(description), lower(?2)) > 0)"
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" WHERE,
        .rows_sql = "SELECT " AGENT_COLS WHERE " ORDER BY name, id LIMIT ?3 OFFSET ?4",
        .hints = AGENT_HINTS, .offset = offset, .limit = limit,
    };
#undef WHERE
    return fm_dbq_read_page(db, &p, items, total, "ss", tenant, q);
}

/* ---- lessons ---- */

int agent_learn(fm_db_t *db, const char *tenant, const char *agent, const char *author, const cJSON *body,
                cJSON **out)
{
    *out = NULL;
    char pid[64];
    fm_id_random("lsn", pid, sizeof(pid));
    const cJSON *rating = cJSON_GetObjectItem(body, "rating");
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t id = 0;
    int rc = fm_dbq_run(w,
                        "INSERT INTO lessons(public_id, agent_id, tenant_id, kind, input, output, rating, note, "
                        "author, created_ms) SELECT ?, id, tenant_id, ?, ?, ?, ?, ?, ?, ? FROM agents "
                        "WHERE tenant_id = ? AND id = ?",
                        "ssss" "j" "ssIss", pid, str(body, "kind"), str(body, "input"), str(body, "output"), rating,
                        str(body, "note"), author, fm_time_unix_ms(), tenant, agent);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)
        rc = fm_dbq_int(w, "SELECT id FROM lessons WHERE public_id = ?", &id, "s", pid);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO lessons_fts(rowid, input) VALUES (?, ?)", "Is", id, str(body, "input"));
    /* past the cap the oldest lessons of this agent go */
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "DELETE FROM lessons_fts WHERE rowid IN (SELECT id FROM lessons WHERE agent_id = ?1 "
                        "ORDER BY id DESC LIMIT -1 OFFSET ?2)",
                        "si", agent, AGENT_MAX_LESSONS);
    if (rc == FM_OK)
        rc = fm_dbq_run(w,
                        "DELETE FROM lessons WHERE id IN (SELECT id FROM lessons WHERE agent_id = ?1 "
                        "ORDER BY id DESC LIMIT -1 OFFSET ?2)",
                        "si", agent, AGENT_MAX_LESSONS);
    if (rc == FM_OK)
        rc = event(w, "agent.learned", agent, tenant, "lesson", pid);
    if (rc == FM_OK)
        rc = fm_dbq_obj(w, "SELECT " LESSON_COLS " FROM lessons l WHERE l.public_id = ?", LESSON_HINTS, out, "s",
                        pid);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

int agent_lessons(fm_db_t *db, const char *tenant, const char *agent, const char *kind, int offset, int limit,
                  cJSON *items, int *total)
{
#define WHERE " FROM lessons l WHERE l.tenant_id = ?1 AND l.agent_id = ?2 AND (?3 IS NULL OR l.kind = ?3)"
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" WHERE,
        .rows_sql = "SELECT " LESSON_COLS WHERE " ORDER BY l.id DESC LIMIT ?4 OFFSET ?5",
        .hints = LESSON_HINTS, .offset = offset, .limit = limit,
    };
#undef WHERE
    return fm_dbq_read_page(db, &p, items, total, "sss", tenant, agent, kind);
}

int agent_lesson_delete(fm_db_t *db, const char *tenant, const char *agent, const char *lesson)
{
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w,
                        "DELETE FROM lessons_fts WHERE rowid IN (SELECT id FROM lessons WHERE tenant_id = ? AND "
                        "agent_id = ? AND public_id = ?)",
                        "sss", tenant, agent, lesson);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "DELETE FROM lessons WHERE tenant_id = ? AND agent_id = ? AND public_id = ?", "sss",
                        tenant, agent, lesson);
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK)
        rc = event(w, "agent.unlearned", agent, tenant, "lesson", lesson);
    return fm_dbq_write_end(w, rc);
}

int agent_examples(fm_db_t *db, const char *tenant, const char *agent, const char *text, int k, cJSON *items)
{
    char match[1200];
    if (fm_fts_match(text, false, true, 30, match, sizeof(match)) == 0)
        return FM_OK;   /* nothing to compare with: no examples */
    return fm_dbq_read_array(db,
                             "SELECT " LESSON_COLS ", round(-bm25(lessons_fts), 4) AS score FROM lessons_fts "
                             "JOIN lessons l ON l.id = lessons_fts.rowid WHERE lessons_fts MATCH ?1 "
                             "AND l.tenant_id = ?2 AND l.agent_id = ?3 AND l.output IS NOT NULL "
                             "AND (l.kind != 'feedback' OR l.rating > 0) ORDER BY bm25(lessons_fts), l.id DESC "
                             "LIMIT ?4",
                             LESSON_HINTS "a", items, "sssi", match, tenant, agent, k);
}
