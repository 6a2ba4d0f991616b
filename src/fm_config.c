/*
 * fm_config.c — parsing and layering of the configuration (see fm_config.h).
 * One table, `keys`, names every key with its type, bounds and place in fm_config_t;
 * the INI parser, the environment and the flags all go through fm_config_set.
 */
#include "fm_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STR, K_INT, K_LONG, K_BOOL, K_ENUM } kind_t;

typedef struct {
    const char *section, *key;
    kind_t kind;
    size_t off, size;       /* where in fm_config_t, and the buffer size for strings */
    long min, max;          /* bounds for numbers */
    const char *choices;    /* "|a|b|" for K_ENUM */
} cfg_key_t;

#define STR(s, k, f) { s, k, K_STR, offsetof(fm_config_t, f), sizeof(((fm_config_t *)0)->f), 0, 0, NULL }
#define INT(s, k, f, lo, hi) { s, k, K_INT, offsetof(fm_config_t, f), sizeof(int), lo, hi, NULL }
#define LNG(s, k, f, lo, hi) { s, k, K_LONG, offsetof(fm_config_t, f), sizeof(long), lo, hi, NULL }
#define BOOL(s, k, f) { s, k, K_BOOL, offsetof(fm_config_t, f), sizeof(bool), 0, 1, NULL }
#define ENUM(s, k, f, ch) { s, k, K_ENUM, offsetof(fm_config_t, f), sizeof(((fm_config_t *)0)->f), 0, 0, ch }

