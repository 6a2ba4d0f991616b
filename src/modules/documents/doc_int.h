/*
 * doc_int.h — private to Document Intelligence (9002): format detection and text
 * extraction (doc_text.c), the bounded zip reader for DOCX/ODT (doc_zip.c), PDF text
 * through pdftotext (doc_pdf.c), entity extraction and classification (doc_extract.c),
 * the store (doc_store.c). The routes are in documents.c; docs/documents.md is the
 * contract.
 */
#ifndef DOC_INT_H
#define DOC_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define DOC_SOURCE "/flowmaster/documents"
#define DOC_UPLOADED "document.uploaded"
#define DOC_EXTRACTED "document.extracted"

/* Zip archives (DOCX, ODT): entries listed at most, bytes one entry may inflate to, and
 * the expansion an entry above DOC_ZIP_RATIO_FLOOR bytes may have (zip bombs). */
#define DOC_ZIP_MAX_ENTRIES 10000
#define DOC_ZIP_MAX_INFLATED (64L << 20)
#define DOC_ZIP_MAX_RATIO 100
#define DOC_ZIP_RATIO_FLOOR (1L << 20)
/* Extracted text kept at most (bytes); more is cut at a UTF-8 boundary. */
#define DOC_TEXT_MAX (32L << 20)

typedef enum {
    DOC_F_TEXT, DOC_F_MARKDOWN, DOC_F_HTML, DOC_F_JSON, DOC_F_CSV, DOC_F_XML, DOC_F_DOCX, DOC_F_ODT,
    DOC_F_PDF, DOC_F_UNKNOWN
} doc_format_t;

/* Why extraction failed: an HTTP status (415 unsupported, 422 unreadable) and a detail. */
typedef struct doc_err {
    int status;
    char detail[700];
} doc_err_t;

/* ---- doc_text.c ---- */
const char *doc_format_name(doc_format_t f);
const char *doc_format_media(doc_format_t f);
/* The format from the media type (parameters ignored), else the file name's extension,
 * else the first bytes (%PDF-, PK zip, '<', '{'). A zip is DOCX or ODT by its entries.
 * DOC_F_UNKNOWN with err set (415 naming the accepted types) otherwise. */
doc_format_t doc_detect(const char *media_type, const char *name, const char *data, size_t len, doc_err_t *err);
/* The text of a document: *text (caller frees, NUL-terminated, UTF-8). FM_EINVAL with
 * err set when it cannot be read. */
int doc_text_extract(doc_format_t f, const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err);
/* HTML → text: tags removed (block tags end a line), script/style dropped, entities
 * decoded. Exposed for the unit tests. */
char *doc_html_text(const char *s, size_t n, size_t *outlen);
/* Whether s[0..n) is UTF-8 without NUL. */
bool doc_utf8_ok(const char *s, size_t n);

/* ---- doc_zip.c ---- */
/* Inflates the entry named `name` of the zip in z[0..n): *out (caller frees, NUL added).
 * FM_ENOTFOUND when absent; FM_EINVAL with why when the archive is broken or breaks a
 * DOC_ZIP_* bound. Sizes in the headers are not trusted: inflation stops at the bound. */
int doc_zip_entry(const unsigned char *z, size_t n, const char *name, char **out, size_t *outlen, char *why,
                  size_t wl);

/* ---- doc_pdf.c ---- */
/* Text of a PDF through pdftotext (documents.pdftotext), killed after
 * documents.pdf_timeout_ms. 415 in err when the program is not installed. */
int doc_pdf_text(const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err);

/* ---- doc_extract.c ---- */
/* IBAN: 15 to 34 characters, country + 2 check digits, ISO 13616 mod 97 == 1 (spaces
 * allowed in s; compared without them). */
bool doc_iban_valid(const char *s);
/* A date as written (2024-03-15, 15.03.2024, 15/03/2024, 03/15/2024 when the day is
 * over 12, 15 March 2024, March 15, 2024, 15 Mar 2024) → out "YYYY-MM-DD"; false when it
 * is not a real calendar date. */
bool doc_date_iso(const char *s, size_t n, char out[11]);
/* An amount as written ("1.234,56", "1,234.56", "1 234.56") → its value. */
bool doc_amount_value(const char *s, size_t n, double *v);
/* Compiles the built-in patterns once (start hook); FM_EINVAL when one fails. */
int doc_extract_init(void);
void doc_extract_free(void);

