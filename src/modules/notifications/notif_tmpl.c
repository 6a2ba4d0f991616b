/*
 * notif_tmpl.c — templates of the Notification Service: Mustache (src/fm_mustache.h)
 * subject, text and HTML bodies per locale, with partials, stored as immutable versions
 * (PUT makes the next one; If-Match "v<version>"). Every part is syntax-checked when
 * stored (422 with line and column per part) and rendered when a message is sent:
 * HTML bodies escape, text bodies and subjects do not; with `strict` a missing
 * variable is a 422 naming it.
 */
#include "notif_int.h"

#include "../../fm_id.h"
#include "../../fm_log.h"
#include "../../fm_mustache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOCALES 50
#define MAX_PARTIALS 50
#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define LOCALE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
#define TMPL_COLS "id, version, name, channel, strict, default_locale AS \"defaultLocale\", locales, partials, " \
                  "created_ms AS \"createdAt\""
#define TMPL_HINTS "sisbbsJjt"

static void add_err(cJSON *errs, const char *ptr, const char *detail, int line, int col)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "pointer", ptr);
    cJSON_AddStringToObject(e, "detail", detail);
    if (line) {
        cJSON_AddNumberToObject(e, "line", line);
        cJSON_AddNumberToObject(e, "column", col);
    }
    cJSON_AddItemToArray(errs, e);
}

/* One template part: a string that parses, or an errors[] entry. */
static void check_part(cJSON *errs, const char *ptr, const cJSON *v)
{
    if (!v)
        return;
    if (!cJSON_IsString(v)) {
        add_err(errs, ptr, "must be a string", 0, 0);
        return;
    }
    fm_mustache_err_t e;
    if (fm_mustache_check(v->valuestring, strlen(v->valuestring), &e) != 0) {
        char d[300];
        snprintf(d, sizeof(d), "template syntax error at line %d, column %d: %s", e.line, e.column, e.message);
        add_err(errs, ptr, d, e.line, e.column);
    }
}

static bool chars_ok(const char *s, const char *set, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && strspn(s, set) == n;
}

