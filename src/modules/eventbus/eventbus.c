/*
 * eventbus.c — Event Bus (9013): publish (POST /events), replay of the durable log,
 * events by id, the schema registry of event types and subscriptions (webhook or
 * internal cursors) with status, pause/resume, redelivery of dead letters and acks
 * (docs/eventbus.md). The log itself is eventbus_log.c; webhook delivery is
 * eventbus_hooks.c.
 */
#include "eventbus_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "../tasks/tasks_jsonschema.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 1000          /* events in one POST /events */
#define MAX_SCHEMA 65536        /* bytes of one schema as JSON */
#define MAX_SUBS_PER_TENANT 1000

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static fm_timer_t *retain_timer;

/* ---- problems ---- */

static void add_error(cJSON *errs, const char *ptr, const char *detail)
{
    if (cJSON_GetArraySize(errs) >= 100)
        return;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "pointer", ptr);
    cJSON_AddStringToObject(e, "detail", detail);
    cJSON_AddItemToArray(errs, e);
}

static int reply_errors(fm_req_t *r, cJSON *errs, const char *what)
{
    int n = cJSON_GetArraySize(errs);
    cJSON *ext = cJSON_CreateObject();
    cJSON_AddItemToObject(ext, "errors", errs);
    return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                            "%s: %d problem%s; nothing was stored", what, n, n == 1 ? "" : "s");
}

/* ---- schemas ---- */

/* The latest schema of the type for the tenant (parsed), or NULL. */
typedef struct schema_row {
    cJSON *schema;
    int version;
} schema_row_t;

static int latest_row(const fm_dbrow_t *row, void *arg)
{
    schema_row_t *sr = arg;
    sr->schema = fm_dbrow_json(row, 0);
    sr->version = (int)fm_dbrow_int(row, 1);
    return FM_OK;
}

static cJSON *latest_schema(fm_db_t *db, const char *tenant, const char *type, int *version)
{
    schema_row_t sr = { NULL, 0 };
    fm_dbq_read_one(db, "SELECT schema, version FROM schemas WHERE tenant_id = ? AND type = ? "
                        "ORDER BY version DESC LIMIT 1", latest_row, &sr, "ss", tenant, type);
    if (version)
        *version = sr.version;
    return sr.schema;
}

static int schema_create(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(j, "schema");
    cJSON *errs = cJSON_CreateArray();
    char why[512];
    if (!cJSON_IsObject(j))
        add_error(errs, "/", "must be an object with type and schema");
    else {
        if (!cJSON_IsString(type) || !bus_type_valid(type->valuestring))
            add_error(errs, "/type", "must be an event type: dot-separated segments of letters, digits, _ and -");
        if (!cJSON_IsObject(schema) && !cJSON_IsBool(schema))
            add_error(errs, "/schema", "must be a JSON Schema (an object)");
        else if (tasks_schema_check(schema, why, sizeof(why)) != 0) {
            char ptr[600];
            const char *colon = strstr(why, ": ");
            snprintf(ptr, sizeof(ptr), "/schema%.*s", colon ? (int)(colon - why) : 0, why);
            if (!strcmp(ptr, "/schema/"))
                ptr[7] = 0;
            add_error(errs, ptr, colon ? colon + 2 : why);
        }
    }
    if (cJSON_GetArraySize(errs))
        return reply_errors(r, errs, "the schema is not usable");
    cJSON_Delete(errs);
    char *text = cJSON_PrintUnformatted(schema);
    if (!text)
        return FM_ENOMEM;
    if (strlen(text) > MAX_SCHEMA) {
        cJSON_free(text);
        return fm_reply_invalid(r, "schema", "must be at most 65536 bytes as JSON");
    }
    char now[32];
    fm_time_rfc3339(now);
    int64_t version = 0;
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w) {
        cJSON_free(text);
        return FM_EDB;
    }
    int rc = fm_dbq_int(w, "INSERT INTO schemas(tenant_id, type, version, schema, created_at) "
                           "SELECT ?1, ?2, COALESCE(MAX(version), 0) + 1, ?3, ?4 FROM schemas "
                           "WHERE tenant_id = ?1 AND type = ?2 RETURNING version",
                        &version, "ssss", fm_req_tenant(r), type->valuestring, text, now);
    rc = fm_dbq_write_end(w, rc);
    cJSON_free(text);
    if (rc != FM_OK)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type->valuestring);
    cJSON_AddNumberToObject(o, "version", (double)version);
    cJSON_AddItemToObject(o, "schema", cJSON_Duplicate(schema, true));
    cJSON_AddStringToObject(o, "createdAt", now);
    char loc[300];
    snprintf(loc, sizeof(loc), "/schemas/%s", type->valuestring);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, o);
}

