/*
 * test_knowledge.c — the pure parts of the Knowledge Hub (src/modules/knowledge/):
 * chunking by headings and paragraphs (sizes, heading paths, overlap from a word start,
 * cuts on UTF-8 boundaries, code fences, the chunk limit), the terms of a question, the
 * per-chunk term counts, the hashing embedder and its byte form, and the extractive
 * answer with its citations.
 */
#include "fm_test.h"

#include "fm_buf.h"
#include "modules/knowledge/knowledge_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *piece(const char *t, const kn_chunk_t *c)
{
    static char buf[8192];
    memcpy(buf, t + c->off, c->len);
    buf[c->len] = '\0';
    return buf;
}

static void headings_and_paragraphs(void **state)
{
    (void)state;
    const char *t = "Preface line.\n\n# Guide\n\nIntro.\n\n## Install\n\nStep one.\nStill step one.\n\n"
                    "Step two.\n\n```\n# not a heading\n```\n\n## Use ##\n\nRun it.\n";
    kn_chunk_t *c = NULL;
    size_t n = 0;
    assert_int_equal(kn_chunk_text(t, strlen(t), 800, 100, &c, &n), FM_OK);
    assert_int_equal(n, 4);
    assert_string_equal(c[0].heading, "");
    assert_string_equal(piece(t, &c[0]), "Preface line.");
    assert_string_equal(c[1].heading, "Guide");
    assert_string_equal(piece(t, &c[1]), "Intro.");
    assert_string_equal(c[2].heading, "Guide > Install");
    assert_string_equal(piece(t, &c[2]), "Step one.\nStill step one.\n\nStep two.\n\n```\n# not a heading\n```");
    assert_string_equal(c[3].heading, "Guide > Use");
    assert_string_equal(piece(t, &c[3]), "Run it.");
    free(c);
}

static void long_paragraph_cut_with_overlap(void **state)
{
    (void)state;
    char t[6000];
    size_t w = 0;
    for (int i = 0; i < 100; i++)
        w += (size_t)snprintf(t + w, sizeof(t) - w, "Sentence %d is here. ", i);
    kn_chunk_t *c = NULL;
    size_t n = 0;
    assert_int_equal(kn_chunk_text(t, w, 300, 60, &c, &n), FM_OK);
    assert_true(n > 5);
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].len <= 300);
        if (i + 1 < n) {
            assert_int_equal(t[c[i].off + c[i].len - 1], '.');        /* cut after a full stop */
            assert_true(c[i + 1].off < c[i].off + c[i].len);          /* overlaps */
            assert_true(c[i].off + c[i].len - c[i + 1].off <= 60);
            assert_true(t[c[i + 1].off - 1] == ' ');                  /* from a word start */
        }
    }
    assert_int_equal(c[n - 1].off + c[n - 1].len, w - 1);             /* all of it, trailing space trimmed */
    free(c);
}

static void no_spaces_cut_on_utf8_boundaries(void **state)
{
    (void)state;
    char t[3001];
    for (int i = 0; i < 1000; i++)
        memcpy(t + 3 * i, "\xe2\x82\xac", 3);       /* € */
    kn_chunk_t *c = NULL;
    size_t n = 0;
    assert_int_equal(kn_chunk_text(t, 3000, 200, 0, &c, &n), FM_OK);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].len <= 200 && c[i].len % 3 == 0 && c[i].off % 3 == 0);
        total += c[i].len;
    }
    assert_int_equal(total, 3000);
    free(c);
}

static void chunk_limit(void **state)
{
    (void)state;
    size_t len = (size_t)(KN_CHUNKS_MAX + 10) * 4;
    char *t = malloc(len + 1);
    for (size_t i = 0; i < len; i += 4)
        memcpy(t + i, "a\n\n\n", 4);
    kn_chunk_t *c = NULL;
    size_t n = 0;
    /* each "a" paragraph fits with the next, so fewer chunks than paragraphs */
    assert_int_equal(kn_chunk_text(t, len, 200, 0, &c, &n), FM_OK);
    assert_true(n < KN_CHUNKS_MAX);
    free(c);
    free(t);
    /* a heading before each: one chunk per section, past the limit */
    len = (size_t)(KN_CHUNKS_MAX + 1) * 6;
    t = malloc(len + 1);
    for (size_t i = 0; i < len; i += 6)
        memcpy(t + i, "# h\nx\n", 6);
    c = NULL;
    assert_int_equal(kn_chunk_text(t, len, 200, 0, &c, &n), FM_ETOOBIG);
    assert_null(c);
    assert_int_equal(kn_chunk_text(t, len - 12, 200, 0, &c, &n), FM_OK);
    assert_int_equal(n, KN_CHUNKS_MAX - 1);
    free(c);
    free(t);
}

