/* The container's descriptors 0-2 without -t: never the caller's own. A process holding the
 * caller's terminal could read what the user types next, change the terminal's settings for
 * good (they outlive the container) or send it any ioctl. So, as Docker does, stdout and stderr
 * are pipes that the host side relays to its own, stdin is /dev/null, or with -i a pipe the
 * host side feeds from its stdin. The relay runs in the loop that waits for the container: no
 * thread, no process, nothing added to the start of a silent command. With -t the container's
 * own pty (tty.c) replaces all three once its filesystem is built. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

/* At most this much sits in bulwark per stream (on its stack, as tty.c's): the rest waits in
 * the pipes, and a writer in the container blocks when its reader does (back-pressure, never
 * an unbounded buffer). A splice moves up to a whole pipe's worth without a buffer. */
#define COPY_CHUNK   (16u << 10)
#define SPLICE_CHUNK (64u << 10)

void sbx_stdio_init(sbx_stdio *io)
{
	*io = (sbx_stdio){.child = {-1, -1, -1}, .in_w = -1, .out_r = -1, .err_r = -1};
}

static void close_fd(int *fd)
{
	bwk_closep(fd);
	*fd = -1;
}

void sbx_stdio_close_child(sbx_stdio *io)
{
	for (int i = 0; i < 3; i++)
		close_fd(&io->child[i]);
}

void sbx_stdio_close(sbx_stdio *io)
{
	sbx_stdio_close_child(io);
	close_fd(&io->in_w);
	close_fd(&io->out_r);
	close_fd(&io->err_r);
}

/* A pipe whose end `mine` (0 read, 1 write) is the host side's, non-blocking; the other end
 * goes to the container as descriptor `slot`. */
static int open_pipe(sbx_stdio *io, int slot, int mine, int *host, bwk_error **err)
{
	static const char *const names[] = {"stdin", "stdout", "stderr"};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "creating the container's %s pipe",
				     names[slot]);
	*host = p[mine];
	io->child[slot] = p[!mine];
	/* only our end: the container's stays blocking, as programs expect */
	if (fcntl(*host, F_SETFL, O_NONBLOCK) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "fcntl on the %s pipe",
				     names[slot]);
	return 0;
}

