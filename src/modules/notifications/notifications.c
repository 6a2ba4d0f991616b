/*
 * notifications.c — Notification Service (9009): send, read and list messages, and the
 * route table of the module (templates in notif_tmpl.c, preferences in notif_prefs.c).
 * A send is rendered and checked here, on the worker thread, and stored 'queued' (or
 * 'held' by quiet hours); the sender on the loop (notif_send.c) delivers it, retrying
 * with back-off, and announces notification.sent / notification.failed.
 * docs/notifications.md is the reference.
 */
#include "notif_int.h"

#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* A recipient the channel can use; NULL when fine, else why not. */
static const char *recipient_problem(notif_channel_t ch, const char *to)
{
    size_t n = strlen(to);
    if (strpbrk(to, "\r\n") || n == 0)
        return "must be one line, not empty";
    switch (ch) {
    case NOTIF_EMAIL: {
        const char *at = strchr(to, '@');
        if (n > 254 || !at || at == to || !at[1] || strchr(at + 1, '@') || strpbrk(to, " <>,;\"()[]\\"))
            return "must be one e-mail address (local@domain, at most 254 characters)";
        return NULL;
    }
    case NOTIF_SMS:
        if (n < 3 || n > 16 || to[0] != '+' || strspn(to + 1, "0123456789") != n - 1)
            return "must be a phone number in E.164 form (+ and up to 15 digits)";
        return NULL;
    case NOTIF_PUSH:
        return n > 4096 ? "a device token of at most 4096 characters" : NULL;
    case NOTIF_WEBHOOK:
        if (n > NOTIF_TO_MAX || (strncmp(to, "http://", 7) && strncmp(to, "https://", 8)))
            return "must be an http:// or https:// URL of at most 2048 characters";
        return NULL;
    default:
        return "unknown channel";
    }
}

static int reply_one(fm_req_t *r, const char *id, int status)
{
    cJSON *o = NULL;
    int rc = notif_get_json(notif_db(r), fm_req_tenant(r), id, true, &o);
    if (rc != FM_OK)
        return rc;
    char loc[80];
    snprintf(loc, sizeof(loc), "/notifications/%s", id);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, status, o);
}

static int send(fm_req_t *r)
{
    static const fm_field_t fields[] = {
        { "channel", FM_F_STRING, true, 1, 32, NULL },
        { "to", FM_F_STRING, true, 1, NOTIF_TO_MAX, NULL },
        { "userId", FM_F_STRING, false, 1, NOTIF_ID_MAX, NULL },
        { "templateId", FM_F_STRING, false, 1, NOTIF_ID_MAX, NULL },
        { "templateVersion", FM_F_INT, false, 1, 1000000000, NULL },
        { "locale", FM_F_STRING, false, 1, 35, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_" },
        { "subject", FM_F_STRING, false, 0, 0, NULL },
        { "body", FM_F_STRING, false, 0, 0, NULL },
        { "html", FM_F_STRING, false, 0, 0, NULL },
        { "data", FM_F_OBJECT, false, 0, 0, NULL },
        { "idempotencyKey", FM_F_STRING, false, 1, NOTIF_KEY_MAX, NULL },
        { "urgent", FM_F_BOOL, false, 0, 0, NULL },
        { "strict", FM_F_BOOL, false, 0, 0, NULL },
    };
    if (fm_req_check(r, fields, sizeof(fields) / sizeof(fields[0])))
        return FM_OK;
    const cJSON *b = fm_req_json(r);
    const char *tenant = fm_req_tenant(r);
    int ch = notif_channel_parse(str(b, "channel"));
    if (ch < 0)
        return fm_reply_invalid(r, "channel", "must be \"email\", \"sms\", \"push\" or \"webhook\"");
    const char *to = str(b, "to"), *why = recipient_problem((notif_channel_t)ch, to);
    if (why)
        return fm_reply_invalid(r, "to", why);
    const char *tid = str(b, "templateId"), *subject = str(b, "subject"), *body = str(b, "body"),
               *html = str(b, "html");
    if (!tid && !body && !html)
        return fm_reply_invalid(r, "body", "required when there is no templateId (or give html)");
    if (tid && (subject || body || html))
        return fm_reply_invalid(r, "templateId", "give a templateId or subject/body/html, not both");
    if (subject && strlen(subject) > NOTIF_SUBJECT_MAX)
        return fm_reply_problem(r, 413, NULL, NULL, NULL, "subject is longer than %d bytes", NOTIF_SUBJECT_MAX);
    if ((body && strlen(body) > NOTIF_BODY_MAX) || (html && strlen(html) > NOTIF_BODY_MAX))
        return fm_reply_problem(r, 413, NULL, NULL, NULL, "body and html may be at most %d bytes each",
                                NOTIF_BODY_MAX);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(b, "data");
    if (data) {
        char *t = cJSON_PrintUnformatted(data);
        size_t n = t ? strlen(t) : 0;
        cJSON_free(t);
        if (n > NOTIF_DATA_MAX)
            return fm_reply_problem(r, 413, NULL, NULL, NULL, "data may be at most %d bytes as JSON", NOTIF_DATA_MAX);
    }
    const char *key = str(b, "idempotencyKey");
    char id[40];
    if (key && notif_find_key(notif_db(r), tenant, key, id) == FM_OK)
        return reply_one(r, id, 202);

    notif_content_t c = { 0 };
    int rc;
    if (tid) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "templateVersion");
        rc = notif_tmpl_render(r, tid, v ? v->valueint : 0, str(b, "locale"), data, (notif_channel_t)ch, &c);
    } else {
        rc = notif_render_inline(r, subject, body, html, data, cJSON_IsTrue(cJSON_GetObjectItem(b, "strict")), &c);
        if (rc == FM_OK && str(b, "locale"))
            snprintf(c.locale, sizeof(c.locale), "%s", str(b, "locale"));
    }
    if (rc != FM_OK) {
        notif_content_free(&c);
        return rc == FM_REPLIED ? FM_OK : rc;
    }
    if (ch == NOTIF_EMAIL && !c.text && !c.html) {
        notif_content_free(&c);
        return fm_reply_invalid(r, "body", "an e-mail needs a text or HTML body");
    }
    bool urgent = cJSON_IsTrue(cJSON_GetObjectItem(b, "urgent")), allowed = true;
    int64_t hold = 0;
    const char *user = str(b, "userId") ? str(b, "userId") : to;
    rc = notif_prefs_check(notif_db(r), tenant, user, (notif_channel_t)ch, fm_time_unix_ms(), &allowed, &hold);
    if (rc != FM_OK) {
        notif_content_free(&c);
        return rc;
    }
    if (!allowed) {
        notif_content_free(&c);
        return fm_reply_problem(r, 409, NULL, NULL, NULL,
                                "the preferences of user '%s' do not allow the %s channel", user,
                                notif_channel_names[ch]);
    }
    notif_new_t n = { .tenant = tenant, .recipient = to, .user_id = str(b, "userId"), .key = key,
                      .channel = (notif_channel_t)ch, .content = &c, .template_id = tid, .urgent = urgent,
                      .hold_until_ms = urgent ? 0 : hold };
    fm_id_random("ntf", n.id, sizeof(n.id));
    rc = notif_insert(notif_db(r), &n);
    notif_content_free(&c);
    if (rc == FM_ECONFLICT && key && notif_find_key(notif_db(r), tenant, key, id) == FM_OK)
        return reply_one(r, id, 202);   /* a concurrent send with the same key won */
    if (rc != FM_OK)
        return rc;
    notif_send_kick();
    return reply_one(r, n.id, 202);
}