static int schema_list(fm_req_t *r)
{
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), "SELECT type, MAX(version) AS \"latestVersion\" FROM schemas "
                                         "WHERE tenant_id = ? GROUP BY type ORDER BY type LIMIT 1000",
                               "si", items, "s", fm_req_tenant(r));
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", items);
    return fm_reply_json(r, 200, o);
}

static int schema_get(fm_req_t *r)
{
    const char *type = fm_req_param(r, "type");
    cJSON *versions = cJSON_CreateArray();
    int rc = fm_dbq_read_array(db_of(r), "SELECT version, schema, created_at AS \"createdAt\" FROM schemas "
                                         "WHERE tenant_id = ? AND type = ? ORDER BY version LIMIT 1000",
                               "ijs", versions, "ss", fm_req_tenant(r), type);
    if (rc != FM_OK || cJSON_GetArraySize(versions) == 0) {
        cJSON_Delete(versions);
        return rc != FM_OK ? rc : fm_reply_problem(r, 404, NULL, NULL, NULL, "no schema is registered for type '%s'", type);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddItemToObject(o, "versions", versions);
    return fm_reply_json(r, 200, o);
}

/* ---- publish ---- */

static bool ext_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

static bool is_attr(const char *k, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], k))
            return true;
    return false;
}

/* Checks one CloudEvent; appends violations (pointers under `base`). */
static void check_event(fm_req_t *r, const cJSON *ev, const char *base, cJSON *errs)
{
    char p[64];
#define ERR(field, msg) do { snprintf(p, sizeof(p), "%s/%s", base, field); add_error(errs, p, msg); } while (0)
    if (!cJSON_IsObject(ev)) {
        add_error(errs, *base ? base : "/", "must be a CloudEvent (a JSON object)");
        return;
    }
    const cJSON *v;
    v = cJSON_GetObjectItemCaseSensitive(ev, "specversion");
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, "1.0")))
        ERR("specversion", "must be \"1.0\"");
    v = cJSON_GetObjectItemCaseSensitive(ev, "type");
    if (!cJSON_IsString(v) || !bus_type_valid(v->valuestring))
        ERR("type", "is required: dot-separated segments of letters, digits, _ and - (at most 255 characters)");
    v = cJSON_GetObjectItemCaseSensitive(ev, "source");
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 1024)
        ERR("source", "is required: a non-empty URI reference of at most 1024 characters");
    v = cJSON_GetObjectItemCaseSensitive(ev, "id");
    if (v && (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 256))
        ERR("id", "must be a non-empty string of at most 256 characters");
    v = cJSON_GetObjectItemCaseSensitive(ev, "subject");
    if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > 1024))
        ERR("subject", "must be a string of at most 1024 characters");
    v = cJSON_GetObjectItemCaseSensitive(ev, "time");
    if (v && (!cJSON_IsString(v) || eventbus_parse_time(v->valuestring) < 0))
        ERR("time", "must be an RFC 3339 timestamp");
    v = cJSON_GetObjectItemCaseSensitive(ev, "datacontenttype");
    if (v && (!cJSON_IsString(v) || strncmp(v->valuestring, "application/json", 16)))
        ERR("datacontenttype", "must be application/json (data is a JSON value)");
    v = cJSON_GetObjectItemCaseSensitive(ev, "dataschema");
    if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > 1024))
        ERR("dataschema", "must be a URI of at most 1024 characters");
    if (cJSON_GetObjectItemCaseSensitive(ev, "data_base64"))
        ERR("data_base64", "binary data is not supported; send JSON in data");
    v = cJSON_GetObjectItemCaseSensitive(ev, "tenantid");
    if (v && (!cJSON_IsString(v) || strcmp(v->valuestring, fm_req_tenant(r))))
        ERR("tenantid", "must be the tenant of the request (or left out)");
    static const char *const known[] = { "specversion", "type", "source", "id", "subject", "time",
                                         "datacontenttype", "dataschema", "data", "data_base64",
                                         "tenantid", NULL };
    cJSON_ArrayForEach(v, ev) {
        if (is_attr(v->string, known))
            continue;
        if (!ext_name_ok(v->string))
            ERR("", "extension attribute names are 1-20 lowercase letters or digits");
        else if (!cJSON_IsString(v) && !cJSON_IsNumber(v) && !cJSON_IsBool(v))
            ERR(v->string, "an extension attribute must be a string, number or boolean");
    }
