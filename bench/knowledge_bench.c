/*
 * knowledge_bench.c — the Knowledge Hub's store (src/modules/knowledge/) in-process on a
 * temporary database: ingest throughput (MB/s of text: chunking, the FTS5 index and the
 * rows, one transaction per source) and query latency p50/p99 (BM25 candidates, feedback
 * lookup, fetching k = 5 passages) at 10k and 100k chunks of ~800 bytes, then the same
 * with the hashed embeddings (exact cosine over every chunk of the collection). Text is
 * synthetic: words drawn from a Zipf distribution over a 50,000-word vocabulary, so a
 * few words are everywhere (as stop words are) and most are rare. Questions take 2 to 6
 * words from ranks 50..20,000 (a question's content words, stop words dropped). HTTP
 * adds ~0.1 ms per request on top (bench/README.md).
 *
 *   build/bench/knowledge_bench [chunks ...]     (default: 10000 100000)
 */
#include "fm_db.h"
#include "fm_dbq.h"
#include "fm_log.h"
#include "modules/knowledge/knowledge_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VOCAB 50000
#define QUERIES 400

static double cdf[VOCAB];

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* CPU time of this thread: on a shared machine wall time also counts other people's work */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void apply(fm_db_t *db, const char *file)
{
    FILE *fp = fopen(file, "rb");
    static char sql[16384];
    size_t n = fp ? fread(sql, 1, sizeof(sql) - 1, fp) : 0;
    if (fp)
        fclose(fp);
    sql[n] = '\0';
    sqlite3 *w = fm_db_write_begin(db);
    char err[256] = "";
    if (fm_db_write_end(db, fm_db_exec(w, sql, err, sizeof(err))) != FM_OK)
        fprintf(stderr, "migration: %s\n", err);
}

