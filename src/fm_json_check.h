/*
 * fm_json_check.h — the one pass every JSON body takes before cJSON sees it, and the
 * UTF-8 repair of every JSON answer.
 *
 * cJSON parses, prints, copies and compares recursively, and CivetWeb's worker threads
 * have small stacks (Debian's libcivetweb is built with a 100 KiB stack; there is no
 * run-time option). So nesting is bounded before any recursion starts: fm_json_check
 * walks the text once, without recursion, and refuses
 *   - containers nested deeper than max_depth (FM_JSON_MAX_DEPTH for requests),
 *   - bytes in a string that are not UTF-8 (overlong forms, surrogates and code points
 *     above U+10FFFF included),
 *   - NUL in a string (`\u0000` or a raw 0 byte): cJSON's strings end at NUL, so the
 *     rest would be lost without a word.
 * Everything else (syntax) is left to the parser: the check never reads past len and
 * never fails on text it does not understand.
 *
 * Invariant kept by the dispatcher (fm_http.c): a document parsed from a request nests
 * at most FM_JSON_MAX_DEPTH levels; one an in-process call (fm_call*) sends at most
 * FM_JSON_MAX_DEPTH + FM_JSON_CALL_EXTRA_DEPTH, room for the envelope the server puts
 * around values that passed the limit ({"variables":{"x":…}}). FEEL results become JSON
 * through dmn_to_json, which refuses values deeper than FM_JSON_MAX_DEPTH. So nothing
 * the server stores or prints nests much deeper than the limit.
 */
#ifndef FM_JSON_CHECK_H
#define FM_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define FM_JSON_MAX_DEPTH 64
#define FM_JSON_CALL_EXTRA_DEPTH 8
#define FM_JSON_DEPTH_CAP 128           /* the most max_depth may be */

typedef enum {
    FM_JSON_OK = 0,
    FM_JSON_TOO_DEEP,                   /* a container opened at depth max_depth + 1 */
    FM_JSON_BAD_UTF8,                   /* a string holds bytes that are not UTF-8 */
    FM_JSON_NUL,                        /* a string holds NUL */
} fm_json_fault_t;

typedef struct fm_json_err {
    fm_json_fault_t fault;
    size_t offset;                      /* byte of the fault in the text */
    /* RFC 6901 pointer to the value where it was found (for a bad object key: to the
     * object). Cut at a segment boundary when longer than the buffer (cut = true). */
    char pointer[512];
    bool cut;
} fm_json_err_t;

/* Checks text[0..len). max_depth ≤ FM_JSON_DEPTH_CAP. err may be NULL. */
fm_json_fault_t fm_json_check(const char *text, size_t len, int max_depth, fm_json_err_t *err);

/* Length of the one well-formed UTF-8 sequence at s[0..n) (1 for ASCII), 0 if none. */
size_t fm_utf8_seq(const char *s, size_t n);
/* Length of the longest prefix of s[0..len) that is well-formed UTF-8. */
size_t fm_utf8_valid_prefix(const char *s, size_t len);

/* JSON text (as cJSON prints it) whose strings hold invalid UTF-8: a copy in which each
 * offending byte is `\ufffd` (caller frees, *outlen its length). NULL when the text is
 * valid as it is (nothing to do) or when out of memory. Only correct for JSON text: the
 * bytes outside strings are ASCII, so every bad byte is inside a string. */
char *fm_json_fix_utf8(const char *text, size_t len, size_t *outlen);

#endif
