/* Unit tests: linux.resources.devices → the cgroup v2 device filter (sandbox/oci_devfilter.c).
 * The translator's instructions are run by a small interpreter of the few opcodes it emits and
 * compared with the rules read directly (last match wins, no match denies), on fixed cases and
 * on random rule lists; then the program is loaded into the kernel, attached to a cgroup v2
 * directory and a child moved into it opens devices (root and a cgroup2 mount needed). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define BWK_IN_SANDBOX
#include "devfilter_eval.h"
#include "sandbox/oci_rt_private.h"

static bwk_oci_dev_rule rule(bool allow, const char *type, int64_t major, int64_t minor,
			     const char *access)
{
	return (bwk_oci_dev_rule){.allow = allow,
				  .type = (char *)type,
				  .access = (char *)access,
				  .major = {.set = major != -2, .v = major},
				  .minor = {.set = minor != -2, .v = minor}};
}

static struct bpf_insn prog[OCIRT_DEVFILTER_INSNS];

static size_t build(const bwk_oci_dev_rule *v, size_t n)
{
	bwk_error *err = NULL;
	size_t len = 0;
	int rc = ocirt_devfilter_build(v, n, prog, OCIRT_DEVFILTER_INSNS, &len, &err);
	if (rc < 0)
		fprintf(stderr, "%s\n", err ? err->msg : "");
	bwk_error_free(err);
	assert_int_equal(rc, 0);
	return len;
}

#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK
#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD

static void test_fixed(void **state)
{
	(void)state;
	/* no rule: everything denied */
	size_t n = build(NULL, 0);
	assert_int_equal(devfilter_run(prog, n, C, 1, 3, R), 0);
	/* Docker's: deny all, then allow some; a wildcard minor; one access only */
	bwk_oci_dev_rule d[] = {rule(false, "a", -2, -2, "rwm"), rule(true, "c", 1, 3, "rwm"),
				rule(true, "c", 136, -1, "rw"), rule(true, "b", 8, 0, "r"),
				rule(true, NULL, -2, -2, "m")};
	n = build(d, 5);
	assert_int_equal(devfilter_run(prog, n, C, 1, 3, R | W), 1);
	assert_int_equal(devfilter_run(prog, n, C, 1, 7, R), 0);
	assert_int_equal(devfilter_run(prog, n, C, 136, 12345, R | W), 1);
	assert_int_equal(devfilter_run(prog, n, C, 136, 2, M), 1); /* m from the last rule */
	assert_int_equal(devfilter_run(prog, n, C, 136, 2, R | W | M),
			 0);					   /* no one rule has all three */
	assert_int_equal(devfilter_run(prog, n, B, 136, 2, R), 0); /* c only */
	assert_int_equal(devfilter_run(prog, n, B, 8, 0, R), 1);
	assert_int_equal(devfilter_run(prog, n, B, 8, 0, W), 0);
	assert_int_equal(devfilter_run(prog, n, B, 8, 1, R), 0);
	assert_int_equal(devfilter_run(prog, n, B, 9, 9, M), 1);
	/* deny after allow: the later rule wins, both ways */
	bwk_oci_dev_rule e[] = {rule(false, "c", 1, 3, "r"), rule(true, "a", -1, -1, NULL),
				rule(false, "c", 1, 7, "w")};
	n = build(e, 3);
	assert_int_equal(devfilter_run(prog, n, C, 1, 3, R),
			 1); /* the catch-all hides the first rule */
	assert_int_equal(devfilter_run(prog, n, C, 1, 7, R), 1);
	assert_int_equal(devfilter_run(prog, n, C, 1, 7, W), 0);
	assert_int_equal(devfilter_run(prog, n, C, 1, 7, R | W), 0); /* any access of a deny rule */
	assert_int_equal(devfilter_run(prog, n, B, 1, 7, W), 1);
	bwk_oci_dev_rule f[] = {rule(false, "c", 1, 7, "rwm"), rule(true, "c", -1, 7, "rw")};
	n = build(f, 2);
	assert_int_equal(devfilter_run(prog, n, C, 1, 7, R), 1);
	assert_int_equal(devfilter_run(prog, n, C, 1, 7, M), 0);
	assert_int_equal(devfilter_run(prog, n, C, 4, 7, W), 1);
	/* a major beyond 2^31 still compares as the 32 bits the kernel passes */
	bwk_oci_dev_rule g[] = {rule(true, "c", 4294967295, 0, "r")};
	n = build(g, 1);
	assert_int_equal(devfilter_run(prog, n, C, 4294967295u, 0, R), 1);
	assert_int_equal(devfilter_run(prog, n, C, 2147483647, 0, R), 0);
}

