/*
 * doc_text.c — what a document is and the text in it. Formats are told by media type,
 * then file extension, then the first bytes. Text comes out as UTF-8 lines:
 *   text, markdown  as uploaded (must be UTF-8);
 *   html            tags removed, block tags end a line, script/style dropped, entities
 *                   decoded (named ones common in documents, and numeric);
 *   json            one "path: value" line per string, number or boolean;
 *   csv             one line per record, fields unquoted and joined by " | ";
 *   xml             character data, one line per element that holds text (expat; a
 *                   document declaring entities is refused: no entity expansion at all);
 *   docx, odt       word/document.xml or content.xml through the bounded zip reader,
 *                   paragraphs as lines, table cells joined by " | ";
 *   pdf             pdftotext (doc_pdf.c).
 * Every output is capped at DOC_TEXT_MAX.
 */
#define _GNU_SOURCE     /* memmem, pipe2, mkostemp */
#include "doc_int.h"

#include "../../fm_buf.h"
#include "../../fm_json_check.h"

#include <ctype.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    doc_format_t f;
    const char *name, *media, *exts;
} formats[] = {
    { DOC_F_TEXT, "text", "text/plain", "|txt|text|log|" },
    { DOC_F_MARKDOWN, "markdown", "text/markdown", "|md|markdown|" },
    { DOC_F_HTML, "html", "text/html", "|html|htm|xhtml|" },
    { DOC_F_JSON, "json", "application/json", "|json|" },
    { DOC_F_CSV, "csv", "text/csv", "|csv|" },
    { DOC_F_XML, "xml", "application/xml", "|xml|" },
    { DOC_F_DOCX, "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "|docx|" },
    { DOC_F_ODT, "odt", "application/vnd.oasis.opendocument.text", "|odt|" },
    { DOC_F_PDF, "pdf", "application/pdf", "|pdf|" },
};
#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

static const char ACCEPTED[] =
    "text/plain, text/markdown, text/html, application/json, text/csv, application/xml (text/xml), "
    "DOCX, ODT and application/pdf";

const char *doc_format_name(doc_format_t f)
{
    return f < DOC_F_UNKNOWN ? formats[f].name : "unknown";
}

const char *doc_format_media(doc_format_t f)
{
    return f < DOC_F_UNKNOWN ? formats[f].media : "application/octet-stream";
}

static bool zip_has(const char *data, size_t len, const char *entry)
{
    char *out = NULL, why[8];
    size_t n = 0;
    int rc = doc_zip_entry((const unsigned char *)data, len, entry, &out, &n, why, sizeof(why));
    free(out);
    return rc == FM_OK;
}

static doc_format_t sniff(const char *data, size_t len)
{
    if (len >= 5 && !memcmp(data, "%PDF-", 5))
        return DOC_F_PDF;
    if (len >= 4 && !memcmp(data, "PK\003\004", 4)) {
        if (len > 38 + 39 && !memcmp(data + 30, "mimetype", 8) &&
            !memcmp(data + 38, "application/vnd.oasis.opendocument.text", 39))
            return DOC_F_ODT;
        return zip_has(data, len, "word/document.xml") ? DOC_F_DOCX : DOC_F_UNKNOWN;
    }
    return DOC_F_UNKNOWN;
}

doc_format_t doc_detect(const char *media_type, const char *name, const char *data, size_t len, doc_err_t *err)
{
    char mt[128] = "";
    if (media_type) {
        size_t k = strcspn(media_type, ";");
        while (k && isspace((unsigned char)media_type[k - 1]))
            k--;
        snprintf(mt, sizeof(mt), "%.*s", (int)(k < 127 ? k : 127), media_type);
    }
    doc_format_t sniffed = sniff(data, len);
    bool generic = !*mt || !strcasecmp(mt, "application/octet-stream");
    if (!generic) {
        for (size_t i = 0; i < NFORMATS; i++)
            if (!strcasecmp(mt, formats[i].media))
                return formats[i].f;
        if (!strcasecmp(mt, "text/xml") || (strlen(mt) > 4 && !strcasecmp(mt + strlen(mt) - 4, "+xml")))
            return DOC_F_XML;
        if (!strcasecmp(mt, "text/x-markdown"))
            return DOC_F_MARKDOWN;
        if (!strcasecmp(mt, "application/zip") && (sniffed == DOC_F_DOCX || sniffed == DOC_F_ODT))
            return sniffed;
        err->status = 415;
        snprintf(err->detail, sizeof(err->detail), "documents of type %s are not read; accepted: %s", mt, ACCEPTED);
        return DOC_F_UNKNOWN;
    }
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot && dot[1] && strlen(dot) < 12) {
        char ext[16];
        snprintf(ext, sizeof(ext), "|%s|", dot + 1);
        for (char *p = ext; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (size_t i = 0; i < NFORMATS; i++)
            if (strstr(formats[i].exts, ext))
                return formats[i].f;
    }
    if (sniffed != DOC_F_UNKNOWN)
        return sniffed;
    err->status = 415;
    snprintf(err->detail, sizeof(err->detail),
             "the document's type is not known: send a Content-Type (or a file name with its extension); "
             "accepted: %s",
             ACCEPTED);
    return DOC_F_UNKNOWN;
}

bool doc_utf8_ok(const char *s, size_t n)
{
    if (memchr(s, 0, n))
        return false;
    return fm_utf8_valid_prefix(s, n) == n;
}

static int finish(fm_buf_t *b, char **text, size_t *tlen)
{
    if (b->oom) {
        fm_buf_release(b);
        return FM_ENOMEM;
    }
    if (b->len > (size_t)DOC_TEXT_MAX) {
        size_t k = fm_utf8_valid_prefix(b->data, (size_t)DOC_TEXT_MAX);
        b->len = k;
        b->data[k] = '\0';
    }
    if (!b->data) {
        *tlen = 0;
        *text = calloc(1, 1);
        return *text ? FM_OK : FM_ENOMEM;
    }
    *text = fm_buf_detach(b, tlen);
    return *text ? FM_OK : FM_ENOMEM;
}

/* ---- HTML ---- */

static const struct {
    const char *name;
    const char *utf8;
} entities[] = {
    { "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" }, { "nbsp", " " },
    { "euro", "\xe2\x82\xac" }, { "pound", "\xc2\xa3" }, { "yen", "\xc2\xa5" }, { "copy", "\xc2\xa9" },
    { "reg", "\xc2\xae" }, { "sect", "\xc2\xa7" }, { "deg", "\xc2\xb0" }, { "middot", "\xc2\xb7" },
    { "ndash", "\xe2\x80\x93" }, { "mdash", "\xe2\x80\x94" }, { "hellip", "\xe2\x80\xa6" },
    { "lsquo", "\xe2\x80\x98" }, { "rsquo", "\xe2\x80\x99" }, { "ldquo", "\xe2\x80\x9c" },
    { "rdquo", "\xe2\x80\x9d" }, { "bull", "\xe2\x80\xa2" }, { "auml", "\xc3\xa4" }, { "ouml", "\xc3\xb6" },
    { "uuml", "\xc3\xbc" }, { "Auml", "\xc3\x84" }, { "Ouml", "\xc3\x96" }, { "Uuml", "\xc3\x9c" },
    { "szlig", "\xc3\x9f" }, { "eacute", "\xc3\xa9" }, { "egrave", "\xc3\xa8" }, { "agrave", "\xc3\xa0" },
    { "ccedil", "\xc3\xa7" }, { "times", "\xc3\x97" },
};

static void add_cp(fm_buf_t *b, unsigned long cp)
{
    char o[4];
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        o[0] = (char)cp;
        fm_buf_add(b, o, 1);
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        fm_buf_add(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        fm_buf_add(b, o, 3);
    } else {
        o[0] = (char)(0xf0 | cp >> 18);
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        fm_buf_add(b, o, 4);
    }
}

/* Decodes the entity at s ('&'); returns the bytes consumed (1 when it is not one). */
static size_t entity(fm_buf_t *b, const char *s, size_t n)
{
    size_t k = 1;
    while (k < n && k < 12 && s[k] != ';' && (isalnum((unsigned char)s[k]) || s[k] == '#'))
        k++;
    if (k >= n || s[k] != ';' || k == 1) {
        fm_buf_add(b, "&", 1);
        return 1;
    }
    if (s[1] == '#') {
        char *end;
        unsigned long cp = (s[2] == 'x' || s[2] == 'X') ? strtoul(s + 3, &end, 16) : strtoul(s + 2, &end, 10);
        if (end != s + k) {
            fm_buf_add(b, "&", 1);
            return 1;
        }
        add_cp(b, cp);
        return k + 1;
    }
    for (size_t i = 0; i < sizeof(entities) / sizeof(entities[0]); i++)
        if (strlen(entities[i].name) == k - 1 && !memcmp(entities[i].name, s + 1, k - 1)) {
            fm_buf_adds(b, entities[i].utf8);
            return k + 1;
        }
    fm_buf_add(b, "&", 1);
    return 1;
}

static bool tag_is(const char *t, size_t tl, const char *set)
{
    char key[16];
    if (tl == 0 || tl > 10)
        return false;
    key[0] = '|';
    for (size_t i = 0; i < tl; i++)
        key[i + 1] = (char)tolower((unsigned char)t[i]);
    key[tl + 1] = '|';
    key[tl + 2] = '\0';
    return strstr(set, key) != NULL;
}

static void newline(fm_buf_t *b)
{
    if (b->len && b->data[b->len - 1] != '\n')
        fm_buf_add(b, "\n", 1);
}

char *doc_html_text(const char *s, size_t n, size_t *outlen)
{
    static const char BLOCK[] = "|p|div|br|li|ul|ol|tr|table|h1|h2|h3|h4|h5|h6|title|section|article|header|"
                                "footer|blockquote|pre|hr|dt|dd|address|tbody|thead|";
    fm_buf_t b = FM_BUF_INIT;
    bool space = false;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '<') {
            if (i + 3 < n && !memcmp(s + i, "<!--", 4)) {
                const char *e = memmem(s + i + 4, n - i - 4, "-->", 3);
                i = e ? (size_t)(e - s) + 3 : n;
                continue;
            }
            size_t j = i + 1;
            bool close = j < n && s[j] == '/';
            if (close)
                j++;
            size_t t0 = j;
            while (j < n && (isalnum((unsigned char)s[j])))
                j++;
            size_t tl = j - t0;
            const char *gt = memchr(s + j, '>', n - j);
            size_t after = gt ? (size_t)(gt - s) + 1 : n;
            if (!close && (tag_is(s + t0, tl, "|script|style|"))) {
                /* Skip to the matching close tag, whatever is inside. */
                char endtag[12];
                snprintf(endtag, sizeof(endtag), "</%.*s", (int)tl, s + t0);
                size_t k = after;
                while (k < n) {
                    const char *lt = memchr(s + k, '<', n - k);
                    if (!lt)
                        break;
                    k = (size_t)(lt - s);
                    if (n - k >= tl + 2 && !strncasecmp(s + k, endtag, tl + 2))
                        break;
                    k++;
                }
                const char *g2 = k < n ? memchr(s + k, '>', n - k) : NULL;
                i = g2 ? (size_t)(g2 - s) + 1 : n;
                continue;
            }
            if (tag_is(s + t0, tl, BLOCK))
                newline(&b), space = false;
            else if (tag_is(s + t0, tl, "|td|th|") && !close && b.len && b.data[b.len - 1] != '\n')
                fm_buf_adds(&b, " | "), space = false;
            i = after;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            i++;
            continue;
        }
        if (space && b.len && b.data[b.len - 1] != '\n' && b.data[b.len - 1] != ' ')
            fm_buf_add(&b, " ", 1);
        space = false;
        if (c == '&') {
            i += entity(&b, s + i, n - i);
            continue;
        }
        fm_buf_add(&b, &c, 1);
        i++;
    }
    newline(&b);
    if (b.oom) {
        fm_buf_release(&b);
        return NULL;
    }
    if (!b.data) {
        *outlen = 0;
        return calloc(1, 1);
    }
    return fm_buf_detach(&b, outlen);
}

