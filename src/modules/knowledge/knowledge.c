/*
 * knowledge.c — Knowledge Hub (8009): the routes. Collections; ingest of a text or
 * Markdown document (or a Document Intelligence document, fetched in-process from 9002
 * with the caller's identity) cut into chunks; sources and their chunks; the query that
 * ranks passages (BM25, optionally mixed with hashed embeddings, and feedback) and
 * answers extractively with numbered citations; feedback votes. Bodies are checked
 * here; docs/knowledge.md is the contract.
 */
#include "knowledge_int.h"

#include "../../auth/fm_auth.h"
#include "../../fm_config.h"
#include "../orchestration/orch_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define ID_CHARS NAME_CHARS ":"

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *str_of(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 && strspn(s, NAME_CHARS) == n;
}

static int reply_no_collection(fm_req_t *r, const char *name)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no knowledge collection '%s' in this tenant", name);
}

/* ---- collections ---- */

static int coll_create(fm_req_t *r)
{
    static const fm_field_t f[] = {
        { "name", FM_F_STRING, true, 1, 64, NAME_CHARS },
        { "description", FM_F_STRING, false, 0, 2000, NULL },
    };
    if (fm_req_check(r, f, 2))
        return FM_OK;
    const cJSON *b = fm_req_json(r);
    cJSON *out = NULL;
    int rc = kn_coll_create(db_of(r), fm_req_tenant(r), str_of(b, "name"), str_of(b, "description"), &out);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "a collection named '%s' exists already",
                                str_of(b, "name"));
    if (rc != FM_OK)
        return rc;
    char loc[128];
    snprintf(loc, sizeof(loc), "/knowledge/collections/%s", str_of(b, "name"));
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, out);
}

static int coll_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = kn_coll_list(db_of(r), fm_req_tenant(r), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int coll_get(fm_req_t *r)
{
    cJSON *out = NULL;
    int rc = kn_coll_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "name"), &out);
    if (rc == FM_ENOTFOUND)
        return reply_no_collection(r, fm_req_param(r, "name"));
    return rc == FM_OK ? fm_reply_json(r, 200, out) : rc;
}

static int coll_update(fm_req_t *r)
{
    static const fm_field_t f[] = { { "description", FM_F_STRING, true, 0, 2000, NULL } };
    if (fm_req_check(r, f, 1))
        return FM_OK;
    cJSON *out = NULL;
    int rc = kn_coll_update(db_of(r), fm_req_tenant(r), fm_req_param(r, "name"),
                            str_of(fm_req_json(r), "description"), &out);
    if (rc == FM_ENOTFOUND)
        return reply_no_collection(r, fm_req_param(r, "name"));
    return rc == FM_OK ? fm_reply_json(r, 200, out) : rc;
}

