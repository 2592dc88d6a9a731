/* Unit tests: the sandbox's pure parts — capability set and names, sensitive host paths,
 * Docker seccomp JSON profiles, --user resolution against an image's passwd/group, and the
 * /etc/subuid reading and range choice of root's containers (subid.c). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/oci.h"
#include "bulwark/sandbox.h"
#define BWK_IN_SANDBOX /* the subordinate-id parser and allocator are private */
#include "sandbox/sandbox_private.h"
#include "core/util.h"

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

static void test_signal_names(void **state)
{
	(void)state;
	/* every spelling Docker accepts for STOPSIGNAL and --stop-signal */
	assert_int_equal(bwk_signal_from_name("SIGQUIT"), SIGQUIT);
	assert_int_equal(bwk_signal_from_name("quit"), SIGQUIT);
	assert_int_equal(bwk_signal_from_name("SigTerm"), SIGTERM);
	assert_int_equal(bwk_signal_from_name("9"), SIGKILL);
	assert_int_equal(bwk_signal_from_name("64"), 64);
	assert_int_equal(bwk_signal_from_name("SIGRTMIN"), SIGRTMIN);
	assert_int_equal(bwk_signal_from_name("RTMIN+3"), SIGRTMIN + 3);
	assert_int_equal(bwk_signal_from_name("SIGRTMAX-1"), SIGRTMAX - 1);
	/* anything else from an image config is refused, never truncated or wrapped */
	static const char *const bad[] = {"",	     "0",
					  "65",	     "99999999999",
					  "-15",     "15x",
					  "SIG",     "SIGNOPE",
					  "TERM ",   "RTMIN-1",
					  "RTMAX+1", "RTMIN+99",
					  "RTMIN+",  "SIGQUITQUITQUITQUIT"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(bwk_signal_from_name(bad[i]), -1);
	assert_int_equal(bwk_signal_from_name(NULL), -1);
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
	bwk_strv v = {0};
	bwk_error *err = NULL;
	assert_int_equal(bwk_envfile_parse(buf, sizeof ok - 1, &v, &err), 0);
	assert_int_equal(v.n, 4);
	assert_string_equal(v.v[0], "A=b");
	assert_string_equal(v.v[1], "B=x=y z");
	assert_string_equal(v.v[2], "PASS");
	assert_string_equal(v.v[3], "C=");
	assert_null(v.v[4]);
	bwk_strv_clear(&v);
	free(buf);
	const char *bad[] = {"=x\n", "BAD KEY=1\n", "A\tB=1\n"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(bwk_envfile_parse(bad[i], strlen(bad[i]), &v, &err), -1);
		assert_null(v.v);
		assert_non_null(strstr(err->msg, "line 1"));
		bwk_error_free(err);
		err = NULL;
	}
	assert_int_equal(bwk_envfile_parse("", 0, &v, &err), 0);
	assert_int_equal(v.n, 0);
	bwk_strv_clear(&v);
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

/* Parse from a buffer of exactly the input's size, so that ASan sees any overread. */
static int subid_parse(const char *data, size_t len, sbx_subid_file *f, bwk_error **err)
{
	char *buf = malloc(len ? len : 1);
	memcpy(buf, data, len);
	int rc = sbx_subid_parse(buf, len, "subuid", f, err);
	free(buf);
	return rc;
}

#define LO    SBX_SUBID_WINDOW_LO
#define HI    SBX_SUBID_WINDOW_HI
#define SLICE SBX_SUBID_SLICE

static void test_subid_parse(void **state)
{
	(void)state;
	static const char text[] = "alice:100000:65536\n"
				   "bulwark:1879048192:268304384\n"
				   "bulwark:5000000:65536\n"   /* a second own line: not ours */
				   "carol:abc:65536\n"	       /* non-numeric */
				   "dave:-5:65536\n"	       /* negative */
				   "erin:0x70000000:0x10000\n" /* hex, as strtoul base 0 */
				   "frank:1:2:3\n"	       /* four fields */
				   ":1:2\n"		       /* no name */
				   "gina:100:0\n"	       /* empty */
				   "hank:4294967296:5\n"       /* past the id space */
				   "ivan:4294967000:100000\n"  /* overflows 2^32: clipped */
				   "judy:99999999999999999999999:1\n" /* ERANGE */
				   "\x01\x1b[31m:7:8\n" /* control characters in the name */
				   "kim: 300:+4\r\n"	/* CR: not a number */
				   "leo:  400:5";	/* blanks before, no newline at the end */
	sbx_subid_file f;
	bwk_error *err = NULL;
	assert_int_equal(subid_parse(text, sizeof text - 1, &f, &err), 0);
	assert_true(f.has_own);
	assert_int_equal(f.own_start, 1879048192u);
	assert_int_equal(f.own_count, 268304384u);
	assert_int_equal(f.own_line, 2);
	assert_int_equal(f.nother, 5);
	assert_string_equal(f.other[0].name, "alice");
	assert_true(f.other[0].start == 100000 && f.other[0].end == 165536);
	assert_string_equal(f.other[1].name, "erin");
	assert_true(f.other[1].start == LO && f.other[1].end == LO + 0x10000ull);
	assert_int_equal(f.other[1].line, 6);
	assert_string_equal(f.other[2].name, "ivan");
	assert_true(f.other[2].end == 1ull << 32);
	assert_string_equal(f.other[3].name, "??[31m");
	assert_string_equal(f.other[4].name, "leo");
	assert_true(f.other[4].start == 400 && f.other[4].end == 405);
	assert_non_null(sbx_subid_conflict(&f, 165535, 1));
	assert_null(sbx_subid_conflict(&f, 165536, 1));
	assert_null(sbx_subid_conflict(&f, 99999, 1));
	sbx_subid_file_free(&f);

	/* a NUL ends the line: what precedes it is an entry for C readers */
	static const char nul[] = "mia:1879048192:65536\0tail\nnoname";
	assert_int_equal(subid_parse(nul, sizeof nul - 1, &f, &err), 0);
	assert_int_equal(f.nother, 1);
	assert_false(f.has_own);
	sbx_subid_file_free(&f);

	/* a huge line and a huge number field are skipped, not read past */
	size_t big = 1u << 20;
	char *huge = malloc(big);
	memset(huge, '7', big);
	memcpy(huge, "x:1:", 4);
	huge[big - 1] = '\n';
	assert_int_equal(subid_parse(huge, big, &f, &err), 0);
	assert_int_equal(f.nother, 0);
	sbx_subid_file_free(&f);
	free(huge);

	assert_int_equal(subid_parse("", 0, &f, &err), 0);
	assert_int_equal(f.nother, 0);
	sbx_subid_file_free(&f);
}

static void test_subid_parse_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "bulwark:0:65536\n",	  "bulwark:100000:65535\n",	"bulwark:x:65536\n",
	    "bulwark:4294901760:65536\n", "bulwark:4294967295:65536\n",
	};
	sbx_subid_file f;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		bwk_error *err = NULL;
		assert_int_equal(subid_parse(bad[i], strlen(bad[i]), &f, &err), -1);
		assert_non_null(strstr(err->msg, "subuid line 1: malformed bulwark entry"));
		bwk_error_free(err);
	}
	/* more entries than any real host has: an error, not a partial view */
	size_t n = SBX_SUBID_MAX_ENTRIES + 1, len = 0;
	char *many = malloc(n * 8);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(many + len, n * 8 - len, "u:%zu:1\n", i % 10);
	bwk_error *err = NULL;
	assert_int_equal(subid_parse(many, len, &f, &err), -1);
	assert_non_null(strstr(err->msg, "more than"));
	bwk_error_free(err);
	free(many);
	err = NULL;
	assert_int_equal(sbx_subid_parse("", SBX_SUBID_MAX_FILE + 1, "subuid", &f, &err), -1);
	bwk_error_free(err);
}

