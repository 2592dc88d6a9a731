/* Unit tests: the sandbox's pure parts — capability set and names, sensitive host paths,
 * Docker seccomp JSON profiles, and --user resolution against an image's passwd/group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bulwark/sandbox.h"

#define CAP(n) (1ull << (n))

static void test_default_caps(void **state)
{
	(void)state;
	uint64_t c = bwk_sandbox_default_caps();
	/* Docker's default set */
	uint64_t docker = CAP(0) | CAP(1) | CAP(4) | CAP(3) | CAP(27) | CAP(13) | CAP(6) | CAP(7) |
			  CAP(31) | CAP(8) | CAP(10) | CAP(18) | CAP(5) | CAP(29);
	assert_true((c & ~docker) == 0); /* never more than Docker */
	/* minus NET_RAW, MKNOD, AUDIT_WRITE, SETFCAP, SYS_CHROOT */
	assert_false(c & (CAP(13) | CAP(27) | CAP(29) | CAP(31) | CAP(18)));
	assert_false(c & CAP(21)); /* SYS_ADMIN */
	assert_true(c & CAP(0));   /* CHOWN kept */
}

static void test_cap_names(void **state)
{
	(void)state;
	uint64_t m = 0;
	assert_int_equal(bwk_cap_from_name("NET_ADMIN", &m), 0);
	assert_true(m == CAP(12));
	assert_int_equal(bwk_cap_from_name("cap_sys_admin", &m), 0);
	assert_true(m == CAP(21));
	assert_int_equal(bwk_cap_from_name("ALL", &m), 0);
	assert_true(m & CAP(40));
	assert_int_equal(bwk_cap_from_name("NOPE", &m), -1);
	assert_int_equal(bwk_cap_from_name("", &m), -1);
	assert_string_equal(bwk_cap_name(13), "CAP_NET_RAW");
	assert_null(bwk_cap_name(99));
	assert_null(bwk_cap_name(-1));
}