static int coll_delete(fm_req_t *r)
{
    int rc = kn_coll_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "name"));
    if (rc == FM_ENOTFOUND)
        return reply_no_collection(r, fm_req_param(r, "name"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

/* ---- ingest ---- */

/* The text of a Document Intelligence document, fetched in-process with the caller's
 * identity; *title gets its name when the metadata has one. Answers and returns
 * FM_REPLIED when 9002 cannot give it. */
static int fetch_document(fm_req_t *r, const char *doc, char **text, char **title)
{
    char path[300];
    snprintf(path, sizeof(path), "/documents/%s/text", doc);
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_GET, path, NULL, &status, &out);
    if (rc != FM_OK)
        return rc;
    if (status == 501 || status == 404 || status == 405) {
        /* a 404 of the router ("no route for …") means 9002 has no such route yet */
        bool built = status == 404 && out && !strstr(out, "no route for");
        free(out);
        if (built)
            return fm_reply_problem(r, 404, NULL, NULL, NULL, "no document '%s' in Document Intelligence (9002)",
                                    doc), FM_REPLIED;
        return fm_reply_problem(r, 501, NULL, NULL, NULL,
                                "Document Intelligence (9002) does not serve GET /documents/{id}/text yet, so "
                                "documentId cannot be ingested; send the text instead: {\"title\", \"text\"}"),
               FM_REPLIED;
    }
    if (status == 401 || status == 403) {
        free(out);
        return fm_reply_problem(r, 403, NULL, NULL, NULL,
                                "reading document '%s' needs the permission document:read", doc), FM_REPLIED;
    }
    if (status != 200) {
        free(out);
        return fm_reply_problem(r, 502, NULL, NULL, NULL,
                                "Document Intelligence (9002) answered %d for the text of document '%s'", status,
                                doc), FM_REPLIED;
    }
    *text = out;
    snprintf(path, sizeof(path), "/documents/%s", doc);
    char *meta = NULL;
    if (fm_call(r, FM_GET, path, NULL, &status, &meta) == FM_OK && status == 200) {
        cJSON *m = cJSON_Parse(meta);
        const char *n = str_of(m, "name");
        if (!n)
            n = str_of(m, "filename");
        if (!n)
            n = str_of(m, "title");
        if (n && *n)
            *title = strdup(n);
        cJSON_Delete(m);
    }
    free(meta);
    return FM_OK;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v')
            return false;
    return true;
}

static int ingest(fm_req_t *r)
{
    static const fm_field_t f[] = {
        { "documentId", FM_F_STRING, false, 1, 200, ID_CHARS },
        { "text", FM_F_STRING, false, 0, 0, NULL },
        { "title", FM_F_STRING, false, 1, 500, NULL },
        { "source", FM_F_STRING, false, 0, 2048, NULL },
        { "collection", FM_F_STRING, false, 1, 64, NAME_CHARS },
        { "chunkSize", FM_F_INT, false, KN_CHUNK_MIN, KN_CHUNK_MAX, NULL },
        { "overlap", FM_F_INT, false, 0, KN_CHUNK_MAX / 4, NULL },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return FM_OK;
    const cJSON *b = fm_req_json(r);
    const char *doc = str_of(b, "documentId"), *text = str_of(b, "text");
    if (doc && text)
        return fm_reply_invalid(r, "documentId", "give either documentId or text, not both");
    if (!doc && !text)
        return fm_reply_invalid(r, "text", "is required (or documentId, to ingest a Document Intelligence document)");
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(b, "chunkSize"), *ov = cJSON_GetObjectItemCaseSensitive(b, "overlap");
    int target = cJSON_IsNumber(cs) ? cs->valueint : KN_CHUNK_DEFAULT;
    int overlap = cJSON_IsNumber(ov) ? ov->valueint : (target / 4 < KN_OVERLAP_DEFAULT ? target / 4 : KN_OVERLAP_DEFAULT);
    if (overlap > target / 4)
        return fm_reply_invalid(r, "overlap", "must be at most a quarter of chunkSize");
    const char *coll = str_of(b, "collection");
    if (!coll)
        coll = "default";
    char *fetched = NULL, *doc_title = NULL;
    if (doc) {
        int rc = fetch_document(r, doc, &fetched, &doc_title);
        if (rc != FM_OK)
            return rc == FM_REPLIED ? FM_OK : rc;
        text = fetched;
    }
    size_t len = strlen(text);
    int rc = FM_OK;
    kn_chunk_t *chunks = NULL;
    size_t n = 0;
    cJSON *out = NULL;
    char src[320];
    if (len > KN_TEXT_MAX) {
        fm_reply_problem(r, 413, NULL, NULL, NULL, "the text is %zu bytes; one ingest takes at most %d", len,
                         KN_TEXT_MAX);
        goto cleanup;
    }
    if (blank(text, len)) {
        if (doc)
            fm_reply_problem(r, 422, NULL, NULL, NULL, "document '%s' has no text to ingest", doc);
        else
            fm_reply_invalid(r, "text", "holds no text (empty or only white space)");
        goto cleanup;
    }
    rc = kn_chunk_text(text, len, target, overlap, &chunks, &n);
    if (rc == FM_ETOOBIG) {
        rc = FM_OK;
        fm_reply_problem(r, 413, NULL, NULL, NULL, "the text makes more than %d chunks of %d bytes; use a larger "
                         "chunkSize or ingest it in parts", KN_CHUNKS_MAX, target);
        goto cleanup;
    }
    if (rc != FM_OK)
        goto cleanup;
    const char *title = str_of(b, "title"), *source = str_of(b, "source");
    if (doc && !source) {
        snprintf(src, sizeof(src), "document:%s", doc);
        source = src;
    }
    if (!title)
        title = doc_title ? doc_title : source && *source ? source : "untitled";
    kn_source_new_t s = {
        .tenant = fm_req_tenant(r), .collection = coll, .title = title, .source = source ? source : "",
        .document_id = doc, .text = text, .len = len, .chunks = chunks, .nchunks = n,
        .embed = !strcmp(fm_cfg()->knowledge_embeddings, "hash"),
    };
    rc = kn_source_insert(db_of(r), &s, &out);
    if (rc == FM_ENOTFOUND) {
        rc = FM_OK;
        reply_no_collection(r, coll);
        goto cleanup;
    }
    if (rc == FM_OK) {
        char loc[96];
        snprintf(loc, sizeof(loc), "/knowledge/sources/%s", str_of(out, "id"));
        fm_reply_header(r, "Location", loc);
        fm_reply_json(r, 201, out);
        out = NULL;
    }
cleanup:
    cJSON_Delete(out);
    free(chunks);
    free(fetched);
    free(doc_title);
    return rc;
}

/* ---- sources ---- */

static int source_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    char buf[80];
    const char *coll = fm_req_query(r, "collection", buf, sizeof(buf));
    if (coll && !name_ok(coll))
        return fm_reply_invalid(r, "collection", "must be a collection name (1 to 64 of A-Z a-z 0-9 . _ -)");
    cJSON *items = cJSON_CreateArray();
    int rc = kn_source_list(db_of(r), fm_req_tenant(r), coll, offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int reply_no_source(fm_req_t *r)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no knowledge source '%s' in this tenant",
                            fm_req_param(r, "id"));
}

static int source_get(fm_req_t *r)
{
    cJSON *out = NULL;
    int rc = kn_source_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &out);
    if (rc == FM_ENOTFOUND)
        return reply_no_source(r);
    return rc == FM_OK ? fm_reply_json(r, 200, out) : rc;
}