static int build_err(const bwk_oci_dev_rule *v, size_t n, size_t cap)
{
	bwk_error *err = NULL;
	size_t len = 0;
	int rc = ocirt_devfilter_build(v, n, prog, cap, &len, &err);
	if (rc < 0)
		assert_non_null(err);
	bwk_error_free(err);
	return rc;
}

static void test_refused(void **state)
{
	(void)state;
	bwk_oci_dev_rule bad_type[] = {rule(true, "u", 1, 3, "rwm")};
	assert_int_equal(build_err(bad_type, 1, OCIRT_DEVFILTER_INSNS), -1);
	bwk_oci_dev_rule bad_acc[] = {rule(true, "c", 1, 3, "rwx")};
	assert_int_equal(build_err(bad_acc, 1, OCIRT_DEVFILTER_INSNS), -1);
	bwk_oci_dev_rule bad_major[] = {rule(true, "c", -5, 3, "r")};
	assert_int_equal(build_err(bad_major, 1, OCIRT_DEVFILTER_INSNS), -1);
	bwk_oci_dev_rule bad_minor[] = {rule(true, "c", 1, 4294967296, "r")};
	assert_int_equal(build_err(bad_minor, 1, OCIRT_DEVFILTER_INSNS), -1);
	/* more rules than the bound; fewer instructions than the rules need */
	static bwk_oci_dev_rule many[OCIRT_DEV_RULES_MAX + 1];
	for (size_t i = 0; i < OCIRT_DEV_RULES_MAX + 1; i++)
		many[i] = rule(true, "c", 1, (int64_t)i, "r");
	assert_int_equal(build_err(many, OCIRT_DEV_RULES_MAX + 1, OCIRT_DEVFILTER_INSNS), -1);
	assert_int_equal(build_err(many, OCIRT_DEV_RULES_MAX, OCIRT_DEVFILTER_INSNS), 0);
	assert_int_equal(build_err(many, 20, 30), -1);
}

/* Random rule lists against the reference, every request of a small device space. */
static void test_random(void **state)
{
	(void)state;
	static const char *const types[] = {"a", "b", "c", NULL};
	static const char *const accs[] = {"r", "w", "m", "rw", "rm", "wm", "rwm", "mwr", NULL};
	static const int64_t nums[] = {-1, -2, 1, 3, 5, 7};
	unsigned seed = 13;
	bwk_oci_dev_rule v[24];
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 24);
		for (size_t i = 0; i < n; i++)
			v[i] = rule(rand_r(&seed) % 2, types[rand_r(&seed) % 4],
				    nums[rand_r(&seed) % 6], nums[rand_r(&seed) % 6],
				    accs[rand_r(&seed) % 9]);
		size_t len = build(v, n);
		for (uint32_t t = 1; t <= 2; t++)
			for (uint32_t ma = 0; ma < 8; ma++)
				for (uint32_t mi = 0; mi < 8; mi++)
					for (uint32_t a = 1; a < 8; a++)
						assert_int_equal(
						    devfilter_run(prog, len, t, ma, mi, a),
						    devfilter_reference(v, n, t, ma, mi, a));
	}
}