static void test_subid_pick(void **state)
{
	(void)state;
	sbx_subid_file a, b;
	bwk_error *err = NULL;
	uint32_t s, c;
	/* empty files: the whole window */
	assert_int_equal(subid_parse("", 0, &a, &err), 0);
	assert_int_equal(subid_parse("", 0, &b, &err), 0);
	assert_int_equal(sbx_subid_pick(&a, &b, &s, &c), 0);
	assert_int_equal(s, LO);
	assert_int_equal(c, HI - LO);
	sbx_subid_file_free(&a);
	sbx_subid_file_free(&b);

	/* unaligned, overlapping and unsorted entries in both files: the largest aligned
	 * gap, clear of all of them */
	static const char ua[] = "x:1879244801:10\n"	/* LO + 3 slices + 1 */
				 "y:1879048192:70000\n" /* LO, a bit more than one slice */
				 "z:100000:65536\n";
	static const char ub[] = "w:2000000000:100000\n" /* inside: splits the window */
				 "v:1879048192:65536\n";
	assert_int_equal(subid_parse(ua, sizeof ua - 1, &a, &err), 0);
	assert_int_equal(subid_parse(ub, sizeof ub - 1, &b, &err), 0);
	assert_int_equal(sbx_subid_pick(&a, &b, &s, &c), 0);
	assert_int_equal(s % SLICE, 0);
	assert_null(sbx_subid_conflict(&a, s, c));
	assert_null(sbx_subid_conflict(&b, s, c));
	/* the gap after w: from w's end rounded up to the window's end */
	uint64_t after_w = (2000000000ull + 100000 + SLICE - 1) / SLICE * SLICE;
	assert_int_equal(s, after_w);
	assert_int_equal(c, HI - after_w);
	sbx_subid_file_free(&b);

	/* the window full (one entry covering it, even past 2^32): nothing to reserve */
	static const char full[] = "all:1879048000:4000000000\n";
	assert_int_equal(subid_parse(full, sizeof full - 1, &b, &err), 0);
	assert_int_equal(sbx_subid_pick(&a, &b, &s, &c), -1);
	sbx_subid_file_free(&b);

	/* gaps smaller than the minimum are not taken */
	char small[4096];
	size_t len = 0;
	for (uint64_t at = LO; at < HI; at += SBX_SUBID_MIN_SLICES * SLICE)
		len += (size_t)snprintf(small + len, sizeof small - len, "s:%llu:%u\n",
					(unsigned long long)at, SLICE);
	assert_true(len < sizeof small);
	assert_int_equal(subid_parse(small, len, &b, &err), 0);
	assert_int_equal(sbx_subid_pick(&a, &b, &s, &c), -1);
	sbx_subid_file_free(&a);
	sbx_subid_file_free(&b);
}