/* ---- XML, DOCX, ODT (expat) ---- */

typedef enum { X_PLAIN, X_DOCX, X_ODT } xml_kind_t;

typedef struct xml_st {
    XML_Parser p;
    fm_buf_t b;
    xml_kind_t kind;
    int in_text;        /* DOCX: inside w:t */
    int in_cell;        /* inside a table cell: paragraphs stay on the row's line */
    bool entity_decl, too_big;
} xml_st_t;

static bool ends(const char *name, const char *local)
{
    /* expat without namespace processing: "w:t", "text:p" */
    return !strcmp(name, local);
}

static void x_start(void *ud, const char *name, const char **atts)
{
    xml_st_t *x = ud;
    if (x->kind == X_DOCX) {
        if (ends(name, "w:t"))
            x->in_text++;
        else if (ends(name, "w:tab"))
            fm_buf_add(&x->b, "\t", 1);
        else if (ends(name, "w:br"))
            fm_buf_add(&x->b, "\n", 1);
        else if (ends(name, "w:tc")) {
            if (x->b.len && x->b.data[x->b.len - 1] != '\n')
                fm_buf_adds(&x->b, " | ");
            x->in_cell++;
        }
    } else if (x->kind == X_ODT) {
        if (ends(name, "text:tab"))
            fm_buf_add(&x->b, "\t", 1);
        else if (ends(name, "text:s")) {
            int c = 1;
            for (int i = 0; atts[i]; i += 2)
                if (!strcmp(atts[i], "text:c"))
                    c = atoi(atts[i + 1]);
            for (int i = 0; i < c && i < 64; i++)
                fm_buf_add(&x->b, " ", 1);
        } else if (ends(name, "text:line-break"))
            fm_buf_add(&x->b, "\n", 1);
        else if (ends(name, "table:table-cell")) {
            if (x->b.len && x->b.data[x->b.len - 1] != '\n')
                fm_buf_adds(&x->b, " | ");
            x->in_cell++;
        }
    }
}