/* The cgroup2 mount of this host (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid one). */
static bool cgroup2_mount(char *out, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	bool found = false;
	while (f && !found && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2"))
			found = snprintf(out, len, "%s", m->mnt_dir) < (int)len;
	if (f)
		endmntent(f);
	return found;
}

/* 0 when open(path, flags) works, else its errno. */
static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* A child in a new cgroup with the filter of `v` opens each of the paths; the answers come
 * back through a pipe, one errno each. */
static void in_cgroup(const bwk_oci_dev_rule *v, size_t n, const char *const *paths,
		      const int *flags, int *res, size_t np)
{
	char mnt[256];
	if (geteuid() != 0 || !cgroup2_mount(mnt, sizeof mnt))
		skip();
	int root = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	char name[64];
	snprintf(name, sizeof name, "bwk-devfilter-%d", (int)getpid());
	assert_int_equal(mkdirat(root, name, 0755), 0);
	int cg = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cg >= 0);
	bwk_error *err = NULL;
	int rc = ocirt_devfilter_attach(cg, name, v, n, &err);
	if (rc < 0)
		fprintf(stderr, "%s\n", err ? err->msg : "");
	bwk_error_free(err);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = rc < 0 ? -1 : fork();
	if (pid == 0) {
		char me[32];
		int procs = openat(cg, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		int len = snprintf(me, sizeof me, "%d", (int)getpid());
		if (procs < 0 || write(procs, me, (size_t)len) != len)
			_exit(2);
		for (size_t i = 0; i < np; i++) {
			int e = try_open(paths[i], flags[i]);
			if (write(p[1], &e, sizeof e) != sizeof e)
				_exit(3);
		}
		_exit(0);
	}
	close(p[1]);
	int status = -1;
	if (pid > 0) {
		for (size_t i = 0; i < np; i++)
			assert_int_equal(read(p[0], &res[i], sizeof res[i]), sizeof res[i]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
	}
	close(p[0]);
	close(cg);
	unlinkat(root, name, AT_REMOVEDIR);
	close(root);
	assert_int_equal(rc, 0);
	assert_int_equal(status, 0);
}

static void test_kernel(void **state)
{
	(void)state;
	static const char *const paths[] = {"/dev/null", "/dev/full", "/dev/full", "/dev/zero",
					    "/dev/full"};
	static const int flags[] = {O_RDWR, O_RDONLY, O_WRONLY, O_RDONLY, O_RDWR};
	int res[5];
	/* default deny, /dev/null allowed, /dev/full (1:7) read only through a wildcard minor */
	bwk_oci_dev_rule a[] = {rule(true, "c", 1, 3, "rw"), rule(true, "c", 1, -1, "r"),
				rule(false, "c", 1, 5, "rwm")};
	in_cgroup(a, 3, paths, flags, res, 5);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_int_equal(res[2], EPERM);
	assert_int_equal(res[3], EPERM); /* denied after the wildcard allowed it */
	assert_int_equal(res[4], EPERM);
	/* everything allowed, then writing /dev/full denied (an O_RDWR open too) */
	bwk_oci_dev_rule b[] = {rule(true, "a", -1, -1, "rwm"), rule(false, "c", 1, 7, "w")};
	in_cgroup(b, 2, paths, flags, res, 5);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_int_equal(res[2], EPERM);
	assert_int_equal(res[3], 0);
	assert_int_equal(res[4], EPERM);
}

/* The runtime's own v2 path (oci_cgroup.c) on a hybrid host's unified hierarchy: create with
 * the spec's rules and runc's always-allowed devices, a child in it (born there through
 * ocirt_cgroup_fork, or joining by itself), pids, freeze, kill, destroy. */
static void create_unified(bwk_oci_dev_rule *rules, size_t n, bool born, int *null_err,
			   int *kmsg_err)
{
	struct statfs sf;
	if (geteuid() != 0 || statfs("/sys/fs/cgroup/unified", &sf) < 0 || sf.f_type != 0x63677270)
		skip();
	char path[64];
	snprintf(path, sizeof path, "/bwk-unit-%d/c", (int)getpid());
	bwk_oci_spec s;
	memset(&s, 0, sizeof s);
	s.linux_.cgroups_path = path;
	s.linux_.resources.set = true;
	s.linux_.resources.devices = rules;
	s.linux_.resources.n_devices = n;
	ocirt_cgroup cg;
	bwk_error *err = NULL;
	int rc = ocirt_cgroup_create_unified(&s, "unit", &cg, &err);
	if (rc < 0)
		fprintf(stderr, "%s\n", err ? err->msg : "");
	bwk_error_free(err);
	assert_int_equal(rc, 0);
	assert_true(cg.v2 && cg.n == 1);
	char want[128];
	snprintf(want, sizeof want, "/sys/fs/cgroup/unified/bwk-unit-%d/c", (int)getpid());
	assert_string_equal(cg.dirs[0], want);
	int go[2], back[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(back, O_CLOEXEC), 0);
	bool born_in = false;
	pid_t pid = born ? ocirt_cgroup_fork(&cg, &born_in) : fork();
	if (pid == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		/* in as create's first child joins: by itself (cgroup.procs "0" on v2) */
		if (!born && ocirt_cgroup_join_self(&cg, NULL) < 0)
			_exit(4);
		int r[2] = {try_open("/dev/null", O_RDWR), try_open("/dev/kmsg", O_RDONLY)};
		if (write(back[1], r, sizeof r) != sizeof r)
			_exit(3);
		(void)read(go[0], &c, 1); /* until killed */
		_exit(0);
	}
	assert_true(pid > 0);
	assert_true(born_in == born); /* clone3(CLONE_INTO_CGROUP) since Linux 5.7 */
	assert_int_equal(write(go[1], "x", 1), 1);
	int r[2];
	assert_int_equal(read(back[0], r, sizeof r), sizeof r);
	*null_err = r[0];
	*kmsg_err = r[1];
	pid_t in[4];
	assert_int_equal(ocirt_cgroup_pids(&cg, in, 4), 1);
	assert_int_equal(in[0], pid);
	assert_int_equal(ocirt_cgroup_freeze(&cg, true, NULL), 0);
	assert_true(ocirt_cgroup_frozen(&cg));
	assert_int_equal(ocirt_cgroup_freeze(&cg, false, NULL), 0);
	assert_false(ocirt_cgroup_frozen(&cg));
	assert_true(ocirt_cgroup_signal(&cg, SIGKILL) >= 1);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ocirt_cgroup_destroy(&cg);
	int u = open("/sys/fs/cgroup/unified", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char top[48];
	snprintf(top, sizeof top, "bwk-unit-%d", (int)getpid());
	assert_int_equal(faccessat(u, path + 1, F_OK, AT_SYMLINK_NOFOLLOW), -1); /* c is gone */
	assert_int_equal(unlinkat(u, top, AT_REMOVEDIR), 0);
	close(u);
	for (int i = 0; i < 2; i++) {
		close(go[i]);
		close(back[i]);
	}
}

static void test_create_unified(void **state)
{
	(void)state;
	int null_err, kmsg_err;
	/* Docker's first rule: deny everything; the always-allowed devices follow it */
	bwk_oci_dev_rule deny[] = {rule(false, "a", -2, -2, "rwm")};
	create_unified(deny, 1, false, &null_err, &kmsg_err);
	assert_int_equal(null_err, 0);
	assert_int_equal(kmsg_err, EPERM);
	bwk_oci_dev_rule kmsg[] = {rule(false, "a", -2, -2, "rwm"), rule(true, "c", 1, 11, "r")};
	create_unified(kmsg, 2, true, &null_err, &kmsg_err);
	assert_int_equal(null_err, 0);
	assert_int_equal(kmsg_err, 0);
}

/* linux.resources.unified on the v2 path: each key written as the file of that name, at create
 * and by update (the unified hierarchy of a hybrid host has no cpu or memory controller: the
 * core cgroup.max.* files stand for them); a key that is not a file name refused. */
static void test_unified_files(void **state)
{
	(void)state;
	struct statfs sf;
	if (geteuid() != 0 || statfs("/sys/fs/cgroup/unified", &sf) < 0 || sf.f_type != 0x63677270)
		skip();
	char path[64], top[48];
	snprintf(path, sizeof path, "/bwk-unit-u%d/c", (int)getpid());
	snprintf(top, sizeof top, "bwk-unit-u%d", (int)getpid());
	char k0[] = "cgroup.max.descendants", k1[] = "cgroup.max.depth",
	     bad[] = "../cgroup.max.depth", v0[] = "7", v1[] = "3", v9[] = "9";
	bwk_oci_kv kv[] = {{k0, v0}, {k1, v1}};
	bwk_oci_spec s;
	memset(&s, 0, sizeof s);
	s.linux_.cgroups_path = path;
	s.linux_.resources.set = true;
	s.linux_.resources.unified = (bwk_oci_map){kv, 2};
	ocirt_cgroup cg;
	bwk_error *err = NULL;
	assert_int_equal(ocirt_cgroup_create_unified(&s, "unit", &cg, &err), 0);
	int u = open("/sys/fs/cgroup/unified", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(u >= 0);
	char file[128], buf[32] = "";
	snprintf(file, sizeof file, "%s/cgroup.max.descendants", path + 1);
	int fd = openat(u, file, O_RDONLY | O_CLOEXEC);
	assert_true(read(fd, buf, sizeof buf - 1) > 0);
	close(fd);
	assert_string_equal(buf, "7\n");
	kv[0].value = v9;
	assert_int_equal(ocirt_cgroup_update(&cg, &s.linux_.resources, &err), 0);
	memset(buf, 0, sizeof buf);
	fd = openat(u, file, O_RDONLY | O_CLOEXEC);
	assert_true(read(fd, buf, sizeof buf - 1) > 0);
	close(fd);
	assert_string_equal(buf, "9\n");
	kv[1].key = bad;
	assert_int_equal(ocirt_cgroup_update(&cg, &s.linux_.resources, &err), -1);
	assert_non_null(strstr(err->msg, "linux.resources.unified"));
	bwk_error_free(err);
	ocirt_cgroup_destroy(&cg);
	assert_int_equal(unlinkat(u, top, AT_REMOVEDIR), 0);
	close(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixed),	   cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_random),	   cmocka_unit_test(test_kernel),
	    cmocka_unit_test(test_create_unified), cmocka_unit_test(test_unified_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