/* An OCI container's claim outlives the lock: a record naming a file that holds its first uid
 * keeps the slice from other claims until the file is gone. */
static void test_subid_record(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		skip(); /* the claims directory must be root's */
		return;
	}
	char dir[] = "/tmp/bwk-claims-XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("BWK_RUN_DIR", dir, 1);
	sbx_subid_db db = {0};
	db.uid.has_own = db.gid.has_own = true;
	db.uid.own_start = db.gid.own_start = 0x70000000u;
	db.uid.own_count = db.gid.own_count = 2 * SBX_SUBID_SLICE;
	bwk_error *err = NULL;
	uint32_t u, g, n;
	int lock = sbx_subid_claim(&db, 0, 0, &u, &g, &n, &err);
	assert_true(lock >= 0);
	assert_int_equal(u, 0x70000000u);
	char claim[64], num[16];
	snprintf(claim, sizeof claim, "%s/userns.claim", dir);
	int len = snprintf(num, sizeof num, "%u", u);
	FILE *f = fopen(claim, "w");
	fwrite(num, 1, (size_t)len, f);
	fclose(f);
	assert_int_equal(sbx_subid_record(u, claim, &err), 0);
	close(lock); /* create has exited: the record holds the slice */
	lock = sbx_subid_claim(&db, 0, 0, &u, &g, &n, &err);
	assert_true(lock >= 0);
	assert_int_equal(u, 0x70000000u + SBX_SUBID_SLICE);
	close(lock);
	unlink(claim); /* `delete` removed the state directory: free again */
	lock = sbx_subid_claim(&db, 0, 0, &u, &g, &n, &err);
	assert_true(lock >= 0);
	assert_int_equal(u, 0x70000000u);
	close(lock);
	char rec[96];
	snprintf(rec, sizeof rec, "%s/userns-claims/%u", dir, 0x70000000u);
	unlink(rec);
	snprintf(rec, sizeof rec, "%s/userns-claims", dir);
	rmdir(rec);
	snprintf(rec, sizeof rec, "%s/userns.lock", dir);
	unlink(rec);
	rmdir(dir);
	unsetenv("BWK_RUN_DIR");
}

