/*
 * test_documents.c — the pure parts of Document Intelligence: IBAN mod 97 (published
 * example IBANs, a changed digit, transposed characters), dates normalised to ISO 8601
 * (and impossible ones refused), amounts in either decimal convention, HTML to text,
 * the zip reader on archives built here (stored, deflated, a bomb refused by size and by
 * ratio, a missing entry, a truncated archive), and the extractors on a short text:
 * each kind found at its position, overlaps dropped, a catastrophic custom pattern
 * stopped at the PCRE2 limit.
 */
#include "fm_test.h"

#include "modules/documents/doc_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void iban(void **state)
{
    (void)state;
    const char *good[] = { "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606",
                           "NL91ABNA0417164300", "CH9300762011623852957", "BE68539007547034" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(doc_iban_valid(good[i]));
    assert_false(doc_iban_valid("DE89370400440532013001"));     /* one digit changed */
    assert_false(doc_iban_valid("DE89370400440532031000"));     /* two transposed */
    assert_false(doc_iban_valid("DE8937040044"));               /* too short */
    assert_false(doc_iban_valid("1289370400440532013000"));     /* no country */
    assert_false(doc_iban_valid("DE89-3704-0044-0532-0130-00"));
}

static void dates(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "2024-03-15", "2024-03-15" }, { "15.03.2024", "2024-03-15" }, { "15/03/2024", "2024-03-15" },
        { "03/15/2024", "2024-03-15" }, { "1.2.2024", "2024-02-01" },   { "15 March 2024", "2024-03-15" },
        { "15. März 2024", "2024-03-15" }, { "March 15, 2024", "2024-03-15" }, { "Mar 15th, 2024", "2024-03-15" },
        { "29 Feb 2024", "2024-02-29" },  { "31 December 2025", "2025-12-31" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[11];
        if (!doc_date_iso(cases[i][0], strlen(cases[i][0]), out))
            fail_msg("'%s' refused", cases[i][0]);
        if (strcmp(out, cases[i][1]))
            fail_msg("'%s' -> %s, expected %s", cases[i][0], out, cases[i][1]);
    }
    char out[11];
    assert_false(doc_date_iso("2023-02-29", 10, out));
    assert_false(doc_date_iso("31.04.2024", 10, out));
    assert_false(doc_date_iso("13/13/2024", 10, out));
    assert_false(doc_date_iso("30 Feb 2024", 11, out));
}

static void amounts(void **state)
{
    (void)state;
    double v;
    assert_true(doc_amount_value("1.234,56", 8, &v) && v == 1234.56);
    assert_true(doc_amount_value("1,234.56", 8, &v) && v == 1234.56);
    assert_true(doc_amount_value("12,500.00", 9, &v) && v == 12500.0);
    assert_true(doc_amount_value("1.234", 5, &v) && v == 1234.0);
    assert_true(doc_amount_value("99.5", 4, &v) && v == 99.5);
    assert_true(doc_amount_value("1 234,5", 7, &v) && v == 1234.5);
}

static void html(void **state)
{
    (void)state;
    const char *h = "<html><head><style>b{}</style><script>if (a < b) x = '</p>';</script></head>"
                    "<body><h1>T&amp;C</h1><p>one\n  two</p><!-- c --><table><tr><td>a</td><td>&#8364;&nbsp;5</td>"
                    "</tr></table>&bogus; &#xZZ;</body></html>";
    size_t n;
    char *t = doc_html_text(h, strlen(h), &n);
    assert_non_null(t);
    assert_string_equal(t, "T&C\none two\na | \xe2\x82\xac 5\n&bogus; &#xZZ;\n");
    assert_int_equal(n, strlen(t));
    free(t);
}

/* ---- zip archives built here ---- */

typedef struct zbuf {
    unsigned char *p;
    size_t n, cap;
} zbuf_t;

static void put(zbuf_t *b, const void *d, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put16(zbuf_t *b, unsigned v)
{
    unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };
    put(b, x, 2);
}

static void put32(zbuf_t *b, unsigned long v)
{
    unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                           (unsigned char)(v >> 24) };
    put(b, x, 4);
}

