/*
 * agents.c — Agent Service (9016, /agents… beside the marketplace): the routes.
 * Personas (name, system prompt, tone, allowed tools, default model) with their skills
 * (named capabilities mapping to a prompt of 8012 and tools), and what an agent learned
 * (feedback, corrections, examples) — listed, deletable, and retrieved by similarity as
 * few-shot examples (GET /agents/{id}/examples). Invoking an agent is the AI Agent
 * Orchestration module's (9007, /agents/{id}/invoke). docs/agents.md is the contract.
 */
#include "agents_int.h"

#include "../../auth/fm_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
#define DOC "docs/agents.md"

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= max && strspn(s, NAME_CHARS) == n;
}

/* An optional string member of at most max bytes; false after answering 422. */
static bool opt_text(fm_req_t *r, const cJSON *o, const char *k, const char *field, size_t max)
{
    const cJSON *x = cJSON_GetObjectItem(o, k);
    if (!x || cJSON_IsNull(x) || (cJSON_IsString(x) && strlen(x->valuestring) <= max))
        return true;
    char d[80];
    snprintf(d, sizeof(d), "a string of at most %zu bytes", max);
    fm_reply_invalid(r, field, d);
    return false;
}

static bool names(fm_req_t *r, const cJSON *a, const char *field, int max)
{
    if (!a)
        return true;
    char d[120];
    snprintf(d, sizeof(d), "an array of at most %d names (letters, digits, '-', '_', '.')", max);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > max)
        return fm_reply_invalid(r, field, d), false;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) if (!name_ok(cJSON_GetStringValue(x), AGENT_MAX_NAME)) return fm_reply_invalid(r, field,
                                                                                                          d),
        false;
    return true;
}

static bool check_persona(fm_req_t *r, const cJSON *j)
{
    static const char *const known[] = { "name", "description", "systemPrompt", "tone", "tools", "defaultModel",
                                         "skills", NULL };
    static const char *const skill_known[] = { "name", "description", "promptId", "tools", NULL };
    if (!fm_req_members_known(r, j, "", known, DOC))
        return false;
    if (!name_ok(str(j, "name"), AGENT_MAX_NAME))
        return fm_reply_invalid(r, "name", "required: 1 to 100 letters, digits, '-', '_' or '.'"), false;
    if (!opt_text(r, j, "description", "description", AGENT_MAX_TEXT) ||
        !opt_text(r, j, "systemPrompt", "systemPrompt", AGENT_MAX_PROMPT) ||
        !opt_text(r, j, "tone", "tone", AGENT_MAX_TEXT) || !opt_text(r, j, "defaultModel", "defaultModel", 200) ||
        !names(r, cJSON_GetObjectItem(j, "tools"), "tools", AGENT_MAX_TOOLS))
        return false;
    const cJSON *skills = cJSON_GetObjectItem(j, "skills"), *s;
    if (skills && (!cJSON_IsArray(skills) || cJSON_GetArraySize(skills) > AGENT_MAX_SKILLS))
        return fm_reply_invalid(r, "skills", "an array of at most 50 skills"), false;
    int i = 0;
    cJSON_ArrayForEach(s, skills)
    {
        char f[64];
        snprintf(f, sizeof(f), "skills/%d", i);
        if (!cJSON_IsObject(s))
            return fm_reply_invalid(r, f, "a skill: {\"name\", \"description\", \"promptId\", \"tools\"}"), false;
        if (!fm_req_members_known(r, s, f, skill_known, DOC))
            return false;
        snprintf(f, sizeof(f), "skills/%d/name", i);
        if (!name_ok(str(s, "name"), AGENT_MAX_NAME))
            return fm_reply_invalid(r, f, "required: 1 to 100 letters, digits, '-', '_' or '.'"), false;
        for (int k = 0; k < i; k++)
            if (!strcmp(str(cJSON_GetArrayItem(skills, k), "name"), str(s, "name")))
                return fm_reply_invalid(r, f, "another skill of this agent has this name"), false;
        snprintf(f, sizeof(f), "skills/%d/description", i);
        if (!opt_text(r, s, "description", f, AGENT_MAX_TEXT))
            return false;
        snprintf(f, sizeof(f), "skills/%d/promptId", i);
        const cJSON *p = cJSON_GetObjectItem(s, "promptId");
        if (p && !name_ok(cJSON_GetStringValue(p), AGENT_MAX_NAME))
            return fm_reply_invalid(r, f, "the id or name of a prompt (8012)"), false;
        snprintf(f, sizeof(f), "skills/%d/tools", i);
        if (!names(r, cJSON_GetObjectItem(s, "tools"), f, AGENT_MAX_TOOLS))
            return false;
        i++;
    }
    return true;
}

