/*
 * knowledge_int.h — private to the Knowledge Hub (8009): chunking and the words of a
 * text (knowledge_text.c), the hashing embedder and the extractive answer
 * (knowledge_rank.c), the store (knowledge_store.c). The routes are in knowledge.c;
 * docs/knowledge.md is the contract.
 */
#ifndef KNOWLEDGE_INT_H
#define KNOWLEDGE_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- bounds ---- */
#define KN_TEXT_MAX (8 << 20)           /* bytes of text in one ingest */
#define KN_CHUNKS_MAX 20000             /* chunks of one source */
#define KN_CHUNK_DEFAULT 800            /* target chunk size, bytes */
#define KN_CHUNK_MIN 200
#define KN_CHUNK_MAX 4000
#define KN_OVERLAP_DEFAULT 100          /* bytes repeated from the previous chunk of a section */
#define KN_HEADING_MAX 300              /* bytes of the heading path kept per chunk */
#define KN_TERMS_MAX 32                 /* distinct terms read from a question */
#define KN_TERM_MAX 64                  /* bytes of one term (longer words are cut) */
#define KN_QUESTION_MAX 2000            /* bytes of a question */
#define KN_K_MAX 50                     /* passages one query returns */
#define KN_CANDIDATES 100               /* BM25 candidates re-ranked per query */
#define KN_MATCH_BUDGET 4000            /* chunks the BM25 match may score (docs: "Ranking") */
#define KN_FEEDBACK_WEIGHT_MAX 4        /* |weight| of one (chunk, term) */
#define KN_FEEDBACK_STEP 0.25           /* score added per vote and matching term share */
#define KN_VEC_DIMS 256
#define KN_VEC_SCAN_MAX 200000          /* chunks one exact-cosine scan reads at most */
#define KN_ANSWER_SENTENCES 3
#define KN_ANSWER_PASSAGES 3            /* top passages the extractive answer reads */
#define KN_AGENT_PASSAGES 8             /* top passages numbered in an agent's prompt */
#define KN_DROPPED_MAX 32               /* distinct out-of-range citations reported */

/* ---- knowledge_text.c ---- */
typedef struct kn_chunk {
    size_t off, len;        /* into the text */
    char heading[KN_HEADING_MAX];
} kn_chunk_t;

/* Cuts text (len bytes, UTF-8) into chunks: Markdown headings (# … ######) start a
 * section whose heading path ("Guide > Install") each of its chunks carries; inside a
 * section, paragraphs (blank-line separated) are packed into chunks of about `target`
 * bytes; a paragraph longer than that is cut at a sentence end, else a space, else a
 * character boundary; each chunk after the first of a section starts with the last
 * ~`overlap` bytes of the one before (from a word start). Linear in len. *out is
 * malloc'ed (caller frees); FM_ETOOBIG past KN_CHUNKS_MAX chunks. */
int kn_chunk_text(const char *text, size_t len, int target, int overlap, kn_chunk_t **out, size_t *n);

/* The search terms of a text: words of letters and digits (any non-ASCII byte counts
 * as a letter), lower-cased (ASCII), stop words and one-letter words left out, each
 * term once, at most max of them, each cut to KN_TERM_MAX - 1 bytes. Returns the count;
 * terms[i] point into buf (size len). */
int kn_terms(const char *text, char *buf, size_t len, const char **terms, int max);

/* Document frequencies of terms over a set of chunks (the terms as kn_terms makes
 * them): an open-addressing map, each term counted once per chunk number `doc`. */
typedef struct kn_df_entry {
    char *term;
    uint64_t hash;
    int df, last;
} kn_df_entry_t;
typedef struct kn_df {
    kn_df_entry_t *v;
    size_t n, cap;
} kn_df_t;
int kn_df_add_text(kn_df_t *m, const char *text, int doc);
void kn_df_release(kn_df_t *m);

/* The 64-bit FNV-1a of a string, as 16 hex digits (the scope tokens). */
void kn_scope_token(char prefix, const char *a, const char *b, char out[20]);

/* ---- knowledge_rank.c ---- */
/* Feature hashing of word unigrams and bigrams into KN_VEC_DIMS signed buckets,
 * L2-normalised (all zero for a text without words). */