/* Checks a template body (POST or PUT); answers 422 and returns FM_REPLIED when bad. */
static int check_body(fm_req_t *r, const cJSON *b, bool with_id)
{
    cJSON *errs = cJSON_CreateArray();
    char ptr[200];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "id");
    if (with_id && v && (!cJSON_IsString(v) || !chars_ok(v->valuestring, ID_CHARS, NOTIF_ID_MAX)))
        add_err(errs, "/id", "1 to 100 of A-Z a-z 0-9 . _ -", 0, 0);
    v = cJSON_GetObjectItemCaseSensitive(b, "name");
    if (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 200)
        add_err(errs, "/name", "required: 1 to 200 characters", 0, 0);
    v = cJSON_GetObjectItemCaseSensitive(b, "channel");
    if (v && (!cJSON_IsString(v) || notif_channel_parse(v->valuestring) < 0))
        add_err(errs, "/channel", "must be email, sms, push or webhook", 0, 0);
    v = cJSON_GetObjectItemCaseSensitive(b, "strict");
    if (v && !cJSON_IsBool(v))
        add_err(errs, "/strict", "must be a boolean", 0, 0);
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(b, "locales");
    int nloc = cJSON_GetArraySize(locs);
    if (!cJSON_IsObject(locs) || nloc < 1 || nloc > MAX_LOCALES) {
        add_err(errs, "/locales", "required: an object of 1 to 50 locales, each {subject, text, html}", 0, 0);
    } else {
        const cJSON *l;
        cJSON_ArrayForEach(l, locs) {
            if (!chars_ok(l->string, LOCALE_CHARS, 35)) {
                add_err(errs, "/locales", "locale names are 1 to 35 of A-Z a-z 0-9 - _", 0, 0);
                continue;
            }
            snprintf(ptr, sizeof(ptr), "/locales/%s", l->string);
            if (!cJSON_IsObject(l)) {
                add_err(errs, ptr, "must be an object {subject, text, html}", 0, 0);
                continue;
            }
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(l, "text"), *h = cJSON_GetObjectItemCaseSensitive(l, "html");
            if (!t && !h)
                add_err(errs, ptr, "needs text or html", 0, 0);
            static const char *const parts[] = { "subject", "text", "html" };
            for (int i = 0; i < 3; i++) {
                snprintf(ptr, sizeof(ptr), "/locales/%s/%s", l->string, parts[i]);
                check_part(errs, ptr, cJSON_GetObjectItemCaseSensitive(l, parts[i]));
            }
        }
        v = cJSON_GetObjectItemCaseSensitive(b, "defaultLocale");
        if (v && (!cJSON_IsString(v) || !cJSON_GetObjectItemCaseSensitive(locs, v->valuestring)))
            add_err(errs, "/defaultLocale", "must name one of the locales", 0, 0);
    }
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(b, "partials");
    if (parts && (!cJSON_IsObject(parts) || cJSON_GetArraySize(parts) > MAX_PARTIALS)) {
        add_err(errs, "/partials", "an object of at most 50 named templates", 0, 0);
    } else if (parts) {
        const cJSON *p;
        cJSON_ArrayForEach(p, parts) {
            if (!chars_ok(p->string, ID_CHARS, FM_MUSTACHE_MAX_NAME)) {
                add_err(errs, "/partials", "partial names are 1 to 128 of A-Z a-z 0-9 . _ -", 0, 0);
                continue;
            }
            snprintf(ptr, sizeof(ptr), "/partials/%s", p->string);
            check_part(errs, ptr, p);
        }
    }
    if (cJSON_GetArraySize(errs) == 0) {
        cJSON_Delete(errs);
        return FM_OK;
    }
    cJSON *first = cJSON_GetArrayItem(errs, 0), *ext = cJSON_CreateObject();
    char detail[400];
    snprintf(detail, sizeof(detail), "'%s' is invalid: %s", cJSON_GetStringValue(cJSON_GetObjectItem(first, "pointer")),
             cJSON_GetStringValue(cJSON_GetObjectItem(first, "detail")));
    cJSON_AddItemToObject(ext, "errors", errs);
    fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext, "%s", detail);
    return FM_REPLIED;
}

static void etag(fm_req_t *r, int version)
{
    char e[32];
    snprintf(e, sizeof(e), "\"v%d\"", version);
    fm_reply_header(r, "ETag", e);
}

static int64_t latest(fm_db_t *db, const char *tenant, const char *id)
{
    int64_t v = 0;
    if (fm_dbq_read_int(db, "SELECT max(version) FROM templates WHERE tenant_id = ? AND id = ?", &v, "ss", tenant,
                        id) != FM_OK)
        return -1;
    return v;
}

static int reply_version(fm_req_t *r, const char *id, int version, int status)
{
    cJSON *o = NULL;
    int rc = fm_dbq_read_obj(notif_db(r), "SELECT " TMPL_COLS " FROM templates WHERE tenant_id = ? AND id = ? AND "
                                          "version = ?", TMPL_HINTS, &o, "ssi", fm_req_tenant(r), id, version);
    if (rc != FM_OK)
        return rc;
    etag(r, version);
    if (status == 201) {
        char loc[160];
        snprintf(loc, sizeof(loc), "/notifications/templates/%s", id);
        fm_reply_header(r, "Location", loc);
    }
    return fm_reply_json(r, status, o);
}

static int store(fm_req_t *r, const char *id, int version)
{
    const cJSON *b = fm_req_json(r);
    const cJSON *locs = cJSON_GetObjectItemCaseSensitive(b, "locales");
    const char *def = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "defaultLocale"));
    if (!def)
        def = locs->child->string;
    return fm_dbq_write(notif_db(r),
                        "INSERT INTO templates(tenant_id, id, version, name, channel, strict, default_locale, locales, "
                        "partials, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ssissisjjI", fm_req_tenant(r), id, version,
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "name")),
                        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "channel")),
                        (int)cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "strict")), def, locs,
                        cJSON_GetObjectItemCaseSensitive(b, "partials"), fm_time_unix_ms());
}

