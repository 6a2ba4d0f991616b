/*
 * notif_send.c — the Notification Service's sender, on the loop thread: one timer armed
 * for the earliest due message (queued, or held until quiet hours end), never one per
 * message. A tick claims due messages in one transaction (status 'sending', a new
 * attempt row) up to [notifications] concurrency in flight, and hands each to the
 * libcurl driver (fm_fetch.h): SMTP for e-mail, a provider webhook for SMS and push, a
 * signed POST for webhooks. The answer finishes the attempt in one transaction: sent,
 * or queued again after an exponential back-off with jitter, or failed after
 * max_attempts; sent and failed are announced through the outbox in that transaction
 * (notification.sent / notification.failed). A message found 'sending' at start (the
 * server stopped mid-delivery) is queued again: delivery is at least once.
 */
#include "notif_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_fetch.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"
#include "../../fm_sign.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_MAX 256

typedef struct sender {
    fm_mod_t *m;
    fm_timer_t *timer;
    int64_t timer_at;
    int inflight;
    bool recovered;
} sender_t;

static sender_t *S;                     /* loop thread */
static fm_db_t *_Atomic running_db;     /* any thread: NULL once stopping */
static atomic_bool kick_posted;

typedef struct job {
    fm_db_t *db;
    char id[40], tenant[80], channel[16];
    int attempt;
    char *recipient, *subject, *text, *html, *template_id;
    char message_id[128];
    /* the outcome, recorded by finish and written by flush */
    bool ok;
    long status;
    char *answer, *provider_id, *error;
    struct job *next;
} job_t;

static void job_free(job_t *j)
{
    free(j->answer);
    free(j->provider_id);
    free(j->error);
    free(j->recipient);
    free(j->subject);
    free(j->text);
    free(j->html);
    free(j->template_id);
    free(j);
}

static void arm(sender_t *s);

/* ---- finishing an attempt ---- */

static int64_t backoff_ms(int attempt)
{
    const fm_config_t *c = fm_cfg();
    int64_t d = c->notify_backoff_ms;
    for (int i = 1; i < attempt && d < c->notify_backoff_max_ms; i++)
        d *= 2;
    if (d > c->notify_backoff_max_ms)
        d = c->notify_backoff_max_ms;
    return d + (int64_t)randombytes_uniform((uint32_t)(d / 4 + 1));
}

static char *event_data(const job_t *j, const char *status, const char *provider_id, const char *error)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", j->id);
    cJSON_AddStringToObject(d, "channel", j->channel);
    cJSON_AddStringToObject(d, "to", j->recipient);
    cJSON_AddStringToObject(d, "status", status);
    cJSON_AddNumberToObject(d, "attempts", j->attempt);
    if (j->template_id)
        cJSON_AddStringToObject(d, "templateId", j->template_id);
    if (provider_id)
        cJSON_AddStringToObject(d, "providerMessageId", provider_id);
    if (j->message_id[0])
        cJSON_AddStringToObject(d, "messageId", j->message_id);
    if (error)
        cJSON_AddStringToObject(d, "error", error);
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return s;
}

/* Outcomes wait here until the loop turns, then go to the database in one transaction
 * (a burst of answers is one commit, not one each). Loop thread. */
