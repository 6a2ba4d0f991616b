/*
 * notif_store.c — the Notification Service's messages and their attempts
 * (migrations/notifications/). Every query from a route filters on tenant_id; the
 * sender (notif_send.c) works for the platform across tenants.
 */
#include "notif_int.h"

#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const notif_channel_names[NOTIF_NCHANNELS] = { "email", "sms", "push", "webhook" };

int notif_channel_parse(const char *s)
{
    for (int i = 0; s && i < NOTIF_NCHANNELS; i++)
        if (!strcmp(s, notif_channel_names[i]))
            return i;
    return -1;
}

void notif_content_free(notif_content_t *c)
{
    free(c->subject);
    free(c->text);
    free(c->html);
    c->subject = c->text = c->html = NULL;
}

int notif_insert(fm_db_t *db, const notif_new_t *n)
{
    int64_t now = fm_time_unix_ms();
    const notif_content_t *c = n->content;
    bool held = n->hold_until_ms > now;
    return fm_dbq_write(db,
        "INSERT INTO notifications(id, tenant_id, channel, recipient, user_id, subject, body_text, body_html, "
        "template_id, template_version, locale, urgent, idempotency_key, status, next_ms, held_until_ms, "
        "created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULLIF(?10, 0), ?11, ?12, ?13, ?14, "
        "?15, NULLIF(?16, 0), ?17, ?17)",
        "sssssssssisissIII", n->id, n->tenant, notif_channel_names[n->channel], n->recipient, n->user_id,
        c->subject, c->text, c->html, n->template_id, c->version, c->locale[0] ? c->locale : NULL, (int)n->urgent,
        n->key, held ? "held" : "queued", held ? n->hold_until_ms : now, held ? n->hold_until_ms : (int64_t)0, now);
}

#define NOTIF_JSON_COLS \
    "id, channel, recipient AS \"to\", user_id AS \"userId\", status, subject, body_text AS \"text\", " \
    "body_html AS \"html\", template_id AS \"templateId\", template_version AS \"templateVersion\", locale, " \
    "urgent, idempotency_key AS \"idempotencyKey\", attempts AS \"attemptCount\", held_until_ms AS \"heldUntil\", " \
    "message_id AS \"messageId\", provider_id AS \"providerMessageId\", error, created_ms AS \"createdAt\", " \
    "updated_ms AS \"updatedAt\", sent_ms AS \"sentAt\""
#define NOTIF_JSON_HINTS "sssssssssisbsitsssttt"

int notif_get_json(fm_db_t *db, const char *tenant, const char *id, bool attempts, cJSON **out)
{
    fm_dbc_t *c = fm_dbq_reader(db);
    if (!c)
        return FM_EDB;
    int rc = fm_dbq_obj(c, "SELECT " NOTIF_JSON_COLS " FROM notifications WHERE tenant_id = ? AND id = ?",
                        NOTIF_JSON_HINTS, out, "ss", tenant, id);
    if (rc == FM_OK && attempts) {
        cJSON *a = cJSON_AddArrayToObject(*out, "attempts");
        rc = fm_dbq_array(c, "SELECT n, started_ms AS \"startedAt\", finished_ms AS \"finishedAt\", ok, "
                             "status AS \"providerStatus\", answer AS \"providerAnswer\", error FROM attempts "
                             "WHERE tenant_id = ? AND notification_id = ? ORDER BY n LIMIT 100",
                          "ittbiss", a, "ss", tenant, id);
        if (rc != FM_OK) {
            cJSON_Delete(*out);
            *out = NULL;
        }
    }
    fm_dbq_reader_done(c);
    return rc;
}

int notif_find_key(fm_db_t *db, const char *tenant, const char *key, char id[40])
{
    char *s = NULL;
    int rc = fm_dbq_read_str(db, "SELECT id FROM notifications WHERE tenant_id = ? AND idempotency_key = ?", &s,
                             "ss", tenant, key);
    if (rc == FM_OK)
        snprintf(id, 40, "%s", s ? s : "");
    free(s);
    return rc;
}

int notif_list(fm_db_t *db, const char *tenant, const char *status, const char *channel, const char *recipient,
               int offset, int limit, cJSON *into, int *total)
{
#define WHERE " FROM notifications WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2) " \
              "AND (?3 IS NULL OR channel = ?3) AND (?4 IS NULL OR recipient = ?4)"
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" WHERE,
        .rows_sql = "SELECT " NOTIF_JSON_COLS WHERE " ORDER BY created_ms DESC, id DESC LIMIT ?5 OFFSET ?6",
        .hints = NOTIF_JSON_HINTS, .offset = offset, .limit = limit,
    };
#undef WHERE
    return fm_dbq_read_page(db, &p, into, total, "ssss", tenant, status, channel, recipient);
}
