/*
 * notif_prefs.c — per-user preferences of the Notification Service: which channels a
 * user accepts and quiet hours in an IANA time zone. A send to a channel the user has
 * turned off is refused (409); one that falls in quiet hours is stored 'held' until
 * they end, unless it is urgent. Zone offsets come from the system zoneinfo through
 * the FEEL library's reader, as for schedules.
 */
#include "notif_int.h"

#include "../../feel/feel_int.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400

/* "HH:MM" or "HH:MM:SS" → seconds of the day; -1 when malformed. */
static int parse_clock(const char *s)
{
    int h, m, sec = 0, n = 0;
    size_t len = s ? strlen(s) : 0;
    if (len == 5 && sscanf(s, "%2d:%2d%n", &h, &m, &n) == 2 && n == 5)
        ;
    else if (len == 8 && sscanf(s, "%2d:%2d:%2d%n", &h, &m, &sec, &n) == 3 && n == 8)
        ;
    else
        return -1;
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
        return -1;
    return h * 3600 + m * 60 + sec;
}

static bool zone_ok(const char *z)
{
    int32_t off;
    return z && *z && strlen(z) < 64 && strcmp(z, "Z") && feel_zone_offset(z, 0, false, &off) == 0;
}

int notif_prefs_put(fm_req_t *r)
{
    const cJSON *b = fm_req_json(r);
    const char *user = fm_req_param(r, "userId");
    if (strlen(user) > NOTIF_TO_MAX)
        return fm_reply_invalid(r, "userId", "at most 2048 characters");
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(b, "channels");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(b, "quietHours");
    cJSON *doc = cJSON_CreateObject();
    if (ch && !cJSON_IsNull(ch)) {
        if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) > NOTIF_NCHANNELS) {
            cJSON_Delete(doc);
            return fm_reply_invalid(r, "channels", "an array of the allowed channels (email, sms, push, webhook)");
        }
        const cJSON *c;
        cJSON_ArrayForEach(c, ch) {
            if (notif_channel_parse(cJSON_GetStringValue(c)) < 0) {
                cJSON_Delete(doc);
                return fm_reply_invalid(r, "channels", "each must be email, sms, push or webhook");
            }
        }
        cJSON_AddItemToObject(doc, "channels", cJSON_Duplicate(ch, true));
    } else {
        cJSON_AddNullToObject(doc, "channels");
    }
    if (q && !cJSON_IsNull(q)) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(q, "start")),
                   *e = cJSON_GetStringValue(cJSON_GetObjectItem(q, "end")),
                   *z = cJSON_GetStringValue(cJSON_GetObjectItem(q, "timezone"));
        if (!cJSON_IsObject(q) || parse_clock(s) < 0) {
            cJSON_Delete(doc);
            return fm_reply_invalid(r, "quietHours/start", "required: a time of day HH:MM or HH:MM:SS");
        }
        if (parse_clock(e) < 0) {
            cJSON_Delete(doc);
            return fm_reply_invalid(r, "quietHours/end", "required: a time of day HH:MM or HH:MM:SS");
        }
        if (!z)
            z = "UTC";
        if (!zone_ok(z)) {
            cJSON_Delete(doc);
            return fm_reply_invalid(r, "quietHours/timezone", "an IANA time zone name (Europe/Berlin)");
        }
        cJSON *qo = cJSON_AddObjectToObject(doc, "quietHours");
        cJSON_AddStringToObject(qo, "start", s);
        cJSON_AddStringToObject(qo, "end", e);
        cJSON_AddStringToObject(qo, "timezone", z);
    } else {
        cJSON_AddNullToObject(doc, "quietHours");
    }
    int rc = fm_dbq_write(notif_db(r),
                          "INSERT INTO preferences(tenant_id, user_id, doc, revision, updated_ms) VALUES (?1, ?2, ?3, "
                          "1, ?4) ON CONFLICT(tenant_id, user_id) DO UPDATE SET doc = ?3, revision = revision + 1, "
                          "updated_ms = ?4",
                          "ssjI", fm_req_tenant(r), user, doc, fm_time_unix_ms());
    cJSON_Delete(doc);
    if (rc != FM_OK)
        return rc;
    return notif_prefs_get(r);
}

int notif_prefs_get(fm_req_t *r)
{
    cJSON *o = NULL;
    int rc = fm_dbq_read_obj(notif_db(r), "SELECT user_id AS \"userId\", doc, revision, updated_ms AS \"updatedAt\" "
                                          "FROM preferences WHERE tenant_id = ? AND user_id = ?",
                             "sJit", &o, "ss", fm_req_tenant(r), fm_req_param(r, "userId"));
    if (rc != FM_OK)
        return rc;
    /* the document's members at the top level */
    cJSON *doc = cJSON_DetachItemFromObject(o, "doc");
    cJSON *c = doc ? doc->child : NULL;
    while (c) {
        cJSON *next = c->next;
        cJSON_AddItemToObject(o, c->string, cJSON_DetachItemViaPointer(doc, c));
        c = next;
    }
    cJSON_Delete(doc);
    return fm_reply_json(r, 200, o);
}

typedef struct pref_doc {
    cJSON *doc;
} pref_doc_t;

static int doc_row(const fm_dbrow_t *row, void *arg)
{
    ((pref_doc_t *)arg)->doc = fm_dbrow_json(row, 0);
    return FM_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

int notif_prefs_check(fm_db_t *db, const char *tenant, const char *user, notif_channel_t ch, int64_t now_ms,
                      bool *allowed, int64_t *hold_until_ms)
{
    *allowed = true;
    *hold_until_ms = 0;
    pref_doc_t p = { 0 };
    int rc = fm_dbq_read_one(db, "SELECT doc FROM preferences WHERE tenant_id = ? AND user_id = ?", doc_row, &p,
                             "ss", tenant, user);
    if (rc == FM_ENOTFOUND)
        return FM_OK;
    if (rc != FM_OK)
        return rc;
    const cJSON *chs = cJSON_GetObjectItem(p.doc, "channels");
    if (cJSON_IsArray(chs)) {
        *allowed = false;
        const cJSON *c;
        cJSON_ArrayForEach(c, chs)
            if (notif_channel_parse(cJSON_GetStringValue(c)) == (int)ch)
                *allowed = true;
    }
    const cJSON *q = cJSON_GetObjectItem(p.doc, "quietHours");
    int start = parse_clock(cJSON_GetStringValue(cJSON_GetObjectItem(q, "start")));
    int end = parse_clock(cJSON_GetStringValue(cJSON_GetObjectItem(q, "end")));
    const char *zone = cJSON_GetStringValue(cJSON_GetObjectItem(q, "timezone"));
    int32_t off = 0;
    if (start >= 0 && end >= 0 && start != end && zone && feel_zone_offset(zone, floor_div(now_ms, 1000), false,
                                                                           &off) == 0) {
        int64_t local_s = floor_div(now_ms, 1000) + off;
        int sod = (int)(local_s - floor_div(local_s, DAY_S) * DAY_S);
        bool quiet = start < end ? (sod >= start && sod < end) : (sod >= start || sod < end);
        if (quiet) {
            int64_t until_local = local_s + ((end - sod + DAY_S) % DAY_S);
            int64_t until = until_local - off;
            int32_t off2 = off;
            if (feel_zone_offset(zone, until, false, &off2) == 0 && off2 != off)
                until = until_local - off2;     /* a DST change inside the quiet hours */
            *hold_until_ms = until * 1000;
        }
    }
    cJSON_Delete(p.doc);
    return FM_OK;
}
