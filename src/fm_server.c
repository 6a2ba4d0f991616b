/*
 * fm_server.c — the life of `flowmaster serve`.
 *
 * Start: modules → data dir → databases and migrations → routing (conflicts stop us
 * here) → loop, bus, outboxes, subscriptions, fetch → module start hooks → HTTP (a
 * taken port stops us here, before any first-start work) → fm_on_bound hooks (the
 * first administrator) → the start-up summary on stdout.
 * Stop (SIGINT/SIGTERM): /ready turns 503, a helper thread stops CivetWeb (it waits for
 * in-flight requests; never on the loop thread), then the loop delivers what the bus
 * holds, runs the stop hooks in reverse, and closes; databases close last. A deadline
 * (server.shutdown_timeout_ms) ends a stop that hangs with exit code 1.
 */
#define _POSIX_C_SOURCE 200809L
#include "fm_server.h"

#include "bus/bus.h"
#include "fm_config.h"
#include "fm_embed.h"
#include "fm_fetch.h"
#include "fm_http.h"
#include "fm_http_int.h"
#include "fm_log.h"
#include "fm_loop.h"
#include "fm_migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
    fm_mod_t *mods;
    size_t n;
    fm_routing_t routing;
    bool routed;
    double t0;
    atomic_bool serving;
    bool stopping;
    uv_signal_t sigint, sigterm;
    pthread_t stopper;
    bool stopper_started;
    fm_timer_t *deadline, *trim;
    int checkpoints;            /* in the thread pool now */
    bool http_started;
    struct { int (*fn)(fm_mod_t *m); fm_mod_t *m; } bound[4];
    int nbound;
    char admin_email[256], admin_password[64];   /* for the summary; password wiped after */
} S;

/* Requests that arrive between the bind and the end of the fm_on_bound hooks wait here
 * (a login right after the ports open finds the first administrator). */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static atomic_bool gate_closed;     /* only while serve starts: open for anyone else */

#define GATE_MAX_WAIT_S 30

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_lock);
    atomic_store(&gate_closed, !open);
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

void fm__start_wait(void)
{
    if (!atomic_load(&gate_closed))
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += GATE_MAX_WAIT_S;
    pthread_mutex_lock(&gate_lock);
    while (atomic_load(&gate_closed) && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&gate_lock);
}

#define READER_IDLE_S 2.0   /* pooled database readers idle this long are closed */

/* ---- the running set (fm_mod.h) ---- */

size_t fm_mods_count(void) { return S.n; }
fm_mod_t *fm_mods_at(size_t i) { return i < S.n ? &S.mods[i] : NULL; }
double fm_uptime(void) { return S.t0 ? fm_time_mono() - S.t0 : 0; }
bool fm_serving(void) { return atomic_load(&S.serving); }
int fm_listen_port(int canonical) { return canonical + fm_cfg()->port_offset; }

/* <data-dir>/serve.json while serving: {pid, listen, portOffset}, so that a local tool
 * given the data directory finds the server using it (`flowmaster mcp --data-dir`).
 * Written to a temporary name and renamed (a reader sees all or nothing), mode 0600. */
static void run_file_path(char *out, size_t len)
{
    snprintf(out, len, "%s/" FM_RUN_FILE, fm_cfg()->data_dir);
}

static void run_file_write(void)
{
    char path[600], tmp[620];
    run_file_path(path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        fm_log_msg(FM_LOG_WARN, "cannot write the run file", path);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddStringToObject(o, "listen", fm_cfg()->listen);
    cJSON_AddNumberToObject(o, "portOffset", fm_cfg()->port_offset);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    bool ok = text && fprintf(f, "%s\n", text) > 0;
    cJSON_free(text);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        fm_log_msg(FM_LOG_WARN, "cannot write the run file", path);
    }
}

static void run_file_remove(void)
{
    char path[600];
    run_file_path(path, sizeof(path));
    unlink(path);
}

void fm_local_url(int canonical, const char *path, char *out, size_t len)
{
    const char *l = fm_cfg()->listen;
    bool any = !*l || !strcmp(l, "0.0.0.0") || !strcmp(l, "::");
    bool v6 = !any && strchr(l, ':') && *l != '[';
    snprintf(out, len, "http://%s%s%s:%d%s", v6 ? "[" : "", any ? "127.0.0.1" : l, v6 ? "]" : "",
             fm_listen_port(canonical), path);
}
static const fm_routing_t *active;     /* what fm_call dispatches on */
const fm_routing_t *fm__routing(void) { return active; }
void fm__routing_set(const fm_routing_t *r) { active = r; }

fm_mod_t *fm_mods_find(const char *name)
{
    for (size_t i = 0; i < S.n; i++)
        if (!strcmp(S.mods[i].def->name, name))
            return &S.mods[i];
    return NULL;
}

