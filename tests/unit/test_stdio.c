/* Unit tests: the container's stdio without -t (sandbox/stdio.c): what the container is
 * given, that it ends up on 0-2 with nothing of ours beside it, and the relay: exact bytes,
 * the exit status, a drain that ends even while an outside writer keeps a pipe open, and a
 * reader that left (EPIPE reaches the container's side, bulwark survives). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define BWK_IN_SANDBOX
#include "sandbox/sandbox_private.h"

static bool is_fifo(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static bool nonblocking(int fd)
{
	return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
}

static bool same_file(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev &&
	       x.st_ino == y.st_ino;
}

static void test_open_without_i(void **state)
{
	(void)state;
	sbx_stdio io;
	sbx_stdio_init(&io);
	assert_int_equal(sbx_stdio_open(&io, false, NULL), 0);
	struct stat st;
	assert_int_equal(fstat(io.child[0], &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
	assert_int_equal(fcntl(io.child[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	for (int i = 1; i < 3; i++) {
		assert_true(is_fifo(io.child[i]));
		assert_int_equal(fcntl(io.child[i], F_GETFL) & O_ACCMODE, O_WRONLY);
		assert_false(nonblocking(io.child[i])); /* the container's end blocks */
	}
	assert_true(nonblocking(io.out_r) && nonblocking(io.err_r));
	assert_false(same_file(io.out_r, io.err_r)); /* two streams */
	assert_int_equal(io.in_w, -1);
	for (int i = 0; i < 3; i++) /* nothing leaks through an exec of ours */
		assert_true(fcntl(io.child[i], F_GETFD) & FD_CLOEXEC);
	sbx_stdio_close(&io);
	assert_int_equal(io.out_r, -1);
	assert_int_equal(io.child[1], -1);
}

static void test_open_with_i(void **state)
{
	(void)state;
	sbx_stdio io;
	sbx_stdio_init(&io);
	assert_int_equal(sbx_stdio_open(&io, true, NULL), 0);
	assert_true(is_fifo(io.child[0]) && nonblocking(io.in_w));
	assert_false(nonblocking(io.child[0]));
	assert_true(same_file(io.child[0], io.in_w));
	sbx_stdio_close(&io);
}

/* Run `fn` with stdin on /dev/null and STDOUT_FILENO (and STDERR_FILENO) pointing at `out`
 * (and `err`), as bulwark's own. */
static void with_stdio(int out, int err, void (*fn)(void *), void *arg)
{
	int i = dup(STDIN_FILENO), o = dup(STDOUT_FILENO), e = dup(STDERR_FILENO);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(null, STDIN_FILENO);
	close(null);
	dup2(out, STDOUT_FILENO);
	if (err >= 0)
		dup2(err, STDERR_FILENO);
	fn(arg);
	dup2(i, STDIN_FILENO);
	dup2(o, STDOUT_FILENO);
	dup2(e, STDERR_FILENO);
	close(i);
	close(o);
	close(e);
}

static int sigchld_fd(sigset_t *old)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGCHLD);
	sigaddset(&m, SIGPIPE);
	sigprocmask(SIG_BLOCK, &m, old);
	sigdelset(&m, SIGPIPE);
	return signalfd(-1, &m, SFD_CLOEXEC);
}

static void restore_mask(const sigset_t *old)
{
	sigset_t p;
	sigemptyset(&p);
	sigaddset(&p, SIGPIPE);
	(void)sigtimedwait(&p, NULL, &(struct timespec){0});
	sigprocmask(SIG_SETMASK, old, NULL);
}

typedef struct wait_case {
	sbx_stdio *io;
	pid_t pid;
	int sfd, rc, ws;
} wait_case;

static void do_wait(void *p)
{
	wait_case *w = p;
	w->rc = sbx_stdio_wait(w->io, w->pid, w->sfd, NULL, NULL, &w->ws);
}

static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n <= 0)
			return n < 0 ? -1 : (ssize_t)got;
		got += (size_t)n;
	}
}