static const cfg_key_t keys[] = {
    STR("server", "listen", listen),
    INT("server", "port_offset", port_offset, 0, 56000),
    INT("server", "threads", threads, 4, 4096),
    LNG("server", "body_limit", body_limit, 1024, 1L << 30),
    INT("server", "request_timeout_ms", request_timeout_ms, 100, 3600000),
    INT("server", "shutdown_timeout_ms", shutdown_timeout_ms, 1000, 600000),
    STR("storage", "data_dir", data_dir),
    ENUM("storage", "durability", durability, "|normal|full|"),
    INT("storage", "cache_kib", cache_kib, 64, 1 << 20),
    ENUM("log", "level", log_level, "|debug|info|warn|error|"),
    BOOL("log", "requests", log_requests),
    INT("log", "buffer_ms", log_buffer_ms, 0, 10000),
    INT("bus", "queue_capacity", bus_queue_capacity, 16, 1 << 24),
    INT("bus", "publish_timeout_ms", bus_publish_timeout_ms, 0, 600000),
    STR("modules", "enabled", modules),
    STR("auth", "issuer", auth_issuer),
    INT("auth", "access_ttl_s", auth_access_ttl_s, 30, 86400),
    INT("auth", "refresh_ttl_s", auth_refresh_ttl_s, 60, 31536000),
    INT("auth", "leeway_s", auth_leeway_s, 0, 300),
    STR("auth", "admin_email", auth_admin_email),
    STR("auth", "admin_password", auth_admin_password),
    INT("auth", "password_min_length", auth_password_min_length, 8, 256),
    INT("auth", "login_free_failures", auth_login_free_failures, 1, 100),
    INT("auth", "login_max_delay_s", auth_login_max_delay_s, 1, 86400),
    INT("gateway", "rate_per_ip", gateway_rate_per_ip, 0, 10000000),
    INT("gateway", "burst_per_ip", gateway_burst_per_ip, 1, 10000000),
    INT("gateway", "rate_per_tenant", gateway_rate_per_tenant, 0, 10000000),
    INT("gateway", "burst_per_tenant", gateway_burst_per_tenant, 1, 10000000),
    STR("gateway", "cors_origins", gateway_cors_origins),
    INT("registry", "sweep_interval_ms", registry_sweep_interval_ms, 10, 3600000),
    INT("registry", "probe_interval_ms", registry_probe_interval_ms, 10, 86400000),
    INT("registry", "probe_timeout_ms", registry_probe_timeout_ms, 10, 600000),
    BOOL("rules", "audit", rules_audit),
    INT("rules", "feel_memory_mib", rules_feel_memory_mib, 1, 65536),
    INT("rules", "feel_memory_total_mib", rules_feel_memory_total_mib, 16, 1 << 20),
    INT("tasks", "escalation_interval_ms", tasks_escalation_interval_ms, 10, 86400000),
    INT("execution", "mi_max_items", execution_mi_max_items, 1, 10000000),
    INT("execution", "timer_min_cycle_ms", execution_timer_min_cycle_ms, 1, 86400000),
    INT("execution", "message_buffer_max", execution_message_buffer_max, 0, 10000000),
    INT("execution", "message_buffer_max_kib", execution_message_buffer_max_kib, 1, 1 << 24),
    INT("execution", "history_retention_days", execution_history_retention_days, 0, 36500),
    INT("execution", "retention_interval_ms", execution_retention_interval_ms, 10, 86400000),
    INT("execution", "retention_batch", execution_retention_batch, 1, 100000),
    STR("integrations", "key", integrations_key),
    BOOL("integrations", "allow_private", integrations_allow_private),
    INT("integrations", "log_body_bytes", integrations_log_body_bytes, 0, 1 << 20),
    BOOL("eventbus", "log", eventbus_log),
    INT("eventbus", "retain_days", eventbus_retain_days, 0, 36500),
    INT("eventbus", "retain_mb", eventbus_retain_mb, 0, 1 << 20),
    INT("eventbus", "retention_interval_ms", eventbus_retention_interval_ms, 10, 86400000),
    INT("eventbus", "webhook_timeout_ms", eventbus_webhook_timeout_ms, 10, 600000),
    INT("eventbus", "webhook_max_attempts", eventbus_webhook_max_attempts, 1, 100),
    INT("eventbus", "webhook_backoff_ms", eventbus_webhook_backoff_ms, 1, 3600000),
    INT("eventbus", "webhook_backoff_max_ms", eventbus_webhook_backoff_max_ms, 1, 86400000),
    STR("eventbus", "log_skip", eventbus_log_skip),
    STR("notifications", "smtp_host", notify_smtp_host),
    INT("notifications", "smtp_port", notify_smtp_port, 1, 65535),
    ENUM("notifications", "smtp_starttls", notify_smtp_starttls, "|off|try|required|"),
    BOOL("notifications", "smtp_tls_insecure", notify_smtp_tls_insecure),
    STR("notifications", "smtp_user", notify_smtp_user),
    STR("notifications", "smtp_password", notify_smtp_password),
    STR("notifications", "from", notify_from),
    STR("notifications", "envelope_from", notify_envelope_from),
    INT("notifications", "timeout_ms", notify_timeout_ms, 10, 600000),
    INT("notifications", "max_attempts", notify_max_attempts, 1, 100),
    INT("notifications", "backoff_ms", notify_backoff_ms, 1, 3600000),
    INT("notifications", "backoff_max_ms", notify_backoff_max_ms, 1, 86400000),
    INT("notifications", "concurrency", notify_concurrency, 1, 1024),
    STR("notifications", "sms_url", notify_sms_url),
    ENUM("notifications", "sms_format", notify_sms_format, "|json|twilio|"),
    STR("notifications", "sms_auth", notify_sms_auth),
    STR("notifications", "push_url", notify_push_url),
    STR("notifications", "push_auth", notify_push_auth),
    STR("notifications", "webhook_secret", notify_webhook_secret),
    STR("mcp", "anonymous_tenant", mcp_anonymous_tenant),
    STR("mcp", "anonymous_role", mcp_anonymous_role),
    INT("documents", "max_upload_mb", documents_max_upload_mb, 1, 1024),
    STR("documents", "pdftotext", documents_pdftotext),
    INT("documents", "pdf_timeout_ms", documents_pdf_timeout_ms, 100, 600000),
    ENUM("knowledge", "embeddings", knowledge_embeddings, "|off|hash|"),
    STR("knowledge", "agent", knowledge_agent),
    BOOL("ai", "audit_content", ai_audit_content),
    INT("ai", "cache_ttl_s", ai_cache_ttl_s, 0, 604800),
    INT("ai", "max_steps", ai_max_steps, 1, 64),
    INT("ai", "quota_tokens", ai_quota_tokens, 0, 2000000000),
    INT("ai", "quota_window_s", ai_quota_window_s, 1, 31536000),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static fm_config_t installed;

void fm_config_defaults(fm_config_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->listen, sizeof(c->listen), "127.0.0.1");
    c->threads = 128;
    c->body_limit = 1L << 20;
    c->request_timeout_ms = 30000;
    c->shutdown_timeout_ms = 15000;
    snprintf(c->data_dir, sizeof(c->data_dir), "./data");
    snprintf(c->durability, sizeof(c->durability), "normal");
    c->cache_kib = 512;
    snprintf(c->log_level, sizeof(c->log_level), "info");
    c->log_requests = true;
    c->log_buffer_ms = 20;
    c->bus_queue_capacity = 65536;
    c->bus_publish_timeout_ms = 1000;
    snprintf(c->modules, sizeof(c->modules), "all");
    c->auth_access_ttl_s = 900;
    c->auth_refresh_ttl_s = 30 * 86400;
    c->auth_leeway_s = 30;
    snprintf(c->auth_admin_email, sizeof(c->auth_admin_email), "admin@localhost");
    c->auth_password_min_length = 10;
    c->auth_login_free_failures = 5;
    c->auth_login_max_delay_s = 900;
    c->gateway_rate_per_ip = 200;
    c->gateway_burst_per_ip = 400;
    c->gateway_rate_per_tenant = 500;
    c->gateway_burst_per_tenant = 1000;
    c->registry_sweep_interval_ms = 1000;
    c->rules_audit = true;
    c->rules_feel_memory_mib = 64;
    c->rules_feel_memory_total_mib = 512;
    c->registry_probe_interval_ms = 10000;
    c->registry_probe_timeout_ms = 2000;
    c->tasks_escalation_interval_ms = 10000;
    c->execution_mi_max_items = 100000;
    c->execution_timer_min_cycle_ms = 1000;
    c->execution_message_buffer_max = 10000;
    c->execution_message_buffer_max_kib = 65536;
    c->execution_retention_interval_ms = 60000;
    c->execution_retention_batch = 500;
    c->integrations_log_body_bytes = 2048;
    c->eventbus_log = true;
    c->eventbus_retain_days = 7;
    c->eventbus_retain_mb = 1024;
    c->eventbus_retention_interval_ms = 60000;
    c->eventbus_webhook_timeout_ms = 10000;
    c->eventbus_webhook_max_attempts = 8;
    c->eventbus_webhook_backoff_ms = 1000;
    c->eventbus_webhook_backoff_max_ms = 300000;
    snprintf(c->eventbus_log_skip, sizeof(c->eventbus_log_skip), "%s", "execution.element.>");
    c->notify_smtp_port = 25;
    snprintf(c->notify_smtp_starttls, sizeof(c->notify_smtp_starttls), "try");
    snprintf(c->notify_from, sizeof(c->notify_from), "FlowMaster <flowmaster@localhost>");
    c->notify_timeout_ms = 30000;
    c->notify_max_attempts = 5;
    c->notify_backoff_ms = 1000;
    c->notify_backoff_max_ms = 300000;
    c->notify_concurrency = 64;
    snprintf(c->notify_sms_format, sizeof(c->notify_sms_format), "json");
    c->documents_max_upload_mb = 20;
    snprintf(c->documents_pdftotext, sizeof(c->documents_pdftotext), "pdftotext");
    c->documents_pdf_timeout_ms = 10000;
    snprintf(c->knowledge_embeddings, sizeof(c->knowledge_embeddings), "off");
    c->ai_audit_content = true;
    c->ai_cache_ttl_s = 300;
    c->ai_max_steps = 8;
    c->ai_quota_tokens = 0;
    c->ai_quota_window_s = 86400;
}