static int zipf(void)
{
    double u = rand() / (RAND_MAX + 1.0);
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A word for rank r: letters only, distinct per rank. */
static int word(int r, char *out)
{
    static const char *syl[] = { "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da",
                                 "fu", "go", "he", "ji", "pa", "qu", "ze", "xo", "wy", "co" };
    int n = 0;
    do {
        const char *s = syl[r % 20];
        out[n++] = s[0];
        out[n++] = s[1];
        r /= 20;
    } while (r);
    out[n] = '\0';
    return n;
}

/* A Markdown document of about `bytes`: a heading per ~3 paragraphs of ~260 bytes. */
static size_t document(char *buf, size_t bytes)
{
    size_t w = 0;
    int para = 0;
    while (w + 400 < bytes) {
        if (para % 3 == 0)
            w += (size_t)sprintf(buf + w, "## Section %d\n\n", para / 3);
        size_t end = w + 260;
        while (w < end) {
            w += (size_t)word(zipf(), buf + w);
            buf[w++] = rand() % 12 ? ' ' : '.';
            if (buf[w - 1] == '.')
                buf[w++] = ' ';
        }
        buf[w++] = '.';
        buf[w++] = '\n';
        buf[w++] = '\n';
        para++;
    }
    buf[w] = '\0';
    return w;
}

static int run(long target, bool embed)
{
    char dir[] = "/tmp/fm-knbench-XXXXXX", path[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/knowledge.db", dir);
    fm_db_t *db = NULL;
    fm_db_opts_t opts = { .cache_kib = 8192 };
    char err[200];
    if (fm_db_open(&db, path, &opts, err, sizeof(err)) != FM_OK)
        return 1;
    apply(db, "migrations/knowledge/0001_init.sql");
    apply(db, "migrations/knowledge/0002_term_df.sql");
    apply(db, "migrations/knowledge/0003_chunk_vecs.sql");
    cJSON *c = NULL;
    kn_coll_create(db, "bench", "docs", NULL, &c);
    cJSON_Delete(c);
    /* another tenant with a tenth as much, so scopes and tenant filters have work to do */
    kn_coll_create(db, "other", "docs", NULL, &c);
    cJSON_Delete(c);

    static char doc[64 * 1024];
    long chunks = 0;
    double bytes = 0, t_ingest = 0, c_ingest = 0;
    int ndocs = 0;
    while (chunks < target) {
        bool other = ndocs % 11 == 10;
        size_t len = document(doc, 40 * 1024);
        double t0 = now_s(), c0 = cpu_s();
        kn_chunk_t *v = NULL;
        size_t n = 0;
        if (kn_chunk_text(doc, len, KN_CHUNK_DEFAULT, KN_OVERLAP_DEFAULT, &v, &n) != FM_OK)
            return 1;
        kn_source_new_t s = { other ? "other" : "bench", "docs", "doc", "bench.md", NULL, doc, len, v, n, embed };
        cJSON *out = NULL;
        if (kn_source_insert(db, &s, &out) != FM_OK) {
            fprintf(stderr, "insert failed\n");
            return 1;
        }
        t_ingest += now_s() - t0;
        c_ingest += cpu_s() - c0;
        cJSON_Delete(out);
        free(v);
        if (!other) {
            chunks += (long)n;
            bytes += (double)len;
        }
        ndocs++;
    }
    printf("%s%ld chunks (+%d documents of another tenant): ingest %.1f MB/s wall, %.1f MB/s of CPU time "
           "(%.1f MB in %.2f s wall, %.2f s CPU)\n",
           embed ? "[embeddings = hash] " : "", chunks, ndocs / 11, bytes / 1e6 / t_ingest, bytes / 1e6 / c_ingest,
           bytes / 1e6, t_ingest, c_ingest);

    double t[QUERIES], tc[QUERIES];
    int empty = 0;
    long returned = 0;
    for (int i = 0; i < QUERIES; i++) {
        char q[256];
        size_t w = 0;
        int nw = 2 + rand() % 5;
        for (int k = 0; k < nw; k++) {
            int r;
            do
                r = zipf();
            while (r < 50 || r >= 20000);
            w += (size_t)word(r, q + w);
            q[w++] = ' ';
        }
        q[w] = '\0';
        char tbuf[512];
        const char *terms[KN_TERMS_MAX];
        double t0 = now_s(), c0 = cpu_s();
        int nt = kn_terms(q, tbuf, sizeof(tbuf), terms, KN_TERMS_MAX);
        kn_query_t kq = { "bench", "docs", NULL, NULL, terms, nt, 5, embed, q, NULL };
        cJSON *into = cJSON_CreateArray();
        if (kn_search(db, &kq, into) != FM_OK)
            return 1;
        t[i] = (now_s() - t0) * 1e3;
        tc[i] = (cpu_s() - c0) * 1e3;
        int got = cJSON_GetArraySize(into);
        empty += got == 0;
        returned += got;
        cJSON_Delete(into);
    }
    qsort(t, QUERIES, sizeof(double), cmp_d);
    qsort(tc, QUERIES, sizeof(double), cmp_d);
    printf("%squery k=5 over %ld chunks: wall p50 %.2f ms, p99 %.2f ms; CPU p50 %.2f ms, p99 %.2f ms "
           "(%d queries, %.1f passages each, %d empty)\n",
           embed ? "[embeddings = hash] " : "", chunks, t[QUERIES / 2], t[QUERIES * 99 / 100], tc[QUERIES / 2],
           tc[QUERIES * 99 / 100], QUERIES, returned / (double)QUERIES, empty);
    fm_db_close(db);
    if (getenv("KN_BENCH_KEEP")) {
        printf("kept %s\n", path);
        return 0;
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    double s = 0;
    for (int i = 0; i < VOCAB; i++)
        cdf[i] = (s += 1.0 / (i + 1));
    for (int i = 0; i < VOCAB; i++)
        cdf[i] /= s;
    srand(42);
    long sizes[8] = { 10000, 100000 };
    int ns = 2;
    if (argc > 1) {
        ns = 0;
        for (int i = 1; i < argc && ns < 8; i++)
            sizes[ns++] = atol(argv[i]);
    }
    for (int i = 0; i < ns; i++)
        if (run(sizes[i], false))
            return 1;
    if (getenv("KN_BENCH_KEEP"))
        return 0;
    /* exact cosine reads every chunk's vector: measured at the first size only */
    return run(sizes[0], true);
}
