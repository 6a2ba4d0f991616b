/*
 * exec_bench.c — exec.h: the engine on its own database, for bench/exec_inproc_bench.c.
 */
#include "exec.h"
#include "exec_int.h"

#include "../../fm_embed.h"
#include "../../fm_migrate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static fm_db_t *bench_db;
static pthread_t ckpt_thread;
static atomic_bool ckpt_stop;

/* What `serve` does from libuv's thread pool: a passive checkpoint once the log
 * passes 1 MiB, so commits never pay for one. */
static void *checkpointer(void *arg)
{
    (void)arg;
    while (!atomic_load(&ckpt_stop)) {
        if (fm_db_wal_size(bench_db) > (1 << 20))
            fm_db_checkpoint(bench_db);
        usleep(20000);
    }
    return NULL;
}

int exec_bench_open(const char *data_dir)
{
    char path[700], err[300];
    snprintf(path, sizeof(path), "%s/execution.db", data_dir);
    fm_db_opts_t opts = { false, 8192, true, 0 };     /* as `serve`: checkpoints off the commit path */
    if (fm_db_open(&bench_db, path, &opts, err, sizeof(err)) != FM_OK ||
        fm_migrate_apply(bench_db, "execution", fm_migrations, fm_nmigrations, NULL, err, sizeof(err)) != FM_OK) {
        fprintf(stderr, "exec_bench_open: %s\n", err);
        return FM_EDB;
    }
    ex_work_set_db(bench_db);
    ckpt_stop = false;
    pthread_create(&ckpt_thread, NULL, checkpointer, NULL);
    return FM_OK;
}

int exec_bench_deploy(const char *xml, size_t len, const char *process_id)
{
    char err[400];
    ex_def_t *d = ex_def_compile(xml, len, NULL, err, sizeof(err));
    if (!d) {
        fprintf(stderr, "exec_bench_deploy: %s\n", err);
        return FM_EINVAL;
    }
    return ex_def_put("default", process_id, 1, d);
}

int exec_bench_start(const char *process_id, const char *vars_json, char state_out[16])
{
    ex_def_t *d;
    const char *field;
    char why[300];
    int rc = ex_def_get("default", process_id, 1, &d, &field, why, sizeof(why));
    if (rc != FM_OK)
        return rc;
    cJSON *vars = vars_json ? cJSON_Parse(vars_json) : NULL;
    ex_tx_t tx;
    if ((rc = ex_tx_begin(&tx, bench_db)) != FM_OK) {
        cJSON_Delete(vars);
        return rc;
    }
    ex_inst_t *in;
    rc = ex_start(&tx, d, NULL, vars, NULL, NULL, 0, -1, &in);
    if (rc == FM_OK)
        snprintf(state_out, 16, "%s", ex_state_name(in->state));
    cJSON_Delete(vars);
    return ex_tx_end(&tx, rc);
}

void exec_bench_close(void)
{
    atomic_store(&ckpt_stop, true);
    pthread_join(ckpt_thread, NULL);
    ex_store_stash_clear();
    ex_defs_clear();
    ex_work_set_db(NULL);
    fm_db_close(bench_db);
    bench_db = NULL;
}
