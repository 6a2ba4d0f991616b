/*
 * notif_mail.c — the e-mail the Notification Service sends: an RFC 5322 message with
 * Date, Message-ID, From, To, Subject (RFC 2047 encoded-words when not plain ASCII),
 * MIME-Version, and either one text/plain or text/html part or both as
 * multipart/alternative. Bodies are UTF-8 in base64 (76-character lines), so no line
 * of the message is too long and no body byte needs SMTP escaping.
 */
#include "notif_int.h"

#include "../../fm_buf.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool ascii_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

char *notif_mail_encode_header(const char *value)
{
    if (ascii_printable(value))
        return strdup(value);
    /* encoded-words of at most 45 bytes each (60 base64 characters, 72 with the frame),
     * cut between UTF-8 sequences, folded onto continuation lines */
    fm_buf_t b = FM_BUF_INIT;
    size_t n = strlen(value), i = 0;
    char enc[128];
    while (i < n) {
        size_t take = n - i > 45 ? 45 : n - i;
        while (take > 0 && i + take < n && ((unsigned char)value[i + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = n - i > 45 ? 45 : n - i;
        sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)value + i, take, sodium_base64_VARIANT_ORIGINAL);
        if (i)
            fm_buf_adds(&b, "\r\n ");
        fm_buf_addf(&b, "=?UTF-8?B?%s?=", enc);
        i += take;
    }
    return b.oom ? (fm_buf_release(&b), NULL) : fm_buf_detach(&b, NULL);
}

static void add_base64(fm_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    char line[128];
    for (size_t i = 0; i < n; i += 57) {
        size_t take = n - i > 57 ? 57 : n - i;
        sodium_bin2base64(line, sizeof(line), (const unsigned char *)s + i, take, sodium_base64_VARIANT_ORIGINAL);
        fm_buf_adds(b, line);
        fm_buf_adds(b, "\r\n");
    }
}

static void add_part_headers(fm_buf_t *b, const char *type)
{
    fm_buf_addf(b, "Content-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n", type);
}

/* The domain of the address in `from` ("Name <a@b>" or "a@b"). */
static void from_domain(const char *from, char *out, size_t len)
{
    const char *at = strrchr(from, '@');
    snprintf(out, len, "%s", at ? at + 1 : "localhost");
    out[strcspn(out, "> \t")] = '\0';
    if (!*out)
        snprintf(out, len, "localhost");
}

char *notif_mail_build(const char *from, const char *to, const char *subject, const char *text, const char *html,
                       int64_t date_ms, const char *id, char message_id[128])
{
    fm_buf_t b = FM_BUF_INIT;
    char date[64], domain[200], rnd[17];
    time_t t = (time_t)(date_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    from_domain(from, domain, sizeof(domain));
    unsigned char r8[8];
    randombytes_buf(r8, sizeof(r8));
    sodium_bin2hex(rnd, sizeof(rnd), r8, sizeof(r8));
    snprintf(message_id, 128, "<%.40s.%s@%.60s>", id, rnd, domain);
    char *subj = notif_mail_encode_header(subject ? subject : "");
    fm_buf_addf(&b, "Date: %s\r\nMessage-ID: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n", date,
                message_id, from, to, subj ? subj : "");
    free(subj);
    if (text && html) {
        char boundary[64];
        snprintf(boundary, sizeof(boundary), "=_fm_%s", rnd);
        fm_buf_addf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
        fm_buf_addf(&b, "--%s\r\n", boundary);
        add_part_headers(&b, "text/plain");
        add_base64(&b, text);
        fm_buf_addf(&b, "--%s\r\n", boundary);
        add_part_headers(&b, "text/html");
        add_base64(&b, html);
        fm_buf_addf(&b, "--%s--\r\n", boundary);
    } else {
        add_part_headers(&b, html ? "text/html" : "text/plain");
        add_base64(&b, html ? html : text ? text : "");
    }
    if (b.oom) {
        fm_buf_release(&b);
        return NULL;
    }
    return fm_buf_detach(&b, NULL);
}