#undef ERR
}

typedef struct pub {
    evlog_rec_t rec;
    char id[257], time[40];
    char *json;
} pub_t;

static int publish(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    bool batch = cJSON_IsArray(j);
    int size = batch ? cJSON_GetArraySize(j) : 1;
    if (size <= 0 || size > MAX_BATCH) {
        cJSON *e = cJSON_CreateArray();
        add_error(e, "/", "a batch holds 1 to 1000 events");
        return reply_errors(r, e, "the batch is not valid");
    }
    int n = size;
    const char *tenant = fm_req_tenant(r);
    cJSON *errs = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        char base[32] = "";
        if (batch)
            snprintf(base, sizeof(base), "/%d", i);
        const cJSON *ev = batch ? cJSON_GetArrayItem(j, i) : j;
        int before = cJSON_GetArraySize(errs);
        check_event(r, ev, base, errs);
        if (cJSON_GetArraySize(errs) > before)
            continue;
        const char *type = cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring;
        cJSON *schema = latest_schema(db_of(r), tenant, type, NULL);
        if (schema) {
            char dbase[48];
            snprintf(dbase, sizeof(dbase), "%s/data", base);
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
            cJSON *null = cJSON_CreateNull();
            tasks_schema_validate(schema, data ? data : null, dbase, errs);
            cJSON_Delete(null);
            cJSON_Delete(schema);
        }
    }
    if (cJSON_GetArraySize(errs))
        return reply_errors(r, errs, batch ? "the batch is not valid" : "the event is not valid");
    cJSON_Delete(errs);

    pub_t *p = calloc((size_t)size, sizeof(*p));
    int64_t *offsets = calloc((size_t)size, sizeof(*offsets));
    evlog_rec_t *recs = calloc((size_t)size, sizeof(*recs));
    int rc = p && offsets && recs ? FM_OK : FM_ENOMEM;
    for (int i = 0; i < n && rc == FM_OK; i++) {
        cJSON *ev = batch ? cJSON_GetArrayItem(j, i) : j;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(ev, "time");
        if (cJSON_IsString(id))
            snprintf(p[i].id, sizeof(p[i].id), "%s", id->valuestring);
        else
            fm_uuid7(p[i].id);
        if (cJSON_IsString(tm))
            snprintf(p[i].time, sizeof(p[i].time), "%s", tm->valuestring);
        else
            fm_time_rfc3339(p[i].time);
        /* The stored event: what was sent, completed with the attributes we set. */
        cJSON *out = cJSON_Duplicate(ev, true);
        cJSON_DeleteItemFromObjectCaseSensitive(out, "specversion");
        cJSON_DeleteItemFromObjectCaseSensitive(out, "id");
        cJSON_DeleteItemFromObjectCaseSensitive(out, "time");
        cJSON_DeleteItemFromObjectCaseSensitive(out, "tenantid");
        cJSON *head = cJSON_CreateObject();
        cJSON_AddStringToObject(head, "specversion", "1.0");
        cJSON_AddStringToObject(head, "id", p[i].id);
        cJSON_AddStringToObject(head, "time", p[i].time);
        cJSON_AddStringToObject(head, "tenantid", tenant);
        if (!cJSON_GetObjectItemCaseSensitive(out, "datacontenttype") &&
            cJSON_GetObjectItemCaseSensitive(out, "data"))
            cJSON_AddStringToObject(head, "datacontenttype", "application/json");
        cJSON *x = out->child;
        while (x) {
            cJSON *next = x->next;
            cJSON_AddItemToObject(head, x->string, cJSON_DetachItemViaPointer(out, x));
            x = next;
        }
        cJSON_Delete(out);
        p[i].json = cJSON_PrintUnformatted(head);
        cJSON_Delete(head);
        if (!p[i].json) {
            rc = FM_ENOMEM;
            break;
        }
        if (strlen(p[i].json) > EVLOG_MAX_EVENT) {
            rc = FM_ETOOBIG;
            break;
        }
        const cJSON *subj = cJSON_GetObjectItemCaseSensitive(ev, "subject");
        recs[i] = (evlog_rec_t){
            tenant, p[i].id, cJSON_GetObjectItemCaseSensitive(ev, "source")->valuestring,
            cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring,
            cJSON_IsString(subj) ? subj->valuestring : NULL, p[i].time, p[i].json,
        };
    }
    if (rc == FM_OK)
        rc = evlog_append(db_of(r), recs, (size_t)n, offsets);
    cJSON *items = NULL;
    if (rc == FM_OK) {
        items = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            /* Live subscribers of the bus see it too; the log already has it (the bus
             * copy is recognised by its id and not appended again). */
            const cJSON *ev = batch ? cJSON_GetArrayItem(j, i) : j;
            const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev, "data");
            char *dj = data ? cJSON_PrintUnformatted(data) : NULL;
            bus_publish_ce(recs[i].id, recs[i].time, recs[i].source, recs[i].type, recs[i].subject,
                           tenant, dj, recs[i].json);
            cJSON_free(dj);
            cJSON *o = cJSON_Parse(recs[i].json);
            cJSON_AddNumberToObject(o, "offset", (double)offsets[i]);
            cJSON_AddItemToArray(items, o);
        }
        hooks_kick(false);
    }
    int bad_index = -1;
    for (int i = 0; p && i < n; i++) {
        if (rc == FM_ETOOBIG && bad_index < 0 && p[i].json && strlen(p[i].json) > EVLOG_MAX_EVENT)
            bad_index = i;
        cJSON_free(p[i].json);
    }
    free(p);
    free(offsets);
    free(recs);
    if (rc == FM_ETOOBIG) {
        char ptr[32] = "/";
        if (batch)
            snprintf(ptr, sizeof(ptr), "/%d", bad_index);
        cJSON *e = cJSON_CreateArray();
        add_error(e, ptr, "the event is larger than 262144 bytes as JSON");
        return reply_errors(r, e, "the event is too large");
    }
    if (rc != FM_OK)
        return rc;
    if (batch) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "items", items);
        return fm_reply_json(r, 201, o);
    }
    cJSON *one = cJSON_DetachItemFromArray(items, 0);
    cJSON_Delete(items);
    return fm_reply_json(r, 201, one);
}