static int no_agent(fm_req_t *r)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no agent '%.100s' in this tenant", fm_req_param(r, "id"));
}

/* {id} (an id or a name) as an id; false after answering. */
static bool agent_id(fm_req_t *r, char *id, size_t len)
{
    int rc = agent_resolve(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), id, len);
    if (rc == FM_OK)
        return true;
    if (rc == FM_ENOTFOUND)
        no_agent(r);
    else
        fm_reply_problem(r, 500, NULL, NULL, NULL, "the agent store could not be read");
    return false;
}

static int reply_agent(fm_req_t *r, int status, cJSON *a)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"r%d\"", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "revision")));
    fm_reply_header(r, "ETag", etag);
    return fm_reply_json(r, status, a);
}

static int create(fm_req_t *r)
{
    const cJSON *j = fm_req_json(r);
    if (!check_persona(r, j))
        return FM_OK;
    cJSON *a = NULL;
    int rc = agent_insert(db_of(r), fm_req_tenant(r), j, &a);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "this tenant already has an agent named '%s'",
                                str(j, "name"));
    if (rc != FM_OK)
        return rc;
    char loc[128];
    snprintf(loc, sizeof(loc), "/agents/%s", str(a, "id"));
    fm_reply_header(r, "Location", loc);
    return reply_agent(r, 201, a);
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char qb[256];
    const char *q = fm_req_query(r, "q", qb, sizeof(qb));
    cJSON *items = cJSON_CreateArray();
    int rc = agent_list(db_of(r), fm_req_tenant(r), q && *q ? q : NULL, offset, limit, items, &total);
    return fm_reply_page_rc(r, rc, items, offset, total);
}

static int get(fm_req_t *r)
{
    char id[64];
    cJSON *a = NULL;
    if (!agent_id(r, id, sizeof(id)))
        return FM_OK;
    int rc = agent_get(db_of(r), fm_req_tenant(r), id, &a);
    return rc == FM_OK ? reply_agent(r, 200, a) : rc == FM_ENOTFOUND ? no_agent(r) : rc;
}

static int update(fm_req_t *r)
{
    char id[64];
    int rev = fm_req_if_match_rev(r, "agent");
    if (rev < 0 || !agent_id(r, id, sizeof(id)))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    if (!check_persona(r, j))
        return FM_OK;
    cJSON *a = NULL;
    int rc = agent_replace(db_of(r), fm_req_tenant(r), id, rev, j, &a);
    if (rc == FM_ESTALE)
        return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                                "the agent changed since the ETag in If-Match; read it again");
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "this tenant already has an agent named '%s'",
                                str(j, "name"));
    return rc == FM_OK ? reply_agent(r, 200, a) : rc == FM_ENOTFOUND ? no_agent(r) : rc;
}

static int delete_(fm_req_t *r)
{
    char id[64];
    if (!agent_id(r, id, sizeof(id)))
        return FM_OK;
    int rc = agent_delete(db_of(r), fm_req_tenant(r), id);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc == FM_ENOTFOUND ? no_agent(r) : rc;
}

static int skills(fm_req_t *r)
{
    char id[64];
    cJSON *a = NULL;
    if (!agent_id(r, id, sizeof(id)))
        return FM_OK;
    int rc = agent_get(db_of(r), fm_req_tenant(r), id, &a);
    if (rc != FM_OK)
        return rc == FM_ENOTFOUND ? no_agent(r) : rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", cJSON_DetachItemFromObject(a, "skills"));
    cJSON_Delete(a);
    return fm_reply_json(r, 200, o);
}

/* POST /agents/{id}/learn: {kind, input, output, rating, note}. An example or a
 * correction carries the right output; feedback rates the output that was given. */
