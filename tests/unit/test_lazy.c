/* Unit test: libraries loaded on first use (src/lib/core/lazy.h). A wrapped function reaches
 * the real library, the library is opened once however many threads race to the first call,
 * and a library or symbol that cannot be loaded ends the process with status 2 and one line
 * naming the package to install. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "bulwark/log.h"
#include "core/lazy.h"

/* A descriptor like BWK_LAZY_LIB's, whose load routine counts its calls. */
static int zstd_loads;
static bwk_lazy_lib zstd_test;
static void zstd_test_load(void)
{
	__atomic_add_fetch(&zstd_loads, 1, __ATOMIC_RELAXED);
	bwk_lazy_open(&zstd_test);
}
static bwk_lazy_lib zstd_test = {.soname = BWK_SONAME_ZSTD,
				 .package = BWK_PKG_ZSTD,
				 .load = zstd_test_load,
				 .once = PTHREAD_ONCE_INIT};

/* Not used by libbulwark, so the test owns this wrapper; the library is not linked. */
BWK_LAZY_FN(zstd_test, unsigned, ZSTD_versionNumber, (void), ())

enum { THREADS = 8, CALLS = 1000 };
static pthread_barrier_t start;

static void *caller(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	uintptr_t bad = 0;
	for (int i = 0; i < CALLS; i++) {
		if (ZSTD_versionNumber() != ZSTD_VERSION_NUMBER)
			bad++;
		/* libbulwark's own wrapper, racing to its first call too */
		if (!ZSTD_isError((size_t)-1) || ZSTD_isError(0))
			bad++;
	}
	return (void *)bad;
}

static void test_concurrent_first_calls(void **state)
{
	(void)state;
	assert_null(dlopen(BWK_SONAME_ZSTD, RTLD_NOW | RTLD_NOLOAD)); /* not linked */
	pthread_t t[THREADS];
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, caller, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad;
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((uintptr_t)bad, 0);
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(zstd_loads, 1);
	void *h = dlopen(BWK_SONAME_ZSTD, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	assert_ptr_equal(h, zstd_test.handle);
	/* the same address as the dynamic loader's, every time */
	void *real = dlsym(h, "ZSTD_versionNumber");
	assert_ptr_equal(bwk_lazy_sym(&zstd_test, "ZSTD_versionNumber"), real);
	assert_ptr_equal(bwk_lazy_sym(&zstd_test, "ZSTD_versionNumber"), real);
	assert_int_equal(zstd_loads, 1);
	dlclose(h);
}

/* The CLI's output handler, for fatal messages only: the library hands them over before it
 * exits, and writes nothing to stderr itself. */
static void fatal_to_stderr(bwk_log_level level, const char *msg, void *data)
{
	(void)data;
	if (level == BWK_LOG_FATAL)
		fprintf(stderr, "bulwark: %s\n", msg);
}

/* Runs fn in a child with stderr captured; returns the exit status, stderr in buf. */
static int in_child(void (*fn)(void), char *buf, size_t len)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		bwk_output_set(&(bwk_output){.log = fatal_to_stderr});
		fn();
		_exit(99); /* not reached when loading fails as it must */
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < len && (r = read(p[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

BWK_LAZY_LIB(bogus_lib, "libbwk-no-such-library.so.7", "libbwk-bogus7")

static void call_bogus(void)
{
	bwk_lazy_sym(&bogus_lib, "bogus_function");
}

static void call_missing_symbol(void)
{
	bwk_lazy_sym(&zstd_test, "ZSTD_no_such_function");
}

static void test_missing_library_exits_2(void **state)
{
	(void)state;
	char err[1024];
	assert_int_equal(in_child(call_bogus, err, sizeof err), 2);
	assert_non_null(strstr(err, "bulwark: cannot load libbwk-no-such-library.so.7 ("));
	assert_non_null(strstr(err, "): install the Debian package libbwk-bogus7\n"));
	assert_non_null(strstr(err, "No such file"));		    /* dlerror's reason is kept */
	assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
}

static void test_missing_symbol_exits_2(void **state)
{
	(void)state;
	char err[1024];
	assert_int_equal(in_child(call_missing_symbol, err, sizeof err), 2);
	assert_non_null(
	    strstr(err, "bulwark: cannot load ZSTD_no_such_function from " BWK_SONAME_ZSTD " ("));
	assert_non_null(strstr(err, "install the Debian package " BWK_PKG_ZSTD "\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_first_calls),
	    cmocka_unit_test(test_missing_library_exits_2),
	    cmocka_unit_test(test_missing_symbol_exits_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