/* One-entry zip; `repeat` copies of data deflated (method 8) or stored (method 0). */
static zbuf_t make_zip(const char *name, const char *data, size_t len, int repeat, int method)
{
    zbuf_t c = { 0 };
    if (method == 8) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
        unsigned char out[65536];
        for (int i = 0; i < repeat; i++) {
            zs.next_in = (Bytef *)data;
            zs.avail_in = (uInt)len;
            int flush = i == repeat - 1 ? Z_FINISH : Z_NO_FLUSH;
            do {
                zs.next_out = out;
                zs.avail_out = sizeof(out);
                deflate(&zs, flush);
                put(&c, out, sizeof(out) - zs.avail_out);
            } while (zs.avail_out == 0);
        }
        deflateEnd(&zs);
    } else {
        for (int i = 0; i < repeat; i++)
            put(&c, data, len);
    }
    zbuf_t z = { 0 };
    size_t nl = strlen(name);
    unsigned long usize = (unsigned long)len * (unsigned long)repeat;
    put32(&z, 0x04034b50), put16(&z, 20), put16(&z, 0), put16(&z, (unsigned)method), put32(&z, 0), put32(&z, 0);
    put32(&z, c.n), put32(&z, usize), put16(&z, (unsigned)nl), put16(&z, 0), put(&z, name, nl);
    put(&z, c.p, c.n);
    size_t cd = z.n;
    put32(&z, 0x02014b50), put16(&z, 20), put16(&z, 20), put16(&z, 0), put16(&z, (unsigned)method);
    put32(&z, 0), put32(&z, 0), put32(&z, c.n), put32(&z, usize), put16(&z, (unsigned)nl), put16(&z, 0);
    put16(&z, 0), put16(&z, 0), put16(&z, 0), put32(&z, 0), put32(&z, 0), put(&z, name, nl);
    size_t cds = z.n - cd;
    put32(&z, 0x06054b50), put16(&z, 0), put16(&z, 0), put16(&z, 1), put16(&z, 1), put32(&z, cds), put32(&z, cd);
    put16(&z, 0);
    free(c.p);
    return z;
}

static void zip_reader(void **state)
{
    (void)state;
    const char *xml = "<w:document><w:body><w:p><w:r><w:t>Hi</w:t></w:r></w:p></w:body></w:document>";
    char *out = NULL, why[200];
    size_t n = 0;
    for (int method = 0; method <= 8; method += 8) {
        zbuf_t z = make_zip("word/document.xml", xml, strlen(xml), 1, method);
        assert_int_equal(doc_zip_entry(z.p, z.n, "word/document.xml", &out, &n, why, sizeof(why)), FM_OK);
        assert_int_equal(n, strlen(xml));
        assert_string_equal(out, xml);
        free(out);
        assert_int_equal(doc_zip_entry(z.p, z.n, "content.xml", &out, &n, why, sizeof(why)), FM_ENOTFOUND);
        /* cut anywhere: refused, never read past the end */
        for (size_t cut = 0; cut < z.n; cut += 7) {
            int rc = doc_zip_entry(z.p, cut, "word/document.xml", &out, &n, why, sizeof(why));
            assert_true(rc == FM_EINVAL || rc == FM_ENOTFOUND);
        }
        free(z.p);
    }
    /* 200 MiB of zeros: stopped by the ratio bound (it deflates ~1000:1) */
    static char zeros[1 << 20];
    zbuf_t bomb = make_zip("word/document.xml", zeros, sizeof(zeros), 200, 8);
    assert_int_equal(doc_zip_entry(bomb.p, bomb.n, "word/document.xml", &out, &n, why, sizeof(why)), FM_EINVAL);
    assert_non_null(strstr(why, "zip bomb"));
    free(bomb.p);
    /* stored (no compression), just over the size bound: refused by size */
    char *big = calloc(1, (size_t)DOC_ZIP_MAX_INFLATED + 1);
    zbuf_t st = make_zip("content.xml", big, (size_t)DOC_ZIP_MAX_INFLATED + 1, 1, 0);
    free(big);
    assert_int_equal(doc_zip_entry(st.p, st.n, "content.xml", &out, &n, why, sizeof(why)), FM_EINVAL);
    assert_non_null(strstr(why, "64 MiB"));
    free(st.p);
}