static void x_end(void *ud, const char *name)
{
    xml_st_t *x = ud;
    if (x->kind == X_DOCX) {
        if (ends(name, "w:t") && x->in_text)
            x->in_text--;
        else if (ends(name, "w:tc") && x->in_cell)
            x->in_cell--;
        else if (ends(name, "w:tr") || (ends(name, "w:p") && !x->in_cell))
            newline(&x->b);
    } else if (x->kind == X_ODT) {
        if (ends(name, "table:table-cell") && x->in_cell)
            x->in_cell--;
        else if (ends(name, "table:table-row") || ((ends(name, "text:p") || ends(name, "text:h")) && !x->in_cell))
            newline(&x->b);
    } else {
        newline(&x->b);
    }
    if (x->b.len > (size_t)DOC_TEXT_MAX) {
        x->too_big = true;
        XML_StopParser(x->p, XML_FALSE);
    }
}

static void x_chars(void *ud, const char *s, int len)
{
    xml_st_t *x = ud;
    if (x->kind == X_DOCX && !x->in_text)
        return;
    if (x->kind == X_PLAIN) {
        /* whitespace-only runs between elements are layout, not text */
        int k = 0;
        while (k < len && (s[k] == ' ' || s[k] == '\n' || s[k] == '\t' || s[k] == '\r'))
            k++;
        if (k == len)
            return;
    }
    fm_buf_add(&x->b, s, (size_t)len);
}