static int get(fm_req_t *r)
{
    cJSON *o = NULL;
    int rc = notif_get_json(notif_db(r), fm_req_tenant(r), fm_req_param(r, "id"), true, &o);
    if (rc != FM_OK)
        return rc;
    return fm_reply_json(r, 200, o);
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char sb[32], cb[32], rb[NOTIF_TO_MAX + 1];
    const char *status = fm_req_query(r, "status", sb, sizeof(sb));
    const char *channel = fm_req_query(r, "channel", cb, sizeof(cb));
    const char *to = fm_req_query(r, "to", rb, sizeof(rb));
    if (!to)
        to = fm_req_query(r, "recipient", rb, sizeof(rb));
    static const char *const statuses[] = { "queued", "held", "sending", "sent", "failed" };
    bool ok = !status;
    for (size_t i = 0; status && i < 5; i++)
        ok |= !strcmp(status, statuses[i]);
    if (!ok)
        return fm_reply_invalid(r, "status", "must be queued, held, sending, sent or failed");
    if (channel && notif_channel_parse(channel) < 0)
        return fm_reply_invalid(r, "channel", "must be email, sms, push or webhook");
    cJSON *items = cJSON_CreateArray();
    int rc = notif_list(notif_db(r), fm_req_tenant(r), status, channel, to, offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static const fm_route_t routes[] = {
    { FM_POST, "/notifications/send", send, FM_R_JSON, "notification:send" },
    { FM_GET, "/notifications", list, 0, "notification:read" },
    { FM_GET, "/notifications/{id}", get, 0, "notification:read" },
    { FM_POST, "/notifications/templates", notif_tmpl_create, FM_R_JSON, "notification:write" },
    { FM_GET, "/notifications/templates", notif_tmpl_list, 0, "notification:read" },
    { FM_GET, "/notifications/templates/{id}", notif_tmpl_get, 0, "notification:read" },
    { FM_PUT, "/notifications/templates/{id}", notif_tmpl_put, FM_R_JSON, "notification:write" },
    { FM_POST, "/notifications/templates/{id}/preview", notif_tmpl_preview, FM_R_JSON, "notification:read" },
    { FM_GET, "/notifications/preferences/{userId}", notif_prefs_get, 0, "notification:read" },
    { FM_PUT, "/notifications/preferences/{userId}", notif_prefs_put, FM_R_JSON, "notification:write" },
};

const fm_module_t fm_notifications_module = {
    "notifications", "Notification Service", 9009, FM_M_DB, FM_ROUTES(routes), NULL, notif_send_start,
    notif_send_stop,
};