/* ---- replay ---- */

typedef struct collect {
    cJSON *items;
} collect_t;

static bool collect_one(const evlog_entry_t *e, void *arg)
{
    collect_t *c = arg;
    cJSON *o = cJSON_Parse(e->json);
    if (!o)
        return true;
    cJSON_AddNumberToObject(o, "offset", (double)e->offset);
    char at[32];
    fm_time_rfc3339_at(e->logged_ms, at);
    cJSON_AddStringToObject(o, "loggedAt", at);
    cJSON_AddItemToArray(c->items, o);
    return true;
}

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int replay(fm_req_t *r)
{
    char b1[64], b2[300], b3[1100], b4[64], b5[64];
    const char *from = fm_req_query(r, "from", b1, sizeof(b1));
    const char *types = fm_req_query(r, "types", b2, sizeof(b2));
    const char *subject = fm_req_query(r, "subject", b3, sizeof(b3));
    const char *off = fm_req_query(r, "offset", b4, sizeof(b4));
    const char *lim = fm_req_query(r, "limit", b5, sizeof(b5));
    const char *tenant = fm_req_tenant(r);
    int64_t start = 1, limit = 100;
    int64_t since = -1;
    if (off && !parse_i64(off, 1, INT64_MAX / 2, &start))
        return fm_reply_invalid(r, "offset", "must be an offset (an integer ≥ 1)");
    if (from) {
        /* By the events' own `time`; with offset too, the offset is where the
         * previous page stopped (its `next`) and from stays the filter. */
        if ((since = eventbus_parse_time(from)) < 0)
            return fm_reply_invalid(r, "from", "must be an RFC 3339 timestamp");
        int64_t first = 1;
        int rc = evlog_offset_at(db_of(r), tenant, since, &first);
        if (rc != FM_OK)
            return rc;
        if (first > start)
            start = first;
    }
    if (lim && !parse_i64(lim, 1, 1000, &limit))
        return fm_reply_invalid(r, "limit", "must be an integer from 1 to 1000");
    if (types && !bus_pattern_valid(types))
        return fm_reply_invalid(r, "types", "must be an event type pattern: segments, '*' for one, '>' (last) for the rest");
    if (subject && strlen(subject) > 1024)
        return fm_reply_invalid(r, "subject", "must be at most 1024 characters");
    evlog_filter_t f = { types, subject, since };
    collect_t c = { cJSON_CreateArray() };
    int64_t next = start;
    int rc = evlog_read(db_of(r), tenant, start, &f, (int)limit, (int)limit * 10 + 1000, collect_one, &c, &next);
    if (rc != FM_OK) {
        cJSON_Delete(c.items);
        return rc;
    }
    int64_t last = 0;
    evlog_last(db_of(r), tenant, &last);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "items", c.items);
    cJSON_AddNumberToObject(o, "next", (double)next);
    cJSON_AddBoolToObject(o, "more", next <= last);
    cJSON_AddNumberToObject(o, "lastOffset", (double)last);
    return fm_reply_json(r, 200, o);
}