/* A tenant's custom pattern, compiled. */
typedef struct doc_custom {
    char name[65];
    double confidence;
    void *code;     /* pcre2_code * */
} doc_custom_t;
/* Compiles a custom pattern; FM_EINVAL with why when it does not compile. */
int doc_custom_compile(const char *pattern, void **code, char *why, size_t wl);
void doc_custom_free(void *code);

/* A document type: keyword and pattern rules with weights; score = sum of weights of
 * rules that match, divided by the sum of all weights; the type wins at >= threshold. */
typedef struct doc_rule {
    char keyword[129];      /* lower-cased; "" when a pattern */
    void *code;             /* pcre2_code * or NULL */
    double weight;
} doc_rule_t;
typedef struct doc_type {
    char name[65];
    double threshold;
    doc_rule_t *rules;
    int nrules;
} doc_type_t;
void doc_types_free(doc_type_t *t, int n);
/* The built-in types (invoice, contract, email, order) used when a tenant has none. */
int doc_types_builtin(doc_type_t **out, int *n);

/* Runs every extractor on text: {"entities": [...], "keyValues": [...],
 * "classification": {...}, "stats": {...}}. FM_ETOOBIG when a custom pattern hit its
 * match or depth limit (why names it). */
int doc_extract_run(const char *text, size_t len, const doc_custom_t *custom, int ncustom, const doc_type_t *types,
                    int ntypes, cJSON **out, char *why, size_t wl);

/* ---- doc_store.c ---- */
typedef struct doc_new {
    const char *tenant, *actor, *name, *media_type;
    doc_format_t format;
    const char *data;
    size_t size;
    const cJSON *tags;      /* array of strings, may be NULL */
    const char *text;
    size_t text_len;
} doc_new_t;

int doc_store_init(void);   /* makes <data-dir>/documents */
int doc_insert(fm_db_t *db, const doc_new_t *n, cJSON **out);
int doc_get(fm_db_t *db, const char *tenant, const char *id, cJSON **out);
typedef struct doc_filter {
    const char *q, *type, *tag, *doc_type;
} doc_filter_t;
int doc_list(fm_db_t *db, const char *tenant, const doc_filter_t *f, int offset, int limit, cJSON *items,
             int *total);
int doc_text_get(fm_db_t *db, const char *tenant, const char *id, char **text);
/* The stored bytes: *data (caller frees), *media the media type. */
int doc_content_get(fm_db_t *db, const char *tenant, const char *id, char **data, size_t *len, char *media,
                    size_t ml);
int doc_delete(fm_db_t *db, const char *tenant, const char *id);
/* Stores the result of an extraction and publishes document.extracted. */
int doc_extraction_put(fm_db_t *db, const char *tenant, const char *id, const cJSON *result);

int doc_pattern_insert(fm_db_t *db, const char *tenant, const char *name, const char *pattern, double conf,
                       cJSON **out);
int doc_pattern_list(fm_db_t *db, const char *tenant, cJSON *items);
int doc_pattern_delete(fm_db_t *db, const char *tenant, const char *id);
/* The tenant's patterns compiled (caller frees each code and the array). */
int doc_patterns_load(fm_db_t *db, const char *tenant, doc_custom_t **out, int *n);

int doc_type_insert(fm_db_t *db, const char *tenant, const char *name, const cJSON *rules, double threshold,
                    cJSON **out);
int doc_type_list(fm_db_t *db, const char *tenant, cJSON *items);
int doc_type_delete(fm_db_t *db, const char *tenant, const char *id);
/* The tenant's types compiled; the built-in ones when it has none. */
int doc_types_load(fm_db_t *db, const char *tenant, doc_type_t **out, int *n);

/* ---- doc_ai.c: extraction through an AI agent (9007) to a JSON Schema ---- */
#define DOC_AI_TEXT_MAX 24000           /* bytes of document text put in the prompt */
#define DOC_AI_SCHEMA_MAX 16384         /* bytes of the schema, serialised */
/* Has `agent` extract the data `schema` (checked) describes from text[0..len) and adds
 * out.ai = {agentId, provider, model, callId, usage, result, textBytes, textTruncated}.
 * FM_REPLIED after answering 502 when the answer is not JSON or does not fit the schema
 * (the violations listed), or whatever orch_client_invoke answered. */
int doc_ai_extract(fm_req_t *r, const char *agent, const cJSON *schema, const char *text, size_t len, cJSON *out);

#endif