void kn_embed(const char *text, size_t len, float *v);
float kn_dot(const float *a, const float *b);
/* A unit vector as KN_VEC_DIMS signed bytes, scaled so its largest component is ±127;
 * kn_cos_q8 is the cosine of a unit vector and such a quantised one. */
void kn_quantize(const float *v, int8_t *q);
float kn_cos_q8(const float *unit, const int8_t *q);

/* The extractive answer: sentences of passages[0..n) scored by the question terms they
 * hold (each term once, weighted by the passage's rank), the best KN_ANSWER_SENTENCES
 * in passage order, each followed by its citation "[i]" (i = passage index + 1).
 * Returns the answer (caller frees; "" when no sentence holds a term) and sets
 * cited[i] for each passage used. */
char *kn_extract_answer(const char *const *texts, int n, const char *const *terms, int nterms, bool *cited);

/* ---- knowledge_agent.c ---- */
/* The prompt that asks an agent to answer `question` from the first n passages (objects
 * with text, title, source), numbered [1]..[n], citing them as [n]. Caller frees. */
char *kn_agent_prompt(const char *question, const cJSON *passages, int n);
/* Reads the [n] and [n, m] citation marks of an agent's answer in one pass: cited[i]
 * for each passage i+1 ≤ n it cites; numbers outside 1..n go (distinct, at most
 * KN_DROPPED_MAX) into `dropped`, an array of numbers. */
void kn_agent_citations(const char *answer, int n, bool *cited, cJSON *dropped);

/* ---- knowledge_store.c ---- */
int kn_coll_create(fm_db_t *db, const char *tenant, const char *name, const char *desc, cJSON **out);
int kn_coll_get(fm_db_t *db, const char *tenant, const char *name, cJSON **out);
int kn_coll_update(fm_db_t *db, const char *tenant, const char *name, const char *desc, cJSON **out);
int kn_coll_delete(fm_db_t *db, const char *tenant, const char *name);
int kn_coll_list(fm_db_t *db, const char *tenant, int offset, int limit, cJSON *items, int *total);
/* FM_OK when it exists; "default" is made on first use. */
int kn_coll_ensure(fm_db_t *db, const char *tenant, const char *name);

typedef struct kn_source_new {
    const char *tenant, *collection, *title, *source, *document_id;
    const char *text;
    size_t len;
    const kn_chunk_t *chunks;
    size_t nchunks;
    bool embed;
} kn_source_new_t;
int kn_source_insert(fm_db_t *db, const kn_source_new_t *s, cJSON **out);
int kn_source_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out);
int kn_source_delete(fm_db_t *db, const char *tenant, const char *id);
int kn_source_list(fm_db_t *db, const char *tenant, const char *collection, int offset, int limit, cJSON *items,
                   int *total);
int kn_chunk_list(fm_db_t *db, const char *tenant, const char *source, int offset, int limit, cJSON *items,
                  int *total);

typedef struct kn_query {
    const char *tenant, *collection;    /* collection NULL: every collection of the tenant */
    const char *source_id, *source;     /* filters (NULL: none) */
    const char *const *terms;
    int nterms;
    int k;
    bool vectors;                        /* hybrid with the hashed embeddings */
    const char *question;
    cJSON *skipped;                      /* when set: the terms left out of the match */
} kn_query_t;
/* The ranked passages (docs/knowledge.md "Ranking") appended to `into`, at most k. */
int kn_search(fm_db_t *db, const kn_query_t *q, cJSON *into);

/* Records a vote on passage (source_id, position) of the tenant; FM_ENOTFOUND when
 * there is no such passage. *out: the stored vote. */
int kn_feedback_add(fm_db_t *db, const char *tenant, const char *source_id, int position, const char *question,
                    const char *const *terms, int nterms, bool helpful, const char *corrected, const char *actor,
                    cJSON **out);
/* The question's terms sorted and joined by spaces (out: at least KN_KEY_MAX bytes). */
#define KN_KEY_MAX (KN_TERMS_MAX * KN_TERM_MAX + 1)
void kn_terms_key(const char *const *terms, int nterms, char *out);
/* The latest corrected answers (at most 3) given for questions with the same terms key. */
int kn_corrections(fm_db_t *db, const char *tenant, const char *collection, const char *key, cJSON *into);
int kn_feedback_list(fm_db_t *db, const char *tenant, const char *collection, int offset, int limit,
                     cJSON *items, int *total);

#endif
