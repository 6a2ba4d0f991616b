/*
 * integ_secret.c — the key that seals connector and webhook secrets at rest
 * (libsodium crypto_secretbox: XSalsa20-Poly1305, a random nonce per box). The key
 * comes from [integrations] key (FLOWMASTER_INTEGRATIONS_KEY, 64 hex digits) or from
 * <data-dir>/integrations.key, which the first start creates with mode 0600 and
 * names in one log line. The key itself is never logged.
 */
#include "integ_int.h"

#include "../../fm_config.h"
#include "../../fm_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char key[crypto_secretbox_KEYBYTES];
static bool have_key;

static int from_hex(const char *hex, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (sodium_hex2bin(key, sizeof(key), hex, n, " \n\r\t", &got, &end) != 0 || got != sizeof(key))
        return FM_EINVAL;
    return FM_OK;
}

int integ_secret_start(void)
{
    if (sodium_init() < 0)
        return FM_EIO;
    const char *cfg = fm_cfg()->integrations_key;
    if (*cfg) {
        if (from_hex(cfg, strlen(cfg)) != FM_OK) {
            fm_log_msg(FM_LOG_ERROR, "integrations: [integrations] key must be 64 hex digits (32 bytes)", NULL);
            return FM_EINVAL;
        }
        have_key = true;
        return FM_OK;
    }
    char path[600], hex[crypto_secretbox_KEYBYTES * 2 + 2];
    snprintf(path, sizeof(path), "%s/integrations.key", fm_cfg()->data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, hex, sizeof(hex) - 1);
        close(fd);
        if (n < 64 || from_hex(hex, (size_t)n) != FM_OK) {
            fm_log_msg(FM_LOG_ERROR, "integrations: the key file does not hold 64 hex digits", path);
            return FM_EINVAL;
        }
        have_key = true;
        return FM_OK;
    }
    if (errno != ENOENT) {
        fm_log_msg(FM_LOG_ERROR, "integrations: cannot read the key file", path);
        return FM_EIO;
    }
    randombytes_buf(key, sizeof(key));
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    bool ok = fd >= 0 && write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    sodium_memzero(hex, sizeof(hex));
    if (!ok) {
        fm_log_msg(FM_LOG_ERROR, "integrations: cannot create the key file", path);
        return FM_EIO;
    }
    fm_log_msg(FM_LOG_INFO, "integrations: generated the key that encrypts connector and webhook secrets "
                            "(mode 0600; back it up with the data, or set [integrations] key)", path);
    have_key = true;
    return FM_OK;
}

void integ_secret_stop(void)
{
    sodium_memzero(key, sizeof(key));
    have_key = false;
}

int integ_seal(const char *plain, unsigned char **out, size_t *outlen)
{
    if (!have_key)
        return FM_EIO;
    size_t n = strlen(plain);
    unsigned char *b = malloc(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n);
    if (!b)
        return FM_ENOMEM;
    randombytes_buf(b, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(b + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, n, b, key);
    *out = b;
    *outlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    return FM_OK;
}

char *integ_unseal(const unsigned char *box, size_t len)
{
    if (!have_key || len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return NULL;
    size_t n = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    if (crypto_secretbox_open_easy((unsigned char *)p, box + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, box, key) != 0) {
        free(p);
        return NULL;
    }
    p[n] = 0;
    return p;
}