static void docx_text(void **state)
{
    (void)state;
    const char *xml = "<w:document xmlns:w=\"x\"><w:body><w:p><w:r><w:t>Invoice No:</w:t></w:r><w:r><w:t xml:space="
                      "\"preserve\"> 7</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc>"
                      "<w:tc><w:p><w:r><w:t>b</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>";
    zbuf_t z = make_zip("word/document.xml", xml, strlen(xml), 1, 8);
    doc_err_t err = { 0, "" };
    assert_int_equal(doc_detect(NULL, NULL, (const char *)z.p, z.n, &err), DOC_F_DOCX);
    char *t = NULL;
    size_t n = 0;
    assert_int_equal(doc_text_extract(DOC_F_DOCX, (const char *)z.p, z.n, &t, &n, &err), FM_OK);
    assert_string_equal(t, "Invoice No: 7\na | b\n");
    free(t);
    free(z.p);
    assert_int_equal(doc_detect("image/png", "x.png", "\x89PNG", 4, &err), DOC_F_UNKNOWN);
    assert_int_equal(err.status, 415);
    assert_int_equal(doc_detect(NULL, "notes.MD", "# x", 3, &err), DOC_F_MARKDOWN);
    assert_int_equal(doc_detect("text/html; charset=utf-8", NULL, "<p>", 3, &err), DOC_F_HTML);
    assert_int_equal(doc_detect("application/octet-stream", NULL, "%PDF-1.4", 8, &err), DOC_F_PDF);
}

static const cJSON *entity(const cJSON *res, const char *type, const char *normalized)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(res, "entities"))
    {
        const char *nv = cJSON_GetStringValue(cJSON_GetObjectItem(e, "normalized"));
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "type")), type) && nv && !strcmp(nv, normalized))
            return e;
    }
    return NULL;
}

static void extractors(void **state)
{
    (void)state;
    assert_int_equal(doc_extract_init(), FM_OK);
    const char *t = "Invoice No: A-100\nSee https://x.example/2024-01-02 or mail a.b@c.example\n"
                    "Total EUR 10,50, payment by 01.02.2024 to DE89 3704 0044 0532 0130 00, BIC: DEUTDEFF\n"
                    "Phone: (030) 123 4567; +49 (0)30 1234567\n";
    doc_type_t *types = NULL;
    int nt = 0;
    assert_int_equal(doc_types_builtin(&types, &nt), FM_OK);
    cJSON *res = NULL;
    char why[300];
    assert_int_equal(doc_extract_run(t, strlen(t), NULL, 0, types, nt, &res, why, sizeof(why)), FM_OK);
    const cJSON *inv = entity(res, "invoice_number", "A-100");
    assert_non_null(inv);
    assert_int_equal(cJSON_GetObjectItem(inv, "start")->valueint, 12);
    assert_non_null(entity(res, "url", "https://x.example/2024-01-02"));
    assert_null(entity(res, "date", "2024-01-02"));     /* inside the URL */
    assert_non_null(entity(res, "email", "a.b@c.example"));
    assert_non_null(entity(res, "amount", "10.50 EUR"));
    assert_non_null(entity(res, "date", "2024-02-01"));
    assert_non_null(entity(res, "iban", "DE89370400440532013000"));
    assert_non_null(entity(res, "bic", "DEUTDEFF"));
    assert_non_null(entity(res, "phone", "0301234567"));
    assert_non_null(entity(res, "phone", "+49301234567"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "classification"), "type")),
                        "invoice");
    cJSON_Delete(res);
    /* a pattern that backtracks catastrophically stops at the limit, naming itself */
    void *code = NULL;
    assert_int_equal(doc_custom_compile("(a+)+$", &code, why, sizeof(why)), FM_OK);
    doc_custom_t c = { "evil", 0.5, code };
    char text[4001];
    memset(text, 'a', 4000);
    text[3999] = '!';
    text[4000] = '\0';
    res = NULL;
    assert_int_equal(doc_extract_run(text, 4000, &c, 1, types, nt, &res, why, sizeof(why)), FM_ETOOBIG);
    assert_null(res);
    assert_non_null(strstr(why, "'evil'"));
    doc_custom_free(code);
    assert_int_equal(doc_custom_compile("(a", &code, why, sizeof(why)), FM_EINVAL);
    doc_types_free(types, nt);
    doc_extract_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iban),       cmocka_unit_test(dates),     cmocka_unit_test(amounts),
        cmocka_unit_test(html),       cmocka_unit_test(zip_reader), cmocka_unit_test(docx_text),
        cmocka_unit_test(extractors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