int notif_tmpl_create(fm_req_t *r)
{
    const cJSON *b = fm_req_json(r);
    if (check_body(r, b, true))
        return FM_OK;
    char id[NOTIF_ID_MAX + 1];
    const char *given = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "id"));
    if (given)
        snprintf(id, sizeof(id), "%s", given);
    else
        fm_id_random("tpl", id, sizeof(id));
    int rc = store(r, id, 1);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "template '%s' exists; PUT makes a new version", id);
    if (rc != FM_OK)
        return rc;
    return reply_version(r, id, 1, 201);
}

int notif_tmpl_put(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    const char *etag_in = NULL;
    if (fm_req_if_match(r, &etag_in))
        return FM_OK;
    int64_t cur = latest(notif_db(r), fm_req_tenant(r), id);
    if (cur < 0)
        return FM_EDB;
    if (cur == 0)
        return FM_ENOTFOUND;
    if (etag_in && strcmp(etag_in, "*")) {
        char want[32];
        snprintf(want, sizeof(want), "\"v%lld\"", (long long)cur);
        if (strcmp(etag_in, want))
            return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL,
                                    "If-Match must be the template's current ETag (%s)", want);
    }
    if (check_body(r, fm_req_json(r), false))
        return FM_OK;
    int rc = store(r, id, (int)cur + 1);
    if (rc == FM_ECONFLICT)
        return fm_reply_problem(r, 412, NULL, "Precondition Failed", NULL, "the template changed meanwhile");
    if (rc != FM_OK)
        return rc;
    return reply_version(r, id, (int)cur + 1, 200);
}

static int version_param(fm_req_t *r, int *version)
{
    char vb[16];
    const char *vs = fm_req_query(r, "version", vb, sizeof(vb));
    *version = 0;
    if (!vs)
        return FM_OK;
    char *end;
    long v = strtol(vs, &end, 10);
    if (!*vs || *end || v < 1 || v > 1000000000) {
        fm_reply_invalid(r, "version", "must be a version number (1 or more)");
        return FM_REPLIED;
    }
    *version = (int)v;
    return FM_OK;
}

int notif_tmpl_get(fm_req_t *r)
{
    const char *id = fm_req_param(r, "id");
    int version;
    if (version_param(r, &version))
        return FM_OK;
    if (!version) {
        int64_t cur = latest(notif_db(r), fm_req_tenant(r), id);
        if (cur <= 0)
            return cur < 0 ? FM_EDB : FM_ENOTFOUND;
        version = (int)cur;
    }
    return reply_version(r, id, version, 200);
}

int notif_tmpl_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
#define WHERE " FROM templates t WHERE tenant_id = ?1 AND version = (SELECT max(version) FROM templates " \
              "WHERE tenant_id = t.tenant_id AND id = t.id)"
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*)" WHERE,
        .rows_sql = "SELECT " TMPL_COLS WHERE " ORDER BY id LIMIT ?2 OFFSET ?3",
        .hints = TMPL_HINTS, .offset = offset, .limit = limit,
    };
#undef WHERE
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_read_page(notif_db(r), &p, items, &total, "s", fm_req_tenant(r));
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

/* ---- rendering ---- */

/* Renders one part into *out (NULL part: *out stays NULL); answers 422 on failure. */
static int render_part(fm_req_t *r, const char *ptr, const char *tpl, const cJSON *data, bool html, bool strict,
                       const cJSON *partials, char **out)
{
    if (!tpl)
        return FM_OK;
    fm_mustache_opts_t o = { .escape_html = html, .strict = strict, .partials = partials,
                             .max_output = NOTIF_BODY_MAX };
    fm_mustache_err_t e;
    if (fm_mustache_render(tpl, strlen(tpl), data, &o, out, NULL, &e) == 0)
        return FM_OK;
    cJSON *ext = cJSON_CreateObject(), *errs = cJSON_AddArrayToObject(ext, "errors");
    char d[400];
    const char *what = e.code == FM_MUSTACHE_EMISSING ? "missing variable" :
                       e.code == FM_MUSTACHE_ESYNTAX ? "template syntax error" : "template limit";
    snprintf(d, sizeof(d), "%s in %s at line %d, column %d: %s", what, e.source, e.line, e.column, e.message);
    add_err(errs, ptr, d, e.line, e.column);
    if (e.code == FM_MUSTACHE_EMISSING)
        cJSON_AddStringToObject(ext, "missingVariable", e.name);
    if (e.code == FM_MUSTACHE_ELIMIT && strstr(e.message, "output"))
        fm_reply_problem(r, 413, NULL, NULL, ext, "%s", d);
    else
        fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext, "%s", d);
    return FM_REPLIED;
}

