/* Unit tests: path resolution inside an image root (sandbox/rootpath.c). A hostile tree of
 * absolute, relative, chained, looping and escaping links is resolved with openat2 and with the
 * fallback used where openat2 is refused; both must agree, and neither may ever reach the file
 * planted outside the root. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BWK_IN_SANDBOX /* the tests call the module's private resolver */
#include "sandbox/sandbox_private.h"

typedef struct tree {
	char top[64];	/* outside/ : holds the bait and root/ */
	char root[128]; /* the image root */
	int rootfd;
} tree;

static void put(const char *dir, const char *name, const char *data)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void link_at(const char *dir, const char *name, const char *target)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(symlink(target, p), 0);
}

static void dir_at(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state)
{
	tree *t = calloc(1, sizeof *t);
	snprintf(t->top, sizeof t->top, "/tmp/bwk-rootpath-XXXXXX");
	if (!mkdtemp(t->top))
		return -1;
	put(t->top, "bait", "outside the root\n");
	dir_at(t->top, "hostdir");
	dir_at(t->top, "hostdir/b");
	chmod(t->top, 0755);
	char hb[256];
	snprintf(hb, sizeof hb, "%s/hostdir/b", t->top);
	chmod(hb, 0711);
	dir_at(t->top, "etc");
	put(t->top, "etc/passwd", "host passwd\n");
	snprintf(t->root, sizeof t->root, "%s/root", t->top);
	mkdir(t->root, 0755);
	dir_at(t->root, "etc");
	put(t->root, "etc/passwd", "image passwd\n");
	dir_at(t->root, "dir");
	dir_at(t->root, "dir/sub");
	char bait[256];
	snprintf(bait, sizeof bait, "%s/bait", t->top);
	link_at(t->root, "abs", "/etc");
	link_at(t->root, "rel", "../../../../etc");
	link_at(t->root, "chain1", "chain2");
	link_at(t->root, "chain2", "dir/../abs");
	link_at(t->root, "loop", "loop");
	link_at(t->root, "up", "..");
	link_at(t->root, "esc", "../bait");
	link_at(t->root, "esc_abs", bait);
	link_at(t->root, "file", "etc/passwd");
	link_at(t->root, "dir/sub/back", "../../etc");
	link_at(t->root, "magic", "/proc/self/root/etc");
	t->rootfd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	*state = t;
	return t->rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	tree *t = *state;
	char cmd[128];
	close(t->rootfd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->top);
	int r = system(cmd);
	free(t);
	return r == 0 ? 0 : -1;
}

/* The in-root object `want` (a path relative to the root, no links) or errno `err`. */
static void expect(tree *t, const char *path, int flags, const char *want, int err)
{
	int fds[2], errs[2];
	fds[0] = sbx_open_in_root(t->rootfd, path, flags);
	errs[0] = errno;
	fds[1] = sbx_open_in_root_fallback(t->rootfd, path, flags);
	errs[1] = errno;
	for (int i = 0; i < 2; i++) {
		if (!want) {
			if (fds[i] >= 0)
				fail_msg("%s (%s): resolved, expected errno %d", path,
					 i ? "fallback" : "openat2", err);
			if (errs[i] != err)
				fail_msg("%s (%s): errno %d, expected %d", path,
					 i ? "fallback" : "openat2", errs[i], err);
			continue;
		}
		if (fds[i] < 0)
			fail_msg("%s (%s): errno %d, expected %s", path, i ? "fallback" : "openat2",
				 errs[i], want);
		struct stat got, exp;
		assert_int_equal(fstat(fds[i], &got), 0);
		assert_int_equal(
		    fstatat(t->rootfd, want, &exp, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), 0);
		if (got.st_ino != exp.st_ino || got.st_dev != exp.st_dev)
			fail_msg("%s (%s): not %s", path, i ? "fallback" : "openat2", want);
		char real[512];
		assert_int_equal(sbx_fd_path(fds[i], real, sizeof real), 0);
		assert_true(strncmp(real, t->root, strlen(t->root)) == 0);
		close(fds[i]);
	}
}

