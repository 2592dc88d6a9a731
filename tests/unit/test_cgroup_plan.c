/* Unit tests: which cgroup an unprivileged `bulwark run` may use, decided from the texts of
 * /proc/self/cgroup and mountinfo and a fixture tree standing for the cgroup2 mount. Each case
 * that says "usable" has a near miss that must not be. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/sandbox.h"

#define SCOPE "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope"
#define HYBRID                                                                                     \
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                      \
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"                     \
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"               \
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"                   \
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
#define PURE_V2 "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"

typedef struct fx {
	char dir[64];
	int root;
} fx;

static void put(int root, const char *path, const char *text)
{
	char cmd[512];
	/* mkdir -p of the parent, then the file: the fixture is ours, paths are literals */
	snprintf(cmd, sizeof cmd, "%s", path);
	for (char *p = cmd + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			(void)mkdirat(root, cmd, 0755);
			*p = '/';
		}
	int fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void cgroup_files(int root, const char *dir, const char *controllers)
{
	char p[512];
	snprintf(p, sizeof p, "%s/cgroup.controllers", dir);
	put(root, p, controllers);
	snprintf(p, sizeof p, "%s/cgroup.procs", dir);
	put(root, p, "");
	snprintf(p, sizeof p, "%s/cgroup.subtree_control", dir);
	put(root, p, "");
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/bwk-cgplan-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->root >= 0);
	cgroup_files(f->root, "sys/fs/cgroup" SCOPE, "cpuset cpu io memory pids\n");
	cgroup_files(f->root, "sys/fs/cgroup/unified" SCOPE, "hugetlb\n");
	cgroup_files(f->root, "sys/fs/cgroup", "cpuset cpu io memory pids hugetlb\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	close(f->root);
	free(f);
	return 0;
}

static int plan(fx *f, const char *self, const char *mi, uint32_t uid, bwk_cgroup_plan *p)
{
	int fd = bwk_cgroup_plan_rootless(f->root, self, mi, uid, p);
	if (fd >= 0)
		close(fd);
	return fd;
}

static void test_delegated_scope(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	uint32_t me = (uint32_t)geteuid();
	assert_true(plan(f, "0::" SCOPE "\n", PURE_V2, me, &p) >= 0);
	assert_true(p.delegated && p.memory && p.pids && p.cpu);
	assert_string_equal(p.mount, "/sys/fs/cgroup");
	assert_string_equal(p.path, SCOPE);
	assert_string_equal(p.why, "");
	/* near miss: the same tree, another user's */
	assert_int_equal(plan(f, "0::" SCOPE "\n", PURE_V2, me + 1, &p), -1);
	assert_false(p.delegated);
	assert_non_null(strstr(p.why, "cgroup v2 not delegated to uid"));
	assert_non_null(strstr(p.why, "x.scope is owned by uid"));
}

static void test_origin_stands_for_its_parent(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	assert_true(plan(f, "0::" SCOPE "/bulwark-origin\n", PURE_V2, (uint32_t)geteuid(), &p) >=
		    0);
	assert_string_equal(p.path, SCOPE);
	/* only that exact name */
	assert_int_equal(plan(f, "0::" SCOPE "/bulwark-originx\n", PURE_V2, geteuid(), &p), -1);
	assert_non_null(strstr(p.why, "cannot open cgroup"));
}

static void test_delegated_files_must_be_owned(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	if (geteuid() != 0)
		skip(); /* chown needs root */
	char path[256];
	snprintf(path, sizeof path, "sys/fs/cgroup%s/cgroup.subtree_control", SCOPE);
	assert_int_equal(fchownat(f->root, path, 4242, 0, 0), 0);
	assert_int_equal(plan(f, "0::" SCOPE "\n", PURE_V2, 0, &p), -1);
	assert_non_null(strstr(p.why, "cgroup.subtree_control is owned by uid 4242"));
	assert_int_equal(fchownat(f->root, path, 0, 0, 0), 0);
	assert_true(plan(f, "0::" SCOPE "\n", PURE_V2, 0, &p) >= 0);
}