static int event_get(fm_req_t *r)
{
    cJSON *item = NULL;
    int rc = evlog_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &item);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no event with id '%s'", fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_json(r, 200, item) : rc;
}

/* ---- subscriptions ---- */

#define SUB_COLS                                                                                         \
    "SELECT id, kind, url, types, state, acked, delivered, failures, last_error, last_delivered_at, "  \
    "created_at, (SELECT COUNT(*) FROM dead_letters d WHERE d.subscription_id = s.id) FROM subscriptions s "

static cJSON *sub_row(const fm_dbrow_t *row, void *arg)
{
    (void)arg;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", fm_dbrow_str(row, 0));
    cJSON_AddStringToObject(o, "kind", fm_dbrow_str(row, 1));
    if (!fm_dbrow_null(row, 2))
        cJSON_AddStringToObject(o, "url", fm_dbrow_text(row, 2));
    cJSON_AddStringToObject(o, "types", fm_dbrow_str(row, 3));
    cJSON_AddStringToObject(o, "state", fm_dbrow_str(row, 4));
    cJSON_AddNumberToObject(o, "lastDeliveredOffset", (double)fm_dbrow_int(row, 5));
    cJSON_AddNumberToObject(o, "delivered", (double)fm_dbrow_int(row, 6));
    cJSON_AddNumberToObject(o, "consecutiveFailures", (double)fm_dbrow_int(row, 7));
    if (!fm_dbrow_null(row, 8))
        cJSON_AddStringToObject(o, "lastError", fm_dbrow_text(row, 8));
    if (!fm_dbrow_null(row, 9))
        cJSON_AddStringToObject(o, "lastDeliveredAt", fm_dbrow_text(row, 9));
    cJSON_AddStringToObject(o, "createdAt", fm_dbrow_str(row, 10));
    cJSON_AddNumberToObject(o, "deadLetters", (double)fm_dbrow_int(row, 11));
    return o;
}

static int sub_one(const fm_dbrow_t *row, void *arg)
{
    *(cJSON **)arg = sub_row(row, NULL);
    return FM_OK;
}

static int sub_load(fm_db_t *db, const char *tenant, const char *id, cJSON **out)
{
    *out = NULL;
    return fm_dbq_read_one(db, SUB_COLS "WHERE tenant_id = ? AND id = ?", sub_one, out, "ss", tenant, id);
}

static int not_found(fm_req_t *r)
{
    return fm_reply_problem(r, 404, NULL, NULL, NULL, "no subscription with id '%s'", fm_req_param(r, "id"));
}