static void x_entity_decl(void *ud, const XML_Char *name, int pe, const XML_Char *value, int vlen,
                          const XML_Char *base, const XML_Char *sys, const XML_Char *pub, const XML_Char *notation)
{
    xml_st_t *x = ud;
    x->entity_decl = true;
    XML_StopParser(x->p, XML_FALSE);
}

static int xml_text(xml_kind_t kind, const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err)
{
    xml_st_t x;
    memset(&x, 0, sizeof(x));
    x.kind = kind;
    x.p = XML_ParserCreate("UTF-8");
    if (!x.p)
        return FM_ENOMEM;
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, x_start, x_end);
    XML_SetCharacterDataHandler(x.p, x_chars);
    XML_SetEntityDeclHandler(x.p, x_entity_decl);
    int rc = FM_OK;
    if (len > 0x7fffffff || XML_Parse(x.p, data, (int)len, 1) != XML_STATUS_OK) {
        err->status = 422;
        if (x.entity_decl)
            snprintf(err->detail, sizeof(err->detail), "XML declaring entities is not read (no entity expansion)");
        else if (x.too_big)
            snprintf(err->detail, sizeof(err->detail), "the document holds more than %ld MiB of text",
                     DOC_TEXT_MAX >> 20);
        else
            snprintf(err->detail, sizeof(err->detail), "the %s is not well-formed XML: %s at line %lu, column %lu",
                     kind == X_PLAIN ? "document" : "document's XML part", XML_ErrorString(XML_GetErrorCode(x.p)),
                     (unsigned long)XML_GetCurrentLineNumber(x.p), (unsigned long)XML_GetCurrentColumnNumber(x.p));
        rc = FM_EINVAL;
    }
    XML_ParserFree(x.p);
    if (rc != FM_OK) {
        fm_buf_release(&x.b);
        return rc;
    }
    return finish(&x.b, text, tlen);
}

