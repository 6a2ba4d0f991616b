/*
 * exec_inproc_bench.c — in-process rate of the Execution Engine for `make bench-exec`
 * (bench/exec_bench.sh): bench/exec_bench.bpmn (start → script → exclusive gateway →
 * parallel fork of two scripts → join → end, FEEL) deployed once through the engine's
 * bench API (src/modules/execution/exec.h), then N instances started one after the
 * other, each run to its end and committed to a real execution.db (SQLite, WAL) in a
 * temporary directory: the same durable work as POST /executions without HTTP, auth,
 * JSON answers or Process Design. Every instance must end "completed".
 *
 *   exec_inproc_bench <exec_bench.bpmn> [instances, default 20000] [warm-up, default 500]
 *
 * Prints one human line and one "result rate=… n=… bad=…" line. Exit 0 measured, 3 some
 * instance did not complete, 1 could not run.
 */
#include "modules/execution/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs n instances; returns how many did not end "completed" (-1: a start failed). */
static long run(long n, char *first_bad, size_t cap)
{
    static const char vars[] = "{\"amount\":120,\"customer\":\"acme\"}";
    long bad = 0;
    for (long i = 0; i < n; i++) {
        char state[16] = "";
        int rc = exec_bench_start("exec_bench", vars, state);
        if (rc != 0) {
            snprintf(first_bad, cap, "exec_bench_start returned %d", rc);
            return -1;
        }
        if (strcmp(state, "completed")) {
            if (!bad)
                snprintf(first_bad, cap, "state \"%s\"", state);
            bad++;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: exec_inproc_bench <exec_bench.bpmn> [instances] [warm-up]\n");
        return 1;
    }
    long n = argc > 2 ? atol(argv[2]) : 20000;
    long warm = argc > 3 ? atol(argv[3]) : 500;
    size_t len = 0;
    char *xml = slurp(argv[1], &len);
    if (!xml || n <= 0) {
        fprintf(stderr, "exec_inproc_bench: cannot read %s\n", argv[1]);
        return 1;
    }
    char dir[] = "/tmp/fm-exec-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = 1;
    char bad_msg[160] = "";
    if (exec_bench_open(dir) != 0) {
        fprintf(stderr, "exec_inproc_bench: exec_bench_open(%s) failed\n", dir);
        goto cleanup;
    }
    if (exec_bench_deploy(xml, len, "exec_bench") != 0) {
        fprintf(stderr, "exec_inproc_bench: exec_bench_deploy failed\n");
        exec_bench_close();
        goto cleanup;
    }
    long bad = run(warm, bad_msg, sizeof bad_msg);
    double t = now();
    if (bad >= 0)
        bad = run(n, bad_msg, sizeof bad_msg);
    double dt = now() - t;
    exec_bench_close();
    if (bad < 0) {
        fprintf(stderr, "exec_inproc_bench: %s\n", bad_msg);
        goto cleanup;
    }
    printf("exec in-process: %.0f instances/s (%ld instances in %.2f s, durable: one SQLite "
           "transaction each, WAL)\n", (double)n / dt, n, dt);
    printf("result rate=%.0f n=%ld bad=%ld\n", (double)n / dt, n, bad);
    if (bad) {
        printf("INVALID: %ld instances did not complete; first: %s\n", bad, bad_msg);
        rc = 3;
    } else {
        rc = 0;
    }
cleanup:
    free(xml);
    /* the engine's files: execution.db and its WAL and shared-memory index */
    static const char *const files[] = { "execution.db", "execution.db-wal", "execution.db-shm" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[sizeof dir + 32];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "exec_inproc_bench: could not remove %s\n", dir);
    return rc;
}
