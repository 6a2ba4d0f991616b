/* bench/startup.c — time from exec until every canonical port accepts a TCP connection.
 *
 * Usage: startup <port-offset> <binary> [args...]
 *
 * Forks and execs <binary> [args...] (its stdout and stderr go to /dev/null), then
 * tries connect() to 127.0.0.1:(port + offset) for each of the 27 canonical ports in a
 * tight loop, retrying each until it accepts. Prints the elapsed milliseconds (clock:
 * CLOCK_MONOTONIC, read just before fork) on stdout, then sends SIGTERM to the child
 * and waits for it to exit.
 *
 * The offset is only used to compute the ports to probe; pass the matching
 * --port-offset to the binary yourself.
 *
 * Exit status: 0 when every port accepted within 10 s; 1 otherwise (the ports that never
 * accepted are listed on stderr), or when the child exited before all ports accepted;
 * 2 on a usage error.
 *
 * Build: cc -std=c11 -O2 bench/startup.c -o build/bench/startup
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int PORTS[] = {
	9000, 9002, 9003, 9005, 9006, 9007, 9008, 9009, 9010, 9011, 9013, 9014, 9015, 9016,
	8001, 8002, 8009, 8012, 8014, 8018, 8019, 8020, 8021,
	3000, 3001, 3002, 3005,
};
#define NPORTS ((int)(sizeof PORTS / sizeof PORTS[0]))

#define DEADLINE_MS 10000.0
#define STOP_GRACE_MS 15000.0 /* SIGTERM → exit; mg_stop alone takes ~2 s */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* 1 when 127.0.0.1:port accepted a connection, 0 otherwise. */
static int try_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (ok) {
		/* A port inside the ephemeral range (ip_local_port_range) that nobody
		 * listens on can "accept" by TCP self-connect: the kernel picked the
		 * destination port as our source port. That is not the server. */
		struct sockaddr_in local;
		socklen_t len = sizeof local;
		if (getsockname(fd, (struct sockaddr *)&local, &len) == 0 &&
		    local.sin_port == sa.sin_port && local.sin_addr.s_addr == sa.sin_addr.s_addr)
			ok = 0;
	}
	close(fd);
	return ok;
}

static void describe_status(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "status 0x%x", (unsigned)status);
}

/* SIGTERM the child, wait for it (SIGKILL after STOP_GRACE_MS). Returns its status. */
static int stop_child(pid_t pid)
{
	int status = 0;
	kill(pid, SIGTERM);
	double start = now_ms();
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return status;
		if (now_ms() - start > STOP_GRACE_MS) {
			fprintf(stderr, "startup: child did not exit %.0f ms after SIGTERM; "
			                "sending SIGKILL\n", STOP_GRACE_MS);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return status;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <port-offset> <binary> [args...]\n", argv[0]);
		return 2;
	}
	char *end = NULL;
	errno = 0;
	long offset = strtol(argv[1], &end, 10);
	if (errno != 0 || end == argv[1] || *end != '\0' || offset < 0 || offset + 9016 > 65535) {
		fprintf(stderr, "startup: bad port offset '%s'\n", argv[1]);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	/* Interrupted (e.g. bench/run.sh's cleanup): stop the child before leaving. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* A port that already accepts before we start would make the number meaningless. */
	for (int i = 0; i < NPORTS; i++) {
		if (try_connect(PORTS[i] + (int)offset)) {
			fprintf(stderr, "startup: port %ld (%d + %ld) already accepts connections "
			                "before the binary started; pick another offset\n",
			        PORTS[i] + offset, PORTS[i], offset);
			return 1;
		}
	}

	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("startup: fork");
		return 1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
			if (devnull > STDERR_FILENO)
				close(devnull);
		}
		/* Should we die without stopping it, the child gets SIGTERM (Linux). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[2], &argv[2]);
		_exit(127);
	}

	int ok[NPORTS];
	memset(ok, 0, sizeof ok);
	int remaining = NPORTS;
	double elapsed = 0.0;
	unsigned long passes = 0;
	while (remaining > 0) {
		for (int i = 0; i < NPORTS; i++) {
			if (!ok[i] && try_connect(PORTS[i] + (int)offset)) {
				ok[i] = 1;
				remaining--;
			}
		}
		elapsed = now_ms() - t0;
		if (remaining == 0)
			break;
		/* The child dying early (bad args, busy port, exec failure) is a failure,
		 * not a 10 s wait. Checked every 64 passes to keep the loop tight. */
		if ((++passes & 63) == 0) {
			int status;
			if (waitpid(pid, &status, WNOHANG) == pid) {
				char why[64];
				describe_status(status, why, sizeof why);
				fprintf(stderr, "startup: %s %s after %.1f ms with %d of %d ports "
				                "accepting\n", argv[2], why, now_ms() - t0,
				        NPORTS - remaining, NPORTS);
				if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
					fprintf(stderr, "startup: (127: exec of '%s' probably failed)\n",
					        argv[2]);
				return 1;
			}
		}
		if (elapsed > DEADLINE_MS)
			break;
		if (interrupted) {
			fprintf(stderr, "startup: interrupted; stopping the child\n");
			stop_child(pid);
			return 1;
		}
	}

	if (remaining > 0) {
		fprintf(stderr, "startup: after %.0f ms, %d of %d ports never accepted:",
		        DEADLINE_MS, remaining, NPORTS);
		for (int i = 0; i < NPORTS; i++)
			if (!ok[i])
				fprintf(stderr, " %ld", PORTS[i] + offset);
		fputc('\n', stderr);
		stop_child(pid);
		return 1;
	}

	printf("%.1f\n", elapsed);
	fflush(stdout);

	int status = stop_child(pid);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char why[64];
		describe_status(status, why, sizeof why);
		fprintf(stderr, "startup: warning: after SIGTERM the child %s\n", why);
	}
	return 0;
}