static void test_subid_explicit(void **state)
{
	(void)state;
	static const char u[] = "alice:100000:65536\nbulwark:1879048192:268304384\n";
	static const char g[] =
	    "alice:100000:65536\nbob:3000000:10\nbulwark:1879048192:268304384\n";
	sbx_subid_db db;
	bwk_error *err = NULL;
	assert_int_equal(subid_parse(u, sizeof u - 1, &db.uid, &err), 0);
	assert_int_equal(subid_parse(g, sizeof g - 1, &db.gid, &err), 0);
	assert_int_equal(sbx_subid_check_explicit(&db, 165536, 65536, &err), 0);
	assert_int_equal(sbx_subid_check_explicit(&db, 1879048192 - 65536, 65536, &err), 0);
	static const struct {
		uint32_t start, count;
		const char *msg;
	} bad[] = {
	    {165535, 2, "'alice' in subuid (line 1"},
	    {2999999, 2, "'bob'"},
	    {1879048192 - 65535, 65536, "bulwark's own range"},
	    {65535, 1, "ids below 65536"},
	    {4294967294u, 2, "ends past the last id"},
	    {4294967295u, 1, "ends past the last id"},
	    {200000, 0, "COUNT must be"},
	    {200000, 65537, "COUNT must be"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err = NULL;
		assert_int_equal(sbx_subid_check_explicit(&db, bad[i].start, bad[i].count, &err),
				 -1);
		if (!strstr(err->msg, bad[i].msg))
			fail_msg("%u:%u: %s", bad[i].start, bad[i].count, err->msg);
		bwk_error_free(err);
	}
	sbx_subid_db_free(&db);
}

typedef struct notes {
	int n, kind;
	char last[1024];
} notes;

static void collect(void *ctx, int kind, const char *msg)
{
	notes *n = ctx;
	n->n++;
	n->kind = kind;
	snprintf(n->last, sizeof n->last, "%s", msg);
}

/* The library never prints: an error comes back as the error object, and stderr stays empty;
 * nor does the sandbox warn of the caller's choices (the host's network: run's CLI says it). */
static void test_library_does_not_print(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	int saved = dup(2);
	dup2(p[1], 2);
	notes n = {0};
	bwk_container_spec spec = {.net = BWK_NET_HOST, .notify = collect, .notify_ctx = &n};
	int status = 0;
	bwk_error *err = NULL;
	int r = bwk_sandbox_run(&spec, &status, &err); /* no command: refused before anything */
	dup2(saved, 2);
	close(saved);
	char buf[256];
	ssize_t got = read(p[0], buf, sizeof buf);
	close(p[0]);
	close(p[1]);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err->msg, "no command"));
	bwk_error_free(err);
	err = NULL;
	assert_int_equal(n.n, 0);
	assert_true(got <= 0); /* nothing on stderr */
	/* the sandbox picks no default: a spec without its effective limits is refused, naming
	 * the first one missing, before anything is opened */
	static const char *const argv[] = {"/bin/true", NULL};
	spec.argv = argv;
	spec.caps_set = true;
	spec.memory = BWK_DEFAULT_MEMORY;
	spec.tmpfs_size = BWK_DEFAULT_TMPFS_SIZE;
	assert_int_equal(bwk_sandbox_run(&spec, &status, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_USAGE);
	assert_non_null(strstr(err->msg, "no effective pids limit"));
	bwk_error_free(err);
	err = NULL;
	spec.pids = BWK_DEFAULT_PIDS;
	spec.tmpfs_size = BWK_UNLIMITED;
	assert_int_equal(bwk_sandbox_run(&spec, &status, &err), -1);
	assert_non_null(strstr(err->msg, "no effective tmpfs size"));
	bwk_error_free(err);
	err = NULL;
	/* nor the writable size, the cpu weight and the stop timeout (the spec's producer's
	 * defaults, bwk_oci_spec_lower) */
	spec.tmpfs_size = BWK_DEFAULT_TMPFS_SIZE;
	static const struct {
		uint64_t writable;
		uint32_t weight, stop;
		const char *want;
	} missing[] = {
	    {0, 50, 10000, "no effective writable size"},
	    {BWK_UNLIMITED, 50, 10000, "no effective writable size (unlimited)"},
	    {BWK_DEFAULT_WRITABLE_SIZE, 0, 10000, "no effective cpu weight"},
	    {BWK_DEFAULT_WRITABLE_SIZE, 10001, 10000, "no effective cpu weight"},
	    {BWK_DEFAULT_WRITABLE_SIZE, 50, 0, "no effective stop timeout"},
	};
	for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
		spec.writable_size = missing[i].writable;
		spec.cpu_weight = missing[i].weight;
		spec.stop_timeout_ms = missing[i].stop;
		assert_int_equal(bwk_sandbox_run(&spec, &status, &err), -1);
		assert_int_equal(bwk_error_code(err), BWK_E_USAGE);
		if (!strstr(err->msg, missing[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err->msg, missing[i].want);
		bwk_error_free(err);
		err = NULL;
	}
	/* nor the spec mounts of its proc, sysfs and /dev */
	spec.writable_size = BWK_DEFAULT_WRITABLE_SIZE;
	spec.cpu_weight = 50;
	spec.stop_timeout_ms = 10000;
	assert_int_equal(bwk_sandbox_run(&spec, &status, &err), -1);
	assert_non_null(strstr(err->msg, "no effective proc, sysfs or /dev mount"));
	bwk_error_free(err);
	err = NULL;
}

/* One policy, two spellings: a spec's linux.seccomp and the Docker profile of the same rules
 * give the same flat profile, which the one builder turns into the same filter. */
static void test_seccomp_from_spec(void **state)
{
	(void)state;
	static const char rules[] =
	    "\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
	    "\"syscalls\": [{\"names\": [\"getpid\", \"no_such_call\"], \"action\": "
	    "\"SCMP_ACT_ALLOW\"}, {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", "
	    "\"errnoRet\": 1, \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]";
	char spec[1024], docker[512];
	snprintf(spec, sizeof spec,
		 "{\"ociVersion\": \"1.2.0\", \"linux\": {\"seccomp\": {\"architectures\": "
		 "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"], %s}}}",
		 rules);
	snprintf(docker, sizeof docker, "{%s}", rules);
	bwk_error *err = NULL;
	bwk_oci_spec *s = NULL;
	assert_int_equal(bwk_oci_spec_parse("config.json", spec, strlen(spec), &s, &err), 0);
	bwk_seccomp_profile *a = NULL, *b = NULL;
	assert_int_equal(sbx_seccomp_from_spec(&s->linux_.seccomp, &a, &err), 0);
	assert_int_equal(bwk_seccomp_profile_parse(docker, strlen(docker), 0, &b, &err), 0);
	assert_int_equal(a->default_action, SCMP_ACT_ERRNO(38));
	assert_int_equal(a->default_action, b->default_action);
	assert_int_equal(a->nrules, 3);
	assert_int_equal(a->nrules, b->nrules);
	for (size_t i = 0; i < a->nrules; i++) {
		assert_string_equal(a->rules[i].name, b->rules[i].name);
		assert_int_equal(a->rules[i].action, b->rules[i].action);
		assert_int_equal(a->rules[i].nargs, b->rules[i].nargs);
	}
	assert_int_equal(a->rules[2].action, SCMP_ACT_ERRNO(1));
	assert_int_equal(a->rules[2].args[0].op, SCMP_CMP_EQ);
	assert_int_equal(a->narches, 2);
	sbx_bpf *pa = calloc(1, sizeof *pa), *pb = calloc(1, sizeof *pb);
	assert_int_equal(sbx_seccomp_compile(b, 0, pb, &err), 0);
	assert_int_equal(sbx_seccomp_compile(a, 0, pa, &err), 0);
	/* the spec's second architecture makes its program the longer one */
	assert_true(pa->len > pb->len);
	free(pa);
	free(pb);
	bwk_seccomp_profile_free(a);
	bwk_seccomp_profile_free(b);
	bwk_oci_spec_free(s);
	/* SCMP_ACT_NOTIFY: a spec's (its listener gets the notifications), never a Docker
	 * profile's, which has no listener */
	static const char notify[] =
	    "{\"ociVersion\": \"1.2.0\", \"linux\": {\"seccomp\": {\"defaultAction\": "
	    "\"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/a.sock\", \"syscalls\": "
	    "[{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}}}";
	assert_int_equal(bwk_oci_spec_parse("config.json", notify, strlen(notify), &s, &err), 0);
	assert_int_equal(sbx_seccomp_from_spec(&s->linux_.seccomp, &a, &err), 0);
	assert_int_equal(a->nrules, 1);
	assert_int_equal(a->rules[0].action, SCMP_ACT_NOTIFY);
	bwk_seccomp_profile_free(a);
	bwk_oci_spec_free(s);
	uint32_t act = 0;
	assert_int_equal(sbx_seccomp_action("SCMP_ACT_NOTIFY", false, 0, &act), -1);
}