static int source_delete(fm_req_t *r)
{
    int rc = kn_source_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return reply_no_source(r);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static int source_chunks(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    cJSON *src = NULL;
    int rc = kn_source_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &src);
    cJSON_Delete(src);
    if (rc == FM_ENOTFOUND)
        return reply_no_source(r);
    if (rc != FM_OK)
        return rc;
    cJSON *items = cJSON_CreateArray();
    rc = kn_chunk_list(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

/* ---- query ---- */

/* The answer written by agent `agent` from the first na passages: answer, answerProvider
 * ("agent"), agent {id, provider, model, callId, usage}, droppedCitations (numbers the
 * agent cited that name no passage it was given) into o, the cited passages into cited.
 * FM_REPLIED after answering when the agent cannot write it. */
static int agent_answer(fm_req_t *r, const char *agent, const char *question, const cJSON *passages, int na,
                        cJSON *o, bool *cited)
{
    char *prompt = kn_agent_prompt(question, passages, na);
    if (!prompt)
        return FM_ENOMEM;
    cJSON *ans = NULL;
    int rc = orch_client_invoke(r, agent, "agentId", "the answer", prompt, "knowledge-answer", true, &ans);
    free(prompt);
    if (rc != FM_OK)
        return rc;
    const char *text = str_of(ans, "output");
    cJSON *dropped = cJSON_CreateArray();
    kn_agent_citations(text, na, cited, dropped);
    cJSON_AddStringToObject(o, "answer", text);
    cJSON_AddStringToObject(o, "answerProvider", "agent");
    cJSON *a = cJSON_AddObjectToObject(o, "agent");
    cJSON_AddStringToObject(a, "id", agent);
    static const char *const keep[] = { "provider", "model", "callId", "usage", "cached" };
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        cJSON *v = cJSON_DetachItemFromObject(ans, keep[i]);
        if (v)
            cJSON_AddItemToObject(a, keep[i], v);
    }
    cJSON_AddNumberToObject(a, "passagesGiven", na);
    cJSON_AddItemToObject(o, "droppedCitations", dropped);
    cJSON_Delete(ans);
    return FM_OK;
}

static int query(fm_req_t *r)
{
    static const fm_field_t f[] = {
        { "question", FM_F_STRING, true, 1, KN_QUESTION_MAX, NULL },
        { "k", FM_F_INT, false, 1, KN_K_MAX, NULL },
        { "collection", FM_F_STRING, false, 1, 64, NAME_CHARS },
        { "filters", FM_F_OBJECT, false, 0, 0, NULL },
        { "agentId", FM_F_STRING, false, 1, ORCH_AGENT_ID_MAX, NAME_CHARS },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return FM_OK;
    const cJSON *b = fm_req_json(r);
    const char *agent = str_of(b, "agentId");
    if (!agent && fm_cfg()->knowledge_agent[0]) {
        agent = fm_cfg()->knowledge_agent;     /* [knowledge] agent: the default writer */
        if (!orch_client_agent_ok(agent))
            return fm_reply_problem(r, 500, NULL, NULL, NULL, "[knowledge] agent is not an agent id");
    }
    const cJSON *filters = cJSON_GetObjectItemCaseSensitive(b, "filters"), *x;
    cJSON_ArrayForEach(x, filters)
    {
        if (strcmp(x->string, "sourceId") && strcmp(x->string, "source"))
            return fm_reply_invalid(r, "filters", "knows only sourceId and source");
        if (!cJSON_IsString(x) || strlen(x->valuestring) > 2048)
            return fm_reply_invalid(r, "filters", "sourceId and source must be strings of at most 2048 bytes");
    }
    const char *question = str_of(b, "question"), *coll = str_of(b, "collection");
    const cJSON *kj = cJSON_GetObjectItemCaseSensitive(b, "k");
    int k = cJSON_IsNumber(kj) ? kj->valueint : 5;
    if (coll) {
        cJSON *c = NULL;
        int rc = kn_coll_get(db_of(r), fm_req_tenant(r), coll, &c);
        cJSON_Delete(c);
        if (rc == FM_ENOTFOUND)
            return reply_no_collection(r, coll);
        if (rc != FM_OK)
            return rc;
    }
    char tbuf[KN_QUESTION_MAX + KN_TERMS_MAX + 1];
    const char *terms[KN_TERMS_MAX];
    int nterms = kn_terms(question, tbuf, sizeof(tbuf), terms, KN_TERMS_MAX);
    bool vectors = !strcmp(fm_cfg()->knowledge_embeddings, "hash");
    kn_query_t q = {
        .tenant = fm_req_tenant(r), .collection = coll, .source_id = str_of(filters, "sourceId"),
        .source = str_of(filters, "source"), .terms = terms, .nterms = nterms, .k = k, .vectors = vectors,
        .question = question,
    };
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "question", question);
    cJSON *passages = cJSON_AddArrayToObject(o, "passages");
    cJSON *skipped = cJSON_CreateArray();
    q.skipped = skipped;
    int rc = kn_search(db_of(r), &q, passages);
    if (rc != FM_OK) {
        cJSON_Delete(skipped);
        cJSON_Delete(o);
        return rc;
    }
    int np = cJSON_GetArraySize(passages);
    bool cited[KN_AGENT_PASSAGES];
    int na;
    if (agent && np > 0) {
        na = np < KN_AGENT_PASSAGES ? np : KN_AGENT_PASSAGES;
        rc = agent_answer(r, agent, question, passages, na, o, cited);
        if (rc != FM_OK) {
            cJSON_Delete(skipped);
            cJSON_Delete(o);
            return rc == FM_REPLIED ? FM_OK : rc;
        }
    } else {
        na = np < KN_ANSWER_PASSAGES ? np : KN_ANSWER_PASSAGES;
        const char *texts[KN_ANSWER_PASSAGES];
        for (int i = 0; i < na; i++)
            texts[i] = str_of(cJSON_GetArrayItem(passages, i), "text");
        char *answer = kn_extract_answer(texts, na, terms, nterms, cited);
        if (!answer) {
            cJSON_Delete(skipped);
            cJSON_Delete(o);
            return FM_ENOMEM;
        }
        cJSON_AddStringToObject(o, "answer", answer);
        free(answer);
        cJSON_AddStringToObject(o, "answerProvider", "local");
    }
    cJSON *cits = cJSON_AddArrayToObject(o, "citations");
    for (int i = 0; i < na; i++) {
        if (!cited[i])
            continue;
        const cJSON *p = cJSON_GetArrayItem(passages, i);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "n", i + 1);
        cJSON_AddNumberToObject(c, "passageIndex", i);
        cJSON_AddStringToObject(c, "passageId", str_of(p, "id"));
        cJSON_AddStringToObject(c, "sourceId", str_of(p, "sourceId"));
        cJSON_AddStringToObject(c, "title", str_of(p, "title"));
        cJSON_AddStringToObject(c, "source", str_of(p, "source"));
        cJSON_AddNumberToObject(c, "position", cJSON_GetObjectItem(p, "position")->valuedouble);
        cJSON_AddItemToArray(cits, c);
    }
    cJSON_AddStringToObject(o, "ranking", vectors ? "bm25+hash-embeddings" : "bm25");
    cJSON *ta = cJSON_AddArrayToObject(o, "terms");
    for (int i = 0; i < nterms; i++)
        cJSON_AddItemToArray(ta, cJSON_CreateString(terms[i]));
    cJSON_AddItemToObject(o, "skippedTerms", skipped);
    cJSON *corr = cJSON_AddArrayToObject(o, "corrections");
    if (nterms > 0) {
        char key[KN_KEY_MAX];
        kn_terms_key(terms, nterms, key);
        rc = kn_corrections(db_of(r), fm_req_tenant(r), coll, key, corr);
        if (rc != FM_OK) {
            cJSON_Delete(o);
            return rc;
        }
    }
    return fm_reply_json(r, 200, o);
}

