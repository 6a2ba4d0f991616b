/*
 * fm_port_owner.c — the one line `serve` prints when a port is taken: which port, which
 * process holds it (best effort, Linux: /proc/net/tcp{,6} gives the listening socket's
 * inode, /proc/<pid>/fd/ the process that has it open; other users' processes stay
 * anonymous without privileges), and a --port-offset that keeps every port below the
 * kernel's ephemeral range and is free right now.
 */
#define _POSIX_C_SOURCE 200809L
#include "fm_http_int.h"

#include "fm_config.h"

#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#define MAX_PIDS_SCANNED 4096      /* bounds the /proc walk */
#define MAX_FDS_SCANNED 4096       /* per process */

/* The inode of a socket listening on TCP `port` in one /proc/net/tcp* file, or 0. */
static unsigned long listen_inode(const char *table, int port)
{
    FILE *f = fopen(table, "r");
    if (!f)
        return 0;
    char line[512];
    unsigned long found = 0;
    if (fgets(line, sizeof(line), f)) {     /* header */
        while (!found && fgets(line, sizeof(line), f)) {
            char local[128];
            unsigned st = 0;
            unsigned long inode = 0;
            /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, "%*s %127s %*s %x %*s %*s %*s %*s %*s %lu", local, &st, &inode) != 3)
                continue;
            const char *colon = strrchr(local, ':');
            if (colon && st == 0x0A && strtol(colon + 1, NULL, 16) == port)
                found = inode;
        }
    }
    fclose(f);
    return found;
}

/* "pid N (name)" of the process holding socket inode `inode`, or false. */
static bool inode_owner(unsigned long inode, char *out, size_t len)
{
    char want[64];
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    DIR *proc = opendir("/proc");
    if (!proc)
        return false;
    bool found = false;
    int pids = 0;
    struct dirent *d;
    while (!found && pids < MAX_PIDS_SCANNED && (d = readdir(proc))) {
        if (d->d_name[0] < '1' || d->d_name[0] > '9')
            continue;
        pids++;
        char path[64];
        if (strlen(d->d_name) > 20)
            continue;
        snprintf(path, sizeof(path), "/proc/%.20s/fd", d->d_name);
        DIR *fds = opendir(path);
        if (!fds)
            continue;       /* another user's process */
        struct dirent *e;
        int n = 0;
        while (!found && n++ < MAX_FDS_SCANNED && (e = readdir(fds))) {
            char link[128], target[128];
            if (strlen(e->d_name) > 32)
                continue;
            snprintf(link, sizeof(link), "%.63s/%.32s", path, e->d_name);
            ssize_t k = readlink(link, target, sizeof(target) - 1);
            if (k <= 0)
                continue;
            target[k] = 0;
            found = !strcmp(target, want);
        }
        closedir(fds);
        if (found) {
            char comm[64] = "?";
            snprintf(path, sizeof(path), "/proc/%.20s/comm", d->d_name);
            FILE *f = fopen(path, "r");
            if (f) {
                if (fgets(comm, sizeof(comm), f))
                    comm[strcspn(comm, "\n")] = 0;
                fclose(f);
            }
            snprintf(out, len, "pid %.20s (%.63s)", d->d_name, comm);
        }
    }
    closedir(proc);
    return found;
}

static bool port_free(const char *host, int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return false;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));   /* as CivetWeb binds */
    bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

static int ephemeral_low(void)
{
    int lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &lo) != 1 || lo < 1024)
            lo = 32768;
        fclose(f);
    }
    return lo;
}

void fm__port_busy_line(const fm_routing_t *routing, int port, char *out, size_t len)
{
    const fm_config_t *c = fm_cfg();
    char owner[128] = "";
    unsigned long inode = listen_inode("/proc/net/tcp", port);
    if (!inode)
        inode = listen_inode("/proc/net/tcp6", port);
    char who[160] = "";
    if (inode && inode_owner(inode, owner, sizeof(owner)))
        snprintf(who, sizeof(who), " by %s", owner);
    int top = 0, low = 65535;
    for (size_t i = 0; i < routing->nports; i++) {
        top = routing->ports[i].port > top ? routing->ports[i].port : top;
        low = routing->ports[i].port < low ? routing->ports[i].port : low;
    }
    int max_offset = ephemeral_low() - 1 - top;
    /* A suggestion that works now: the first multiple of 1000 with every port free. */
    int suggest = 0;
    for (int off = 1000; !suggest && off <= max_offset; off += 1000) {
        bool all = off != c->port_offset;
        for (size_t i = 0; all && i < routing->nports; i++)
            all = port_free(c->listen, routing->ports[i].port + off);
        if (all)
            suggest = off;
    }
    char hint[200];
    if (suggest)
        snprintf(hint, sizeof(hint), "e.g. --port-offset %d (free now)", suggest);
    else
        snprintf(hint, sizeof(hint), "a free --port-offset");
    snprintf(out, len,
             "port %d (%d + offset %d) on %s is already in use%s; is FlowMaster already running? "
             "Stop it, or start with %s: offsets 0 to %d keep every port (%d..%d) below the ephemeral range (%d)",
             port, port - c->port_offset, c->port_offset, c->listen, who, hint, max_offset, low, top,
             max_offset + top + 1);
}
