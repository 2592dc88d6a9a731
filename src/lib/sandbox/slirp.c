/* --net slirp: outbound networking for a container without touching the host's network
 * configuration and without root: slirp4netns (Debian package) runs a user-mode TCP/IP stack
 * on the host side and a tap device inside the container's own network namespace. The host's
 * loopback is not reachable (--disable-host-loopback); -p publishes a port on 127.0.0.1
 * (or the given address) through slirp4netns' API socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define SLIRP "/usr/bin/slirp4netns"
#define PASTA "/usr/bin/pasta"

static int api_call(const char *sock, const char *req, bwk_error **err)
{
	cleanup_close int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "slirp4netns API %s", sock);
	size_t n = strlen(req);
	if (write(s, req, n) != (ssize_t)n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "slirp4netns API write");
	shutdown(s, SHUT_WR);
	char resp[512];
	ssize_t r = read(s, resp, sizeof resp - 1);
	if (r <= 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "slirp4netns API: no answer");
	resp[r] = 0;
	if (strstr(resp, "\"error\""))
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "slirp4netns: %.200s", resp);
	return 0;
}

/* Sockets of ours whose container is gone (its bulwark was killed while it published its
 * ports: the socket lives only that long). */
static void reap_stale_sockets(void)
{
	cleanup_dir DIR *d = opendir("/tmp");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid = 0, end = 0;
		struct stat st;
		if (sscanf(e->d_name, "bulwark-slirp-%d.sock%n", &pid, &end) != 1 ||
		    e->d_name[end] || pid <= 0 || (kill(pid, 0) == 0 || errno != ESRCH) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
			continue;
		(void)unlinkat(dirfd(d), e->d_name, 0);
	}
}

int sbx_slirp_start(sbx_slirp *sl, pid_t pid, bool root, const bwk_port *ports, size_t nports,
		    bwk_error **err)
{
	memset(sl, 0, sizeof *sl);
	sl->pid = -1;
	sl->exit_w = -1;
	if (access(SLIRP, X_OK) < 0)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, errno,
				     "%s slirp needs %s (Debian package slirp4netns)",
				     bwk_setting("net", "the network mode"), SLIRP);
	int ready[2], ex[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "pipe");
	if (pipe2(ex, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "pipe");
	}
	reap_stale_sockets();
	snprintf(sl->api, sizeof sl->api, "/tmp/bulwark-slirp-%d.sock", (int)pid);
	unlink(sl->api);
	char pids[16], rfd[16], efd[16], userns[64];
	snprintf(pids, sizeof pids, "%d", (int)pid);
	snprintf(rfd, sizeof rfd, "--ready-fd=%d", ready[1]);
	snprintf(efd, sizeof efd, "--exit-fd=%d", ex[0]);
	snprintf(userns, sizeof userns, "--userns-path=/proc/%d/ns/user", (int)pid);
	char api[sizeof sl->api + 16];
	snprintf(api, sizeof api, "--api-socket=%s", sl->api);
	const char *argv[16];
	int k = 0;
	argv[k++] = SLIRP;
	argv[k++] = "--configure";
	argv[k++] = "--mtu=65520";
	argv[k++] = "--disable-host-loopback";
	argv[k++] = "--enable-sandbox";
	argv[k++] = "--enable-seccomp";
	argv[k++] = rfd;
	argv[k++] = efd;
	if (nports)
		argv[k++] = api;
	if (!root)
		argv[k++] = userns;
	argv[k++] = pids;
	argv[k++] = "tap0";
	argv[k] = NULL;
	pid_t c = fork();
	if (c < 0) {
		int e = errno;
		close(ready[0]);
		close(ready[1]);
		close(ex[0]);
		close(ex[1]);
		return bwk_error_set(err, BWK_E_RUNTIME, e, "fork slirp4netns");
	}
	if (c == 0) {
		/* keep exactly the two descriptors it was told about */
		(void)fcntl(ready[1], F_SETFD, 0);
		(void)fcntl(ex[0], F_SETFD, 0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null,
			     2); /* it chatters on stderr; failures show as "did not configure" */
		}
		execv(SLIRP, (char *const *)argv);
		_exit(127);
	}
	close(ready[1]);
	close(ex[0]);
	sl->pid = c;
	sl->exit_w = ex[1];
	struct pollfd p = {ready[0], POLLIN, 0};
	char b;
	int r = poll(&p, 1, 10000);
	ssize_t n = r > 0 ? read(ready[0], &b, 1) : -1;
	close(ready[0]);
	if (n != 1) {
		sbx_slirp_stop(sl);
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "slirp4netns did not configure the network "
				     "(is /dev/net/tun usable by this user?)");
	}
	for (size_t i = 0; i < nports; i++) {
		char req[256];
		snprintf(req, sizeof req,
			 "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\","
			 "\"host_addr\":\"%s\",\"host_port\":%u,\"guest_port\":%u}}",
			 ports[i].udp ? "udp" : "tcp",
			 ports[i].host_addr[0] ? ports[i].host_addr : "127.0.0.1",
			 ports[i].host_port, ports[i].container_port);
		if (api_call(sl->api, req, err) < 0) {
			sbx_slirp_stop(sl);
			return bwk_error_wrap(err, "publishing port %u", ports[i].host_port);
		}
	}
	/* the forwards are in place: nothing else talks to the socket, and a SIGKILL of ours
	 * must not leave it in /tmp */
	if (sl->api[0])
		unlink(sl->api);
	sl->api[0] = 0;
	return 0;
}