static void terms(void **state)
{
    (void)state;
    char buf[256];
    const char *v[KN_TERMS_MAX];
    int n = kn_terms("How does the \"Refund\" work? NEAR(refund, 2) AND x* -- caf\xc3\xa9", buf, sizeof(buf), v,
                     KN_TERMS_MAX);
    assert_int_equal(n, 4);
    assert_string_equal(v[0], "refund");
    assert_string_equal(v[1], "work");
    assert_string_equal(v[2], "near");
    assert_string_equal(v[3], "caf\xc3\xa9");
    assert_int_equal(kn_terms("the of and a I", buf, sizeof(buf), v, KN_TERMS_MAX), 0);
    /* counts: once per chunk */
    kn_df_t m = { 0 };
    assert_int_equal(kn_df_add_text(&m, "Refund refund policy", 0), FM_OK);
    assert_int_equal(kn_df_add_text(&m, "refund later", 1), FM_OK);
    int refund = -1, policy = -1;
    for (size_t i = 0; i < m.cap; i++) {
        if (m.v[i].term && !strcmp(m.v[i].term, "refund"))
            refund = m.v[i].df;
        if (m.v[i].term && !strcmp(m.v[i].term, "policy"))
            policy = m.v[i].df;
    }
    assert_int_equal(refund, 2);
    assert_int_equal(policy, 1);
    assert_int_equal(m.n, 3);
    kn_df_release(&m);
}

static void embeddings(void **state)
{
    (void)state;
    float a[KN_VEC_DIMS], b[KN_VEC_DIMS], c[KN_VEC_DIMS];
    kn_embed("refund to the original payment method", 38, a);
    kn_embed("the refund goes to the original payment method", 46, b);
    kn_embed("passwords are hashed with argon2id", 34, c);
    assert_true(fabsf(kn_dot(a, a) - 1.0f) < 1e-5f);
    assert_true(kn_dot(a, b) > 0.5f);
    assert_true(kn_dot(a, b) > kn_dot(a, c) + 0.3f);
    int8_t q[KN_VEC_DIMS];
    kn_quantize(b, q);
    assert_true(fabsf(kn_cos_q8(a, q) - kn_dot(a, b)) < 0.02f);
    float z[KN_VEC_DIMS];
    kn_embed("! ?", 3, z);
    kn_quantize(z, q);
    assert_true(kn_cos_q8(a, q) == 0.0f);
}

static void extractive_answer(void **state)
{
    (void)state;
    const char *texts[] = { "Payment is due within 30 days. Invoices go out monthly.",
                            "Late payment costs a fee.\nRefunds take 5 days." };
    const char *t[] = { "payment", "due", "fee" };
    bool cited[2];
    char *a = kn_extract_answer(texts, 2, t, 3, cited);
    assert_string_equal(a, "Payment is due within 30 days. [1] Late payment costs a fee. [2]");
    assert_true(cited[0] && cited[1]);
    free(a);
    const char *none[] = { "zebra" };
    a = kn_extract_answer(texts, 2, none, 1, cited);
    assert_string_equal(a, "");
    assert_false(cited[0] || cited[1]);
    free(a);
}

/* The [n] marks of an agent's answer: lists, spaces, text in brackets, numbers out of
 * range (dropped, each once), unclosed and huge marks, and a long run of '[' read in
 * one pass. */
static void agent_citations(void **state)
{
    (void)state;
    bool cited[4];
    cJSON *dropped = cJSON_CreateArray();
    kn_agent_citations("A [1]. B [ 2 , 9 ]; C [x] [0] [9] [3,] [4 [12345678901] [2][", 4, cited, dropped);
    assert_true(cited[0] && cited[1]);
    assert_false(cited[2] || cited[3]);
    char *d = cJSON_PrintUnformatted(dropped);
    assert_string_equal(d, "[9,0]");
    free(d);
    cJSON_Delete(dropped);
    size_t n = 200000;
    char *big = malloc(n + 1);
    for (size_t k = 0; k < n; k++)
        big[k] = k % 2 ? ' ' : '[';
    big[n] = 0;
    dropped = cJSON_CreateArray();
    kn_agent_citations(big, 4, cited, dropped);
    assert_int_equal(cJSON_GetArraySize(dropped), 0);
    cJSON_Delete(dropped);
    free(big);
    /* at most KN_DROPPED_MAX distinct numbers are reported */
    fm_buf_t b = { 0 };
    for (int k = 0; k < 100; k++)
        fm_buf_addf(&b, "[%d] ", 10 + k);
    char *many = fm_buf_detach(&b, NULL);
    dropped = cJSON_CreateArray();
    kn_agent_citations(many, 4, cited, dropped);
    assert_int_equal(cJSON_GetArraySize(dropped), KN_DROPPED_MAX);
    cJSON_Delete(dropped);
    free(many);
}

/* The prompt numbers the passages as they are given, with title, source and text. */
static void agent_prompt(void **state)
{
    (void)state;
    cJSON *ps = cJSON_Parse("[{\"title\":\"T1\",\"source\":\"a.md\",\"text\":\"first text\"},"
                            "{\"title\":\"T2\",\"source\":\"\",\"text\":\"second text\"}]");
    char *p = kn_agent_prompt("why?", ps, 2);
    assert_non_null(strstr(p, "Question: why?"));
    assert_non_null(strstr(p, "[1] T1 (a.md)\nfirst text"));
    assert_non_null(strstr(p, "[2] T2\nsecond text"));
    free(p);
    cJSON_Delete(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(headings_and_paragraphs),
        cmocka_unit_test(long_paragraph_cut_with_overlap),
        cmocka_unit_test(no_spaces_cut_on_utf8_boundaries),
        cmocka_unit_test(chunk_limit),
        cmocka_unit_test(terms),
        cmocka_unit_test(embeddings),
        cmocka_unit_test(extractive_answer),
        cmocka_unit_test(agent_citations),
        cmocka_unit_test(agent_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
