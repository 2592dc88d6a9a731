/* -t: the command gets a pseudo-terminal of its own (never the caller's terminal, so TIOCSTI
 * and friends reach nothing outside), and the host side relays bytes between it and the
 * caller's stdin/stdout, with the caller's terminal in raw mode while it runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/sandbox_private.h"

int sbx_tty_open(int *master, int *slave, bwk_error **err)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
		int e = errno;
		if (m >= 0)
			close(m);
		return bwk_error_set(err, BWK_E_RUNTIME, e, "allocating a pseudo-terminal");
	}
	char name[64];
	if (ptsname_r(m, name, sizeof name) != 0) {
		close(m);
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "ptsname");
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;
		close(m);
		return bwk_error_set(err, BWK_E_RUNTIME, e, "opening %s", name);
	}
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(m, TIOCSWINSZ, &ws);
	*master = m;
	*slave = s;
	return 0;
}

static bool pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof buf);
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
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
	while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && pump(master, STDOUT_FILENO))
		;
}

/* Relay until the container's pid 1 exits; forwards signals like the plain wait does. */
int sbx_tty_wait(pid_t pid, int sfd, int master, bool interactive, sbx_stop *stop, int *wstatus)
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
			out_open = pump(master, STDOUT_FILENO);
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!pump(STDIN_FILENO, master)) {
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
