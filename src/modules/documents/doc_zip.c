/*
 * doc_zip.c — reads one entry of a zip archive held in memory (DOCX and ODT are zips):
 * the end-of-central-directory record, the central directory (at most
 * DOC_ZIP_MAX_ENTRIES entries), the entry's local header, then its bytes stored or
 * deflated (zlib's raw inflate). Nothing in the archive is trusted: every offset is
 * checked against the buffer, and inflation stops as soon as the output passes
 * DOC_ZIP_MAX_INFLATED bytes or, above DOC_ZIP_RATIO_FLOOR, DOC_ZIP_MAX_RATIO times the
 * compressed size (a zip bomb is refused after at most that much work). Zip64 and
 * encrypted entries are refused.
 */
#include "doc_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static int fail(char *why, size_t wl, const char *msg)
{
    snprintf(why, wl, "%s", msg);
    return FM_EINVAL;
}

static int inflate_entry(const unsigned char *src, size_t clen, size_t declared, char **out, size_t *outlen,
                         char *why, size_t wl)
{
    size_t cap = declared > 0 && declared < (1u << 20) ? declared + 1 : 1u << 16;
    char *buf = malloc(cap + 1);
    if (!buf)
        return FM_ENOMEM;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        free(buf);
        return FM_ENOMEM;
    }
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)clen;
    size_t len = 0;
    int zrc = Z_OK, rc = FM_OK;
    while (zrc != Z_STREAM_END) {
        if (len == cap) {
            if (cap >= (size_t)DOC_ZIP_MAX_INFLATED) {
                rc = fail(why, wl, "the archive inflates to more than 64 MiB (a zip bomb?)");
                break;
            }
            size_t ncap = cap * 2 > (size_t)DOC_ZIP_MAX_INFLATED ? (size_t)DOC_ZIP_MAX_INFLATED : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = FM_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        zs.next_out = (Bytef *)buf + len;
        zs.avail_out = (uInt)(cap - len);
        zrc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (len > (size_t)DOC_ZIP_RATIO_FLOOR && len / (clen ? clen : 1) > DOC_ZIP_MAX_RATIO) {
            rc = fail(why, wl, "an entry expands more than 100 times its compressed size (a zip bomb?)");
            break;
        }
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK && !(zrc == Z_BUF_ERROR && len == cap)) {
            rc = fail(why, wl, "a deflated entry of the archive is corrupt");
            break;
        }
    }
    inflateEnd(&zs);
    if (rc != FM_OK) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return FM_OK;
}

int doc_zip_entry(const unsigned char *z, size_t n, const char *name, char **out, size_t *outlen, char *why,
                  size_t wl)
{
    *out = NULL;
    *outlen = 0;
    if (n < 22)
        return fail(why, wl, "not a zip archive (too short)");
    /* The end record is in the last 22 + 65535 bytes (its comment is at most that long). */
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0, eocd = SIZE_MAX;
    for (size_t i = n - 22 + 1; i-- > lo;)
        if (le32(z + i) == 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd == SIZE_MAX)
        return fail(why, wl, "not a zip archive (no end of central directory)");
    uint32_t count = le16(z + eocd + 10), cd_size = le32(z + eocd + 12), cd_off = le32(z + eocd + 16);
    if (count == 0xffff || cd_off == 0xffffffffu)
        return fail(why, wl, "zip64 archives are not read");
    if (count > DOC_ZIP_MAX_ENTRIES)
        return fail(why, wl, "the archive lists more than 10000 entries");
    if ((size_t)cd_off > n || (size_t)cd_size > n - cd_off)
        return fail(why, wl, "the zip central directory lies outside the file");
    size_t p = cd_off, end = (size_t)cd_off + cd_size, nlen = strlen(name);
    for (uint32_t k = 0; k < count; k++) {
        if (p + 46 > end || le32(z + p) != 0x02014b50)
            return fail(why, wl, "the zip central directory is corrupt");
        uint16_t flags = le16(z + p + 8), method = le16(z + p + 10);
        uint32_t csize = le32(z + p + 20), usize = le32(z + p + 24);
        uint16_t fl = le16(z + p + 28), xl = le16(z + p + 30), cl = le16(z + p + 32);
        uint32_t loff = le32(z + p + 42);
        if (p + 46 + fl > end)
            return fail(why, wl, "the zip central directory is corrupt");
        bool hit = fl == nlen && !memcmp(z + p + 46, name, nlen);
        p += 46 + (size_t)fl + xl + cl;
        if (!hit)
            continue;
        if (flags & 1)
            return fail(why, wl, "encrypted zip entries are not read");
        if (csize == 0xffffffffu || usize == 0xffffffffu || loff == 0xffffffffu)
            return fail(why, wl, "zip64 archives are not read");
        if ((size_t)loff + 30 > n || le32(z + loff) != 0x04034b50)
            return fail(why, wl, "a zip local header is missing");
        size_t data = (size_t)loff + 30 + le16(z + loff + 26) + le16(z + loff + 28);
        if (data > n || (size_t)csize > n - data)
            return fail(why, wl, "a zip entry lies outside the file");
        if (method == 0) {
            if (csize > (uint32_t)DOC_ZIP_MAX_INFLATED)
                return fail(why, wl, "the archive inflates to more than 64 MiB (a zip bomb?)");
            char *b = malloc((size_t)csize + 1);
            if (!b)
                return FM_ENOMEM;
            memcpy(b, z + data, csize);
            b[csize] = '\0';
            *out = b;
            *outlen = csize;
            return FM_OK;
        }
        if (method != 8)
            return fail(why, wl, "a zip entry uses a compression method other than deflate");
        return inflate_entry(z + data, csize, usize, out, outlen, why, wl);
    }
    return FM_ENOTFOUND;
}
