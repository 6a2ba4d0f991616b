/* bench/hello.c — a bare CivetWeb hello-world, the baseline FlowMaster's
 * throughput is compared against (see bench/README.md).
 *
 * Same settings the platform uses: one context, num_threads 128, tcp_nodelay=1,
 * keep-alive on, and each response written with ONE mg_write of a buffer that holds
 * status line, headers and body.
 *
 * Usage: hello <port>      listens on 127.0.0.1:<port> until SIGTERM/SIGINT.
 * Build: cc -std=c11 -O2 bench/hello.c -o build/bench/hello -lcivetweb -lpthread
 */
#define _POSIX_C_SOURCE 200809L

#include <civetweb.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char BODY[] = "{\"status\":\"ok\"}";

static int handle_root(struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	char buf[256];
	int n = snprintf(buf, sizeof buf,
	                 "HTTP/1.1 200 OK\r\n"
	                 "Content-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n"
	                 "\r\n"
	                 "%s",
	                 sizeof BODY - 1, BODY);
	if (n > 0 && (size_t)n < sizeof buf)
		mg_write(conn, buf, (size_t)n);
	return 200;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <port>\n", argv[0]);
		return 2;
	}
	char *end = NULL;
	errno = 0;
	long port = strtol(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "hello: bad port '%s'\n", argv[1]);
		return 2;
	}

	char listen[32];
	snprintf(listen, sizeof listen, "127.0.0.1:%ld", port);
	const char *options[] = {
		"listening_ports", listen,
		"num_threads", "128",
		"tcp_nodelay", "1",
		"enable_keep_alive", "yes",
		NULL, NULL,
	};

	/* Block SIGTERM/SIGINT before CivetWeb starts its threads (they inherit the mask),
	 * so the signal is only ever taken by sigwait() below: no handler, no race. */
	sigset_t stop_set;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	signal(SIGPIPE, SIG_IGN);

	mg_init_library(0);
	struct mg_callbacks callbacks;
	memset(&callbacks, 0, sizeof callbacks);
	struct mg_context *ctx = mg_start(&callbacks, NULL, options);
	if (ctx == NULL) {
		fprintf(stderr, "hello: cannot listen on %s\n", listen);
		mg_exit_library();
		return 1;
	}
	mg_set_request_handler(ctx, "/", handle_root, NULL);

	int sig = 0;
	while (sigwait(&stop_set, &sig) != 0)
		;

	mg_stop(ctx);
	mg_exit_library();
	return 0;
}