static void test_child_and_wait(void **state)
{
	(void)state;
	sigset_t old;
	int sfd = sigchld_fd(&old);
	assert_true(sfd >= 0);
	sbx_stdio io;
	sbx_stdio_init(&io);
	assert_int_equal(sbx_stdio_open(&io, true, NULL), 0);
	static const char msg[] = "to stdin\n";
	assert_int_equal(write(io.in_w, msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sbx_stdio_child(&io) < 0)
			_exit(90);
		/* our ends are gone, 0-2 are what we were given */
		if (io.in_w != -1 || io.out_r != -1 || io.err_r != -1)
			_exit(91);
		if (!is_fifo(0) || !is_fifo(1) || !is_fifo(2))
			_exit(92);
		char buf[64];
		ssize_t n = read(0, buf, sizeof buf);
		if (n != (ssize_t)sizeof msg - 1 || write(1, buf, (size_t)n) != n ||
		    write(2, "err\n", 4) != 4)
			_exit(93);
		_exit(7);
	}
	sbx_stdio_close_child(&io);
	int out[2], err[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	wait_case w = {.io = &io, .pid = pid, .sfd = sfd};
	with_stdio(out[1], err[1], do_wait, &w);
	close(out[1]);
	close(err[1]);
	assert_int_equal(w.rc, 0);
	assert_true(WIFEXITED(w.ws));
	assert_int_equal(WEXITSTATUS(w.ws), 7);
	char buf[128];
	assert_int_equal(read_all(out[0], buf, sizeof buf), sizeof msg - 1);
	assert_memory_equal(buf, msg, sizeof msg - 1);
	assert_int_equal(read_all(err[0], buf, sizeof buf), 4);
	assert_memory_equal(buf, "err\n", 4);
	close(out[0]);
	close(err[0]);
	sbx_stdio_close(&io);
	close(sfd);
	restore_mask(&old);
}

typedef struct drain_case {
	sbx_stdio *io;
	int sfd;
} drain_case;

static void do_drain(void *p)
{
	drain_case *d = p;
	sbx_stdio_drain(d->io, d->sfd, NULL);
}

static void test_drain_ends_with_an_outside_writer(void **state)
{
	(void)state;
	sigset_t old;
	int sfd = sigchld_fd(&old);
	sbx_stdio io;
	sbx_stdio_init(&io);
	assert_int_equal(sbx_stdio_open(&io, false, NULL), 0);
	/* 40 KiB left behind, and a copy of the write end that some process outside kept:
	 * EOF never comes, the drain must stop once the pipe is empty */
	static char data[40 << 10];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + 3);
	assert_int_equal(write(io.child[1], data, sizeof data), (ssize_t)sizeof data);
	int outside = dup(io.child[1]);
	sbx_stdio_close_child(&io);
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(fcntl(out[1], F_SETPIPE_SZ, 1 << 20) >= (int)sizeof data, 1);
	drain_case d = {&io, sfd};
	with_stdio(out[1], -1, do_drain, &d);
	close(out[1]);
	static char got[sizeof data + 1];
	assert_int_equal(read_all(out[0], got, sizeof got), (ssize_t)sizeof data);
	assert_memory_equal(got, data, sizeof data);
	assert_int_equal(io.out_r, -1);
	close(out[0]);
	close(outside);
	sbx_stdio_close(&io);
	close(sfd);
	restore_mask(&old);
}

static void test_reader_gone(void **state)
{
	(void)state;
	sigset_t old;
	int sfd = sigchld_fd(&old);
	sbx_stdio io;
	sbx_stdio_init(&io);
	assert_int_equal(sbx_stdio_open(&io, false, NULL), 0);
	assert_int_equal(write(io.child[1], "lost\n", 5), 5);
	int keep = dup(io.child[1]); /* the container's end */
	sbx_stdio_close_child(&io);
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	close(out[0]); /* whoever read bulwark's stdout has gone */
	drain_case d = {&io, sfd};
	with_stdio(out[1], -1, do_drain, &d);
	close(out[1]);
	/* we survived SIGPIPE, and our end closed: the container's next write fails EPIPE */
	assert_int_equal(io.out_r, -1);
	assert_int_equal(write(keep, "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(keep);
	sbx_stdio_close(&io);
	close(sfd);
	restore_mask(&old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_without_i),
	    cmocka_unit_test(test_open_with_i),
	    cmocka_unit_test(test_child_and_wait),
	    cmocka_unit_test(test_drain_ends_with_an_outside_writer),
	    cmocka_unit_test(test_reader_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