static void test_sensitive_paths(void **state)
{
	(void)state;
	const char *yes[] = {"/",
			     "/etc",
			     "/etc/",
			     "/etc/ssl",
			     "/proc",
			     "/proc/1/root",
			     "/sys",
			     "/dev",
			     "/dev/sda",
			     "/boot",
			     "/usr",
			     "/var/run/docker.sock",
			     "/run/containerd/containerd.sock",
			     "/var/lib/docker",
			     "/root",
			     "/home"};
	const char *no[] = {"/tmp/data", "/srv/www",	 "/etcetera", "/opt/app",
			    "/usr2",	 "/var/lib/app", "/home2"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		assert_true(bwk_sandbox_sensitive_path(yes[i]));
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		assert_false(bwk_sandbox_sensitive_path(no[i]));
}

static int parse(const char *json, uint64_t caps, size_t *rules)
{
	bwk_seccomp_profile *p = NULL;
	bwk_error *err = NULL;
	/* exact-size copy: ASan catches any overread */
	size_t n = strlen(json);
	char *buf = malloc(n);
	memcpy(buf, json, n);
	int r = bwk_seccomp_profile_parse(buf, n, caps, &p, &err);
	free(buf);
	if (r == 0) {
		*rules = bwk_seccomp_profile_rule_count(p);
		bwk_seccomp_profile_free(p);
	} else {
		assert_non_null(err);
		bwk_error_free(err);
	}
	return r;
}

static void test_seccomp_profile(void **state)
{
	(void)state;
	size_t n = 0;
	const char *ok =
	    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
	    "\"architectures\":[\"SCMP_ARCH_X86_64\"],\"syscalls\":["
	    "{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
	    "{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
	    "\"value\":2114060288,\"op\":\"SCMP_CMP_MASKED_EQ\"}],"
	    "\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
	    "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\","
	    "\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
	    "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":"
	    "\"4.8\"}},"
	    "{\"names\":[\"s390_pci_mmio_read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{"
	    "\"arches\":[\"s390x\"]}}]}";
	assert_int_equal(parse(ok, 0, &n), 0);
	assert_int_equal(n, 4); /* read, write, clone, ptrace */
	assert_int_equal(parse(ok, CAP(21), &n), 0);
	assert_int_equal(n, 4); /* read, write, mount, ptrace: clone's rule excluded */
	assert_int_equal(parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 0, &n), 0);
	assert_int_equal(n, 0);

	const char *bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
	    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":99999}",
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],\"action\":"
	    "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],\"action\":"
	    "\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_FOO\"}]}]}",
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultAction\":\"SCMP_ACT_KILL\"}",
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[1],\"action\":"
	    "\"SCMP_ACT_ERRNO\"}]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(parse(bad[i], 0, &n), -1);

	/* a document over the 4 MiB cap is refused before parsing */
	size_t big = (4u << 20) + 1;
	char *b = malloc(big);
	memset(b, ' ', big);
	bwk_seccomp_profile *p = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_seccomp_profile_parse(b, big, 0, &p, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	free(b);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "broken line\n"
			     "bad:x:notanumber:0::/:/bin/sh\n"
			     "app:x:1000:1001:app:/home/app:/bin/sh\n"
			     "big:x:99999999999:0::/:/bin/sh\n";
static const char group[] = "root:x:0:\nappgrp:x:1001:\nextra:x:2000:other,app\nweb:x:33:app\n";

static void test_user_resolve(void **state)
{
	(void)state;
	bwk_user u;
	char e[128];
	assert_int_equal(bwk_user_resolve("", passwd, group, &u, e, sizeof e), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
	assert_int_equal(bwk_user_resolve("app", passwd, group, &u, e, sizeof e), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1001);
	assert_string_equal(u.home, "/home/app");
	assert_int_equal(u.ngroups, 3); /* primary, extra, web */
	assert_int_equal(u.groups[1], 2000);
	assert_int_equal(u.groups[2], 33);
	assert_int_equal(bwk_user_resolve("app:web", passwd, group, &u, e, sizeof e), 0);
	assert_int_equal(u.gid, 33);
	assert_int_equal(bwk_user_resolve("1000:7", passwd, group, &u, e, sizeof e), 0);
	assert_int_equal(u.gid, 7);
	assert_int_equal(bwk_user_resolve("4242", passwd, group, &u, e, sizeof e), 0);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 0);
	assert_int_equal(bwk_user_resolve("4242", NULL, NULL, &u, e, sizeof e), 0);
	assert_int_equal(bwk_user_resolve("nobody", passwd, group, &u, e, sizeof e), -1);
	assert_non_null(strstr(e, "unable to find user nobody"));
	assert_int_equal(bwk_user_resolve("app:nogroup", passwd, group, &u, e, sizeof e), -1);
	assert_non_null(strstr(e, "unable to find group"));
	assert_int_equal(bwk_user_resolve("bad", passwd, group, &u, e, sizeof e), -1);
	assert_int_equal(bwk_user_resolve("big", passwd, group, &u, e, sizeof e), -1);
	assert_int_equal(bwk_user_resolve("99999999999", passwd, group, &u, e, sizeof e), -1);
}

static void test_envfile(void **state)
{
	(void)state;
	const char ok[] = "# c\n\n  A=b\r\nB=x=y z\nPASS\nC=";
	char *buf = malloc(sizeof ok - 1);
	memcpy(buf, ok, sizeof ok - 1);
	char **v = NULL;
	size_t n = 0;
	bwk_error *err = NULL;
	assert_int_equal(bwk_envfile_parse(buf, sizeof ok - 1, &v, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], "A=b");
	assert_string_equal(v[1], "B=x=y z");
	assert_string_equal(v[2], "PASS");
	assert_string_equal(v[3], "C=");
	assert_null(v[4]);
	bwk_strv_free_n(v, n);
	free(buf);
	const char *bad[] = {"=x\n", "BAD KEY=1\n", "A\tB=1\n"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(bwk_envfile_parse(bad[i], strlen(bad[i]), &v, &n, &err), -1);
		assert_non_null(strstr(err->msg, "line 1"));
		bwk_error_free(err);
		err = NULL;
	}
	assert_int_equal(bwk_envfile_parse("", 0, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	bwk_strv_free_n(v, n);
}

/* A fixture /proc with the given sysctls (NULL: absent) and AppArmor label. */
static char *fake_proc(const char *maxns, const char *clone, const char *aa, const char *label)
{
	char *dir = strdup("/tmp/bwk-proc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "set -e; cd %s; mkdir -p sys/user sys/kernel self/attr/apparmor; "
		 "%s%s%s %s%s%s %s%s%s %s%s%s",
		 dir, maxns ? "echo " : ":", maxns ? maxns : "",
		 maxns ? " > sys/user/max_user_namespaces;" : ";", clone ? "echo " : ":",
		 clone ? clone : "", clone ? " > sys/kernel/unprivileged_userns_clone;" : ";",
		 aa ? "echo " : ":", aa ? aa : "",
		 aa ? " > sys/kernel/apparmor_restrict_unprivileged_userns;" : ";",
		 label ? "echo '" : ":", label ? label : "",
		 label ? "' > self/attr/apparmor/current" : "");
	assert_int_equal(system(cmd), 0);
	return dir;
}

static void test_userns_restriction(void **state)
{
	(void)state;
	static const struct {
		const char *maxns, *clone, *aa, *label, *needle; /* needle NULL: not restricted */
	} cases[] = {
	    {"15000", NULL, NULL, NULL, NULL},
	    {"15000", "1", "0", "unconfined", NULL},
	    {"0", NULL, NULL, NULL, "user.max_user_namespaces=0"},
	    {"15000", "0", NULL, NULL, "kernel.unprivileged_userns_clone=0"},
	    {"15000", "1", "1", "unconfined", "contrib/apparmor/bulwark"},
	    {"15000", NULL, "1", NULL, "kernel.apparmor_restrict_unprivileged_userns=1"},
	    /* under bulwark's own profile the restriction does not apply */
	    {"15000", "1", "1", "bulwark (unconfined)", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *dir = fake_proc(cases[i].maxns, cases[i].clone, cases[i].aa, cases[i].label);
		char *why = bwk_userns_restriction(dir);
		if (!cases[i].needle && why)
			fail_msg("case %zu: unexpected '%s'", i, why);
		if (cases[i].needle && (!why || !strstr(why, cases[i].needle)))
			fail_msg("case %zu: '%s' lacks '%s'", i, why ? why : "(null)",
				 cases[i].needle);
		free(why);
		char cmd[256];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
		free(dir);
	}
	assert_null(bwk_userns_restriction("/nonexistent"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_caps),       cmocka_unit_test(test_cap_names),
	    cmocka_unit_test(test_sensitive_paths),    cmocka_unit_test(test_seccomp_profile),
	    cmocka_unit_test(test_user_resolve),       cmocka_unit_test(test_envfile),
	    cmocka_unit_test(test_userns_restriction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