int sbx_stdio_open(sbx_stdio *io, bool interactive, bwk_error **err)
{
	if (open_pipe(io, 1, 0, &io->out_r, err) < 0 || open_pipe(io, 2, 0, &io->err_r, err) < 0)
		return -1;
	if (interactive)
		return open_pipe(io, 0, 1, &io->in_w, err);
	int null = open("/dev/null", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	io->child[0] = null;
	struct stat st;
	/* the real device only: a regular file in its place would be read by the container */
	if (null < 0 || fstat(null, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return bwk_error_set(err, BWK_E_RUNTIME, null < 0 ? errno : EINVAL,
				     "/dev/null is not the null device: the container's stdin "
				     "needs it");
	return 0;
}

/* A pipe's inode belongs to whoever created it, mode 0600: ours are host root's, which the
 * container's user namespace does not map, so no process in there (root included: its
 * CAP_DAC_OVERRIDE covers mapped owners only) could open /dev/stdout, a link to
 * /proc/self/fd/1, as nginx and httpd do for their logs. Given to the container's root, they
 * are as much the container's as the descriptors it holds anyway; the command's own user
 * gets them in init.c. Only the pipes: /dev/null is the host's device. */
int sbx_stdio_chown(sbx_stdio *io, uid_t uid, gid_t gid, bwk_error **err)
{
	for (int i = 0; i < 3; i++) {
		struct stat st;
		if (io->child[i] < 0 || fstat(io->child[i], &st) < 0 || !S_ISFIFO(st.st_mode))
			continue;
		if (fchown(io->child[i], uid, gid) < 0)
			return bwk_error_set(err, BWK_E_RUNTIME, errno,
					     "giving the container its stdio pipe %d", i);
	}
	return 0;
}

int sbx_stdio_child(sbx_stdio *io)
{
	int src[3];
	for (int i = 0; i < 3; i++) {
		src[i] = io->child[i];
		/* a source numbered 0-2 would be overwritten by the dup2 of another, and dup2 onto
		 * itself would keep close-on-exec: move it up first */
		if (src[i] >= 0 && src[i] < 3 && (src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return -1;
	}
	for (int i = 0; i < 3; i++)
		if (src[i] < 0 || dup2(src[i], i) < 0)
			return -1;
	for (int i = 0; i < 3; i++) /* with -t all three are the same terminal */
		if ((i < 1 || src[i] != src[0]) && (i < 2 || src[i] != src[1]))
			close(src[i]);
	/* the host side's ends have no business in here (close-on-exec, but the init never
	 * execs) */
	close_fd(&io->in_w);
	close_fd(&io->out_r);
	close_fd(&io->err_r);
	return 0;
}

/* One stream: bytes go from `from` to `to`; one of them is ours (a non-blocking pipe end). */
typedef enum relay_state { R_DONE, R_WAIT_IN, R_WAIT_OUT } relay_state;

typedef struct relay {
	relay_state state;
	int from, to;
	int *own;    /* our end, closed when the stream ends */
	bool splice; /* the caller's end is a pipe too: zero-copy, non-blocking on both sides */
	bool from_sock, to_sock;
	const char *name;
	size_t off, len; /* copy mode: pending bytes in buf */
	sbx_stdio *tail; /* stderr: keep its last bytes in tail->err_tail (hint.c) */
	char buf[COPY_CHUNK];
} relay;

/* The last SBX_ERR_TAIL bytes the command wrote to stderr (or, under -t, to its terminal). */
void sbx_stdio_keep_tail(sbx_stdio *io, const char *p, size_t n)
{
	if (n >= SBX_ERR_TAIL) {
		memcpy(io->err_tail, p + n - SBX_ERR_TAIL, SBX_ERR_TAIL);
		io->err_tail_len = SBX_ERR_TAIL;
		return;
	}
	size_t keep = io->err_tail_len + n > SBX_ERR_TAIL ? SBX_ERR_TAIL - n : io->err_tail_len;
	memmove(io->err_tail, io->err_tail + io->err_tail_len - keep, keep);
	memcpy(io->err_tail + keep, p, n);
	io->err_tail_len = keep + n;
}

static void relay_setup(relay *r, int from, int to, int *own, int caller, const char *name)
{
	r->state = *own >= 0 ? R_WAIT_IN : R_DONE;
	r->from = from;
	r->to = to;
	r->own = own;
	r->name = name;
	r->off = r->len = 0;
	r->tail = NULL;
	struct stat st;
	bool known = r->state != R_DONE && fstat(caller, &st) == 0;
	bool sock = known && S_ISSOCK(st.st_mode);
	r->splice = known && S_ISFIFO(st.st_mode);
	r->from_sock = sock && caller == from;
	r->to_sock = sock && caller == to;
}

static void relay_end(relay *r, const bwk_container_spec *note, int e)
{
	/* our end closes: a writer in the container now gets EPIPE, as it would have from the
	 * caller's pipe; at the end of our stdin the container's read sees EOF */
	if (e && e != EPIPE && e != ECONNRESET)
		sbx_warn(note, "relaying the container's %s: %s", r->name, strerror(e));
	close_fd(r->own);
	r->state = R_DONE;
}

static ssize_t relay_read(relay *r)
{
	if (r->from_sock)
		return recv(r->from, r->buf, sizeof r->buf, MSG_DONTWAIT);
	return read(r->from, r->buf, sizeof r->buf);
}

static ssize_t relay_write(relay *r)
{
	const char *p = r->buf + r->off;
	size_t n = r->len - r->off;
	if (r->to_sock)
		return send(r->to, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(r->to, p, n);
}

/* Write what is pending; false on an error that ends the stream (errno says which). */
static bool relay_flush(relay *r)
{
	while (r->off < r->len) {
		ssize_t w = relay_write(r);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			r->state = R_WAIT_OUT;
			return true;
		}
		if (w <= 0)
			return false;
		r->off += (size_t)w;
	}
	r->off = r->len = 0;
	r->state = R_WAIT_IN;
	return true;
}

/* Move one chunk. False only when `from` had nothing to give (EAGAIN); the stream may have
 * ended (R_DONE) or be waiting for `to` (R_WAIT_OUT). */
static bool relay_step(relay *r, const bwk_container_spec *note)
{
	if (r->len) {
		if (!relay_flush(r))
			relay_end(r, note, errno);
		return true;
	}
	ssize_t n;
	do
		n = r->splice ? splice(r->from, NULL, r->to, NULL, SPLICE_CHUNK, SPLICE_F_NONBLOCK)
			      : relay_read(r);
	while (n < 0 && errno == EINTR);
	if (n < 0 && r->splice && errno == EINVAL) { /* a pipe splice refuses: copy instead */
		r->splice = false;
		return relay_step(r, note);
	}
	if (n < 0 && errno == EAGAIN) {
		/* splice says EAGAIN for an empty source and for a full destination alike */
		int avail = 0;
		if (r->splice && ioctl(r->from, FIONREAD, &avail) == 0 && avail > 0) {
			r->state = R_WAIT_OUT;
			return true;
		}
		r->state = R_WAIT_IN;
		return false;
	}
	if (n <= 0) { /* EOF, or the caller's end failed (EPIPE: its reader is gone) */
		relay_end(r, note, n < 0 ? errno : 0);
		return true;
	}
	if (!r->splice) {
		if (r->tail)
			sbx_stdio_keep_tail(r->tail, r->buf, (size_t)n);
		r->off = 0;
		r->len = (size_t)n;
		if (!relay_flush(r))
			relay_end(r, note, errno);
	}
	return true;
}

static struct pollfd relay_poll(const relay *r, bool exited)
{
	if (r->state == R_WAIT_OUT)
		return (struct pollfd){r->to, POLLOUT, 0};
	if (r->state == R_WAIT_IN && !exited)
		return (struct pollfd){r->from, POLLIN, 0};
	return (struct pollfd){-1, 0, 0};
}

static bool terminating(uint32_t sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

/* After the container is gone every writer is gone with it (its pid namespace died first),
 * so what is left is in the pipes: drain each to EAGAIN or EOF, waiting only for our own
 * readers. The stdin relay stops at once. */
static bool drain_ready(relay *r, const bwk_container_spec *note)
{
	relay_end(&r[0], note, 0);
	for (int i = 1; i < 3; i++)
		while (r[i].state == R_WAIT_IN)
			if (!relay_step(&r[i], note))
				relay_end(&r[i], note, 0);
	return r[1].state == R_DONE && r[2].state == R_DONE;
}

static int relay_loop(sbx_stdio *io, pid_t pid, int sfd, const bwk_container_spec *note,
		      sbx_stop *stop, int *wstatus)
{
	relay r[3];
	relay_setup(&r[0], STDIN_FILENO, io->in_w, &io->in_w, STDIN_FILENO, "stdin");
	relay_setup(&r[1], io->out_r, STDOUT_FILENO, &io->out_r, STDOUT_FILENO, "stdout");
	relay_setup(&r[2], io->err_r, STDERR_FILENO, &io->err_r, STDERR_FILENO, "stderr");
	/* stderr is copied, not spliced, to keep its tail for the storage hint (hint.c): a
	 * command's stderr is small next to its stdout */
	r[2].tail = io;
	r[2].splice = false;
	bool exited = pid < 0;
	for (;;) {
		if (exited && drain_ready(r, note))
			return 0;
		struct pollfd p[4] = {{sfd, POLLIN, 0}};
		for (int i = 0; i < 3; i++)
			p[i + 1] = relay_poll(&r[i], exited);
		if (poll(p, 4, exited ? -1 : sbx_stop_poll_ms(stop, pid)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < 3; i++) {
			if (p[i + 1].revents & POLLNVAL)
				relay_end(&r[i], note, EBADF);
			else if (p[i + 1].revents)
				relay_step(&r[i], note);
		}
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		if (exited) {
			if (terminating(si.ssi_signo)) /* our reader stalls and we are told to go */
				return 0;
		} else if (si.ssi_signo != SIGCHLD) {
			if (stop)
				sbx_stop_forward(stop, pid, (int)si.ssi_signo);
			else
				kill(pid, (int)si.ssi_signo);
		} else if (waitpid(pid, wstatus, WNOHANG) == pid) {
			exited = true;
		}
	}
}

int sbx_stdio_wait(sbx_stdio *io, pid_t pid, int sfd, const bwk_container_spec *note,
		   sbx_stop *stop, int *wstatus)
{
	return relay_loop(io, pid, sfd, note, stop, wstatus);
}

void sbx_stdio_drain(sbx_stdio *io, int sfd, const bwk_container_spec *note)
{
	(void)relay_loop(io, -1, sfd, note, NULL, NULL);
}