static int zip_text(doc_format_t f, const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err)
{
    const char *entry = f == DOC_F_DOCX ? "word/document.xml" : "content.xml";
    char *xml = NULL, why[200] = "";
    size_t xl = 0;
    int rc = doc_zip_entry((const unsigned char *)data, len, entry, &xml, &xl, why, sizeof(why));
    if (rc == FM_ENOTFOUND) {
        err->status = 422;
        snprintf(err->detail, sizeof(err->detail), "the %s archive has no %s", doc_format_name(f), entry);
        return FM_EINVAL;
    }
    if (rc == FM_EINVAL) {
        err->status = 422;
        snprintf(err->detail, sizeof(err->detail), "the %s cannot be read: %s", doc_format_name(f), why);
        return FM_EINVAL;
    }
    if (rc != FM_OK)
        return rc;
    rc = xml_text(f == DOC_F_DOCX ? X_DOCX : X_ODT, xml, xl, text, tlen, err);
    free(xml);
    return rc;
}

/* ---- JSON ---- */

static void json_walk(fm_buf_t *b, const cJSON *v, char *path, size_t pl, size_t cap)
{
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        int i = 0;
        for (const cJSON *c = v->child; c; c = c->next, i++) {
            size_t k = pl;
            int w = cJSON_IsObject(v) ? snprintf(path + pl, cap - pl, "%s%s", pl ? "." : "", c->string)
                                      : snprintf(path + pl, cap - pl, "[%d]", i);
            if (w > 0)
                k = pl + (size_t)w < cap ? pl + (size_t)w : cap - 1;
            json_walk(b, c, path, k, cap);
            path[pl] = '\0';
        }
        return;
    }
    if (pl)
        fm_buf_addf(b, "%s: ", path);
    if (cJSON_IsString(v))
        fm_buf_adds(b, v->valuestring);
    else if (cJSON_IsNumber(v)) {
        char *t = cJSON_PrintUnformatted(v);
        if (t)
            fm_buf_adds(b, t);
        cJSON_free(t);
    } else if (cJSON_IsBool(v))
        fm_buf_adds(b, cJSON_IsTrue(v) ? "true" : "false");
    else
        fm_buf_adds(b, "null");
    fm_buf_add(b, "\n", 1);
}