static job_t *pending, **pending_tail = &pending;
static fm_timer_t *flush_timer;

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int write_outcome(fm_dbc_t *w, job_t *j, int64_t now)
{
    bool last = !j->ok && j->attempt >= fm_cfg()->notify_max_attempts;
    const char *state = j->ok ? "sent" : last ? "failed" : "queued";
    int rc = fm_dbq_run(w, "UPDATE attempts SET finished_ms = ?, ok = ?, status = ?, answer = ?, error = ? "
                           "WHERE notification_id = ? AND n = ?",
                        "IiIsssi", now, (int)j->ok, (int64_t)j->status, j->answer, j->error, j->id, j->attempt);
    if (rc == FM_OK)
        rc = fm_dbq_run(w, "UPDATE notifications SET status = ?1, next_ms = NULLIF(?2, -1), error = ?3, "
                           "provider_id = coalesce(?4, provider_id), message_id = coalesce(?5, message_id), "
                           "sent_ms = NULLIF(?6, 0), updated_ms = ?7 WHERE id = ?8",
                        "sIsssIIs", state, j->ok || last ? (int64_t)-1 : now + backoff_ms(j->attempt),
                        j->ok ? NULL : j->error, j->provider_id, j->message_id[0] ? j->message_id : NULL,
                        j->ok ? now : (int64_t)0, now, j->id);
    if (rc == FM_OK && (j->ok || last)) {
        char *data = event_data(j, state, j->provider_id, j->error);
        rc = data ? bus_outbox_put(w, NOTIF_SOURCE, j->ok ? NOTIF_EV_SENT : NOTIF_EV_FAILED, j->id, j->tenant, data)
                  : FM_ENOMEM;
        cJSON_free(data);
    }
    return rc;
}

static void flush(void *arg)
{
    (void)arg;
    fm_timer_stop(flush_timer);
    flush_timer = NULL;
    job_t *list = pending;
    pending = NULL;
    pending_tail = &pending;
    sender_t *s = S;
    if (!list || !s || atomic_load(&running_db) != list->db) {
        /* stopping: the rows stay 'sending' and are queued again at the next start */
        while (list) {
            job_t *n = list->next;
            job_free(list);
            list = n;
        }
        return;
    }
    int64_t now = fm_time_unix_ms();
    fm_dbc_t *w = fm_dbq_write_begin(list->db);
    int rc = w ? FM_OK : FM_EDB;
    for (job_t *j = list; j && rc == FM_OK; j = j->next)
        rc = write_outcome(w, j, now);
    if (w)
        rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "notifications: could not record delivery attempts (their messages stay "
                                 "'sending' until the next start)", NULL);
    while (list) {
        job_t *n = list->next;
        s->inflight--;
        job_free(list);
        list = n;
    }
    arm(s);
}

/* Loop thread: the attempt's outcome, written with the others of this turn of the loop. */
static void finish(job_t *j, bool ok, long status, const char *answer, size_t answer_len, const char *provider_id,
                   const char *error)
{
    if (atomic_load(&running_db) != j->db || !S) {
        job_free(j);    /* stopping: the row stays 'sending' and is queued again at the next start */
        return;
    }
    j->ok = ok;
    j->status = status;
    size_t n = answer_len > NOTIF_ANSWER_MAX ? NOTIF_ANSWER_MAX : answer_len;
    j->answer = answer && n ? dup_n(answer, n) : NULL;
    j->provider_id = provider_id ? strdup(provider_id) : NULL;
    j->error = error ? strdup(error) : NULL;
    j->next = NULL;
    *pending_tail = j;
    pending_tail = &j->next;
    if (!flush_timer)
        flush_timer = fm_timer_start(0, 0, flush, NULL);
}

/* ---- channels ---- */

static void smtp_done(const fm_fetch_result_t *res, void *arg)
{
    job_t *j = arg;
    bool ok = !res->error && res->status >= 200 && res->status < 300;
    char answer[64];
    snprintf(answer, sizeof(answer), "%ld", res->status);
    finish(j, ok, res->status, answer, strlen(answer), NULL, ok ? NULL : res->error ? res->error : "not accepted");
}

/* The address inside "Name <addr>", or the whole value. */
static void address_of(const char *from, char *out, size_t len)
{
    const char *lt = strrchr(from, '<');
    snprintf(out, len, "%s", lt ? lt + 1 : from);
    out[strcspn(out, ">")] = '\0';
}