static const char *const tmpl_parts[] = { "subject", "text", "html" };
static const char *const inline_parts[] = { "subject", "body", "html" };

static int render_all(fm_req_t *r, const char *base, const cJSON *variant, const cJSON *data, bool strict,
                      const cJSON *partials, notif_content_t *c, const char *const names[3])
{
    char ptr[160];
    const char *const *parts = tmpl_parts;
    char **outs[] = { &c->subject, &c->text, &c->html };
    for (int i = 0; i < 3; i++) {
        snprintf(ptr, sizeof(ptr), "%s%s", base, names[i]);
        const char *tpl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(variant, parts[i]));
        int rc = render_part(r, ptr, tpl, data, i == 2, strict, partials, outs[i]);
        if (rc != FM_OK)
            return rc;
    }
    if (c->subject && (strpbrk(c->subject, "\r\n") || strlen(c->subject) > NOTIF_SUBJECT_MAX)) {
        /* a subject is one header line: line breaks from data are folded into spaces */
        for (char *p = c->subject; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        if (strlen(c->subject) > NOTIF_SUBJECT_MAX)
            return fm_reply_problem(r, 413, NULL, NULL, NULL, "the rendered subject is longer than %d bytes",
                                    NOTIF_SUBJECT_MAX);
    }
    return FM_OK;
}

int notif_render_inline(fm_req_t *r, const char *subject, const char *text, const char *html,
                        const cJSON *data, bool strict, notif_content_t *c)
{
    cJSON *v = cJSON_CreateObject();
    if (subject)
        cJSON_AddStringToObject(v, "subject", subject);
    if (text)
        cJSON_AddStringToObject(v, "text", text);
    if (html)
        cJSON_AddStringToObject(v, "html", html);
    /* a message given inline names its text body "body" */
    int rc = render_all(r, "/", v, data, strict, NULL, c, inline_parts);
    cJSON_Delete(v);
    return rc;
}

typedef struct tmpl_row {
    int version;
    bool strict;
    char channel[16], def[40];
    cJSON *locales, *partials;
} tmpl_row_t;

static int tmpl_row(const fm_dbrow_t *row, void *arg)
{
    tmpl_row_t *t = arg;
    t->version = (int)fm_dbrow_int(row, 0);
    t->strict = fm_dbrow_int(row, 1) != 0;
    fm_dbrow_copy(row, 2, t->channel, sizeof(t->channel));
    fm_dbrow_copy(row, 3, t->def, sizeof(t->def));
    t->locales = fm_dbrow_json(row, 4);
    t->partials = fm_dbrow_json(row, 5);
    return t->locales ? FM_OK : FM_EDB;
}

