/*
 * documents_bench.c — Document Intelligence throughput, in process (`make
 * bench-documents`): text extraction from HTML and from a DOCX (zip inflate + expat),
 * and entity extraction (every built-in extractor, key–value pairs and classification)
 * over a corpus of invoice-like text of the given size in MiB (default 8). Prints MB/s
 * (1 MB = 2^20 bytes of input) as the best of 3 runs.
 */
#include "modules/documents/doc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* One invoice; the numbers change from copy to copy (so a zip of it compresses like
 * real text, not like a zip bomb). */
static const char UNIT[] =
    "ACME Widgets GmbH, Hauptstrasse %d, 10115 Berlin. Tel: 030 %07d, billing%d@acme-widgets.de\n"
    "Invoice No: INV-2024-%06d\nInvoice date: %02d.03.2024\nDue date: 2024-04-%02d\nOrder No: PO-%05d\n"
    "VAT ID: DE123456789\nTotal amount due: EUR %d.%03d,%02d\n"
    "Please pay to IBAN DE89 3704 0044 0532 0130 00, BIC: COBADEFFXXX. Call +49 30 %04d %04d or see "
    "https://acme-widgets.de/invoices/INV-2024-%06d for the details of this delivery and its terms.\n\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *corpus(size_t mib, size_t *len)
{
    size_t n = mib << 20, k = 0;
    char *t = malloc(n + 1024);
    srand(42);
    for (int i = 0; k < n; i++) {
        int x = rand();
        k += (size_t)sprintf(t + k, UNIT, x % 200, x % 9999999, i, i, 1 + x % 28, 1 + i % 28, x % 99999, x % 10,
                             x % 1000, x % 100, x % 10000, i % 10000, i);
    }
    t[n] = '\0';
    /* a cut copy at the end may split nothing but ASCII */
    *len = n;
    return t;
}

/* A one-entry stored zip holding word/document.xml (stored: the inflate cost is timed
 * separately by the deflated variant). */
static unsigned char *docx(const char *xml, size_t xl, int deflated, size_t *zl)
{
    uLongf cl = compressBound(xl);
    unsigned char *c = malloc(cl);
    if (deflated) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)xml;
        zs.avail_in = (uInt)xl;
        zs.next_out = c;
        zs.avail_out = (uInt)cl;
        deflate(&zs, Z_FINISH);
        cl = zs.total_out;
        deflateEnd(&zs);
    } else {
        memcpy(c, xml, xl);
        cl = xl;
    }
    const char *name = "word/document.xml";
    size_t nl = strlen(name), n = 0;
    unsigned char *z = malloc(cl + 200);
#define P16(v) (z[n++] = (unsigned char)(v), z[n++] = (unsigned char)((v) >> 8))
#define P32(v) (P16((v) & 0xffff), P16(((unsigned long)(v) >> 16) & 0xffff))
    P32(0x04034b50); P16(20); P16(0); P16(deflated ? 8 : 0); P32(0); P32(0); P32(cl); P32(xl); P16(nl); P16(0);
    memcpy(z + n, name, nl), n += nl;
    memcpy(z + n, c, cl), n += cl;
    size_t cd = n;
    P32(0x02014b50); P16(20); P16(20); P16(0); P16(deflated ? 8 : 0); P32(0); P32(0); P32(cl); P32(xl); P16(nl);
    P16(0); P16(0); P16(0); P16(0); P32(0); P32(0);
    memcpy(z + n, name, nl), n += nl;
    size_t cds = n - cd;
    P32(0x06054b50); P16(0); P16(0); P16(1); P16(1); P32(cds); P32(cd); P16(0);
    free(c);
    *zl = n;
    return z;
}

static void report(const char *what, size_t bytes, double best)
{
    printf("%-34s %7.1f MB/s  (%.1f MiB in %.3f s)\n", what, bytes / 1048576.0 / best, bytes / 1048576.0, best);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 8, len;
    if (doc_extract_init() != FM_OK)
        return 1;
    char *text = corpus(mib, &len);
    doc_type_t *types;
    int nt;
    doc_types_builtin(&types, &nt);
    double best = 1e9;
    long entities = 0;
    for (int run = 0; run < 3; run++) {
        cJSON *out = NULL;
        char why[200];
        double t0 = now();
        if (doc_extract_run(text, len, NULL, 0, types, nt, &out, why, sizeof(why)) != FM_OK)
            return 1;
        double dt = now() - t0;
        best = dt < best ? dt : best;
        entities = (long)cJSON_GetArraySize(cJSON_GetObjectItem(out, "entities"));
        cJSON_Delete(out);
    }
    report("entity extraction (all extractors)", len, best);
    printf("%-34s %ld entities, %.0f per second\n", "", entities, entities / best);

    /* HTML: the corpus with each line in a <p> */
    size_t hl = 0;
    char *html = malloc(len * 2 + 64);
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        hl += (size_t)sprintf(html + hl, "<p>%.*s</p>\n", (int)k, p);
        p += k + (e != NULL);
    }
    best = 1e9;
    for (int run = 0; run < 3; run++) {
        size_t n;
        double t0 = now();
        char *t = doc_html_text(html, hl, &n);
        double dt = now() - t0;
        free(t);
        best = dt < best ? dt : best;
    }
    report("HTML to text", hl, best);

    /* DOCX: the corpus as paragraphs in word/document.xml */
    size_t xl = 0;
    char *xml = malloc(len * 2 + 256);
    xl += (size_t)sprintf(xml, "<w:document xmlns:w=\"x\"><w:body>");
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        xl += (size_t)sprintf(xml + xl, "<w:p><w:r><w:t>%.*s</w:t></w:r></w:p>", (int)k, p);
        p += k + (e != NULL);
    }
    xl += (size_t)sprintf(xml + xl, "</w:body></w:document>");
    for (int deflated = 0; deflated <= 1; deflated++) {
        size_t zl;
        unsigned char *z = docx(xml, xl, deflated, &zl);
        best = 1e9;
        for (int run = 0; run < 3; run++) {
            char *t = NULL;
            size_t n;
            doc_err_t err;
            double t0 = now();
            if (doc_text_extract(DOC_F_DOCX, (const char *)z, zl, &t, &n, &err) != FM_OK) {
                fprintf(stderr, "docx: %s\n", err.detail);
                return 1;
            }
            double dt = now() - t0;
            free(t);
            best = dt < best ? dt : best;
        }
        report(deflated ? "DOCX to text (deflated, of XML)" : "DOCX to text (stored, of XML)", xl, best);
        free(z);
    }
    free(xml);
    free(html);
    free(text);
    doc_types_free(types, nt);
    doc_extract_free();
    return 0;
}
