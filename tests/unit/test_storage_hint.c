/* Unit tests: the storage hint (sandbox/hint.c): the path and the flag named after a command
 * failed with EROFS or ENOSPC, from the tail of its stderr (untrusted text). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bulwark/log.h"

#define BWK_IN_SANDBOX
#include "sandbox/sandbox_private.h"

static const char *hint(const bwk_container_spec *s, const char *tail)
{
	static char out[768];
	return sbx_storage_hint(s, tail, strlen(tail), out, sizeof out) ? out : NULL;
}

static void test_read_only_root(void **state)
{
	(void)state;
	bwk_container_spec s = {0};
	/* nginx: the path before the error, quoted */
	const char *h = hint(&s, "nginx: [emerg] mkdir() \"/var/lib/nginx/body\" failed (30: "
				 "Read-only file system)\n");
	assert_non_null(h);
	assert_string_equal(h,
			    "the command failed after \"Read-only file system\" on "
			    "/var/lib/nginx/body: the root filesystem is read-only; make "
			    "/var/lib/nginx writable with a tmpfs at /var/lib/nginx or a volume "
			    "(bind DIR:/var/lib/nginx:rw), or the whole root with the read-write "
			    "setting");
	/* python: after it, in quotes */
	h = hint(&s, "OSError: [Errno 30] Read-only file system: '/srv/app/x.db'\n");
	assert_non_null(strstr(h, "on /srv/app/x.db: the root filesystem is read-only; make "
				  "/srv/app writable"));
	/* no path on the line: the general advice */
	h = hint(&s, "write failed: Read-only file system\n");
	assert_non_null(strstr(h, "a tmpfs at DIR or a volume"));
	/* the kernel's read-only views: nothing to advise */
	assert_null(hint(&s, "sh: can't create /proc/sys/vm/x: Read-only file system\n"));
	assert_null(hint(&s, "echo: write error: /sys/kernel/mm: Read-only file system\n"));
	assert_non_null(strstr(hint(&s, "/dev/shm/seg: No space left on device"),
			       "the tmpfs at /dev/shm is full; raise the tmpfs size"));
	/* no marker, or only on an earlier failure than a later ENOSPC */
	assert_null(hint(&s, "permission denied\n"));
	h = hint(&s, "a: /x: Read-only file system\nb: /tmp/y: No space left on device\n");
	assert_non_null(strstr(h, "on /tmp/y: the tmpfs at /tmp is full; raise the tmpfs size"));
}

static void test_mounts_and_sizes(void **state)
{
	(void)state;
	bwk_bind binds[] = {{.src = "/h", .dst = "/srv", .rw = false},
			    {.src = "/h2", .dst = "/srv/rw", .rw = true}};
	bwk_tmpfs tmpfs[] = {{.dst = "/data"}, {.dst = "/cache", .size = 1 << 20}};
	bwk_container_spec s = {.binds = binds, .nbinds = 2, .tmpfs = tmpfs, .ntmpfs = 2};
	assert_non_null(strstr(hint(&s, "touch: /srv/a: Read-only file system"),
			       "the volume at /srv is read-only; give it :rw"));
	/* the deepest mount wins: a writable volume inside the read-only one is no tmpfs */
	assert_non_null(strstr(hint(&s, "/srv/rw/f: No space left on device"),
			       "the host filesystem of the volume at /srv/rw is full"));
	assert_null(hint(&s, "/srv/rw/f: Read-only file system")); /* not one of ours */
	assert_non_null(strstr(hint(&s, "dd: /data/big: No space left on device"),
			       "the tmpfs at /data is full; raise the writable size"));
	assert_non_null(strstr(hint(&s, "dd: /cache/big: No space left on device"),
			       "raise the size= of its tmpfs"));
	assert_non_null(
	    strstr(hint(&s, "/run/x: No space left on device"), "the tmpfs size (/run"));
	s.read_write = true;
	assert_non_null(strstr(hint(&s, "apt: /var/lib/apt/lists/x: No space left on device"),
			       "the writable root is full; raise the writable size"));
}