/* The default policy's program kept between runs: what is read back is what libseccomp
 * compiled, for that capability subset only; a file others can write, a truncated or
 * lengthened one, another build's (a different header) and a directory others can write are
 * all refused. */
static void test_seccomp_memo(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-memo-XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("BWK_RUN_DIR", dir, 1);
	int d = sbx_seccomp_memo_dir();
	assert_true(d >= 0);
	sbx_bpf *c = calloc(1, sizeof *c), *r = calloc(1, sizeof *r);
	bwk_error *err = NULL;
	uint64_t caps = bwk_sandbox_default_caps();
	assert_int_equal(sbx_seccomp_compile(NULL, caps, c, &err), 0);
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), -1); /* nothing kept yet */
	sbx_seccomp_memo_put(d, caps, c);
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), 0);
	assert_int_equal(r->len, c->len);
	assert_memory_equal(r->insns, c->insns, c->len * sizeof *c->insns);
	/* CAP_SYS_PTRACE allows the ptrace family: another program, another file */
	uint64_t ptrace = caps | (1ull << 19);
	assert_int_equal(sbx_seccomp_memo_get(d, ptrace, r), -1);
	/* unrelated capabilities do not change the program */
	assert_int_equal(sbx_seccomp_memo_get(d, caps | (1ull << 21), r), 0);
	char path[128];
	snprintf(path, sizeof path, "%s/seccomp-default-*-0.bpf", dir);
	glob_t g; /* named after this build (the start of its build id) */
	assert_int_equal(glob(path, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	snprintf(path, sizeof path, "%s", g.gl_pathv[0]);
	globfree(&g);
	chmod(path, 0620); /* others could have written it */
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), -1);
	chmod(path, 0600);
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), 0);
	FILE *f = fopen(path, "ab"); /* one instruction more than the header says */
	assert_non_null(f);
	fwrite(c->insns, sizeof *c->insns, 1, f);
	fclose(f);
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), -1);
	assert_int_equal(truncate(path, 40), 0); /* short */
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), -1);
	sbx_seccomp_memo_put(d, caps, c); /* replaced */
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), 0);
	int fd = open(path, O_RDWR); /* another build's: one byte of the build id differs */
	assert_true(fd >= 0);
	unsigned char b = 0;
	assert_int_equal(pread(fd, &b, 1, 24), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, 24), 1);
	close(fd);
	assert_int_equal(sbx_seccomp_memo_get(d, caps, r), -1);
	close(d);
	chmod(dir, 0777); /* a directory others can write in is not used */
	assert_int_equal(sbx_seccomp_memo_dir(), -1);
	unlink(path);
	rmdir(dir);
	unsetenv("BWK_RUN_DIR");
	free(c);
	free(r);
}

