/* Test helper: run a command with openat2(2) failing with ENOSYS (a seccomp filter), as on
 * kernels before 5.6 or under container runtimes that block it, to exercise the fallback
 * component walk of unpack. Usage: no_openat2 CMD [ARGS…] */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: no_openat2 CMD [ARGS...]\n", stderr);
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) < 0 ||
	    seccomp_load(ctx) < 0) {
		fputs("no_openat2: cannot install the seccomp filter\n", stderr);
		return 2;
	}
	seccomp_release(ctx);
	execvp(argv[1], argv + 1);
	perror("no_openat2: exec");
	return 127;
}
