/*
 * fm_config.h — the process configuration: embedded defaults, then an INI file, then
 * FLOWMASTER_<SECTION>_<KEY> environment variables, then command-line flags. Every key
 * lives in one table in fm_config.c (and is documented in flowmaster.conf.example).
 * The config is filled once on the main thread before anything starts and is read-only
 * afterwards, so any thread may read fm_cfg().
 */
#ifndef FM_CONFIG_H
#define FM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* One [ai.provider.NAME] section (docs/ai.md "Providers"). */
#define FM_AI_PROVIDERS_MAX 8
typedef struct fm_ai_provider {
    char name[32];              /* [A-Za-z0-9_-]{1,31}; "local" is built in */
    char kind[16];              /* openai | anthropic | local */
    char url[512];              /* openai: base ending in /v1; anthropic: base before /v1 */
    char api_key[256];          /* never logged or answered */
    char api_key_env[64];       /* or: the environment variable holding it */
    int timeout_ms;
    double price_input, price_output;   /* cost per 1000 tokens */
} fm_ai_provider_t;

typedef struct fm_config {
    /* [server] */
    char listen[64];
    int port_offset;
    int threads;
    long body_limit;
    int request_timeout_ms;
    int shutdown_timeout_ms;
    /* [storage] */
    char data_dir[512];
    char durability[16];        /* "normal" or "full" */
    int cache_kib;
    /* [log] */
    char log_level[16];         /* debug, info, warn, error */
    bool log_requests;
    int log_buffer_ms;          /* 0: every line written at once */
    /* [bus] */
    int bus_queue_capacity;
    int bus_publish_timeout_ms;
    /* [modules] */
    char modules[1024];         /* "all" or a comma list of module names */
    /* [auth] */
    char auth_issuer[256];      /* "" = http://<listen>:<8002 + offset> */
    int auth_access_ttl_s;
    int auth_refresh_ttl_s;
    int auth_leeway_s;
    char auth_admin_email[256];
    char auth_admin_password[256];
    int auth_password_min_length;
    int auth_login_free_failures;
    int auth_login_max_delay_s;
    /* [gateway] */
    int gateway_rate_per_ip;    /* requests per second; 0 = off */
    int gateway_burst_per_ip;
    int gateway_rate_per_tenant;
    int gateway_burst_per_tenant;
    char gateway_cors_origins[1024];
    /* [registry] */
    int registry_sweep_interval_ms;
    int registry_probe_interval_ms;
    int registry_probe_timeout_ms;
    /* [rules] */
    bool rules_audit;
    int rules_feel_memory_mib;          /* arena cap of one FEEL evaluation */
    int rules_feel_memory_total_mib;    /* all concurrent FEEL evaluations together */
    /* [tasks] */
    int tasks_escalation_interval_ms;
    /* [execution] */
    int execution_mi_max_items;             /* multi-instance: most iterations of one activity */
    int execution_timer_min_cycle_ms;       /* shortest timer cycle of a start event or boundary */
    int execution_message_buffer_max;       /* buffered messages (timeToLive) kept per tenant */
    int execution_message_buffer_max_kib;   /* ... and their variables' bytes per tenant */
    int execution_history_retention_days;   /* ended instances and history kept; 0 = for ever */
    int execution_retention_interval_ms;    /* how often the retention sweep runs */
    int execution_retention_batch;          /* instances removed per sweep transaction */
    /* [integrations] */
    char integrations_key[128];         /* 64 hex digits; "" = <data-dir>/integrations.key */
    bool integrations_allow_private;    /* tenants other than the operator's may reach private addresses */
    int integrations_log_body_bytes;    /* call and delivery logs keep this much of a body */
    /* [eventbus] */
    bool eventbus_log;                  /* append every bus event to the durable log */
    int eventbus_retain_days;           /* 0 = no age limit */
    int eventbus_retain_mb;             /* 0 = no size limit */
    int eventbus_retention_interval_ms;
    int eventbus_webhook_timeout_ms;
    int eventbus_webhook_max_attempts;  /* then the event becomes a dead letter */
    int eventbus_webhook_backoff_ms;    /* first retry delay; doubles, with jitter */
    int eventbus_webhook_backoff_max_ms;
    char eventbus_log_skip[256];        /* pattern of types not logged ("" none) */
    /* [notifications] (docs/notifications.md) */
    char notify_smtp_host[256];         /* "" = e-mail is not configured: attempts fail */
    int notify_smtp_port;
    char notify_smtp_starttls[16];      /* off | try | required */
    bool notify_smtp_tls_insecure;      /* skip certificate checks (test servers) */
    char notify_smtp_user[256];
    char notify_smtp_password[256];
    char notify_from[320];              /* header From */
    char notify_envelope_from[320];     /* MAIL FROM; "" = the address in `from` */
    int notify_timeout_ms;
    int notify_max_attempts;            /* then the message is failed */
    int notify_backoff_ms;              /* first retry delay; doubles, with jitter */
    int notify_backoff_max_ms;
    int notify_concurrency;             /* deliveries in flight at once */
    char notify_sms_url[1024];          /* provider webhook of the sms channel */
    char notify_sms_format[16];         /* json | twilio */
    char notify_sms_auth[512];          /* Authorization header value for the provider */
    char notify_push_url[1024];         /* provider webhook of the push channel */
    char notify_push_auth[512];
    char notify_webhook_secret[256];    /* signs webhook-channel posts; "" = unsigned */
    /* [mcp] */
    char mcp_anonymous_tenant[72];      /* "" = off; loopback listeners only */
    char mcp_anonymous_role[64];
    /* [documents] */
    int documents_max_upload_mb;        /* body limit of POST /documents/upload */
    char documents_pdftotext[256];      /* the pdftotext program (poppler-utils) */
    int documents_pdf_timeout_ms;       /* pdftotext is killed after this long */
    /* [knowledge] */
    char knowledge_embeddings[16];      /* "off" or "hash" (docs/knowledge.md) */
    char knowledge_agent[101];          /* default agentId of /knowledge/query; "" = local answer */
    /* [ai] (docs/ai.md) */
    bool ai_audit_content;              /* false: the audit keeps hashes of prompt and answer */
    int ai_cache_ttl_s;                 /* response cache lifetime; 0 = no cache */
    int ai_max_steps;                   /* tool-calling steps of one invoke */
    int ai_quota_tokens;                /* tokens per tenant per window; 0 = unlimited */
    int ai_quota_window_s;
    /* [ai.provider.NAME] sections */
    fm_ai_provider_t ai_providers[FM_AI_PROVIDERS_MAX];
    int ai_provider_count;
} fm_config_t;

void fm_config_defaults(fm_config_t *c);

/* Each returns 0, or -1 with a one-line message in err ("FILE:LINE: key 'K': why"). */
int fm_config_load_file(fm_config_t *c, const char *path, char *err, size_t errlen);
int fm_config_load_env(fm_config_t *c, char *err, size_t errlen);
int fm_config_set(fm_config_t *c, const char *section, const char *key, const char *value,
                  char *err, size_t errlen);

/* Calls fn for every key: section, key, current value as text. */
void fm_config_each(const fm_config_t *c,
                    void (*fn)(const char *section, const char *key, const char *value, void *arg),
                    void *arg);

/* The process-wide config; fm_config_install copies c into it (main thread, at start). */
const fm_config_t *fm_cfg(void);
void fm_config_install(const fm_config_t *c);

#endif
