/* Unit tests: the cgroup file-system steps shared by `bulwark run` and the OCI runtime
 * (cgroup_fd.c): names are single components, nothing off a cgroup file system is used, a
 * hierarchy link is followed only to a name beside it; as root, on the host's cgroups: make,
 * write, and remove a cgroup with a process in it; reap stale run cgroups; freeze and thaw one (the
 * OCI runtime's pause/resume) on v2 and v1. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BWK_IN_SANDBOX /* cgroup_fd.c is private to the sandbox */
#include "sandbox/oci_rt_private.h"
#include "sandbox/sandbox_private.h"

static int tmpdir(char *path, size_t cap)
{
	snprintf(path, cap, "%s/bwk-cgfd-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(path));
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void refused(int dfd, const char *name, int flags, bwk_code code)
{
	bwk_error *e = NULL;
	assert_int_equal(sbx_cg_open(dfd, name, flags, "test", &e), -1);
	assert_non_null(e);
	assert_int_equal(bwk_error_code(e), code);
	bwk_error_free(e);
}

static void test_open_takes_one_name_on_a_cgroup_fs(void **state)
{
	(void)state;
	char dir[PATH_MAX];
	int dfd = tmpdir(dir, sizeof dir);
	char big[NAME_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	const char *bad[] = {"", ".", "..", "a/b", "/etc", big};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		refused(dfd, bad[i], SBX_CG_MKDIR, BWK_E_INPUT);
	struct stat st;
	assert_int_equal(fstatat(dfd, "a", &st, 0), -1); /* nothing made for "a/b" */
	/* a directory made here is not a cgroup: refused after its mkdir, never used */
	refused(dfd, "x", SBX_CG_MKDIR, BWK_E_RUNTIME);
	assert_int_equal(mkdirat(dfd, "y", 0755), 0);
	refused(dfd, "y", SBX_CG_MKDIR | SBX_CG_EXCL, BWK_E_RUNTIME); /* EEXIST */
	/* a link is never followed */
	assert_int_equal(symlinkat("/sys/fs/cgroup", dfd, "l"), 0);
	refused(dfd, "l", 0, BWK_E_RUNTIME);
	assert_false(sbx_cg_on_fs(dfd));
	for (const char *n = "x\0y\0l\0"; *n; n += strlen(n) + 1)
		(void)unlinkat(dfd, n, *n == 'l' ? 0 : AT_REMOVEDIR);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

static void test_hierarchy_link_only_beside(void **state)
{
	(void)state;
	char dir[PATH_MAX], name[NAME_MAX + 1];
	int dfd = tmpdir(dir, sizeof dir);
	/* cpu -> cpu,cpuacct: followed to the name beside it (refused here: not a cgroup) */
	assert_int_equal(mkdirat(dfd, "cpu,cpuacct", 0755), 0);
	assert_int_equal(symlinkat("cpu,cpuacct", dfd, "cpu"), 0);
	errno = 0;
	assert_int_equal(sbx_cg_open_hierarchy(dfd, "cpu", name, sizeof name), -1);
	assert_string_equal(name, "cpu,cpuacct");
	assert_int_equal(errno, ENOTDIR);
	/* memory -> /etc: not a name beside it; the link itself is not followed */
	assert_int_equal(symlinkat("/etc", dfd, "memory"), 0);
	assert_int_equal(sbx_cg_open_hierarchy(dfd, "memory", name, sizeof name), -1);
	assert_string_equal(name, "memory");
	(void)unlinkat(dfd, "cpu", 0);
	(void)unlinkat(dfd, "memory", 0);
	(void)unlinkat(dfd, "cpu,cpuacct", AT_REMOVEDIR);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

/* As root: a cgroup of our own below the pids hierarchy (v1) or the cgroup2 root, removed
 * however the test ends. */
static void test_make_write_remove(void **state)
{
	(void)state;
	bool v2 = false;
	bwk_error *e = NULL;
	int mnt = geteuid() ? -1 : sbx_cg_open_mount("/sys/fs/cgroup", &v2, &e);
	if (mnt < 0) {
		bwk_error_free(e);
		skip(); /* needs root and cgroups */
	}
	int h = v2 ? dup(mnt) : sbx_cg_open_hierarchy(mnt, "pids", NULL, 0);
	close(mnt);
	if (h < 0)
		skip();
	char name[64];
	snprintf(name, sizeof name, "bwk-unit-%d", (int)getpid());
	int d = sbx_cg_open(h, name, SBX_CG_MKDIR | SBX_CG_EXCL, name, &e);
	assert_true(d >= 0);
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	char v[32];
	snprintf(v, sizeof v, "%d", (int)child);
	int ok = sbx_cg_write(d, name, "cgroup.procs", v, &e);
	int again = sbx_cg_open(h, name, SBX_CG_MKDIR | SBX_CG_EXCL, name, NULL);
	bool kept = sbx_cg_remove(h, name, false); /* busy: about 2 s of tries */
	bool gone = sbx_cg_remove(h, name, true);  /* its process killed first */
	int ws = 0;
	if (!gone) { /* never leave it behind */
		kill(child, SIGKILL);
		(void)waitpid(child, &ws, 0);
		(void)unlinkat(h, name, AT_REMOVEDIR);
	} else {
		(void)waitpid(child, &ws, 0);
	}
	close(d);
	close(h);
	assert_int_equal(ok, 0);
	assert_int_equal(again, -1);
	assert_false(kept);
	assert_true(gone);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	assert_int_equal(sbx_cg_write(-1, "x", "f", "1", &e), -1); /* an error names it */
	char *msg = bwk_error_format(e);
	assert_non_null(strstr(msg, "writing '1' to x/f"));
	free(msg);
	bwk_error_free(e);
}

/* The reaper of `bulwark run` (sbx_cg_reap) on a real cgroup tree: in a parent of our own
 * below `hier` (the cgroup2 mount or a v1 hierarchy), it removes a run-PID@… cgroup only when
 * nobody holds its lock, its pid is gone and it is empty, and nothing while the parent is
 * held (a run between its mkdir and its lock); never an OCI container's, whose id may look
 * like an older run's name (run-PID-HEX) but has no '@'. */
static void reap_in(const char *hier)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s/bwk-unit-reap-%d", hier, (int)getpid());
	if (geteuid() || mkdir(dir, 0755) < 0) {
		print_message("skipped: %s (root and a %s hierarchy needed)\n", dir, hier);
		return;
	}
	int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int pid_max = 0;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f && fscanf(f, "%d", &pid_max) != 1)
		pid_max = 0;
	if (f)
		fclose(f);
	char stale[64], locked[64], mine[64], busy[64], other[64], oci[64];
	snprintf(other, sizeof other, "run-%d@zz", pid_max); /* not hex: not a run's name */
	snprintf(stale, sizeof stale, "run-%d@a", pid_max);  /* pid_max: never a live pid */
	snprintf(locked, sizeof locked, "run-%d@b", pid_max);
	snprintf(mine, sizeof mine, "run-%d@c", (int)getpid());
	snprintf(busy, sizeof busy, "run-%d@d", pid_max);
	snprintf(oci, sizeof oci, "run-%d-e", pid_max); /* a stopped OCI container's id */
	const char *all[] = {stale, locked, mine, busy, other, oci};
	for (size_t i = 0; i < 6; i++)
		(void)mkdirat(parent, all[i], 0755);
	int lk = openat(parent, locked, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool lock_ok = lk >= 0 && flock(lk, LOCK_SH) == 0;
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	char v[32];
	snprintf(v, sizeof v, "%d", (int)child);
	int bfd = openat(parent, busy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool in = sbx_cg_write(bfd, busy, "cgroup.procs", v, NULL) == 0;
	close(bfd);
	/* a run in its mkdir-to-lock window holds the parent shared: nothing is removed */
	int held = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	(void)flock(held, LOCK_SH);
	sbx_cg_reap(parent);
	bool waited = faccessat(parent, stale, F_OK, 0) == 0;
	close(held);
	sbx_cg_reap(parent);
	bool present[6];
	for (size_t i = 0; i < 6; i++)
		present[i] = faccessat(parent, all[i], F_OK, 0) == 0;
	kill(child, SIGKILL);
	(void)waitpid(child, NULL, 0);
	if (lk >= 0)
		close(lk);
	for (size_t i = 0; i < 6; i++)
		(void)sbx_cg_remove(parent, all[i], false);
	close(parent);
	bool cleaned = rmdir(dir) == 0;
	assert_true(pid_max > 0 && lock_ok && in);
	assert_true(waited);
	assert_false(present[0]); /* stale: removed */
	assert_true(present[1]);  /* locked */
	assert_true(present[2]);  /* its pid lives */
	assert_true(present[3]);  /* a process in it */
	assert_true(present[4]);  /* not a run's name */
	assert_true(present[5]);  /* an OCI container's */
	assert_true(cleaned);
}

static void test_reap_v2(void **state)
{
	(void)state;
	bool v2 = false;
	int mnt = sbx_cg_open_mount("/sys/fs/cgroup", &v2, NULL);
	if (mnt >= 0)
		close(mnt);
	reap_in(v2 ? "" : "unified");
}

static void test_reap_v1(void **state)
{
	(void)state;
	if (access("/sys/fs/cgroup/pids/cgroup.procs", F_OK) == 0)
		reap_in("pids");
}

/* What the cgroup dir says of itself: frozen or not. */
static bool frozen_in(const char *dir, bool v2)
{
	char p[PATH_MAX], b[512] = "";
	snprintf(p, sizeof p, "%s/%s", dir, v2 ? "cgroup.events" : "freezer.state");
	FILE *f = fopen(p, "re");
	size_t n = f ? fread(b, 1, sizeof b - 1, f) : 0;
	if (f)
		fclose(f);
	b[n] = 0;
	return v2 ? strstr(b, "frozen 1") != NULL : !strncmp(b, "FROZEN", 6);
}

/* ocirt_cgroup_freeze waits for the kernel to finish (v2: cgroup.events, v1: freezer.state)
 * and the cgroup then says frozen; thawing likewise. In a cgroup of our own under `hier`
 * (the v2 mount, or the v1 freezer hierarchy), with a process in it. */
static void freeze_in(const char *hier, bool v2)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s/bwk-unit-fz-%d", hier, (int)getpid());
	if (geteuid() || mkdir(dir, 0755) < 0) {
		print_message("skipped: %s (root and a %s hierarchy needed)\n", dir, hier);
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	char procs[PATH_MAX + 16];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	FILE *f = fopen(procs, "we");
	bool in = f && fprintf(f, "%d", (int)child) > 0;
	if (f)
		in &= fclose(f) == 0;
	ocirt_cgroup cg = {.v2 = v2, .dirs = {dir}, .n = 1};
	bwk_error *e = NULL;
	int fr = ocirt_cgroup_freeze(&cg, true, &e);
	bool was = frozen_in(dir, v2) && ocirt_cgroup_frozen(&cg);
	int th = ocirt_cgroup_freeze(&cg, false, &e);
	bool still = frozen_in(dir, v2);
	kill(child, SIGKILL);
	(void)waitpid(child, NULL, 0);
	for (int t = 0; t < 200 && rmdir(dir) < 0 && errno == EBUSY; t++)
		usleep(10000);
	bwk_error_free(e);
	assert_true(in);
	assert_int_equal(fr, 0);
	assert_true(was);
	assert_int_equal(th, 0);
	assert_false(still);
	assert_int_equal(access(dir, F_OK), -1);
}

static void test_freeze_v2(void **state)
{
	(void)state;
	bool v2 = false;
	int mnt = sbx_cg_open_mount("/sys/fs/cgroup", &v2, NULL);
	if (mnt >= 0)
		close(mnt);
	freeze_in(v2 ? "" : "unified", true);
}

static void test_freeze_v1(void **state)
{
	(void)state;
	if (access("/sys/fs/cgroup/freezer/freezer.state", F_OK) == 0 ||
	    access("/sys/fs/cgroup/freezer/tasks", F_OK) == 0)
		freeze_in("freezer", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_takes_one_name_on_a_cgroup_fs),
	    cmocka_unit_test(test_hierarchy_link_only_beside),
	    cmocka_unit_test(test_make_write_remove),
	    cmocka_unit_test(test_reap_v2),
	    cmocka_unit_test(test_reap_v1),
	    cmocka_unit_test(test_freeze_v2),
	    cmocka_unit_test(test_freeze_v1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
