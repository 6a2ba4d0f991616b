/*
 * doc_pdf.c — the text of a PDF through `pdftotext` (Debian poppler-utils), run as a
 * child process: the PDF goes to a temporary file under <data-dir>/documents, the text
 * comes back on a pipe (at most DOC_TEXT_MAX bytes), and the child is killed once
 * documents.pdf_timeout_ms have passed. Not installed → 415 naming the package.
 * Runs on a worker thread; posix_spawn (vfork-like) keeps that safe in a threaded server.
 */
#define _GNU_SOURCE     /* memmem, pipe2, mkostemp */
#include "doc_int.h"

#include "../../fm_buf.h"
#include "../../fm_config.h"
#include "../../fm_json_check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int doc_pdf_text(const char *data, size_t len, char **text, size_t *tlen, doc_err_t *err)
{
    const char *prog = fm_cfg()->documents_pdftotext;
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s/documents/pdf-XXXXXX", fm_cfg()->data_dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return FM_EIO;
    if (write_all(fd, data, len) != 0) {
        close(fd);
        unlink(tmp);
        return FM_EIO;
    }
    close(fd);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        unlink(tmp);
        return FM_EIO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *argv[] = { (char *)prog, "-q", "-layout", "-enc", "UTF-8", tmp, "-", NULL };
    pid_t pid;
    int src = strchr(prog, '/') ? posix_spawn(&pid, prog, &fa, NULL, argv, environ)
                                : posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (src != 0) {
        close(pfd[0]);
        unlink(tmp);
        err->status = 415;
        snprintf(err->detail, sizeof(err->detail),
                 "PDF text needs pdftotext, which is not installed here (%s: %s): install the Debian package "
                 "poppler-utils (apt-get install poppler-utils) or set documents.pdftotext",
                 prog, strerror(src));
        return FM_EINVAL;
    }
    fm_buf_t b = FM_BUF_INIT;
    double deadline = now_ms() + fm_cfg()->documents_pdf_timeout_ms;
    bool timed_out = false, too_big = false;
    char chunk[16384];
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = { pfd[0], POLLIN, 0 };
        int pr = poll(&p, 1, (int)left + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            continue;
        ssize_t r = read(pfd[0], chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (b.len + (size_t)r > (size_t)DOC_TEXT_MAX) {
            too_big = true;
            break;
        }
        fm_buf_add(&b, chunk, (size_t)r);
    }
    close(pfd[0]);
    if (timed_out || too_big)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    unlink(tmp);
    if (timed_out || too_big || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fm_buf_release(&b);
        err->status = 422;
        if (timed_out)
            snprintf(err->detail, sizeof(err->detail), "pdftotext did not finish within %d ms; the PDF is not read",
                     fm_cfg()->documents_pdf_timeout_ms);
        else if (too_big)
            snprintf(err->detail, sizeof(err->detail), "the PDF holds more than %ld MiB of text", DOC_TEXT_MAX >> 20);
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
            snprintf(err->detail, sizeof(err->detail), "PDF text needs pdftotext (poppler-utils), which did not run");
        else
            snprintf(err->detail, sizeof(err->detail), "pdftotext could not read the PDF (exit status %d)",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return FM_EINVAL;
    }
    if (b.oom) {
        fm_buf_release(&b);
        return FM_ENOMEM;
    }
    /* pdftotext writes UTF-8; a broken byte (odd fonts) would make the text unusable
     * as JSON later, so the text is cut to its valid prefix per line is not worth it:
     * invalid bytes become '?'. Form feeds (page breaks) become newlines. */
    for (size_t i = 0; i < b.len;) {
        size_t k = fm_utf8_seq(b.data + i, b.len - i);
        if (k == 0 || b.data[i] == 0) {
            b.data[i] = '?';
            k = 1;
        } else if (b.data[i] == '\f') {
            b.data[i] = '\n';
        }
        i += k;
    }
    *text = fm_buf_detach(&b, tlen);
    return *text ? FM_OK : FM_ENOMEM;
}
