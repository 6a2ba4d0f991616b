/*
 * notif_int.h — private to the Notification Service: the routes of messages
 * (notifications.c), templates (notif_tmpl.c) and preferences (notif_prefs.c), the store
 * (notif_store.c), the sender on the loop (notif_send.c) and the mail it writes
 * (notif_mail.c).
 */
#ifndef NOTIF_INT_H
#define NOTIF_INT_H

#include "../modules.h"
#include "../../fm_dbq.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define NOTIF_SOURCE "/flowmaster/notifications"
#define NOTIF_EV_SENT "notification.sent"
#define NOTIF_EV_FAILED "notification.failed"

#define NOTIF_SUBJECT_MAX 998           /* RFC 5322 line length */
#define NOTIF_BODY_MAX (256 * 1024)     /* text or HTML body, given or rendered */
#define NOTIF_TO_MAX 2048               /* a URL for webhooks, else far less */
#define NOTIF_DATA_MAX (64 * 1024)      /* template data as JSON text */
#define NOTIF_KEY_MAX 200               /* idempotencyKey */
#define NOTIF_ID_MAX 100                /* template ids, user ids, locales are shorter */
#define NOTIF_ANSWER_MAX 2048           /* provider answer kept per attempt */

typedef enum { NOTIF_EMAIL, NOTIF_SMS, NOTIF_PUSH, NOTIF_WEBHOOK, NOTIF_NCHANNELS } notif_channel_t;
extern const char *const notif_channel_names[NOTIF_NCHANNELS];
int notif_channel_parse(const char *s);     /* -1 when unknown */

static inline fm_db_t *notif_db(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

/* What is sent: rendered subject and bodies (each may be NULL). Owned strings. */
typedef struct notif_content {
    char *subject, *text, *html;
    char locale[NOTIF_ID_MAX + 1];
    int version;
} notif_content_t;
void notif_content_free(notif_content_t *c);

/* ---- notif_tmpl.c ---- */

int notif_tmpl_create(fm_req_t *r);
int notif_tmpl_list(fm_req_t *r);
int notif_tmpl_get(fm_req_t *r);
int notif_tmpl_put(fm_req_t *r);
int notif_tmpl_preview(fm_req_t *r);
/* Renders the template (version 0: the current one) for locale with data into *c.
 * Answers 404/422 itself and returns FM_REPLIED on any problem. */
int notif_tmpl_render(fm_req_t *r, const char *id, int version, const char *locale, const cJSON *data,
                      notif_channel_t ch, notif_content_t *c);
/* Renders given subject/text/html (no template) with data: the same 422s. */
int notif_render_inline(fm_req_t *r, const char *subject, const char *text, const char *html,
                        const cJSON *data, bool strict, notif_content_t *c);

/* ---- notif_prefs.c ---- */

int notif_prefs_get(fm_req_t *r);
int notif_prefs_put(fm_req_t *r);
/* The user's preferences for a send on channel at now_ms: *allowed false when the
 * channel is switched off; *hold_until_ms > 0 when quiet hours hold it until then. */
int notif_prefs_check(fm_db_t *db, const char *tenant, const char *user, notif_channel_t ch, int64_t now_ms,
                      bool *allowed, int64_t *hold_until_ms);

/* ---- notif_store.c ---- */

typedef struct notif_new {
    char id[40];
    const char *tenant, *recipient, *user_id, *key;
    notif_channel_t channel;
    const notif_content_t *content;
    const char *template_id;
    bool urgent;
    int64_t hold_until_ms;      /* 0: send now */
} notif_new_t;
/* FM_ECONFLICT: the idempotency key was taken (by another request). */
int notif_insert(fm_db_t *db, const notif_new_t *n);
/* The notification as the API shows it, with its attempts (attempts: include them). */
int notif_get_json(fm_db_t *db, const char *tenant, const char *id, bool attempts, cJSON **out);
int notif_find_key(fm_db_t *db, const char *tenant, const char *key, char id[40]);
int notif_list(fm_db_t *db, const char *tenant, const char *status, const char *channel, const char *recipient,
               int offset, int limit, cJSON *into, int *total);

/* ---- notif_send.c (loop thread unless said otherwise) ---- */

int notif_send_start(fm_mod_t *m);
void notif_send_stop(fm_mod_t *m);
/* Any thread: something became due; look soon. */
void notif_send_kick(void);

/* ---- notif_mail.c ---- */

/* The RFC 5322 message (CRLF lines, multipart/alternative when both bodies are there):
 * caller frees. message_id gets "<…@host>". */
char *notif_mail_build(const char *from, const char *to, const char *subject, const char *text, const char *html,
                       int64_t date_ms, const char *id, char message_id[128]);
/* RFC 2047 encoded-word form of a header value when it is not plain ASCII (caller frees). */
char *notif_mail_encode_header(const char *value);

#endif
