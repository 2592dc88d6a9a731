/* -t: the command gets a pseudo-terminal of its own (never the caller's terminal, so TIOCSTI
 * and friends reach nothing outside), allocated in the container's own devpts, and the host
 * side relays bytes between it and the caller's stdin/stdout, with the caller's terminal in
 * raw mode while it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

/* In the container, once its devpts instance is mounted at /dev/pts and the root pivoted:
 * a pty of that instance (so `tty` and ttyname() find the slave at /dev/pts/N, which a pty
 * of the host's devpts never is in here), its slave on 0-2, its master to the host side over
 * `sock`, as runc's console socket hands it over. The slave comes from TIOCGPTPEER, never by
 * name. -1 + errno. */
int sbx_tty_make(int sock, const struct winsize *ws, bool send_name)
{
	cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int m =
	    root < 0 ? -1 : sbx_open_beneath(root, "dev/pts/ptmx", O_RDWR | O_NOCTTY);
	if (m < 0 && errno == ENOENT && root >= 0) /* a bundle without its own devpts */
		m = sbx_open_in_root(root, "/dev/ptmx", O_RDWR | O_NOCTTY);
	if (m < 0 || unlockpt(m) < 0)
		return -1;
	cleanup_close int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return -1;
	if (ws)
		(void)ioctl(s, TIOCSWINSZ, ws);
	for (int i = 0; i < 3; i++) /* the stdio pipes close here: the host side sees EOF */
		if (dup2(s, i) < 0)
			return -1;
	/* an OCI engine's console socket takes the pty's name along (runc sends it) */
	char name[64] = "T";
	if (send_name && ptsname_r(m, name, sizeof name) != 0)
		return -1;
	size_t len = strlen(name);
	return sbx_send_fd(sock, name, len, m) == (ssize_t)len ? 0 : -1;
}

/* The host side: the master sbx_tty_make() sent, checked to be one (TIOCGPTN answers only on
 * a master), sized as the caller's terminal. -1 when the container died before sending it. */
int sbx_tty_receive(int sock, int *master)
{
	char byte = 0;
	int m = -1;
	ssize_t n = sbx_recv_fd(sock, &byte, 1, &m);
	if (n != 1 || m < 0) {
		int e = n < 0 ? errno : EPROTO;
		if (m >= 0)
			close(m);
		errno = e;
		return -1;
	}
	unsigned ptn;
	if (byte != 'T' || ioctl(m, TIOCGPTN, &ptn) < 0) {
		close(m);
		errno = EPROTO;
		return -1;
	}
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(m, TIOCSWINSZ, &ws);
	*master = m;
	return 0;
}

static bool pump(int from, int to, sbx_stdio *tail)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof buf);
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	if (tail)
		sbx_stdio_keep_tail(tail, buf, (size_t)n);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		off += w;
	}
	return true;
}

/* The container failed before its command ran: show what it wrote on its terminal. */
void sbx_tty_drain(int master)
{
	struct pollfd p = {master, POLLIN, 0};
	while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(master, STDOUT_FILENO, NULL))
		;
}

/* Relay until the container's pid 1 exits; forwards signals like the plain wait does. */
int sbx_tty_wait(pid_t pid, int sfd, int master, bool interactive, sbx_stop *stop, int *wstatus,
		 sbx_stdio *tail)
{
	struct termios saved;
	bool raw = interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	bool in_open = interactive, out_open = true, exited = false;
	int rc = 0;
	while (!exited || out_open) {
		struct pollfd p[3] = {{sfd, POLLIN, 0},
				      {out_open ? master : -1, POLLIN, 0},
				      {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
		/* once pid 1 is gone, drain what the terminal still holds, then stop */
		int r = poll(p, 3, exited ? 50 : sbx_stop_poll_ms(stop, pid));
		if (r < 0 && errno != EINTR) {
			rc = -1;
			break;
		}
		if (r == 0 && exited)
			break;
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			out_open = pump(master, STDOUT_FILENO, tail);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!pump(STDIN_FILENO, master, NULL)) {
				in_open = false;
				char eof = 4; /* ^D: the command sees the end of its input */
				(void)!write(master, &eof, 1);
			}
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) != sizeof si)
				continue;
			if (si.ssi_signo == SIGWINCH) {
				struct winsize ws;
				if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
					(void)ioctl(master, TIOCSWINSZ, &ws);
			} else if (si.ssi_signo != SIGCHLD) {
				sbx_stop_forward(stop, pid, (int)si.ssi_signo);
			} else if (!exited && waitpid(pid, wstatus, WNOHANG) == pid) {
				exited = true;
			}
		}
	}
	if (!exited && waitpid(pid, wstatus, 0) != pid)
		rc = -1;
	if (raw)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return rc;
}