void sbx_slirp_stop(sbx_slirp *sl)
{
	if (sl->exit_w >= 0)
		close(sl->exit_w);
	sl->exit_w = -1;
	if (sl->pid > 0) {
		kill(sl->pid, SIGKILL); /* pasta ignores SIGTERM; slirp4netns has its exit fd */
		waitpid(sl->pid, NULL, 0);
	}
	sl->pid = -1;
	if (sl->api[0])
		unlink(sl->api);
	sl->api[0] = 0;
}

bool sbx_pasta_available(void)
{
	return access(PASTA, X_OK) == 0;
}

/* pasta (Debian's passt), rootless Podman's default: the forwarded ports are sockets of the
 * host's own stack (-t ADDR/HOST:CONTAINER), spliced to the container's, so there is no
 * user-mode TCP on the way in. It runs in the foreground as our child and dies with us
 * (PR_SET_PDEATHSIG: it does not leave when the namespace's last process does); it says it
 * is ready by writing its pid into a pipe (-P /proc/self/fd/N), so nothing is written to a
 * file system. The host's loopback stays out of reach: no gateway mapping (--no-map-gw)
 * and no forwarding from the container to the host (-T none -U none). DNS: queries to
 * 10.0.2.3 (the resolv.conf slirp4netns' containers get) go to the host's resolver. */
int sbx_pasta_start(sbx_slirp *sl, pid_t pid, const bwk_port *ports, size_t nports, bwk_error **err)
{
	memset(sl, 0, sizeof *sl);
	sl->pid = -1;
	sl->exit_w = -1;
	if (nports > BWK_MAX_PORTS)
		return bwk_error_set(err, BWK_E_USAGE, 0, "too many published ports");
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "pipe");
	char pidfile[48], pids[16];
	snprintf(pidfile, sizeof pidfile, "/proc/self/fd/%d", ready[1]);
	snprintf(pids, sizeof pids, "%d", (int)pid);
	char specs[BWK_MAX_PORTS][96];
	const char *argv[24 + 2 * BWK_MAX_PORTS];
	int k = 0;
	bool tcp = false, udp = false;
	argv[k++] = PASTA;
	argv[k++] = "--config-net";
	argv[k++] = "--foreground";
	argv[k++] = "--quiet";
	argv[k++] = "--ipv4-only";
	argv[k++] = "--no-map-gw";
	argv[k++] = "--dns-forward";
	argv[k++] = "10.0.2.3";
	argv[k++] = "-T";
	argv[k++] = "none";
	argv[k++] = "-U";
	argv[k++] = "none";
	argv[k++] = "-P";
	argv[k++] = pidfile;
	for (size_t i = 0; i < nports; i++) {
		snprintf(specs[i], sizeof specs[i], "%s/%u:%u",
			 ports[i].host_addr[0] ? ports[i].host_addr : "127.0.0.1",
			 ports[i].host_port, ports[i].container_port);
		argv[k++] = ports[i].udp ? "-u" : "-t";
		argv[k++] = specs[i];
		tcp |= !ports[i].udp;
		udp |= ports[i].udp;
	}
	if (!tcp) {
		argv[k++] = "-t";
		argv[k++] = "none";
	}
	if (!udp) {
		argv[k++] = "-u";
		argv[k++] = "none";
	}
	argv[k++] = pids;
	argv[k] = NULL;
	pid_t parent = getpid();
	pid_t c = fork();
	if (c < 0) {
		int e = errno;
		close(ready[0]);
		close(ready[1]);
		return bwk_error_set(err, BWK_E_RUNTIME, e, "fork pasta");
	}
	if (c == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		(void)fcntl(ready[1], F_SETFD, 0);
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(PASTA, (char *const *)argv);
		_exit(127);
	}
	close(ready[1]);
	sl->pid = c;
	struct pollfd p = {ready[0], POLLIN, 0};
	char b[16];
	int r = poll(&p, 1, 10000);
	ssize_t n = r > 0 ? read(ready[0], b, sizeof b) : -1;
	close(ready[0]);
	if (n <= 0) {
		sbx_slirp_stop(sl);
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "pasta did not configure the network (is /dev/net/tun usable "
				     "by this user? a published port in use?)");
	}
	return 0;
}