static int sub_create(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    cJSON *errs = cJSON_CreateArray();
    if (!cJSON_IsObject(j)) {
        add_error(errs, "/", "must be an object");
        return reply_errors(r, errs, "the subscription is not valid");
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url");
    const cJSON *secret = cJSON_GetObjectItemCaseSensitive(j, "secret");
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(j, "types");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(j, "from");
    bool webhook = cJSON_IsString(kind) && !strcmp(kind->valuestring, "webhook");
    bool internal = cJSON_IsString(kind) && !strcmp(kind->valuestring, "internal");
    if (!webhook && !internal)
        add_error(errs, "/kind", "must be \"webhook\" or \"internal\"");
    if (webhook && (!cJSON_IsString(url) || strlen(url->valuestring) > 2048 ||
                    (strncmp(url->valuestring, "http://", 7) && strncmp(url->valuestring, "https://", 8)) ||
                    strlen(url->valuestring) < 10))
        add_error(errs, "/url", "must be an http(s) URL of at most 2048 characters");
    if (internal && url)
        add_error(errs, "/url", "an internal subscription has no URL");
    if (secret && (!cJSON_IsString(secret) || strlen(secret->valuestring) < 16 || strlen(secret->valuestring) > 256))
        add_error(errs, "/secret", "must be a string of 16 to 256 characters");
    if (types && (!cJSON_IsString(types) || !bus_pattern_valid(types->valuestring)))
        add_error(errs, "/types", "must be an event type pattern: segments, '*' for one, '>' (last) for the rest");
    const char *tenant = fm_req_tenant(r);
    int64_t last = 0, acked = 0;
    int rc = evlog_last(db_of(r), tenant, &last);
    if (rc != FM_OK) {
        cJSON_Delete(errs);
        return rc;
    }
    acked = last;
    if (from && cJSON_IsString(from) && !strcmp(from->valuestring, "now"))
        acked = last;
    else if (from && cJSON_IsNumber(from) && from->valuedouble >= 1 && from->valuedouble < 9e15 &&
             from->valuedouble == (double)(int64_t)from->valuedouble)
        acked = (int64_t)from->valuedouble - 1;
    else if (from && cJSON_IsString(from) && eventbus_parse_time(from->valuestring) >= 0) {
        int64_t at = 0;
        if ((rc = evlog_offset_at(db_of(r), tenant, eventbus_parse_time(from->valuestring), &at)) != FM_OK) {
            cJSON_Delete(errs);
            return rc;
        }
        acked = at - 1;
    } else if (from)
        add_error(errs, "/from", "must be \"now\", an offset (integer ≥ 1) or an RFC 3339 timestamp");
    if (cJSON_GetArraySize(errs))
        return reply_errors(r, errs, "the subscription is not valid");
    cJSON_Delete(errs);

    char id[64], gen[65], now[32];
    fm_id_random("sub_", id, sizeof(id));
    fm_time_rfc3339(now);
    if (!secret) {
        unsigned char raw[24];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(gen, sizeof(gen), raw, sizeof(raw));
    }
    fm_db_t *db = db_of(r);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int64_t count = 0;
    rc = fm_dbq_int(w, "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = ?", &count, "s", tenant);
    if (rc == FM_OK && count >= MAX_SUBS_PER_TENANT)
        rc = FM_ECONFLICT;
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "INSERT INTO subscriptions(id, tenant_id, kind, url, secret, types, acked, created_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssssssIs", id, tenant, webhook ? "webhook" : "internal", webhook ? url->valuestring : NULL,
                        webhook ? (secret ? secret->valuestring : gen) : NULL, types ? types->valuestring : ">",
                        acked < 0 ? (int64_t)0 : acked, now);
    rc = fm_dbq_write_end(w, rc);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "a tenant has at most %d subscriptions", MAX_SUBS_PER_TENANT);
    if (rc != FM_OK)
        return rc;
    cJSON *o = NULL;
    if ((rc = sub_load(db, tenant, id, &o)) != FM_OK)
        return rc;
    if (webhook && !secret)
        cJSON_AddStringToObject(o, "secret", gen);  /* shown once: keep it */
    hooks_kick(true);
    char loc[128];
    snprintf(loc, sizeof(loc), "/subscriptions/%s", id);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, o);
}

