/* Unit tests: the library's messages reach the output handler the caller installed
 * (bulwark/log.h) and nothing reaches fd 2; its settings are named by the caller. */
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

#include "bulwark/log.h"
#include "bulwark/secrets.h"
#include "core/util.h"

typedef struct seen {
	int n;
	bwk_log_level level;
	char msg[512];
} seen;

static void take(bwk_log_level level, const char *msg, void *data)
{
	seen *s = data;
	s->n++;
	s->level = level;
	snprintf(s->msg, sizeof s->msg, "%s", msg);
}

static const char *flag(const char *key, void *data)
{
	(void)data;
	return strcmp(key, "ca-cert") ? NULL : "--ca-cert";
}

/* fd 2 to a new temporary file; returns the saved fd 2 */
static int capture_fd2(int *file)
{
	char path[] = "/tmp/bwk-log-XXXXXX";
	*file = mkstemp(path);
	assert_true(*file >= 0);
	unlink(path);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(*file, 2), 2);
	return saved;
}

static off_t restore_fd2(int saved, int file)
{
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	struct stat st;
	assert_int_equal(fstat(file, &st), 0);
	close(file);
	return st.st_size;
}

/* A real library warning (a user rules file anyone may write) arrives at the handler, with its
 * level and without a prefix, and the library writes nothing to fd 2. */
static void test_library_warning_reaches_handler(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-logdir-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/rules.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("rules: []\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0666), 0);

	seen s = {0};
	bwk_output_set(&(bwk_output){.log = take, .data = &s});
	int file, saved = capture_fd2(&file);
	bwk_secrets *sec = NULL;
	bwk_error *err = NULL;
	(void)bwk_secrets_new(path, &sec, &err); /* the warning comes before the parse */
	bwk_warn(false, "a warning from %s", "util.c");
	off_t written = restore_fd2(saved, file);
	bwk_secrets_free(sec);
	bwk_error_free(err);
	bwk_output_set(NULL);
	unlink(path);
	rmdir(dir);

	assert_int_equal(written, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.level, BWK_LOG_WARNING);
	assert_string_equal(s.msg, "a warning from util.c");
}

static void test_rules_file_warning_text(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-logdir-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/rules.yaml", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0666), 0);
	seen s = {0};
	bwk_output_set(&(bwk_output){.log = take, .data = &s});
	bwk_secrets *sec = NULL;
	bwk_error *err = NULL;
	(void)bwk_secrets_new(path, &sec, &err);
	bwk_secrets_free(sec);
	bwk_error_free(err);
	bwk_output_set(NULL);
	unlink(path);
	rmdir(dir);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.msg, "the rules file is writable by anyone"));
	assert_null(strstr(s.msg, "bulwark:")); /* the prefix is the caller's */
}

/* Without a handler the library's messages are dropped, never written to fd 2. */
static void test_no_handler_writes_nothing(void **state)
{
	(void)state;
	bwk_output_set(NULL);
	int file, saved = capture_fd2(&file);
	bwk_warn(false, "dropped");
	bwk_log(BWK_LOG_NOTE, "dropped too");
	off_t written = restore_fd2(saved, file);
	assert_int_equal(written, 0);
	assert_false(bwk_log_progress());
}

/* quiet drops a warning before it reaches the handler */
static void test_quiet(void **state)
{
	(void)state;
	seen s = {0};
	bwk_output_set(&(bwk_output){.log = take, .data = &s, .progress = true});
	bwk_warn(true, "not said");
	assert_true(bwk_log_progress());
	bwk_output_set(NULL);
	assert_int_equal(s.n, 0);
}

/* A setting is named by the caller (the CLI: its flag) or said in words. */
static void test_setting_names(void **state)
{
	(void)state;
	assert_string_equal(bwk_setting("ca-cert", "a CA certificate"), "a CA certificate");
	bwk_output_set(&(bwk_output){.log = take, .setting = flag});
	assert_string_equal(bwk_setting("ca-cert", "a CA certificate"), "--ca-cert");
	assert_string_equal(bwk_setting("timeout", "the timeout"), "the timeout");
	bwk_output_set(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_library_warning_reaches_handler),
	    cmocka_unit_test(test_rules_file_warning_text),
	    cmocka_unit_test(test_no_handler_writes_nothing),
	    cmocka_unit_test(test_quiet),
	    cmocka_unit_test(test_setting_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