static void test_links_stay_in_root(void **state)
{
	tree *t = *state;
	const int P = O_PATH;
	expect(t, "/etc/passwd", P, "etc/passwd", 0);
	expect(t, "abs/passwd", P, "etc/passwd", 0);
	expect(t, "/rel/passwd", P, "etc/passwd", 0);
	expect(t, "chain1/passwd", P, "etc/passwd", 0);
	expect(t, "../../../etc/passwd", P, "etc/passwd", 0);
	expect(t, "up/up/up/etc/passwd", P, "etc/passwd", 0);
	expect(t, "dir/sub/back/passwd", P, "etc/passwd", 0);
	expect(t, "dir/sub/../../etc/passwd", P, "etc/passwd", 0);
	expect(t, "file", O_RDONLY, "etc/passwd", 0);
	expect(t, "abs", P | O_DIRECTORY, "etc", 0);
	expect(t, "/", P, "", 0);
	expect(t, "..", P, "", 0);
	/* the bait outside is never reached, whichever way a link points at it */
	expect(t, "esc", P, NULL, ENOENT);
	expect(t, "esc_abs", P, NULL, ENOENT);
	expect(t, "up/bait", P, NULL, ENOENT);
	expect(t, "../bait", P, NULL, ENOENT);
	expect(t, "loop", P, NULL, ELOOP);
	expect(t, "file/x", P, NULL, ENOTDIR);
	/* O_NOFOLLOW: the link itself */
	expect(t, "abs", P | O_NOFOLLOW, "abs", 0);
}