static int json_text(const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err)
{
    fm_json_err_t je;
    if (fm_json_check(data, len, FM_JSON_MAX_DEPTH, &je) != FM_JSON_OK) {
        err->status = 422;
        snprintf(err->detail, sizeof(err->detail),
                 "the JSON document nests deeper than %d levels or holds text that is not UTF-8 (byte %zu)",
                 FM_JSON_MAX_DEPTH, je.offset);
        return FM_EINVAL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!j) {
        err->status = 422;
        snprintf(err->detail, sizeof(err->detail), "the document is not valid JSON (error near byte %zu)",
                 end && end >= data ? (size_t)(end - data) : (size_t)0);
        return FM_EINVAL;
    }
    fm_buf_t b = FM_BUF_INIT;
    char path[1024] = "";
    json_walk(&b, j, path, 0, sizeof(path));
    cJSON_Delete(j);
    return finish(&b, text, tlen);
}

/* ---- CSV (RFC 4180) ---- */

static int csv_text(const char *s, size_t n, char **text, size_t *tlen)
{
    fm_buf_t b = FM_BUF_INIT;
    size_t i = 0;
    bool first = true;
    while (i < n) {
        if (!first)
            fm_buf_adds(&b, " | ");
        first = false;
        if (s[i] == '"') {
            i++;
            while (i < n) {
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        fm_buf_add(&b, "\"", 1);
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                fm_buf_add(&b, s + i, 1);
                i++;
            }
        }
        size_t k = i;
        while (k < n && s[k] != ',' && s[k] != '\n' && s[k] != '\r')
            k++;
        fm_buf_add(&b, s + i, k - i);
        i = k;
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        while (i < n && (s[i] == '\r' || s[i] == '\n'))
            i++;
        fm_buf_add(&b, "\n", 1);
        first = true;
    }
    return finish(&b, text, tlen);
}

int doc_text_extract(doc_format_t f, const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err)
{
    *text = NULL;
    *tlen = 0;
    bool textual = f != DOC_F_DOCX && f != DOC_F_ODT && f != DOC_F_PDF;
    if (textual && !doc_utf8_ok(data, len)) {
        err->status = 422;
        snprintf(err->detail, sizeof(err->detail),
                 "a %s document must be UTF-8 text without NUL bytes (byte %zu is not)", doc_format_name(f),
                 memchr(data, 0, len) ? (size_t)((const char *)memchr(data, 0, len) - data)
                                      : fm_utf8_valid_prefix(data, len));
        return FM_EINVAL;
    }
    fm_buf_t b = FM_BUF_INIT;
    switch (f) {
    case DOC_F_TEXT:
    case DOC_F_MARKDOWN:
        fm_buf_add(&b, data, len);
        return finish(&b, text, tlen);
    case DOC_F_HTML: {
        char *t = doc_html_text(data, len, tlen);
        if (!t)
            return FM_ENOMEM;
        fm_buf_add(&b, t, *tlen);
        free(t);
        return finish(&b, text, tlen);
    }
    case DOC_F_JSON:
        return json_text(data, len, text, tlen, err);
    case DOC_F_CSV:
        return csv_text(data, len, text, tlen);
    case DOC_F_XML:
        return xml_text(X_PLAIN, data, len, text, tlen, err);
    case DOC_F_DOCX:
    case DOC_F_ODT:
        return zip_text(f, data, len, text, tlen, err);
    case DOC_F_PDF:
        return doc_pdf_text(data, len, text, tlen, err);
    default:
        err->status = 415;
        snprintf(err->detail, sizeof(err->detail), "documents of this type are not read; accepted: %s", ACCEPTED);
        return FM_EINVAL;
    }
}