/* ---- feedback ---- */

static int feedback(fm_req_t *r)
{
    static const fm_field_t f[] = {
        { "question", FM_F_STRING, true, 1, KN_QUESTION_MAX, NULL },
        { "passageId", FM_F_STRING, false, 3, 200, ID_CHARS },
        { "chunk", FM_F_STRING, false, 3, 200, ID_CHARS },
        { "helpful", FM_F_BOOL, true, 0, 0, NULL },
        { "correctedAnswer", FM_F_STRING, false, 0, 10000, NULL },
    };
    if (fm_req_check(r, f, sizeof(f) / sizeof(f[0])))
        return FM_OK;
    const cJSON *b = fm_req_json(r);
    const char *pid = str_of(b, "passageId");
    if (!pid)
        pid = str_of(b, "chunk");
    if (!pid)
        return fm_reply_invalid(r, "passageId", "is required (a passage id from /knowledge/query)");
    const char *colon = strrchr(pid, ':');
    char *end = NULL;
    long pos = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == pid || end == colon + 1 || *end || pos < 0 || pos >= KN_CHUNKS_MAX)
        return fm_reply_invalid(r, "passageId", "must be a passage id from /knowledge/query (<sourceId>:<position>)");
    char src[200];
    snprintf(src, sizeof(src), "%.*s", (int)(colon - pid), pid);
    const char *question = str_of(b, "question");
    char tbuf[KN_QUESTION_MAX + KN_TERMS_MAX + 1];
    const char *terms[KN_TERMS_MAX];
    int nterms = kn_terms(question, tbuf, sizeof(tbuf), terms, KN_TERMS_MAX);
    if (!nterms)
        return fm_reply_invalid(r, "question", "holds no search terms (only stop words or punctuation)");
    const fm_principal_t *p = fm_req_principal(r);
    cJSON *out = NULL;
    int rc = kn_feedback_add(db_of(r), fm_req_tenant(r), src, (int)pos, question, terms, nterms,
                             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "helpful")),
                             str_of(b, "correctedAnswer"), p ? p->sub : NULL, &out);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no passage '%s' in this tenant", pid);
    if (rc != FM_OK)
        return rc;
    cJSON *ta = cJSON_AddArrayToObject(out, "terms");
    for (int i = 0; i < nterms; i++)
        cJSON_AddItemToArray(ta, cJSON_CreateString(terms[i]));
    return fm_reply_json(r, 201, out);
}