size_t fm_mod_implemented(const fm_module_t *def)
{
    size_t n = 0;
    for (size_t i = 0; i < def->nroutes; i++)
        n += def->routes[i].handler != NULL;
    return n;
}

bool fm_mod_ready(const fm_mod_t *m)
{
    if (!atomic_load(&m->started))
        return false;
    return !(m->def->flags & FM_M_DB) || (m->db && m->mig_pending == 0);
}

const fm_module_t *fm_module_lookup(const char *name)
{
    for (size_t i = 0; fm_module_table[i]; i++)
        if (!strcmp(fm_module_table[i]->name, name))
            return fm_module_table[i];
    return NULL;
}

/* ---- shared with migrate / routes / smoke ---- */

int fm_mods_select(const char *list, fm_mod_t **mods, size_t *n, char *err, size_t errlen)
{
    size_t total = 0;
    while (fm_module_table[total])
        total++;
    bool want[128] = { false };
    if (!strcmp(list, "all")) {
        for (size_t i = 0; i < total; i++)
            want[i] = true;
    } else {
        char *copy = strdup(list), *save = NULL;
        if (!copy)
            return FM_ENOMEM;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            size_t i = 0;
            while (i < total && strcmp(fm_module_table[i]->name, tok))
                i++;
            if (i == total) {
                snprintf(err, errlen, "unknown module '%s' (see 'flowmaster routes' for the list)", tok);
                free(copy);
                return FM_EINVAL;
            }
            want[i] = true;
        }
        free(copy);
    }
    fm_mod_t *v = calloc(total, sizeof(*v));
    if (!v)
        return FM_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < total; i++)
        if (want[i])
            v[k++].def = fm_module_table[i];
    if (!k) {
        free(v);
        snprintf(err, errlen, "no modules selected");
        return FM_EINVAL;
    }
    *mods = v;
    *n = k;
    return FM_OK;
}

void fm_mods_release(fm_mod_t *mods, size_t n)
{
    for (size_t i = 0; mods && i < n; i++)
        fm_db_close(mods[i].db);
    free(mods);
}

int fm_data_dir_prepare(const char *dir, char *err, size_t errlen)
{
    char path[600];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; *p; p++) {     /* mkdir -p */
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0750) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "data dir '%s': cannot create '%s': %s", dir, path, strerror(errno));
            return FM_EIO;
        }
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "data dir '%s': cannot create: %s", dir, strerror(errno));
        return FM_EIO;
    }
    char probe[700];
    snprintf(probe, sizeof(probe), "%s/.write-probe", dir);
    FILE *f = fopen(probe, "w");
    if (!f) {
        snprintf(err, errlen, "data dir '%s' is not writable: %s", dir, strerror(errno));
        return FM_EIO;
    }
    fclose(f);
    unlink(probe);
    return FM_OK;
}

int fm_mods_open_dbs(fm_mod_t *mods, size_t n, bool background, char *err, size_t errlen)
{
    const fm_config_t *c = fm_cfg();
    fm_db_opts_t opts = { !strcmp(c->durability, "full"), c->cache_kib, background, 0 };
    for (size_t i = 0; i < n; i++) {
        fm_mod_t *m = &mods[i];
        if (!(m->def->flags & FM_M_DB))
            continue;
        char path[700];
        snprintf(path, sizeof(path), "%s/%s.db", c->data_dir, m->def->name);
        if (fm_db_open(&m->db, path, &opts, err, errlen) != FM_OK)
            return FM_EDB;
        if (fm_migrate_apply(m->db, m->def->name, fm_migrations, fm_nmigrations, NULL, err, errlen))
            return FM_EDB;
        /* Applied in full, or we would have stopped: no need to read them back. */
        m->mig_pending = 0;
        m->mig_applied = 0;
        for (size_t k = 0; k < fm_nmigrations; k++)
            m->mig_applied += !strcmp(fm_migrations[k].module, m->def->name);
    }
    return FM_OK;
}

#define WAL_CHECKPOINT_BYTES (1 << 20)

/* One job in the thread pool checkpoints, one after the other, every database whose
 * WAL file is past the mark. */
typedef struct ckpt { uv_work_t w; size_t n; fm_db_t *dbs[]; } ckpt_t;

static void ckpt_work(uv_work_t *w)
{
    ckpt_t *c = (ckpt_t *)w;
    for (size_t i = 0; i < c->n; i++)
        fm_db_checkpoint(c->dbs[i]);
}

static void ckpt_done(uv_work_t *w, int status)
{
    (void)status;
    S.checkpoints--;
    free(w);
}

/* Loop thread, every second: closes idle readers, and checkpoints the databases whose
 * WAL has grown, in the thread pool (one job at a time per process is plenty). A WAL
 * file keeps its size after a checkpoint (it is reused from its start), so the size
 * only says it once grew: every such database gets its checkpoint in the same job,
 * rather than the first one taking every turn while the others' WALs grow without end. */