static int learn(fm_req_t *r)
{
    char id[64];
    if (!agent_id(r, id, sizeof(id)))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    static const char *const known[] = { "kind", "input", "output", "rating", "note", NULL };
    if (!fm_req_members_known(r, j, "", known, DOC))
        return FM_OK;
    const char *kind = str(j, "kind"), *in = str(j, "input"), *out = str(j, "output");
    if (!kind || (strcmp(kind, "feedback") && strcmp(kind, "correction") && strcmp(kind, "example")))
        return fm_reply_invalid(r, "kind", "required: feedback, correction or example");
    if (!in || !*in || strlen(in) > AGENT_MAX_LESSON)
        return fm_reply_invalid(r, "input", "required: the question or task, 1 byte to 16 KiB");
    if (!out || !*out || strlen(out) > AGENT_MAX_LESSON)
        return fm_reply_invalid(r, "output", strcmp(kind, "feedback") ? "required: the right answer, at most 16 KiB"
                                                                      : "required: the answer that was given, at most "
                                                                        "16 KiB");
    const cJSON *rating = cJSON_GetObjectItem(j, "rating");
    if (!strcmp(kind, "feedback") ? !cJSON_IsNumber(rating) || (rating->valueint != 1 && rating->valueint != -1) ||
                                        rating->valuedouble != rating->valueint
                                  : rating != NULL)
        return fm_reply_invalid(r, "rating", strcmp(kind, "feedback") ? "only feedback has a rating"
                                                                      : "required for feedback: 1 (helpful) or -1");
    if (!opt_text(r, j, "note", "note", AGENT_MAX_TEXT))
        return FM_OK;
    const fm_principal_t *p = fm_req_principal(r);
    cJSON *l = NULL;
    int rc = agent_learn(db_of(r), fm_req_tenant(r), id, p ? p->sub : NULL, j, &l);
    return rc == FM_OK ? fm_reply_json(r, 201, l) : rc == FM_ENOTFOUND ? no_agent(r) : rc;
}

static int learned(fm_req_t *r)
{
    char id[64], kb[16];
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset) || !agent_id(r, id, sizeof(id)))
        return FM_OK;
    const char *kind = fm_req_query(r, "kind", kb, sizeof(kb));
    cJSON *items = cJSON_CreateArray();
    int rc = agent_lessons(db_of(r), fm_req_tenant(r), id, kind && *kind ? kind : NULL, offset, limit, items, &total);
    return fm_reply_page_rc(r, rc, items, offset, total);
}

static int unlearn(fm_req_t *r)
{
    char id[64];
    if (!agent_id(r, id, sizeof(id)))
        return FM_OK;
    int rc = agent_lesson_delete(db_of(r), fm_req_tenant(r), id, fm_req_param(r, "lessonId"));
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "agent '%s' has no lesson '%.80s'", fm_req_param(r, "id"),
                                fm_req_param(r, "lessonId"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* GET /agents/{id}/examples?q=<text>&k=3: the lessons most like q, best first. */
static int examples(fm_req_t *r)
{
    char id[64], qb[4096], kb[8];
    const char *q = fm_req_query(r, "q", qb, sizeof(qb)), *ks = fm_req_query(r, "k", kb, sizeof(kb));
    if (!q || !*q)
        return fm_reply_invalid(r, "q", "required: the text to find similar lessons for");
    char *end = NULL;
    long k = ks ? strtol(ks, &end, 10) : 3;
    if (ks && (end == ks || *end || k < 1 || k > AGENT_MAX_EXAMPLES))
        return fm_reply_invalid(r, "k", "1 to 10");
    if (!agent_id(r, id, sizeof(id)))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = agent_examples(db_of(r), fm_req_tenant(r), id, q, (int)k, items);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    return fm_reply_json(r, 200, o);
}

static const fm_route_t routes[] = {
    { FM_POST, "/agents", create, FM_R_JSON, "agent:write" },
    { FM_GET, "/agents", list, 0, "agent:read" },
    { FM_GET, "/agents/{id}", get, 0, "agent:read" },
    { FM_PUT, "/agents/{id}", update, FM_R_JSON, "agent:write" },
    { FM_DELETE, "/agents/{id}", delete_, 0, "agent:write" },
    { FM_GET, "/agents/{id}/skills", skills, 0, "agent:read" },
    { FM_POST, "/agents/{id}/learn", learn, FM_R_JSON, "agent:write" },
    { FM_GET, "/agents/{id}/learned", learned, 0, "agent:read" },
    { FM_DELETE, "/agents/{id}/learned/{lessonId}", unlearn, 0, "agent:write" },
    { FM_GET, "/agents/{id}/examples", examples, 0, "agent:read" },
};

const fm_module_t fm_agents_module = {
    "agents", "Agent Service", 9016, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