/* The variant for locale: exact, then its language ("de-AT" → "de"), then the default. */
static const cJSON *pick_locale(const tmpl_row_t *t, const char *locale, const char **chosen)
{
    const cJSON *v = NULL;
    if (locale && (v = cJSON_GetObjectItemCaseSensitive(t->locales, locale))) {
        *chosen = v->string;
        return v;
    }
    if (locale) {
        char lang[40];
        snprintf(lang, sizeof(lang), "%s", locale);
        lang[strcspn(lang, "-_")] = '\0';
        if ((v = cJSON_GetObjectItemCaseSensitive(t->locales, lang))) {
            *chosen = v->string;
            return v;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(t->locales, t->def);
    *chosen = v ? v->string : NULL;
    return v;
}

int notif_tmpl_render(fm_req_t *r, const char *id, int version, const char *locale, const cJSON *data,
                      notif_channel_t ch, notif_content_t *c)
{
    tmpl_row_t t = { 0 };
    int rc = version
        ? fm_dbq_read_one(notif_db(r), "SELECT version, strict, channel, default_locale, locales, partials FROM "
                                       "templates WHERE tenant_id = ? AND id = ? AND version = ?",
                          tmpl_row, &t, "ssi", fm_req_tenant(r), id, version)
        : fm_dbq_read_one(notif_db(r), "SELECT version, strict, channel, default_locale, locales, partials FROM "
                                       "templates WHERE tenant_id = ? AND id = ? ORDER BY version DESC LIMIT 1",
                          tmpl_row, &t, "ss", fm_req_tenant(r), id);
    if (rc == FM_ENOTFOUND) {
        fm_reply_invalid(r, "templateId", version ? "no such template version" : "no such template");
        rc = FM_REPLIED;
    }
    if (rc == FM_OK && t.channel[0] && strcmp(t.channel, notif_channel_names[ch])) {
        char d[120];
        snprintf(d, sizeof(d), "the template is for the %s channel", t.channel);
        fm_reply_invalid(r, "templateId", d);
        rc = FM_REPLIED;
    }
    if (rc == FM_OK) {
        const char *chosen = NULL;
        const cJSON *variant = pick_locale(&t, locale, &chosen);
        char base[80];
        snprintf(base, sizeof(base), "/locales/%s/", chosen ? chosen : "");
        rc = variant ? render_all(r, base, variant, data, t.strict, t.partials, c, tmpl_parts) : FM_EDB;
        if (rc == FM_OK) {
            snprintf(c->locale, sizeof(c->locale), "%s", chosen);
            c->version = t.version;
        }
    }
    cJSON_Delete(t.locales);
    cJSON_Delete(t.partials);
    return rc;
}

int notif_tmpl_preview(fm_req_t *r)
{
    const cJSON *b = fm_req_json(r);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(b, "data"), *v = cJSON_GetObjectItem(b, "version");
    const char *locale = cJSON_GetStringValue(cJSON_GetObjectItem(b, "locale"));
    if (data && !cJSON_IsObject(data))
        return fm_reply_invalid(r, "data", "must be an object");
    if (v && (!cJSON_IsNumber(v) || v->valueint < 1))
        return fm_reply_invalid(r, "version", "must be a version number (1 or more)");
    if (locale && !chars_ok(locale, LOCALE_CHARS, 35))
        return fm_reply_invalid(r, "locale", "1 to 35 of A-Z a-z 0-9 - _");
    tmpl_row_t probe = { 0 };
    char chan[16] = "";
    if (fm_dbq_read_one(notif_db(r), "SELECT version, strict, channel, default_locale, locales, partials FROM "
                                     "templates WHERE tenant_id = ? AND id = ? LIMIT 1",
                        tmpl_row, &probe, "ss", fm_req_tenant(r), fm_req_param(r, "id")) != FM_OK)
        return FM_ENOTFOUND;
    snprintf(chan, sizeof(chan), "%s", probe.channel[0] ? probe.channel : "email");
    cJSON_Delete(probe.locales);
    cJSON_Delete(probe.partials);
    notif_content_t c = { 0 };
    int rc = notif_tmpl_render(r, fm_req_param(r, "id"), v ? v->valueint : 0, locale, data,
                               (notif_channel_t)notif_channel_parse(chan), &c);
    if (rc != FM_OK) {
        notif_content_free(&c);
        return rc == FM_REPLIED ? FM_OK : rc;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "subject", c.subject ? cJSON_CreateString(c.subject) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "text", c.text ? cJSON_CreateString(c.text) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "html", c.html ? cJSON_CreateString(c.html) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "locale", c.locale);
    cJSON_AddNumberToObject(o, "version", c.version);
    notif_content_free(&c);
    return fm_reply_json(r, 200, o);
}