static void maintain_dbs(void *arg)
{
    (void)arg;
    ckpt_t *c = NULL;
    for (size_t i = 0; i < S.n; i++) {
        fm_db_t *db = S.mods[i].db;
        if (!db)
            continue;
        fm_db_trim(db, READER_IDLE_S);
        if (S.checkpoints == 0 && fm_db_wal_size(db) > WAL_CHECKPOINT_BYTES) {
            if (!c && !(c = calloc(1, sizeof(*c) + S.n * sizeof(fm_db_t *))))
                continue;
            c->dbs[c->n++] = db;
        }
    }
    if (!c)
        return;
    if (uv_queue_work(fm_loop(), &c->w, ckpt_work, ckpt_done) == 0)
        S.checkpoints++;
    else
        free(c);
}

/* ---- stopping ---- */

static void on_deadline(void *arg)
{
    (void)arg;
    fm_log_msg(FM_LOG_ERROR, "shutdown deadline passed; exiting with in-flight work",
               "raise server.shutdown_timeout_ms if this is expected");
    _exit(1);
}

/* Loop thread, once CivetWeb has stopped: no request is running any more. */
static void after_http(void *arg)
{
    (void)arg;
    bus_flush();
    for (size_t i = S.n; i-- > 0;) {
        fm_mod_t *m = &S.mods[i];
        if (atomic_load(&m->started) && m->def->stop)
            m->def->stop(m);
        atomic_store(&m->started, false);
    }
    bus_shutdown();
    fm_fetch_shutdown();
    fm_timer_stop(S.deadline);
    fm_timer_stop(S.trim);
    S.deadline = S.trim = NULL;
    uv_close((uv_handle_t *)&S.sigint, NULL);
    uv_close((uv_handle_t *)&S.sigterm, NULL);
    uv_stop(fm_loop());
}