/* This process's seccomp mode and filter count, from /proc/self/status. */
static void seccomp_status(char *out, size_t len)
{
	char buf[8192];
	FILE *f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *m = strstr(buf, "\nSeccomp:");
	const char *fl = strstr(buf, "\nSeccomp_filters:");
	snprintf(out, len, "%.12s %.24s", m ? m : "", fl ? fl : "");
}

/* The probe behind `features`' supportedFlags: the flags every kernel a container runs on has
 * (TSYNC 3.17, LOG 4.14) are taken, a bit no kernel defines is not, and nothing is loaded. */
static void test_seccomp_flag_probe(void **state)
{
	(void)state;
	char before[64], after[64];
	seccomp_status(before, sizeof before);
	assert_true(bwk_seccomp_filter_flag_supported(1UL /* TSYNC */));
	assert_true(bwk_seccomp_filter_flag_supported(2UL /* LOG */));
	assert_false(bwk_seccomp_filter_flag_supported(1UL << 30));
	seccomp_status(after, sizeof after);
	assert_string_equal(before, after);
}

static void test_caps_and_rlimit_names(void **state)
{
	(void)state;
	const char *const names[] = {"CAP_KILL", "NET_BIND_SERVICE", "CAP_NOPE"};
	uint64_t m = 0;
	const char *bad = NULL;
	assert_int_equal(bwk_caps_from_names(names, 2, &m, &bad), 0);
	assert_int_equal(m, CAP(5) | CAP(10));
	assert_int_equal(bwk_caps_from_names(names, 3, &m, &bad), -1);
	assert_string_equal(bad, "CAP_NOPE");
	/* an OCI spec's names: exact CAP_ names of this kernel; the others left out and listed
	 * once (runc's and crun's reading), never "ALL" */
	const char *const spec[] = {"CAP_KILL", "CAP_NOPE", "ALL", "kill", "CAP_NOPE", "CAP_CHOWN"};
	bwk_strv unknown = {0};
	assert_int_equal(bwk_caps_spec_mask(spec, 6, &unknown), CAP(5) | CAP(0));
	assert_int_equal(unknown.n, 3);
	assert_string_equal(unknown.v[0], "CAP_NOPE");
	assert_string_equal(unknown.v[1], "ALL");
	assert_string_equal(unknown.v[2], "kill");
	bwk_strv_clear(&unknown);
	assert_int_equal(bwk_caps_spec_mask(spec, 2, NULL), CAP(5));
	assert_int_equal(bwk_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(bwk_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(bwk_rlimit_from_name("NOFILE"), -1);
	char nofile[] = "RLIMIT_NOFILE", bogus[] = "RLIMIT_BOGUS";
	bwk_oci_rlimit r = {.type = nofile, .hard = INT64_MAX, .soft = 1024};
	bwk_rlimit out;
	assert_int_equal(bwk_oci_rlimit_lower(&r, &out), 0);
	assert_int_equal(out.resource, RLIMIT_NOFILE);
	assert_int_equal(out.soft, 1024);
	assert_true(out.hard == RLIM_INFINITY);
	r.type = bogus;
	assert_int_equal(bwk_oci_rlimit_lower(&r, &out), -1);
}

/* sbx_process_enter's preserve_fds (runc's --preserve-fds): 3..3+N-1 lose close-on-exec, every
 * descriptor above gets it. In a child, as the process's setup changes ids and capabilities. */
static void test_process_preserve_fds(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int t = 3; t <= 5; t++) {
			int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (f < 0 || (f != t && (dup3(f, t, O_CLOEXEC) < 0 || close(f) < 0)))
				_exit(10);
		}
		fcntl(5, F_SETFD, 0); /* above the range: must become close-on-exec */
		sbx_process p = {.bounding = ~0ull,
				 .uid = getuid(),
				 .gid = getgid(),
				 .skip_groups = true,
				 .umask = -1,
				 .preserve_fds = 2};
		char why[256];
		if (sbx_process_enter(&p, why, sizeof why) < 0)
			_exit(11);
		int f3 = fcntl(3, F_GETFD), f4 = fcntl(4, F_GETFD), f5 = fcntl(5, F_GETFD);
		_exit(f3 == 0 && f4 == 0 && f5 >= 0 && (f5 & FD_CLOEXEC) ? 0 : 12);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The one id-map writer of both executors (userns.c): the lines, the kernel's limits. */
static void test_idmap_format(void **state)
{
	(void)state;
	char buf[SBX_IDMAP_BYTES];
	sbx_idmap m[SBX_IDMAP_MAX + 1];
	m[0] = (sbx_idmap){0, 100000, 65536};
	m[1] = (sbx_idmap){65536, 7, 1};
	assert_int_equal(sbx_idmap_format(m, 2, buf, sizeof buf), 25);
	assert_string_equal(buf, "0 100000 65536\n65536 7 1\n");
	assert_int_equal(sbx_idmap_format(m, 0, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	/* 15 bytes: the NUL leaves 14, one short of the first line */
	assert_int_equal(sbx_idmap_format(m, 1, buf, 15), -1);
	assert_int_equal(sbx_idmap_format(m, 1, buf, 16), 15);
	for (size_t i = 0; i < SBX_IDMAP_MAX + 1; i++)
		m[i] = (sbx_idmap){(uint32_t)i, 1000 + (uint32_t)i, 1};
	assert_int_equal(sbx_idmap_format(m, SBX_IDMAP_MAX + 1, buf, sizeof buf), -1);
	/* 340 lines of ten-digit ids are more than a page */
	for (size_t i = 0; i < SBX_IDMAP_MAX; i++)
		m[i] = (sbx_idmap){4000000000u + (uint32_t)i, 4100000000u, 1};
	assert_int_equal(sbx_idmap_format(m, SBX_IDMAP_MAX, buf, sizeof buf), -1);
}

/* A real user namespace mapped by sbx_idmap_write: its maps read back from /proc, setgroups
 * denied first, and a second write (the kernel takes one) refused naming the file. */
static void test_idmap_write(void **state)
{
	(void)state;
	int go[2], done[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[1]); /* else the parent's close is no EOF */
		char c = unshare(CLONE_NEWUSER) == 0;
		(void)!write(go[1], &c, 1);
		(void)!read(done[0], &c, 1);
		_exit(0);
	}
	char ok = 0;
	close(done[0]);
	assert_int_equal(read(go[0], &ok, 1), 1);
	if (!ok) {
		close(done[1]);
		waitpid(pid, NULL, 0);
		skip(); /* user namespaces disabled here */
	}
	sbx_idmap u = {0, (uint32_t)geteuid(), 1}, g = {0, (uint32_t)getegid(), 1};
	sbx_idmaps m = {.uid = &u, .gid = &g, .nuid = 1, .ngid = 1, .deny_setgroups = true};
	bwk_error *err = NULL;
	int rc = sbx_idmap_write(pid, &m, &err);
	char path[64], *text = NULL;
	size_t len;
	unsigned a = 9, b = 9, n = 9;
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 4096, true, &text, &len, NULL), 0);
	assert_int_equal(sscanf(text, "%u %u %u", &a, &b, &n), 3);
	free(text);
	assert_true(a == 0 && b == geteuid() && n == 1);
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 4096, true, &text, &len, NULL), 0);
	assert_int_equal(sscanf(text, "%u %u %u", &a, &b, &n), 3);
	free(text);
	assert_true(a == 0 && b == getegid() && n == 1);
	snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 4096, true, &text, &len, NULL), 0);
	assert_non_null(strstr(text, "deny"));
	free(text);
	assert_int_equal(rc, 0);
	/* written once only: the second write is refused, and the error says which file */
	assert_int_equal(sbx_idmap_write(pid, &m, &err), -1);
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	char *msg = bwk_error_format(err);
	assert_non_null(strstr(msg, path));
	free(msg);
	bwk_error_free(err);
	close(done[1]);
	waitpid(pid, NULL, 0);
	close(go[0]);
	close(go[1]);
}