static const cfg_key_t *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
            return &keys[i];
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, section))
            return true;
    return false;
}

static int parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return -1;
    *out = n;
    return 0;
}

int fm_config_set(fm_config_t *c, const char *section, const char *key, const char *value,
                  char *err, size_t errlen)
{
    const cfg_key_t *k = find_key(section, key);
    if (!k) {
        snprintf(err, errlen, "key '%s.%s': unknown %s", section, key,
                 section_known(section) ? "key" : "section");
        return -1;
    }
    char *field = (char *)c + k->off;
    long n;
    switch (k->kind) {
    case K_STR:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "key '%s.%s': value longer than %zu bytes", section, key, k->size - 1);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case K_ENUM: {
        char probe[64];
        snprintf(probe, sizeof(probe), "|%s|", value);
        if (!*value || strchr(value, '|') || !strstr(k->choices, probe)) {
            snprintf(err, errlen, "key '%s.%s': '%s' is not one of %s", section, key, value, k->choices);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    case K_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on") || !strcmp(value, "1"))
            *(bool *)field = true;
        else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off") || !strcmp(value, "0"))
            *(bool *)field = false;
        else {
            snprintf(err, errlen, "key '%s.%s': '%s' is not a boolean (true/false)", section, key, value);
            return -1;
        }
        return 0;
    case K_INT:
    case K_LONG:
        if (parse_long(value, &n) < 0 || n < k->min || n > k->max) {
            snprintf(err, errlen, "key '%s.%s': '%s' is not a whole number in %ld..%ld",
                     section, key, value, k->min, k->max);
            return -1;
        }
        if (k->kind == K_INT)
            *(int *)field = (int)n;
        else
            *(long *)field = n;
        return 0;
    }
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

/* A key of an [ai.provider.NAME] section (the one kind of named section). */
static int set_provider(fm_config_t *c, const char *name, const char *key, const char *value,
                        char *err, size_t errlen)
{
    fm_ai_provider_t *p = NULL;
    for (int i = 0; i < c->ai_provider_count && !p; i++)
        if (!strcmp(c->ai_providers[i].name, name))
            p = &c->ai_providers[i];
    if (!p) {
        size_t n = strlen(name);
        if (n < 1 || n > 31 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n) {
            snprintf(err, errlen, "section 'ai.provider.%s': a provider name is 1-31 of [A-Za-z0-9_-]", name);
            return -1;
        }
        if (c->ai_provider_count >= FM_AI_PROVIDERS_MAX) {
            snprintf(err, errlen, "section 'ai.provider.%s': at most %d providers", name, FM_AI_PROVIDERS_MAX);
            return -1;
        }
        p = &c->ai_providers[c->ai_provider_count++];
        memset(p, 0, sizeof(*p));
        memcpy(p->name, name, n + 1);   /* n < sizeof(p->name), checked above */
        snprintf(p->kind, sizeof(p->kind), "openai");
        p->timeout_ms = 30000;
    }
    char *end = NULL;
    if (!strcmp(key, "kind")) {
        if (strcmp(value, "openai") && strcmp(value, "anthropic") && strcmp(value, "local")) {
            snprintf(err, errlen, "key 'ai.provider.%s.kind': '%s' is not one of |openai|anthropic|local|", name, value);
            return -1;
        }
        snprintf(p->kind, sizeof(p->kind), "%s", value);
    } else if (!strcmp(key, "url") || !strcmp(key, "api_key") || !strcmp(key, "api_key_env")) {
        char *dst = key[0] == 'u' ? p->url : !strcmp(key, "api_key") ? p->api_key : p->api_key_env;
        size_t cap = key[0] == 'u' ? sizeof(p->url) : !strcmp(key, "api_key") ? sizeof(p->api_key) : sizeof(p->api_key_env);
        if (strlen(value) >= cap) {
            snprintf(err, errlen, "key 'ai.provider.%s.%s': value longer than %zu bytes", name, key, cap - 1);
            return -1;
        }
        snprintf(dst, cap, "%s", value);
    } else if (!strcmp(key, "timeout_ms")) {
        long v = strtol(value, &end, 10);
        if (!*value || *end || v < 100 || v > 600000) {
            snprintf(err, errlen, "key 'ai.provider.%s.timeout_ms': '%s' is not an integer in [100, 600000]", name, value);
            return -1;
        }
        p->timeout_ms = (int)v;
    } else if (!strcmp(key, "price_input") || !strcmp(key, "price_output")) {
        double v = strtod(value, &end);
        if (!*value || *end || !(v >= 0 && v < 1e9)) {
            snprintf(err, errlen, "key 'ai.provider.%s.%s': '%s' is not a number >= 0", name, key, value);
            return -1;
        }
        *(key[6] == 'i' ? &p->price_input : &p->price_output) = v;
    } else {
        snprintf(err, errlen, "key 'ai.provider.%s.%s': unknown key", name, key);
        return -1;
    }
    return 0;
}

int fm_config_load_file(fm_config_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char line[2048], section[64] = "", why[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path, lineno, sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1] || end - s - 1 <= 0 || (size_t)(end - s) > sizeof(section)) {
                snprintf(err, errlen, "%s:%d: malformed section header '%s'", path, lineno, s);
                rc = -1;
                break;
            }
            *end = 0;
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            if (strncmp(section, "ai.provider.", 12) && !section_known(section)) {
                snprintf(err, errlen, "%s:%d: section '%s': unknown section", path, lineno, section);
                rc = -1;
                break;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: key '%s': expected 'key = value'", path, lineno, s);
            rc = -1;
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = 0;
            value++;
        }
        if (!*section) {
            snprintf(err, errlen, "%s:%d: key '%s': outside of any [section]", path, lineno, key);
            rc = -1;
            break;
        }
        if (!strncmp(section, "ai.provider.", 12) ? set_provider(c, section + 12, key, value, why, sizeof(why)) < 0
                                                  : fm_config_set(c, section, key, value, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int fm_config_load_env(fm_config_t *c, char *err, size_t errlen)
{
    char name[128], why[512];
    for (size_t i = 0; i < NKEYS; i++) {
        int n = snprintf(name, sizeof(name), "FLOWMASTER_%s_%s", keys[i].section, keys[i].key);
        for (int j = 0; j < n; j++)
            name[j] = (char)toupper((unsigned char)name[j]);
        const char *v = getenv(name);
        if (v && fm_config_set(c, keys[i].section, keys[i].key, v, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "environment %s: %s", name, why);
            return -1;
        }
    }
    return 0;
}

void fm_config_each(const fm_config_t *c,
                    void (*fn)(const char *section, const char *key, const char *value, void *arg),
                    void *arg)
{
    char buf[64];
    for (size_t i = 0; i < NKEYS; i++) {
        const char *field = (const char *)c + keys[i].off;
        const char *v = buf;
        switch (keys[i].kind) {
        case K_STR:
        case K_ENUM: v = field; break;
        case K_INT: snprintf(buf, sizeof(buf), "%d", *(const int *)field); break;
        case K_LONG: snprintf(buf, sizeof(buf), "%ld", *(const long *)field); break;
        case K_BOOL: v = *(const bool *)field ? "true" : "false"; break;
        }
        fn(keys[i].section, keys[i].key, v, arg);
    }
}

const fm_config_t *fm_cfg(void)
{
    return &installed;
}

void fm_config_install(const fm_config_t *c)
{
    installed = *c;
}