static const char *send_email(job_t *j)
{
    const fm_config_t *c = fm_cfg();
    if (!c->notify_smtp_host[0])
        return "no SMTP server is configured ([notifications] smtp_host)";
    char *msg = notif_mail_build(c->notify_from, j->recipient, j->subject, j->text, j->html, fm_time_unix_ms(),
                                 j->id, j->message_id);
    if (!msg)
        return "out of memory";
    char url[400], from[340], rcpt[300];
    snprintf(url, sizeof(url), "%s://%s:%d", c->notify_smtp_port == 465 ? "smtps" : "smtp", c->notify_smtp_host,
             c->notify_smtp_port);
    address_of(c->notify_envelope_from[0] ? c->notify_envelope_from : c->notify_from, from, sizeof(from));
    snprintf(rcpt, sizeof(rcpt), "<%s>", j->recipient);
    const char *rcpts[] = { rcpt, NULL };
    char mail_from[344];
    snprintf(mail_from, sizeof(mail_from), "<%s>", from);
    const char *st = c->notify_smtp_starttls;
    fm_fetch_req_t req = {
        .url = url, .body = msg, .timeout_ms = c->notify_timeout_ms, .mail_from = mail_from, .mail_rcpt = rcpts,
        .username = c->notify_smtp_user[0] ? c->notify_smtp_user : NULL, .password = c->notify_smtp_password,
        .use_ssl = !strcmp(st, "required") ? FM_FETCH_TLS_REQUIRED : !strcmp(st, "try") ? FM_FETCH_TLS_TRY
                                                                                         : FM_FETCH_TLS_OFF,
        .tls_insecure = c->notify_smtp_tls_insecure,
    };
    int rc = fm_fetch(&req, smtp_done, j);
    free(msg);
    return rc == FM_OK ? NULL : "the SMTP transfer could not be started";
}

/* The provider's message id from its JSON answer: id, sid, messageId or message_id. */
static char *provider_id_of(const char *body, size_t len)
{
    cJSON *o = len ? cJSON_ParseWithLength(body, len) : NULL;
    static const char *const keys[] = { "id", "sid", "messageId", "message_id", "name" };
    char *out = NULL;
    for (size_t i = 0; o && !out && i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
        if (cJSON_IsString(v) && strlen(v->valuestring) <= 200)
            out = strdup(v->valuestring);
        else if (cJSON_IsNumber(v)) {
            char n[32];
            snprintf(n, sizeof(n), "%.0f", v->valuedouble);
            out = strdup(n);
        }
    }
    cJSON_Delete(o);
    return out;
}

static void http_done(const fm_fetch_result_t *res, void *arg)
{
    job_t *j = arg;
    bool ok = !res->error && res->status >= 200 && res->status < 300;
    char err[300] = "";
    if (!ok && res->error)
        snprintf(err, sizeof(err), "%s", res->error);
    else if (!ok)
        snprintf(err, sizeof(err), "the provider answered HTTP %ld", res->status);
    char *pid = ok && strcmp(j->channel, "webhook") ? provider_id_of(res->body, res->len) : NULL;
    finish(j, ok, res->status, res->body, res->len, pid, ok ? NULL : err);
    free(pid);
}

/* Form encoding for the Twilio-compatible SMS post. */
static void form_add(char **out, size_t *len, size_t *cap, const char *k, const char *v)
{
    size_t need = *len + strlen(k) + 3 * strlen(v) + 3;
    if (need > *cap) {
        char *n = realloc(*out, need * 2);
        if (!n)
            return;
        *out = n;
        *cap = need * 2;
    }
    char *p = *out + *len;
    if (*len)
        *p++ = '&';
    p += sprintf(p, "%s=", k);
    for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("-_.~", *s))
            *p++ = (char)*s;
        else
            p += sprintf(p, "%%%02X", *s);
    }
    *p = '\0';
    *len = (size_t)(p - *out);
}