/* The namespaces of both executors (namespaces.c): one table, the joins, errors naming them. */
static void test_namespaces(void **state)
{
	(void)state;
	assert_int_equal(sbx_ns_flag("network"), CLONE_NEWNET);
	assert_int_equal(sbx_ns_flag("time"), SBX_CLONE_NEWTIME);
	assert_int_equal(sbx_ns_flag("bogus"), 0);
	assert_string_equal(sbx_ns_type(CLONE_NEWNS), "mount");
	assert_string_equal(sbx_ns_proc_name(CLONE_NEWNET), "net");
	assert_null(sbx_ns_proc_name(0));
	char buf[128];
	sbx_ns_describe(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET, buf, sizeof buf);
	assert_string_equal(buf, "user, pid, network");
	bwk_container_spec cs = {.net = BWK_NET_HOST};
	assert_false(sbx_ns_run_flags(&cs) & CLONE_NEWNET);
	assert_false(sbx_ns_run_child_flags(&cs) & CLONE_NEWNET);
	assert_true(sbx_ns_run_flags(&cs) & CLONE_NEWUSER);
	/* every other mode has a network namespace of its own: --net none's made by the child
	 * itself, slirp's and the bridge's by the clone (the host side configures them) */
	cs.net = BWK_NET_NONE;
	assert_int_equal(sbx_ns_run_flags(&cs) & CLONE_NEWNET, 0);
	assert_int_equal(sbx_ns_run_child_flags(&cs), CLONE_NEWNET);
	for (int m = BWK_NET_SLIRP; m <= BWK_NET_BRIDGE; m++) {
		cs.net = (bwk_net_mode)m;
		assert_true(sbx_ns_run_flags(&cs) & CLONE_NEWNET);
		assert_int_equal(sbx_ns_run_child_flags(&cs), 0);
	}

	/* linux.namespaces: a path is joined, the others created; a missing path names both */
	const char *cfg = "{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":["
			  "{\"type\":\"pid\"},{\"type\":\"network\",\"path\":"
			  "\"/proc/self/ns/net\"},{\"type\":\"mount\"}]}}";
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_parse("config.json", cfg, strlen(cfg), &s, &err), 0);
	sbx_ns_set n;
	sbx_ns_init(&n);
	assert_int_equal(sbx_ns_from_spec(&n, s, &err), 0);
	assert_true(n.new_flags == (CLONE_NEWPID | CLONE_NEWNS));
	assert_int_equal(n.njoin, 1);
	assert_int_equal(n.flag[0], CLONE_NEWNET);
	/* not a namespace: the join fails naming the namespace */
	close(n.fd[0]);
	n.fd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(n.fd[0] >= 0);
	assert_int_equal(sbx_ns_join(&n, buf, sizeof buf), -1);
	assert_non_null(strstr(buf, "joining the network namespace: "));
	sbx_ns_close(&n);
	free(s->linux_.namespaces[1].path);
	s->linux_.namespaces[1].path = strdup("/nonexistent/ns/net");
	sbx_ns_init(&n);
	assert_int_equal(sbx_ns_from_spec(&n, s, &err), -1);
	char *msg = bwk_error_format(err);
	assert_non_null(strstr(msg, "linux.namespaces: network namespace /nonexistent/ns/net"));
	free(msg);
	bwk_error_free(err);
	err = NULL;
	sbx_ns_close(&n);
	/* too many to join: the fd given is closed, the error names the namespace */
	sbx_ns_init(&n);
	for (int i = 0; i < SBX_NS_MAX_JOIN; i++)
		assert_int_equal(
		    sbx_ns_add_fd(&n, CLONE_NEWUTS, open("/dev/null", O_RDONLY), "test", &err), 0);
	assert_int_equal(sbx_ns_add_fd(&n, CLONE_NEWUTS, open("/dev/null", O_RDONLY), "test", &err),
			 -1);
	bwk_error_free(err);
	sbx_ns_close(&n);
	bwk_oci_spec_free(s);
}