static void *stopper(void *arg)
{
    (void)arg;
    fm_http_stop();
    fm_loop_post(after_http, NULL);
    return NULL;
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    if (S.stopping) {
        fm_log_msg(FM_LOG_WARN, "already stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
        return;
    }
    S.stopping = true;
    atomic_store(&S.serving, false);
    fm_log_msg(FM_LOG_INFO, "stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    S.deadline = fm_timer_start((uint64_t)fm_cfg()->shutdown_timeout_ms, 0, on_deadline, NULL);
    if (pthread_create(&S.stopper, NULL, stopper, NULL) == 0)
        S.stopper_started = true;
    else
        on_deadline(NULL);
}

/* ---- serving ---- */

int fm_on_bound(int (*fn)(fm_mod_t *m), fm_mod_t *m)
{
    if (S.nbound == (int)(sizeof(S.bound) / sizeof(S.bound[0])))
        return FM_ENOMEM;
    S.bound[S.nbound].fn = fn;
    S.bound[S.nbound++].m = m;
    return FM_OK;
}

void fm_banner_admin(const char *email, const char *password)
{
    snprintf(S.admin_email, sizeof(S.admin_email), "%s", email ? email : "");
    snprintf(S.admin_password, sizeof(S.admin_password), "%s", password ? password : "");
}

/* The start-up summary on stdout (the log stays JSON on stderr): where the apps and
 * the API answer, with the offset applied, and how to sign in. */
static void print_banner(void)
{
    static const struct { const char *module, *label; int port; } apps[] = {
        { "gateway", "API", 9000 }, { "frontend", "Frontend", 3000 }, { "engage", "Engage", 3001 },
        { "designer", "Designer", 3002 }, { "manager", "Manager", 3005 },
    };
    const fm_config_t *c = fm_cfg();
    const char *host = !strcmp(c->listen, "0.0.0.0") || !strcmp(c->listen, "::") ? "localhost" : c->listen;
    const char *rule = "------------------------------------------------------------------------";
    printf("\n%s\n  FlowMaster is serving (data in %s)\n\n", rule, c->data_dir);
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
        if (fm_mods_find(apps[i].module))
            printf("  %-10s http://%s:%d/\n", apps[i].label, host, fm_listen_port(apps[i].port));
    if (S.admin_email[0] && fm_mods_find("auth")) {
        printf("\n  Admin      %s\n", S.admin_email);
        if (S.admin_password[0])
            printf("  Password   %s   (generated on this first start; shown only now)\n", S.admin_password);
        printf("\n  Sign in (prints an access token; needs curl and python3):\n"
               "    curl -s http://%s:%d/auth/login -d '{\"email\":\"%s\",\"password\":\"%s\"}' | "
               "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])'\n",
               host, fm_listen_port(8002), S.admin_email, S.admin_password[0] ? S.admin_password : "PASSWORD");
    }
    printf("%s\n\n", rule);
    fflush(stdout);
    sodium_memzero(S.admin_password, sizeof(S.admin_password));
}

static int subscribe_module(fm_mod_t *m, char *err, size_t errlen)
{
    for (const fm_sub_t *s = m->def->subs; s && s->pattern; s++)
        if (bus_subscribe(s->pattern, s->fn, m) < 0) {
            snprintf(err, errlen, "%s: bad subscription pattern '%s'", m->def->name, s->pattern);
            return FM_EINVAL;
        }
    return FM_OK;
}

int fm_serve(void)
{
    const fm_config_t *c = fm_cfg();
    char err[1024] = "";
    int code = 1;
    S.t0 = fm_time_mono();
    fm_log_set_level(c->log_level);
    fm_log_buffered_start(c->log_buffer_ms);

    if (fm_mods_select(c->modules, &S.mods, &S.n, err, sizeof(err)) ||
        fm_data_dir_prepare(c->data_dir, err, sizeof(err)) ||
        fm_mods_open_dbs(S.mods, S.n, true, err, sizeof(err)))
        goto fail;
    if (fm_routing_build(&S.routing, S.mods, S.n, err, sizeof(err)))
        goto fail;
    S.routed = true;
    fm__routing_set(&S.routing);
    if (fm_loop_init() || bus_init(fm_loop(), (size_t)c->bus_queue_capacity, c->bus_publish_timeout_ms) ||
        fm_fetch_init()) {
        snprintf(err, sizeof(err), "cannot start the event loop");
        goto fail;
    }
    for (size_t i = 0; i < S.n; i++) {
        fm_mod_t *m = &S.mods[i];
        if ((m->db && bus_outbox_attach(m->db, m->def->name)) || subscribe_module(m, err, sizeof(err)))
            goto fail;
        if (m->def->start && m->def->start(m) != FM_OK) {
            snprintf(err, sizeof(err), "module %s failed to start", m->def->name);
            goto fail;
        }
        atomic_store(&m->started, true);
    }
    /* Signals first: a SIGTERM that arrives as the ports open is a clean stop. */
    uv_signal_init(fm_loop(), &S.sigint);
    uv_signal_init(fm_loop(), &S.sigterm);
    uv_signal_start(&S.sigint, on_signal, SIGINT);
    uv_signal_start(&S.sigterm, on_signal, SIGTERM);
    gate_set(false);
    if (fm_http_start(&S.routing, err, sizeof(err)))
        goto fail;
    S.http_started = true;
    for (int i = 0; i < S.nbound; i++)
        if (S.bound[i].fn(S.bound[i].m) != FM_OK) {
            snprintf(err, sizeof(err), "module %s failed to start", S.bound[i].m->def->name);
            goto fail;
        }
    /* Everything is started: /ready says so from the first request let through. */
    atomic_store(&S.serving, true);
    gate_set(true);
    S.trim = fm_timer_start(1000, 1000, maintain_dbs, NULL);

    fm_log_t l;
    fm_log_begin(&l, FM_LOG_INFO, "serving");
    fm_log_str(&l, "listen", c->listen);
    fm_log_int(&l, "ports", (int64_t)S.routing.nports);
    fm_log_int(&l, "portOffset", c->port_offset);
    fm_log_int(&l, "modules", (int64_t)S.n);
    fm_log_str(&l, "dataDir", c->data_dir);
    fm_log_num(&l, "startupMs", (fm_time_mono() - S.t0) * 1000.0);
    fm_log_end(&l);
    print_banner();
    run_file_write();

    uv_run(fm_loop(), UV_RUN_DEFAULT);
    run_file_remove();
    code = 0;
    goto cleanup;
fail:
    fm_log_msg(FM_LOG_ERROR, "cannot start", err);
    fprintf(stderr, "flowmaster: %s\n", err);
    atomic_store(&S.serving, false);
    gate_set(true);     /* waiting requests get /ready's 503 or their module's answer */
    if (S.http_started)
        fm_http_stop();
    for (size_t i = S.n; i-- > 0;)
        if (atomic_load(&S.mods[i].started) && S.mods[i].def->stop)
            S.mods[i].def->stop(&S.mods[i]);
    bus_shutdown();
    fm_fetch_shutdown();
cleanup:
    if (S.stopper_started)
        pthread_join(S.stopper, NULL);
    fm_loop_close();
    fm__routing_set(NULL);
    if (S.routed)
        fm_routing_release(&S.routing);
    S.routed = false;
    fm_mods_release(S.mods, S.n);
    S.mods = NULL;
    S.n = 0;
    S.nbound = 0;
    S.http_started = false;
    if (code == 0)
        fm_log_msg(FM_LOG_INFO, "stopped", NULL);
    fm_log_buffered_stop();
    return code;
}