static const char *send_http(job_t *j)
{
    const fm_config_t *c = fm_cfg();
    bool sms = !strcmp(j->channel, "sms"), push = !strcmp(j->channel, "push");
    const char *url = sms ? c->notify_sms_url : push ? c->notify_push_url : j->recipient;
    const char *auth = sms ? c->notify_sms_auth : push ? c->notify_push_auth : "";
    if (!url[0])
        return sms ? "no SMS provider is configured ([notifications] sms_url)"
                   : "no push provider is configured ([notifications] push_url)";
    char *body = NULL;
    const char *ctype = "application/json";
    if (sms && !strcmp(c->notify_sms_format, "twilio")) {
        size_t len = 0, cap = 0;
        form_add(&body, &len, &cap, "To", j->recipient);
        form_add(&body, &len, &cap, "Body", j->text ? j->text : "");
        ctype = "application/x-www-form-urlencoded";
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", j->id);
        cJSON_AddStringToObject(o, "channel", j->channel);
        cJSON_AddStringToObject(o, "tenant", j->tenant);
        cJSON_AddStringToObject(o, "to", j->recipient);
        if (j->subject)
            cJSON_AddStringToObject(o, push ? "title" : "subject", j->subject);
        if (j->text)
            cJSON_AddStringToObject(o, push ? "body" : "text", j->text);
        if (j->html && !sms && !push)
            cJSON_AddStringToObject(o, "html", j->html);
        body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    if (!body)
        return "out of memory";
    char authh[600], sig[200], idh[80], val[160];
    const char *hdrs[5] = { 0 };
    int nh = 0;
    snprintf(idh, sizeof(idh), "X-FlowMaster-Notification: %s", j->id);
    hdrs[nh++] = idh;
    if (auth[0]) {
        snprintf(authh, sizeof(authh), "Authorization: %s", auth);
        hdrs[nh++] = authh;
    }
    if (!strcmp(j->channel, "webhook") && c->notify_webhook_secret[0]) {
        fm_sign_value(c->notify_webhook_secret, body, fm_time_unix_ms() / 1000, val, sizeof(val));
        snprintf(sig, sizeof(sig), FM_SIGN_HEADER ": %s", val);
        hdrs[nh++] = sig;
    }
    hdrs[nh++] = "Expect:";
    fm_fetch_req_t req = { .method = "POST", .url = url, .body = body, .content_type = ctype,
                           .timeout_ms = c->notify_timeout_ms, .headers = hdrs, .max_response = 64 * 1024 };
    int rc = fm_fetch(&req, http_done, j);
    free(body);
    return rc == FM_OK ? NULL : "the request could not be started";
}

static void deliver(job_t *j)
{
    const char *why = !strcmp(j->channel, "email") ? send_email(j) : send_http(j);
    if (why)
        finish(j, false, 0, NULL, 0, NULL, why);
}

/* ---- claiming due messages ---- */

typedef struct claim {
    job_t *jobs[CLAIM_MAX];
    int n, max;
    fm_db_t *db;
} claim_t;

static int claim_row(const fm_dbrow_t *row, void *arg)
{
    claim_t *c = arg;
    if (c->n >= c->max)
        return FM_OK;
    job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return FM_ENOMEM;
    j->db = c->db;
    fm_dbrow_copy(row, 0, j->id, sizeof(j->id));
    fm_dbrow_copy(row, 1, j->tenant, sizeof(j->tenant));
    fm_dbrow_copy(row, 2, j->channel, sizeof(j->channel));
    j->recipient = fm_dbrow_dup(row, 3);
    j->subject = fm_dbrow_dup(row, 4);
    j->text = fm_dbrow_dup(row, 5);
    j->html = fm_dbrow_dup(row, 6);
    j->attempt = (int)fm_dbrow_int(row, 7) + 1;
    j->template_id = fm_dbrow_dup(row, 8);
    c->jobs[c->n++] = j;
    return j->recipient ? FM_OK : FM_ENOMEM;
}

static const char SQL_DUE[] =
    "SELECT id, tenant_id, channel, recipient, subject, body_text, body_html, attempts, template_id "
    "FROM notifications WHERE status IN ('queued', 'held') AND next_ms <= ? ORDER BY next_ms LIMIT ?";
static const char SQL_CLAIM[] =
    "UPDATE notifications SET status = 'sending', attempts = ?, next_ms = NULL, updated_ms = ? WHERE id = ?";
static const char SQL_ATTEMPT[] =
    "INSERT INTO attempts(notification_id, tenant_id, n, started_ms) VALUES (?, ?, ?, ?)";

static void tick(void *arg)
{
    sender_t *s = arg;
    fm_timer_stop(s->timer);    /* this one-shot timer, freed once closed */
    s->timer = NULL;
    fm_db_t *db = s->m->db;
    int64_t now = fm_time_unix_ms();
    if (!s->recovered) {
        s->recovered = true;
        fm_dbq_write(db, "UPDATE attempts SET finished_ms = ?1, error = 'interrupted: the server stopped during "
                         "the delivery' WHERE finished_ms IS NULL", "I", now);
        fm_dbq_write(db, "UPDATE notifications SET status = 'queued', next_ms = ?1 WHERE status = 'sending'", "I",
                     now);
    }
    int room = fm_cfg()->notify_concurrency - s->inflight;
    if (room <= 0)
        return;     /* a finishing delivery re-arms */
    static claim_t c;   /* loop thread only */
    c.n = 0;
    c.max = room < CLAIM_MAX ? room : CLAIM_MAX;
    c.db = db;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    int rc = w ? fm_dbq_weach(w, SQL_DUE, claim_row, &c, "Ii", now, c.max) : FM_EDB;
    for (int i = 0; i < c.n && rc == FM_OK; i++) {
        rc = fm_dbq_wrun(w, SQL_CLAIM, "iIs", c.jobs[i]->attempt, now, c.jobs[i]->id);
        if (rc == FM_OK)
            rc = fm_dbq_wrun(w, SQL_ATTEMPT, "ssiI", c.jobs[i]->id, c.jobs[i]->tenant, c.jobs[i]->attempt, now);
    }
    if (w)
        rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        for (int i = 0; i < c.n; i++)
            job_free(c.jobs[i]);
        fm_log_msg(FM_LOG_ERROR, "notifications: claiming due messages failed; retrying in a second", NULL);
        s->timer = fm_timer_start(1000, 0, tick, s);
        s->timer_at = now + 1000;
        return;
    }
    s->inflight += c.n;
    for (int i = 0; i < c.n; i++)
        deliver(c.jobs[i]);
    arm(s);
}

