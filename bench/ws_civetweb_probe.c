/*
 * ws_civetweb_probe.c — the alternative `make bench-ws` compares against: a CivetWeb
 * context serving WebSockets with FlowMaster's options (tcp_nodelay, keep-alive), as a
 * separate context for 9010 would. Usage: ws_civetweb_probe PORT THREADS. Answers every
 * WebSocket with {"type":"welcome"} so the bench's clients count it as connected, then
 * keeps it open; CivetWeb holds one worker thread per open WebSocket, so THREADS must be
 * above the number of clients. Runs until killed.
 */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int on_connect(const struct mg_connection *conn, void *arg)
{
    (void)conn;
    (void)arg;
    return 0;
}

static void on_ready(struct mg_connection *conn, void *arg)
{
    (void)arg;
    static const char hello[] = "{\"type\":\"welcome\"}";
    mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, hello, sizeof(hello) - 1);
}

static int on_data(struct mg_connection *conn, int bits, char *data, size_t len, void *arg)
{
    (void)conn;
    (void)bits;
    (void)data;
    (void)len;
    (void)arg;
    return 1;
}

static void on_close(const struct mg_connection *conn, void *arg)
{
    (void)conn;
    (void)arg;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
        return 2;
    }
    char ports[32];
    snprintf(ports, sizeof(ports), "127.0.0.1:%s", argv[1]);
    const char *opts[] = { "listening_ports", ports, "num_threads", argv[2], "tcp_nodelay", "1",
                           "enable_keep_alive", "yes", NULL, NULL };
    mg_init_library(0);
    struct mg_callbacks cbs;
    memset(&cbs, 0, sizeof(cbs));
    struct mg_context *ctx = mg_start(&cbs, NULL, opts);
    if (!ctx) {
        fprintf(stderr, "cannot start CivetWeb on %s\n", ports);
        return 1;
    }
    mg_set_websocket_handler(ctx, "/channels/bench/subscribe", on_connect, on_ready, on_data, on_close, NULL);
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