/* A user namespace held by an fd alone (the policy's, volume owners'): a process that joins it
 * sees the maps asked for. */
static void test_idmap_userns_fd(void **state)
{
	(void)state;
	sbx_idmap u = {0, (uint32_t)geteuid(), 1}, g = {0, (uint32_t)getegid(), 1};
	sbx_idmaps m = {.uid = &u, .gid = &g, .nuid = 1, .ngid = 1, .deny_setgroups = true};
	int ns = sbx_idmap_userns_fd(&m);
	if (ns < 0)
		skip(); /* user namespaces disabled here */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *text = NULL;
		size_t len;
		unsigned a = 9, b = 9, n = 9;
		if (setns(ns, CLONE_NEWUSER) < 0 ||
		    bwk_read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, true, &text, &len,
				     NULL) < 0 ||
		    sscanf(text, "%u %u %u", &a, &b, &n) != 3)
			_exit(2);
		_exit(a == 0 && b == u.outside && n == 1 ? 0 : 3);
	}
	int ws = -1;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	close(ns);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_caps),
	    cmocka_unit_test(test_cap_names),
	    cmocka_unit_test(test_sensitive_paths),
	    cmocka_unit_test(test_seccomp_profile),
	    cmocka_unit_test(test_seccomp_from_spec),
	    cmocka_unit_test(test_seccomp_flag_probe),
	    cmocka_unit_test(test_seccomp_memo),
	    cmocka_unit_test(test_caps_and_rlimit_names),
	    cmocka_unit_test(test_user_resolve),
	    cmocka_unit_test(test_envfile),
	    cmocka_unit_test(test_subid_parse),
	    cmocka_unit_test(test_subid_parse_refused),
	    cmocka_unit_test(test_subid_pick),
	    cmocka_unit_test(test_subid_explicit),
	    cmocka_unit_test(test_subid_record),
	    cmocka_unit_test(test_userns_restriction),
	    cmocka_unit_test(test_signal_names),
	    cmocka_unit_test(test_library_does_not_print),
	    cmocka_unit_test(test_idmap_format),
	    cmocka_unit_test(test_idmap_write),
	    cmocka_unit_test(test_namespaces),
	    cmocka_unit_test(test_idmap_userns_fd),
	    cmocka_unit_test(test_process_preserve_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