static int feedback_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    char buf[80];
    const char *coll = fm_req_query(r, "collection", buf, sizeof(buf));
    if (coll && !name_ok(coll))
        return fm_reply_invalid(r, "collection", "must be a collection name (1 to 64 of A-Z a-z 0-9 . _ -)");
    cJSON *items = cJSON_CreateArray();
    int rc = kn_feedback_list(db_of(r), fm_req_tenant(r), coll, offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static const fm_route_t routes[] = {
    { FM_POST, "/knowledge/query", query, FM_R_JSON, "knowledge:read" },
    { FM_POST, "/knowledge/ingest", ingest, FM_R_JSON, "knowledge:write" },
    { FM_POST, "/api/v1/feedback", feedback, FM_R_JSON, "knowledge:write" },
    { FM_GET, "/api/v1/feedback", feedback_list, 0, "knowledge:read" },
    { FM_POST, "/knowledge/collections", coll_create, FM_R_JSON, "knowledge:write" },
    { FM_GET, "/knowledge/collections", coll_list, 0, "knowledge:read" },
    { FM_GET, "/knowledge/collections/{name}", coll_get, 0, "knowledge:read" },
    { FM_PUT, "/knowledge/collections/{name}", coll_update, FM_R_JSON, "knowledge:write" },
    { FM_DELETE, "/knowledge/collections/{name}", coll_delete, 0, "knowledge:write" },
    { FM_GET, "/knowledge/sources", source_list, 0, "knowledge:read" },
    { FM_GET, "/knowledge/sources/{id}", source_get, 0, "knowledge:read" },
    { FM_DELETE, "/knowledge/sources/{id}", source_delete, 0, "knowledge:write" },
    { FM_GET, "/knowledge/sources/{id}/chunks", source_chunks, 0, "knowledge:read" },
};

const fm_module_t fm_knowledge_module = {
    "knowledge", "Knowledge Hub", 8009, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