static int min_row(const fm_dbrow_t *row, void *arg)
{
    *(int64_t *)arg = fm_dbrow_null(row, 0) ? -1 : fm_dbrow_int(row, 0);
    return FM_OK;
}

/* (Re-)arms the one timer for the earliest due message, if there is room in flight. */
static void arm(sender_t *s)
{
    if (s->inflight >= fm_cfg()->notify_concurrency)
        return;
    int64_t next = -1;
    if (fm_dbq_read_one(s->m->db, "SELECT min(next_ms) FROM notifications WHERE status IN ('queued', 'held')",
                        min_row, &next, "") != FM_OK)
        next = fm_time_unix_ms() + 1000;
    if (next < 0)
        return;
    if (s->timer && s->timer_at <= next)
        return;
    if (s->timer)
        fm_timer_stop(s->timer);
    int64_t delay = next - fm_time_unix_ms();
    s->timer = fm_timer_start((uint64_t)(delay > 0 ? delay : 0), 0, tick, s);
    s->timer_at = next;
}

static void kick_cb(void *arg)
{
    (void)arg;
    atomic_store(&kick_posted, false);
    if (S && S->recovered)
        arm(S);
}

void notif_send_kick(void)
{
    if (!atomic_exchange(&kick_posted, true) && fm_loop_post(kick_cb, NULL) != FM_OK)
        atomic_store(&kick_posted, false);
}

int notif_send_start(fm_mod_t *m)
{
    sender_t *s = calloc(1, sizeof(*s));
    if (!s)
        return FM_ENOMEM;
    s->m = m;
    s->timer = fm_timer_start(0, 0, tick, s);   /* recovery first, once the loop turns */
    s->timer_at = 0;
    m->state = s;
    S = s;
    atomic_store(&running_db, m->db);
    return s->timer ? FM_OK : FM_ENOMEM;
}

void notif_send_stop(fm_mod_t *m)
{
    sender_t *s = m->state;
    if (!s)
        return;
    atomic_store(&running_db, NULL);
    if (flush_timer)
        flush(NULL);    /* frees what is pending; the rows are queued again at the next start */
    if (s->timer)
        fm_timer_stop(s->timer);
    S = NULL;
    free(s);
    m->state = NULL;
}
