/* Unit tests: error objects and core helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/error.h"
#include "core/util.h"

static void test_error_chain(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	assert_int_equal(
	    bwk_error_set(&err, BWK_E_INPUT, 0, "gzip: unexpected end of %s", "stream"), -1);
	assert_non_null(err);
	assert_int_equal(bwk_error_wrap(&err, "reading layer %s", "sha256:ab"), -1);
	bwk_error_wrap(&err, "image.tar");
	assert_int_equal(bwk_error_code(err), BWK_E_INPUT);
	char *s = bwk_error_format(err);
	assert_string_equal(s,
			    "image.tar: reading layer sha256:ab: gzip: unexpected end of stream");
	free(s);
	bwk_error_free(err);
}

static void test_error_errno(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	bwk_error_set(&err, BWK_E_IO, ENOENT, "%s: cannot open", "x.tar");
	char *s = bwk_error_format(err);
	assert_string_equal(s, "x.tar: cannot open: No such file or directory");
	free(s);
	bwk_error_free(err);
	/* NULL err is allowed: the caller does not want details */
	assert_int_equal(bwk_error_set(NULL, BWK_E_IO, 0, "ignored"), -1);
	assert_int_equal(bwk_error_wrap(NULL, "ignored"), -1);
}

static void test_strerror_all(void **state)
{
	(void)state;
	for (int c = 0; c <= BWK_E_INTERNAL; c++) {
		assert_non_null(bwk_strerror((bwk_code)c));
		assert_string_not_equal(bwk_strerror((bwk_code)c), "unknown error");
	}
	assert_string_equal(bwk_strerror((bwk_code)999), "unknown error");
}

static void test_parse_size(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(bwk_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(bwk_parse_size("512m", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(bwk_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(bwk_parse_size("2MiB", &v), 0);
	assert_int_equal(v, 2ULL << 20);
	assert_int_equal(bwk_parse_size("-1", &v), -1);
	assert_int_equal(bwk_parse_size("", &v), -1);
	assert_int_equal(bwk_parse_size("12x", &v), -1);
	assert_int_equal(bwk_parse_size("99999999999999999999", &v), -1);
	assert_int_equal(bwk_parse_size("99999999999t", &v), -1);
}

static void test_strbuf_cap(void **state)
{
	(void)state;
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 8);
	bwk_strbuf_append(&sb, "hello ");
	bwk_strbuf_append(&sb, "world");
	assert_true(sb.truncated);
	assert_int_equal(sb.len, 8);
	char *s = bwk_strbuf_steal(&sb);
	assert_string_equal(s, "hello wo");
	free(s);
}

static void test_read_file_limits(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/f", dir);
	bwk_error *err = NULL;
	assert_int_equal(bwk_write_file_atomic(path, "0123456789", 10, 0600, &err), 0);
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 100, false, &data, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 5, false, &data, &len, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	err = NULL;
	/* symlinks are not followed unless asked */
	char link[256];
	snprintf(link, sizeof(link), "%s/l", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(bwk_read_file_at(AT_FDCWD, link, 100, false, &data, &len, &err), -1);
	bwk_error_free(err);
	err = NULL;
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void test_atomic_write_no_leftovers(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/out", dir);
	bwk_error *err = NULL;
	assert_int_equal(bwk_write_file_atomic(path, "a", 1, 0644, &err), 0);
	assert_int_equal(bwk_write_file_atomic(path, "bb", 2, 0644, &err), 0);
	char *data = NULL;
	size_t len;
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 10, false, &data, &len, &err), 0);
	assert_string_equal(data, "bb");
	free(data);
	/* the same without the fsync (runtime state): replaced whole, its mode, no leftovers */
	assert_int_equal(bwk_write_file_replace(path, "ccc", 3, 0600, &err), 0);
	assert_int_equal(bwk_read_file_at(AT_FDCWD, path, 10, false, &data, &len, &err), 0);
	assert_string_equal(data, "ccc");
	free(data);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* the directory holds only the target: no temp files left behind */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
	/* a write into a missing directory fails cleanly */
	assert_int_equal(bwk_write_file_atomic("/nonexistent-dir/x", "a", 1, 0644, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_IO);
	bwk_error_free(err);
	unlink(path);
	rmdir(dir);
}

static void test_sha256_and_entropy(void **state)
{
	(void)state;
	char hex[65];
	bwk_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	bwk_sha256 *h = bwk_sha256_new();
	bwk_sha256_update(h, "a", 1);
	bwk_sha256_update(h, "bc", 2);
	char hex2[65];
	bwk_sha256_final_hex(h, hex2);
	assert_string_equal(hex, hex2);
	bwk_sha256_free(h);
	assert_true(bwk_entropy("aaaaaaaa", 8) < 0.01);
	assert_true(bwk_entropy("abcdefgh", 8) > 2.99);
}

/* One cache base for every cache; without XDG_CACHE_HOME and HOME (services, cron, CI steps)
 * the passwd entry's home, so that the secret rules are not recompiled on every run. */
static void test_user_cache_dir(void **state)
{
	(void)state;
	char *keep_x = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	char *keep_h = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	setenv("HOME", "/h", 1);
	char *d = bwk_user_cache_dir();
	assert_string_equal(d, "/x/cache/bulwark");
	free(d);
	setenv("XDG_CACHE_HOME", "relative", 1); /* not absolute: ignored, as the spec says */
	d = bwk_user_cache_dir();
	assert_string_equal(d, "/h/.cache/bulwark");
	free(d);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	struct passwd *pw = getpwuid(geteuid());
	d = bwk_user_cache_dir();
	if (pw && pw->pw_dir[0] == '/' && strcmp(pw->pw_dir, "/")) {
		char want[4096];
		snprintf(want, sizeof(want), "%s/.cache/bulwark", pw->pw_dir);
		assert_non_null(d);
		assert_string_equal(d, want);
	} else {
		assert_null(d);
	}
	free(d);
	if (keep_x)
		setenv("XDG_CACHE_HOME", keep_x, 1);
	if (keep_h)
		setenv("HOME", keep_h, 1);
	free(keep_x);
	free(keep_h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_chain),
	    cmocka_unit_test(test_user_cache_dir),
	    cmocka_unit_test(test_error_errno),
	    cmocka_unit_test(test_strerror_all),
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_strbuf_cap),
	    cmocka_unit_test(test_read_file_limits),
	    cmocka_unit_test(test_atomic_write_no_leftovers),
	    cmocka_unit_test(test_sha256_and_entropy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