static int sub_list(fm_req_t *r)
{
    int limit, offset;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    fm_dbq_page_t p = {
        .count_sql = "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = ?",
        .rows_sql = SUB_COLS "WHERE tenant_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
        .item = sub_row, .offset = offset, .limit = limit,
    };
    cJSON *items = cJSON_CreateArray();
    int total = 0;
    int rc = fm_dbq_read_page(db_of(r), &p, items, &total, "s", fm_req_tenant(r));
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static int sub_get(fm_req_t *r)
{
    cJSON *o = NULL;
    int rc = sub_load(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &o);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    return rc == FM_OK ? fm_reply_json(r, 200, o) : rc;
}

static int sub_status(fm_req_t *r)
{
    cJSON *o = NULL;
    int rc = sub_load(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &o);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc != FM_OK)
        return rc;
    int64_t last = 0;
    evlog_last(db_of(r), fm_req_tenant(r), &last);
    int64_t acked = (int64_t)cJSON_GetObjectItem(o, "lastDeliveredOffset")->valuedouble;
    cJSON_AddNumberToObject(o, "lastOffset", (double)last);
    cJSON_AddNumberToObject(o, "lag", (double)(last > acked ? last - acked : 0));
    cJSON *dl = cJSON_AddArrayToObject(o, "deadLetterList");
    rc = fm_dbq_read_array(db_of(r), "SELECT seq AS \"offset\", attempts, last_error AS \"lastError\", "
                                     "dead_at AS \"deadAt\", redeliver AS \"redeliveryPending\" FROM dead_letters "
                                     "WHERE subscription_id = ? ORDER BY seq LIMIT 100",
                           "iissb", dl, "s", fm_req_param(r, "id"));
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    return fm_reply_json(r, 200, o);
}

/* One UPDATE/DELETE on the tenant's subscription: FM_OK, FM_ENOTFOUND or FM_EDB. */
static int sub_write(fm_req_t *r, const char *sql, const char *arg)
{
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w)
        return FM_EDB;
    int rc = arg ? fm_dbq_run(w, sql, "sss", fm_req_param(r, "id"), fm_req_tenant(r), arg)
                 : fm_dbq_run(w, sql, "ss", fm_req_param(r, "id"), fm_req_tenant(r));
    if (rc == FM_OK && fm_dbq_changes(w) == 0)
        rc = FM_ENOTFOUND;
    if (rc == FM_OK && sql[0] == 'D')   /* a deleted subscription takes its dead letters */
        rc = fm_dbq_run(w, "DELETE FROM dead_letters WHERE subscription_id = ?", "s", fm_req_param(r, "id"));
    int erc = fm_dbq_write_end(w, rc == FM_ENOTFOUND ? FM_OK : rc);
    if (erc != FM_OK)
        return erc;
    if (rc == FM_OK)
        hooks_kick(true);
    return rc;
}

static int sub_delete(fm_req_t *r)
{
    static const char sql[] = "DELETE FROM subscriptions WHERE id = ? AND tenant_id = ?";
    int rc = sub_write(r, sql, NULL);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}

static int sub_state(fm_req_t *r, const char *state)
{
    static const char sql[] = "UPDATE subscriptions SET state = ?3 WHERE id = ?1 AND tenant_id = ?2";
    int rc = sub_write(r, sql, state);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    return rc == FM_OK ? sub_get(r) : rc;
}

static int sub_pause(fm_req_t *r)
{
    return sub_state(r, "paused");
}

static int sub_resume(fm_req_t *r)
{
    return sub_state(r, "active");
}

static int sub_redeliver(fm_req_t *r)
{
    cJSON *o = NULL;
    int rc = sub_load(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &o);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc != FM_OK)
        return rc;
    cJSON_Delete(o);
    fm_dbc_t *w = fm_dbq_write_begin(db_of(r));
    if (!w)
        return FM_EDB;
    rc = fm_dbq_run(w, "UPDATE dead_letters SET redeliver = 1 WHERE subscription_id = ? AND redeliver = 0", "s",
                    fm_req_param(r, "id"));
    int64_t n = rc == FM_OK ? fm_dbq_changes(w) : 0;
    if ((rc = fm_dbq_write_end(w, rc)) != FM_OK)
        return rc;
    hooks_kick(true);
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "redelivering", (double)n);
    return fm_reply_json(r, 202, res);
}