static void test_fallback_refuses_create(void **state)
{
	tree *t = *state;
	errno = 0;
	assert_int_equal(sbx_open_in_root_fallback(t->rootfd, "new", O_CREAT | O_WRONLY), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_magic_link_not_followed(void **state)
{
	tree *t = *state;
	/* openat2 refuses the magic link (a link in the root to /proc/self/root/etc names the
	 * root's own /proc, which has none here): ENOENT either way, never the host's /etc */
	int a = sbx_open_in_root(t->rootfd, "magic/passwd", O_PATH);
	int b = sbx_open_in_root_fallback(t->rootfd, "magic/passwd", O_PATH);
	assert_true(a < 0);
	assert_true(b < 0);
}

static void test_open_beneath_never_follows(void **state)
{
	tree *t = *state;
	int fd = sbx_open_beneath(t->rootfd, "etc/passwd", O_RDONLY);
	assert_true(fd >= 0);
	char buf[32] = {0};
	assert_true(read(fd, buf, sizeof buf - 1) > 0);
	assert_string_equal(buf, "image passwd\n");
	close(fd);
	fd = sbx_open_beneath(t->rootfd, "dir//sub", O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	struct {
		const char *rel;
		int flags, err;
	} bad[] = {
	    {"abs", O_PATH, ELOOP},	     /* last component: a link is refused */
	    {"abs/passwd", O_PATH, ENOTDIR}, /* in the middle too */
	    {"file", O_RDONLY, ELOOP},	     {"chain1/passwd", O_PATH, ENOTDIR},
	    {"../bait", O_PATH, EINVAL},     {"dir/../etc", O_PATH, EINVAL},
	    {"./etc", O_PATH, EINVAL},	     {"nope", O_PATH, ENOENT},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		errno = 0;
		fd = sbx_open_beneath(t->rootfd, bad[i].rel, bad[i].flags);
		if (fd >= 0 || errno != bad[i].err)
			fail_msg("%s: fd %d errno %d, expected %d", bad[i].rel, fd, errno,
				 bad[i].err);
	}
	/* a canonical host path opened from "/" (how run opens -v sources) */
	int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char rel[256];
	snprintf(rel, sizeof rel, "%s/etc/passwd", t->root + 1);
	fd = sbx_open_beneath(slash, rel, O_PATH);
	assert_true(fd >= 0);
	char real[512], want[512];
	snprintf(want, sizeof want, "%s/etc/passwd", t->root);
	assert_int_equal(sbx_fd_path(fd, real, sizeof real), 0);
	assert_string_equal(real, want);
	close(fd);
	snprintf(rel, sizeof rel, "%s/abs/passwd", t->root + 1);
	assert_int_equal(sbx_open_beneath(slash, rel, O_PATH), -1);
	close(slash);
}

/* masks.c: the directories of a rootless mask copy mode and owner from the layers below,
 * looked up without following a layer's symlink to a host directory. */
static void test_mask_attrs_never_through_links(void **state)
{
	tree *t = *state;
	char layer[256], mask[256], host[256];
	snprintf(layer, sizeof layer, "%s/layer0", t->top);
	snprintf(mask, sizeof mask, "%s/mask", t->top);
	snprintf(host, sizeof host, "%s/hostdir", t->top);
	assert_int_equal(mkdir(layer, 0755), 0);
	assert_int_equal(mkdir(mask, 0755), 0);
	link_at(layer, "a", host); /* the host's b there is 0711 */
	dir_at(layer, "d");
	char d[300];
	snprintf(d, sizeof d, "%s/d", layer);
	chmod(d, 0750);
	int layers[2] = {open(layer, O_PATH | O_DIRECTORY | O_CLOEXEC), -1};
	int m = open(mask, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(sbx_mask_build("whiteout a/b/f\nwhiteout d/g\n", m, layers, 1), 0);
	struct stat st;
	assert_int_equal(fstatat(m, "a/b", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755); /* the default, not the host's 0711 */
	assert_int_equal(fstatat(m, "d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0750); /* a real lower directory is copied */
	assert_int_equal(fstatat(m, "a/b/f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode));
	close(m);
	close(layers[0]);
}

/* One mount-point function, two policies (spec_mount.c sbx_mountpoint): an image's link at a
 * mount point is refused with run's message (CVE-2021-30465 class); a bundle's is followed
 * inside the root, as runc and crun do; neither reaches outside the root. */
static void test_mountpoint_policies(void **state)
{
	tree *t = *state;
	char why[1024];
	/* refused: the last component is a link (to /etc of the image) */
	int fd = sbx_mountpoint(t->rootfd, "/abs", true, SBX_MP_REFUSE_LINKS, "mount point", why,
				sizeof why);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(why, "mount point /abs is a symbolic link in the image (to /etc)"));
	/* refused: the wrong type already there */
	fd = sbx_mountpoint(t->rootfd, "/etc/passwd", true, SBX_MP_REFUSE_LINKS,
			    "volume destination", why, sizeof why);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(why, "volume destination /etc/passwd is not a directory"));
	/* followed inside the root: /abs/mp is the image's /etc/mp, created there */
	fd = sbx_mountpoint(t->rootfd, "/abs/mp", true, SBX_MP_FOLLOW_IN_ROOT, "mount point", why,
			    sizeof why);
	assert_true(fd >= 0);
	struct stat got, exp;
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(fstatat(t->rootfd, "etc/mp", &exp, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(got.st_ino == exp.st_ino && got.st_dev == exp.st_dev);
	close(fd);
	fd = sbx_mountpoint(t->rootfd, "/abs", true, SBX_MP_FOLLOW_IN_ROOT, "mount point", why,
			    sizeof why);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(fstatat(t->rootfd, "etc", &exp, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(got.st_ino == exp.st_ino);
	close(fd);
	/* an escaping link stays in the root: up -> .. is the root itself */
	fd = sbx_mountpoint(t->rootfd, "/up/dir", true, SBX_MP_FOLLOW_IN_ROOT, "mount point", why,
			    sizeof why);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(fstatat(t->rootfd, "dir", &exp, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(got.st_ino == exp.st_ino);
	close(fd);
	/* a link escaping the root, under REFUSE_LINKS: refused, not created through */
	fd = sbx_mountpoint(t->rootfd, "/esc", false, SBX_MP_REFUSE_LINKS, "mount point", why,
			    sizeof why);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, ELOOP);
	/* a missing file mount point is created as a file under both */
	fd = sbx_mountpoint(t->rootfd, "/dir/newfile", false, SBX_MP_REFUSE_LINKS, "mount point",
			    why, sizeof why);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &got), 0);
	assert_true(S_ISREG(got.st_mode));
	close(fd);
}

/* In a mount namespace of its own (root only): `rel`'s line of /proc/self/mountinfo. */
static bool mountinfo_line(const char *dest, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (fgets(line, sizeof line, f)) {
		char d[1024];
		if (sscanf(line, "%*s %*s %*s %*s %1023s", d) == 1 && !strcmp(d, dest)) {
			snprintf(out, len, "%s", line); /* the last one: the top mount */
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* One spec mount (spec_mount.c sbx_spec_mount), as run and create make it: a tmpfs whose data
 * string is longer than run's old 256-byte buffer reaches the filesystem whole under both
 * link policies; a destination that is a link is refused under run's and followed inside the
 * root under create's. Runs in a child with a mount namespace of its own. */
static void test_spec_mount_both_policies(void **state)
{
	tree *t = *state;
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(77);
		/* the root as seen from this namespace (the fixture's is the parent's mount) */
		int rootfd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			_exit(9);
		char data[1024], s_nosuid[] = "nosuid", s_noexec[] = "noexec", s_tmpfs[] = "tmpfs",
				 s_abs[] = "/abs";
		size_t n = 0;
		for (int i = 0; i < 40; i++)
			n += (size_t)snprintf(data + n, sizeof data - n, "size=1k,");
		snprintf(data + n, sizeof data - n, "size=3m,nr_inodes=777,mode=0750");
		char *opts[] = {s_nosuid, s_noexec, data, NULL};
		char dests[2][16] = {"/run-long", "/create-long"};
		const sbx_mp_policy pol[] = {SBX_MP_REFUSE_LINKS, SBX_MP_FOLLOW_IN_ROOT};
		for (int i = 0; i < 2; i++) {
			bwk_oci_mount m = {.destination = dests[i],
					   .type = s_tmpfs,
					   .source = s_tmpfs,
					   .options = {.v = opts, .n = 3}};
			bwk_oci_mount_opts o;
			if (strlen(data) <= 256 || bwk_oci_mount_opts_parse(&m, 0, &o, NULL) < 0)
				_exit(10);
			char why[1024];
			sbx_spec_mount_env env = {.policy = pol[i],
						  .role = "mount point",
						  .src = -1,
						  .why = why,
						  .whylen = sizeof why};
			int fd = sbx_spec_mount(rootfd, &m, &o, &env);
			char where[512], line[4096];
			snprintf(where, sizeof where, "%s%s", t->root, dests[i]);
			if (fd < 0 || !mountinfo_line(where, line, sizeof line) ||
			    !strstr(line, "size=3072k") || !strstr(line, "nr_inodes=777") ||
			    !strstr(line, "mode=750") || !strstr(line, "noexec")) {
				fprintf(stderr, "%s: %s\n", dests[i], fd < 0 ? why : line);
				_exit(11 + i);
			}
			close(fd);
		}
		/* one value longer than fsconfig takes (256 bytes): the mount(2) fallback, on the
		 * mount point opened by the policy, gives the same mount */
		char big[400], s_fb[] = "/fallback";
		n = (size_t)snprintf(big, sizeof big, "size=");
		while (n < 300)
			big[n++] = '0';
		snprintf(big + n, sizeof big - n, "3m");
		char *fbopts[] = {big, NULL};
		bwk_oci_mount fm = {.destination = s_fb,
				    .type = s_tmpfs,
				    .source = s_tmpfs,
				    .options = {.v = fbopts, .n = 1}};
		bwk_oci_mount_opts fo;
		char fwhy[1024], fline[4096], fwhere[512];
		sbx_spec_mount_env fenv = {.policy = SBX_MP_REFUSE_LINKS,
					   .role = "mount point",
					   .src = -1,
					   .why = fwhy,
					   .whylen = sizeof fwhy};
		int ffd = bwk_oci_mount_opts_parse(&fm, 0, &fo, NULL) < 0
			      ? -1
			      : sbx_spec_mount(rootfd, &fm, &fo, &fenv);
		snprintf(fwhere, sizeof fwhere, "%s/fallback", t->root);
		if (ffd < 0 || !mountinfo_line(fwhere, fline, sizeof fline) ||
		    !strstr(fline, "size=3072k")) {
			fprintf(stderr, "fallback: %s\n", ffd < 0 ? fwhy : fline);
			_exit(15);
		}
		close(ffd);
		/* a link at the destination: refused by run's policy, with its message */
		char *none[] = {NULL};
		bwk_oci_mount lm = {.destination = s_abs,
				    .type = s_tmpfs,
				    .source = s_tmpfs,
				    .options = {.v = none, .n = 0}};
		bwk_oci_mount_opts lo;
		char why[1024];
		sbx_spec_mount_env env = {.policy = SBX_MP_REFUSE_LINKS,
					  .role = "mount point",
					  .src = -1,
					  .why = why,
					  .whylen = sizeof why};
		if (bwk_oci_mount_opts_parse(&lm, 0, &lo, NULL) < 0 ||
		    sbx_spec_mount(rootfd, &lm, &lo, &env) >= 0 ||
		    !strstr(why, "is a symbolic link in the image"))
			_exit(20);
		/* … and followed inside the root by create's: the mount lands on the root's /etc */
		env.policy = SBX_MP_FOLLOW_IN_ROOT;
		int fd = sbx_spec_mount(rootfd, &lm, &lo, &env);
		char where[512], line[4096];
		snprintf(where, sizeof where, "%s/etc", t->root);
		if (fd < 0 || !mountinfo_line(where, line, sizeof line) || !strstr(line, "tmpfs"))
			_exit(21);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_links_stay_in_root),
	    cmocka_unit_test(test_fallback_refuses_create),
	    cmocka_unit_test(test_magic_link_not_followed),
	    cmocka_unit_test(test_open_beneath_never_follows),
	    cmocka_unit_test(test_mask_attrs_never_through_links),
	    cmocka_unit_test(test_mountpoint_policies),
	    cmocka_unit_test(test_spec_mount_both_policies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
