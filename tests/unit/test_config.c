/* test_config.c — defaults, the INI parser and its errors, environment overrides and
 * fm_config_set (fm_config.h). */
#include "fm_test.h"

#include "fm_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[64];
    char file[128];
    char err[1024];
} cfg_fix_t;

static int setup(void **state)
{
    cfg_fix_t *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    fm_test_tmpdir(f->dir, sizeof(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    cfg_fix_t *f = *state;
    fm_test_rmdir(f->dir);
    free(f);
    unsetenv("FLOWMASTER_SERVER_THREADS");
    unsetenv("FLOWMASTER_BUS_QUEUE_CAPACITY");
    unsetenv("FLOWMASTER_LOG_REQUESTS");
    unsetenv("FLOWMASTER_STORAGE_DATA_DIR");
    return 0;
}

/* Loads text as a config file over the defaults; returns fm_config_load_file's rc. */
static int load(cfg_fix_t *f, fm_config_t *c, const char *text)
{
    fm_test_write_file(f->dir, "flowmaster.conf", text, f->file, sizeof(f->file));
    fm_config_defaults(c);
    f->err[0] = 0;
    return fm_config_load_file(c, f->file, f->err, sizeof(f->err));
}

static void test_defaults(void **state)
{
    (void)state;
    fm_config_t c;
    memset(&c, 0x5a, sizeof(c));
    fm_config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1");
    assert_int_equal(c.port_offset, 0);
    assert_int_equal(c.threads, 128);
    assert_int_equal(c.body_limit, 1048576);
    assert_int_equal(c.request_timeout_ms, 30000);
    assert_int_equal(c.shutdown_timeout_ms, 15000);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.durability, "normal");
    assert_int_equal(c.cache_kib, 512);
    assert_string_equal(c.log_level, "info");
    assert_true(c.log_requests);
    assert_int_equal(c.bus_queue_capacity, 65536);
    assert_int_equal(c.bus_publish_timeout_ms, 1000);
    assert_string_equal(c.modules, "all");
    assert_int_equal(c.registry_sweep_interval_ms, 1000);
    assert_int_equal(c.registry_probe_interval_ms, 10000);
    assert_int_equal(c.registry_probe_timeout_ms, 2000);
    assert_int_equal(c.tasks_escalation_interval_ms, 10000);
}

static void test_good_file(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    int rc = load(f, &c,
                  "# a comment\n"
                  "; another comment\n"
                  "\n"
                  "[server]\n"
                  "listen = \"0.0.0.0\"\n"
                  "  threads=32  \n"
                  "body_limit = 2048\n"
                  "\t# indented comment\n"
                  "[ storage ]\n"
                  "data_dir = /var/lib/flowmaster data\n"
                  "durability = full\n"
                  "[log]\n"
                  "requests = off\n"
                  "level = debug\n"
                  "[bus]\n"
                  "queue_capacity = 16\n"
                  "publish_timeout_ms = 0\n"
                  "[modules]\n"
                  "enabled = \"registry,auth\"\n");
    if (rc != 0)
        fail_msg("%s", f->err);
    assert_string_equal(c.listen, "0.0.0.0");
    assert_int_equal(c.threads, 32);
    assert_int_equal(c.body_limit, 2048);
    assert_string_equal(c.data_dir, "/var/lib/flowmaster data");
    assert_string_equal(c.durability, "full");
    assert_false(c.log_requests);
    assert_string_equal(c.log_level, "debug");
    assert_int_equal(c.bus_queue_capacity, 16);
    assert_int_equal(c.bus_publish_timeout_ms, 0);
    assert_string_equal(c.modules, "registry,auth");
    /* untouched keys keep their defaults */
    assert_int_equal(c.cache_kib, 512);
    assert_int_equal(c.request_timeout_ms, 30000);
}

static void test_no_trailing_newline_and_crlf(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    int rc = load(f, &c, "[server]\r\nthreads = 40\r\nport_offset = 100");
    if (rc != 0)
        fail_msg("%s", f->err);
    assert_int_equal(c.threads, 40);
    assert_int_equal(c.port_offset, 100);
}

static void test_example_file_is_valid(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c, d;
    fm_config_defaults(&c);
    fm_config_defaults(&d);
    if (fm_config_load_file(&c, "flowmaster.conf.example", f->err, sizeof(f->err)) != 0) {
        if (strstr(f->err, "cannot open"))
            skip();     /* not run from the repository root */
        fail_msg("%s", f->err);
    }
    /* the example documents the defaults */
    assert_memory_equal(&c, &d, sizeof(c));
}

static void test_missing_file(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    fm_config_defaults(&c);
    char path[160];
    snprintf(path, sizeof(path), "%s/nope.conf", f->dir);
    assert_int_equal(fm_config_load_file(&c, path, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, path));
    assert_non_null(strstr(f->err, "cannot open"));
}

/* One bad file: rc -1, and the message names the file, the line and what is wrong. */
static void expect_error(cfg_fix_t *f, const char *text, int line, const char *needle1,
                         const char *needle2)
{
    fm_config_t c;
    int rc = load(f, &c, text);
    if (rc != -1)
        fail_msg("accepted:\n%s", text);
    char where[200];
    snprintf(where, sizeof(where), "%s:%d:", f->file, line);
    if (strncmp(f->err, where, strlen(where)))
        fail_msg("'%s' does not start with '%s'", f->err, where);
    if (needle1 && !strstr(f->err, needle1))
        fail_msg("'%s' does not mention '%s'", f->err, needle1);
    if (needle2 && !strstr(f->err, needle2))
        fail_msg("'%s' does not mention '%s'", f->err, needle2);
}

/* [ai.provider.NAME]: the one kind of named section (docs/ai.md "Providers"). */
static void test_ai_provider_sections(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    int rc = load(f, &c, "[ai]\nquota_tokens = 50\n[ai.provider.ollama]\nurl = http://127.0.0.1:11434/v1\n"
                         "price_input = 0.5\n[ai.provider.claude]\nkind = anthropic\napi_key_env = KEY\n"
                         "timeout_ms = 5000\n[ai.provider.ollama]\nprice_output = 1.25\n");
    if (rc != 0)
        fail_msg("%s", f->err);
    assert_int_equal(c.ai_quota_tokens, 50);
    assert_int_equal(c.ai_provider_count, 2);
    assert_string_equal(c.ai_providers[0].name, "ollama");
    assert_string_equal(c.ai_providers[0].kind, "openai");
    assert_string_equal(c.ai_providers[0].url, "http://127.0.0.1:11434/v1");
    assert_true(c.ai_providers[0].price_input == 0.5 && c.ai_providers[0].price_output == 1.25);
    assert_int_equal(c.ai_providers[0].timeout_ms, 30000);
    assert_string_equal(c.ai_providers[1].kind, "anthropic");
    assert_string_equal(c.ai_providers[1].api_key_env, "KEY");
    assert_int_equal(c.ai_providers[1].timeout_ms, 5000);
    expect_error(f, "[ai.provider.x]\nkind = gpt\n", 2, "'ai.provider.x.kind'", "openai");
    expect_error(f, "[ai.provider.x]\ncolour = red\n", 2, "'ai.provider.x.colour'", "unknown key");
    expect_error(f, "[ai.provider.x y]\nkind = local\n", 2, "provider name", NULL);
    expect_error(f, "[ai.provider.x]\ntimeout_ms = 5\n", 2, "timeout_ms", "100");
    expect_error(f, "[ai.provider.x]\nprice_input = -1\n", 2, "price_input", NULL);
}

static void test_error_unknown_key(void **state)
{
    expect_error(*state, "[server]\nthreads = 8\nthreadz = 8\n", 3, "'server.threadz'", "unknown key");
}

static void test_error_unknown_section(void **state)
{
    expect_error(*state, "# x\n[server]\n[serverz]\nthreads = 8\n", 3, "'serverz'", "unknown section");
}

static void test_error_bad_int(void **state)
{
    expect_error(*state, "[server]\n\nthreads = lots\n", 3, "'server.threads'", "'lots'");
    expect_error(*state, "[server]\nthreads = 12abc\n", 2, "'server.threads'", "whole number");
    expect_error(*state, "[server]\nthreads =\n", 2, "'server.threads'", "whole number");
    expect_error(*state, "[server]\nbody_limit = 1.5\n", 2, "'server.body_limit'", "whole number");
}

static void test_error_out_of_range(void **state)
{
    expect_error(*state, "[server]\nthreads = 2\n", 2, "'server.threads'", "4..4096");
    expect_error(*state, "[server]\nthreads = 4097\n", 2, "'server.threads'", "4..4096");
    expect_error(*state, "[bus]\nqueue_capacity = 15\n", 2, "'bus.queue_capacity'", "16..");
    /* bigger than an int: must not wrap into range */
    expect_error(*state, "[server]\nthreads = 4294967360\n", 2, "'server.threads'", NULL);
    expect_error(*state, "[server]\nport_offset = -1\n", 2, "'server.port_offset'", NULL);
    expect_error(*state, "[server]\nbody_limit = 99999999999999999999999\n", 2, "'server.body_limit'", NULL);
}

static void test_error_bad_bool(void **state)
{
    expect_error(*state, "[log]\nrequests = maybe\n", 2, "'log.requests'", "'maybe'");
    expect_error(*state, "[log]\nrequests = TRUE\n", 2, "'log.requests'", "boolean");
}

static void test_error_bad_enum(void **state)
{
    expect_error(*state, "[storage]\ndurability = fast\n", 2, "'storage.durability'", "'fast'");
    expect_error(*state, "[storage]\ndurability = normal|full\n", 2, "'storage.durability'", NULL);
    expect_error(*state, "[storage]\ndurability = \n", 2, "'storage.durability'", NULL);
    expect_error(*state, "[log]\nlevel = verbose\n", 2, "'log.level'", "|debug|info|warn|error|");
}

static void test_error_line_without_equals(void **state)
{
    expect_error(*state, "[server]\nthreads 8\n", 2, "'threads 8'", "key = value");
}

static void test_error_key_outside_section(void **state)
{
    expect_error(*state, "# top\nthreads = 8\n[server]\n", 2, "'threads'", "section");
}

static void test_error_malformed_header(void **state)
{
    expect_error(*state, "[server\nthreads = 8\n", 1, "[server", "section");
    expect_error(*state, "[]\n", 1, NULL, "section");
    expect_error(*state, "[server] x\n", 1, NULL, "section");
}

static void test_error_string_too_long(void **state)
{
    char text[256];
    snprintf(text, sizeof(text), "[server]\nlisten = %070d\n", 1);
    expect_error(*state, text, 2, "'server.listen'", "longer than 63");
}

static void test_error_line_too_long(void **state)
{
    cfg_fix_t *f = *state;
    size_t n = 5000;
    char *text = malloc(n);
    assert_non_null(text);
    int k = snprintf(text, n, "[modules]\nenabled = ");
    memset(text + k, 'a', n - (size_t)k - 2);
    text[n - 2] = '\n';
    text[n - 1] = 0;
    expect_error(f, text, 2, "longer than", NULL);
    free(text);
}

static void test_error_stops_at_first(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    assert_int_equal(load(f, &c, "[server]\nthreads = 64\nbogus = 1\nport_offset = 7\n"), -1);
    assert_int_equal(c.threads, 64);        /* lines before the error took effect */
    assert_int_equal(c.port_offset, 0);     /* lines after it did not */
}

static void test_env_overrides_file(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    assert_int_equal(load(f, &c, "[server]\nthreads = 32\nport_offset = 5\n"), 0);
    assert_int_equal(c.threads, 32);
    assert_int_equal(setenv("FLOWMASTER_SERVER_THREADS", "64", 1), 0);
    assert_int_equal(setenv("FLOWMASTER_LOG_REQUESTS", "no", 1), 0);
    assert_int_equal(setenv("FLOWMASTER_STORAGE_DATA_DIR", "/srv/fm", 1), 0);
    assert_int_equal(fm_config_load_env(&c, f->err, sizeof(f->err)), 0);
    assert_int_equal(c.threads, 64);
    assert_int_equal(c.port_offset, 5);     /* not in the environment: the file's value */
    assert_false(c.log_requests);
    assert_string_equal(c.data_dir, "/srv/fm");
}

static void test_env_bad_value(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c;
    fm_config_defaults(&c);
    assert_int_equal(setenv("FLOWMASTER_BUS_QUEUE_CAPACITY", "lots", 1), 0);
    assert_int_equal(fm_config_load_env(&c, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "FLOWMASTER_BUS_QUEUE_CAPACITY"));
    assert_non_null(strstr(f->err, "'lots'"));
    assert_int_equal(c.bus_queue_capacity, 65536);
}

static void test_env_absent_changes_nothing(void **state)
{
    cfg_fix_t *f = *state;
    fm_config_t c, d;
    fm_config_defaults(&c);
    fm_config_defaults(&d);
    assert_int_equal(fm_config_load_env(&c, f->err, sizeof(f->err)), 0);
    assert_memory_equal(&c, &d, sizeof(c));
}

static void test_set_direct(void **state)
{
    (void)state;
    fm_config_t c;
    char err[512] = "";
    fm_config_defaults(&c);
    assert_int_equal(fm_config_set(&c, "server", "port_offset", "10000", err, sizeof(err)), 0);
    assert_int_equal(c.port_offset, 10000);
    assert_int_equal(fm_config_set(&c, "server", "body_limit", "1073741824", err, sizeof(err)), 0);
    assert_int_equal(c.body_limit, 1L << 30);
    assert_int_equal(fm_config_set(&c, "log", "requests", "yes", err, sizeof(err)), 0);
    assert_true(c.log_requests);
    assert_int_equal(fm_config_set(&c, "log", "requests", "0", err, sizeof(err)), 0);
    assert_false(c.log_requests);
    assert_int_equal(fm_config_set(&c, "log", "level", "warn", err, sizeof(err)), 0);
    assert_string_equal(c.log_level, "warn");
    assert_int_equal(fm_config_set(&c, "registry", "probe_timeout_ms", "10", err, sizeof(err)), 0);
    assert_int_equal(c.registry_probe_timeout_ms, 10);

    assert_int_equal(fm_config_set(&c, "server", "nope", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'server.nope'"));
    assert_non_null(strstr(err, "unknown key"));
    assert_int_equal(fm_config_set(&c, "nope", "threads", "1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown section"));
    assert_int_equal(fm_config_set(&c, "server", "body_limit", "1073741825", err, sizeof(err)), -1);
    assert_int_equal(c.body_limit, 1L << 30);     /* unchanged on error */
    assert_int_equal(fm_config_set(&c, "storage", "durability", "sometimes", err, sizeof(err)), -1);
    assert_string_equal(c.durability, "normal");
}

typedef struct { int n; char seen[128][48]; } each_t;

static void each_fn(const char *section, const char *key, const char *value, void *arg)
{
    each_t *e = arg;
    char err[256];
    fm_config_t c;
    fm_config_defaults(&c);
    /* every value fm_config_each prints is accepted back */
    if (fm_config_set(&c, section, key, value, err, sizeof(err)) != 0)
        fail_msg("%s.%s = %s: %s", section, key, value, err);
    if (e->n < 128)
        snprintf(e->seen[e->n], sizeof(e->seen[0]), "%s.%s=%s", section, key, value);
    e->n++;
}

static void test_each(void **state)
{
    (void)state;
    fm_config_t c;
    fm_config_defaults(&c);
    c.threads = 77;
    each_t e = { 0 };
    fm_config_each(&c, each_fn, &e);
    assert_int_equal(e.n, 86);   /* + [ai] 5, [rules] 2, [execution] 7, [integrations] 3, [eventbus] 9, [notifications] 19, [mcp] 2, [documents] 3, [knowledge] 2 */
    bool threads = false, requests = false, audit = false;
    for (int i = 0; i < e.n && i < 128; i++) {
        threads |= !strcmp(e.seen[i], "server.threads=77");
        requests |= !strcmp(e.seen[i], "log.requests=true");
        audit |= !strcmp(e.seen[i], "rules.audit=true");
    }
    assert_true(threads);
    assert_true(requests);
    assert_true(audit);
}

/* flowmaster.conf.example documents every key, in its section. */
static void check_documented(const char *section, const char *key, const char *value, void *arg)
{
    const char *text = arg;
    char head[64], line[128];
    snprintf(head, sizeof(head), "\n[%s]\n", section);
    snprintf(line, sizeof(line), "\n%s =", key);
    const char *sec = strstr(text, head);
    if (!sec)
        fail_msg("flowmaster.conf.example has no [%s] section", section);
    const char *next = strstr(sec + 1, "\n[");
    const char *at = strstr(sec, line);
    if (!at || (next && at > next))
        fail_msg("flowmaster.conf.example does not document %s.%s", section, key);
    (void)value;
}

static void test_example_documents_every_key(void **state)
{
    (void)state;
    FILE *f = fopen("flowmaster.conf.example", "r");
    assert_non_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = 0;
    fm_config_t c;
    fm_config_defaults(&c);
    fm_config_each(&c, check_documented, text);
}

static void test_install(void **state)
{
    (void)state;
    fm_config_t c;
    fm_config_defaults(&c);
    c.threads = 9;
    fm_config_install(&c);
    c.threads = 10;     /* a copy was installed */
    assert_int_equal(fm_cfg()->threads, 9);
    assert_string_equal(fm_cfg()->listen, "127.0.0.1");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_good_file),
        T(test_no_trailing_newline_and_crlf),
        T(test_example_file_is_valid),
        T(test_missing_file),
        T(test_ai_provider_sections),
        T(test_error_unknown_key),
        T(test_error_unknown_section),
        T(test_error_bad_int),
        T(test_error_out_of_range),
        T(test_error_bad_bool),
        T(test_error_bad_enum),
        T(test_error_line_without_equals),
        T(test_error_key_outside_section),
        T(test_error_malformed_header),
        T(test_error_string_too_long),
        T(test_error_line_too_long),
        T(test_error_stops_at_first),
        T(test_env_overrides_file),
        T(test_env_bad_value),
        T(test_env_absent_changes_nothing),
        T(test_set_direct),
        T(test_each),
        T(test_install),
        T(test_example_documents_every_key),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