static int sub_ack(fm_req_t *r)
{
    cJSON *j = fm_req_json(r);
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "offset");
    if (!cJSON_IsNumber(off) || off->valuedouble < 0 || off->valuedouble > 9e15 ||
        off->valuedouble != (double)(int64_t)off->valuedouble)
        return fm_reply_invalid(r, "offset", "must be the offset acknowledged (an integer ≥ 0)");
    cJSON *o = NULL;
    int rc = sub_load(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &o);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    if (rc != FM_OK)
        return rc;
    bool internal = !strcmp(cJSON_GetObjectItem(o, "kind")->valuestring, "internal");
    cJSON_Delete(o);
    if (!internal)
        return fm_reply_problem(r, 409, NULL, NULL, NULL,
                                "a webhook subscription is acknowledged by its receiver's 2xx answers");
    rc = evlog_ack(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), (int64_t)off->valuedouble);
    if (rc == FM_ENOTFOUND)
        return not_found(r);
    return rc == FM_OK ? sub_get(r) : rc;
}

/* ---- lifecycle ---- */

static void retain(void *arg)
{
    fm_mod_t *m = arg;
    const fm_config_t *c = fm_cfg();
    int n = 0;
    if (evlog_retain(m->db, c->eventbus_retain_days, c->eventbus_retain_mb, &n) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "eventbus: retention failed", NULL);
    else if (n) {
        fm_log_t l;
        fm_log_begin(&l, FM_LOG_INFO, "eventbus: events past retention deleted");
        fm_log_int(&l, "count", n);
        fm_log_end(&l);
    }
}

static int start(fm_mod_t *m)
{
    int rc = evlog_prepare(m->db);
    if (rc != FM_OK)
        return rc;
    if (fm_cfg()->eventbus_log && (rc = evlog_attach(m)) != FM_OK)
        return rc;
    uint64_t every = (uint64_t)fm_cfg()->eventbus_retention_interval_ms;
    retain_timer = fm_timer_start(every, every, retain, m);
    if (!retain_timer)
        return FM_ENOMEM;
    return hooks_start(m);
}

static void stop(fm_mod_t *m)
{
    (void)m;
    evlog_detach();
    hooks_stop();
    fm_timer_stop(retain_timer);
    retain_timer = NULL;
}

static const fm_route_t routes[] = {
    { FM_POST, "/events", publish, FM_R_JSON, "event:publish" },
    { FM_GET, "/events/replay", replay, 0, "event:read" },
    { FM_GET, "/events/{id}", event_get, 0, "event:read" },
    { FM_POST, "/schemas", schema_create, FM_R_JSON, "event:schema" },
    { FM_GET, "/schemas", schema_list, 0, "event:read" },
    { FM_GET, "/schemas/{type}", schema_get, 0, "event:read" },
    { FM_POST, "/subscriptions", sub_create, FM_R_JSON, "event:subscribe" },
    { FM_GET, "/subscriptions", sub_list, 0, "event:read" },
    { FM_GET, "/subscriptions/{id}", sub_get, 0, "event:read" },
    { FM_DELETE, "/subscriptions/{id}", sub_delete, 0, "event:subscribe" },
    { FM_GET, "/subscriptions/{id}/status", sub_status, 0, "event:read" },
    { FM_POST, "/subscriptions/{id}/pause", sub_pause, 0, "event:subscribe" },
    { FM_POST, "/subscriptions/{id}/resume", sub_resume, 0, "event:subscribe" },
    { FM_POST, "/subscriptions/{id}/redeliver", sub_redeliver, 0, "event:subscribe" },
    { FM_POST, "/subscriptions/{id}/ack", sub_ack, FM_R_JSON, "event:subscribe" },
};

const fm_module_t fm_eventbus_module = {
    "eventbus", "Event Bus", 9013, FM_M_DB, FM_ROUTES(routes), NULL, start, stop,
};