static void test_hybrid_controllers_bound_to_v1(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	const char *self = "4:memory:/x\n1:cpu:/\n0::" SCOPE "\n";
	assert_true(plan(f, self, HYBRID, (uint32_t)geteuid(), &p) >= 0);
	assert_string_equal(p.mount, "/sys/fs/cgroup/unified");
	assert_true(p.delegated && p.v1_memory);
	assert_false(p.memory || p.pids || p.cpu);
	assert_non_null(strstr(p.why, "offers no memory, pids, cpu controller (this host binds"));
	/* near miss: cpu is not bound to v1, so the parent is to blame */
	const char *no_v1_cpu = HYBRID + strlen("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs "
						"tmpfs rw,mode=755\n");
	char mi[1024];
	snprintf(mi, sizeof mi, "%s", no_v1_cpu);
	char *cpu = strstr(mi, "rw,cpu\n");
	assert_non_null(cpu);
	memcpy(cpu, "rw,xyz", 6);
	assert_true(plan(f, self, mi, (uint32_t)geteuid(), &p) >= 0);
	assert_non_null(strstr(p.why, "its parent cgroup does not delegate it"));
}

static void test_no_v2(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	/* a pure v1 host: no 0:: line */
	assert_int_equal(plan(f, "4:memory:/\n1:cpu:/\n", HYBRID, 0, &p), -1);
	assert_non_null(strstr(p.why, "no cgroup v2 entry"));
	/* a 0:: line but no cgroup2 mount */
	assert_int_equal(plan(f, "0::/\n", "31 23 0:28 / /sys rw - sysfs sysfs rw\n", 0, &p), -1);
	assert_non_null(strstr(p.why, "no cgroup2 filesystem"));
	assert_int_equal(plan(f, NULL, NULL, 0, &p), -1);
	/* the mount's root does not hold our cgroup (a bind of another subtree) */
	assert_int_equal(plan(f, "0::/a/b\n",
			      "30 25 0:26 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", 0, &p),
			 -1);
	/* malformed lines are skipped, not trusted: no "-", no super options */
	assert_int_equal(
	    plan(f, "0::/\n", "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2\n", 0, &p), -1);
	assert_non_null(strstr(p.why, "no cgroup2 filesystem"));
	assert_int_equal(plan(f, "0::" SCOPE, "30 25 0:26 / /sys/fs/cgroup cgroup2\n- -\n", 0, &p),
			 -1);
}

static void test_mount_root_is_stripped(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	/* a container's view: the cgroup2 mount's root is its own cgroup */
	const char *mi =
	    "30 25 0:26 /user.slice/user-1000.slice /sys/fs/cgroup rw - cgroup2 c rw\n";
	put(f->root, "sys/fs/cgroup/user@1000.service/app.slice/x.scope/cgroup.controllers",
	    "pids");
	put(f->root, "sys/fs/cgroup/user@1000.service/app.slice/x.scope/cgroup.procs", "");
	put(f->root, "sys/fs/cgroup/user@1000.service/app.slice/x.scope/cgroup.subtree_control",
	    "");
	assert_true(plan(f, "0::" SCOPE "\n", mi, (uint32_t)geteuid(), &p) >= 0);
	assert_string_equal(p.path, "/user@1000.service/app.slice/x.scope");
	assert_true(p.pids && !p.memory);
	assert_non_null(strstr(p.why, "does not delegate it"));
}

static void test_escapes_refused(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	uint32_t me = (uint32_t)geteuid();
	/* out of the mount through .. */
	assert_int_equal(plan(f, "0::/../../../..\n", PURE_V2, me, &p), -1);
	assert_non_null(strstr(p.why, "cannot open cgroup"));
	/* through a symlink inside the cgroup tree */
	assert_int_equal(symlinkat("/", f->root, "sys/fs/cgroup/link"), 0);
	assert_int_equal(plan(f, "0::/link/tmp\n", PURE_V2, me, &p), -1);
	/* a mount point that is a symlink out of the root stays inside it */
	assert_int_equal(symlinkat("/etc", f->root, "sys/fs/cgroup/etc"), 0);
	assert_int_equal(plan(f, "0::/\n", "1 1 0:1 / /sys/fs/cgroup/etc - cgroup2 c rw\n", me, &p),
			 -1);
}

static void test_escaped_mount_point(void **state)
{
	fx *f = *state;
	bwk_cgroup_plan p;
	cgroup_files(f->root, "cg two/s", "memory pids cpu\n");
	assert_true(plan(f, "0::/s\n", "1 1 0:1 / /cg\\040two rw - cgroup2 cgroup2 rw\n",
			 (uint32_t)geteuid(), &p) >= 0);
	assert_string_equal(p.mount, "/cg two");
	/* a NUL or a truncated escape is not a path */
	assert_int_equal(plan(f, "0::/s\n", "1 1 0:1 / /cg\\000two rw - cgroup2 cgroup2 rw\n",
			      (uint32_t)geteuid(), &p),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_delegated_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_origin_stands_for_its_parent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delegated_files_must_be_owned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hybrid_controllers_bound_to_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mount_root_is_stripped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escapes_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaped_mount_point, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