/* /var's state directories (varfs.c): writable by default, so a full one names the bound */
static void test_var_state_dirs(void **state)
{
	(void)state;
	bwk_container_spec s = {.writable_var = true};
	assert_non_null(strstr(hint(&s, "dd: /var/lib/big: No space left on device"),
			       "on /var/lib/big: the writable layer of /var's state directories is "
			       "full; raise the writable size"));
	assert_non_null(strstr(hint(&s, "x: //var//log/a/b: No space left on device"),
			       "the writable layer of /var's state directories"));
	/* elsewhere, or off: not that layer */
	assert_null(strstr(hint(&s, "x: /var/www/a: No space left on device"), "writable layer"));
	assert_null(strstr(hint(&s, "x: /var/libx: No space left on device"), "writable layer"));
	s.writable_var = false;
	assert_null(strstr(hint(&s, "x: /var/lib/a: No space left on device"), "writable layer"));
	assert_true(sbx_varfs_holds("/var/tmp") && sbx_varfs_holds("/var/cache/apt/") &&
		    sbx_varfs_holds("/var/spool//cron") && sbx_varfs_holds("//var/log/"));
	assert_false(sbx_varfs_holds("/var") || sbx_varfs_holds("/var/www") ||
		     sbx_varfs_holds("/var/mail") || sbx_varfs_holds("/var/logs") ||
		     sbx_varfs_holds("/usr/var/lib") || sbx_varfs_holds("var/lib"));
}

static void test_hostile_text(void **state)
{
	(void)state;
	bwk_container_spec s = {0};
	/* escapes and control bytes never reach the caller's terminal */
	const char *h = hint(&s, "x: /a\x1b[2J\x07b: Read-only file system");
	assert_non_null(h);
	for (const char *p = h; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	/* a very long path is cut */
	char tail[1500];
	memset(tail, 'a', sizeof tail);
	tail[0] = '/';
	snprintf(tail + 1200, sizeof tail - 1200, ": Read-only file system");
	h = hint(&s, tail);
	assert_non_null(h);
	assert_true(strlen(h) < 767); /* whole, not cut by the buffer */
	assert_non_null(strstr(h, "or the whole root with the read-write setting"));
	/* the marker at the very end, without a newline, and a tail that is only the marker */
	assert_non_null(hint(&s, "Read-only file system"));
	assert_non_null(hint(&s, "No space left on device"));
}

/* Every hint, said without a caller's names: no flag, no backquoted field name. */
static const char *const tails[] = {"mkdir: /var/lib/nginx/body: Read-only file system",
				    "Read-only file system",
				    "/dev/shm/seg: No space left on device",
				    "/run/x: No space left on device",
				    "dd: /data/big: No space left on device",
				    "dd: /cache/big: No space left on device",
				    "apt: /var/lib/apt/lists/x: No space left on device"};

static bwk_container_spec sizes_spec(bwk_tmpfs *t)
{
	t[0] = (bwk_tmpfs){.dst = "/data"};
	t[1] = (bwk_tmpfs){.dst = "/cache", .size = 1 << 20};
	return (bwk_container_spec){.tmpfs = t, .ntmpfs = 2};
}

static void test_library_names_no_flag(void **state)
{
	(void)state;
	bwk_tmpfs t[2];
	bwk_container_spec s = sizes_spec(t);
	for (size_t i = 0; i < sizeof tails / sizeof *tails; i++) {
		bwk_container_spec rw = s;
		rw.read_write = i == sizeof tails / sizeof *tails - 1;
		const char *h = hint(&rw, tails[i]);
		assert_non_null(h);
		assert_null(strstr(h, "--"));
		assert_null(strchr(h, '`'));
	}
}

/* The CLI's names, as src/cli/output.c gives them from the option table: "--" + the key. */
static const char *as_flag(const char *key, void *data)
{
	static char buf[8][48];
	static int next;
	(void)data;
	char *b = buf[next++ % 8];
	snprintf(b, sizeof buf[0], "--%s", key);
	return b;
}

static void test_caller_names_the_flags(void **state)
{
	(void)state;
	bwk_output_set(&(bwk_output){.setting = as_flag});
	bwk_tmpfs t[2];
	bwk_container_spec s = sizes_spec(t);
	assert_string_equal(
	    hint(&s, tails[0]),
	    "the command failed after \"Read-only file system\" on "
	    "/var/lib/nginx/body: the root filesystem is read-only; make "
	    "/var/lib/nginx writable with --tmpfs /var/lib/nginx or a volume "
	    "(--volume DIR:/var/lib/nginx:rw), or the whole root with --read-write");
	assert_non_null(strstr(hint(&s, tails[2]), "raise --tmpfs-size"));
	assert_non_null(strstr(hint(&s, tails[3]), "raise --tmpfs-size (/run has a quarter"));
	assert_non_null(strstr(hint(&s, tails[4]), "raise --writable-size"));
	assert_non_null(strstr(hint(&s, tails[5]), "raise the size= of its --tmpfs"));
	s.read_write = true;
	assert_non_null(strstr(hint(&s, tails[6]), "root is full; raise --writable-size"));
	bwk_output_set(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_only_root),
	    cmocka_unit_test(test_mounts_and_sizes),
	    cmocka_unit_test(test_var_state_dirs),
	    cmocka_unit_test(test_hostile_text),
	    cmocka_unit_test(test_library_names_no_flag),
	    cmocka_unit_test(test_caller_names_the_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
