/* Unit test: atomic writes never replace a device or FIFO (a report written with -o /dev/null
 * once turned the host's /dev/null into a regular file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

static void test_atomic_write_to_device_and_fifo(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	assert_int_equal(bwk_write_file_atomic("/dev/null", "x", 1, 0644, &err), 0);
	struct stat st;
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));

	char dir[] = "/tmp/bwk-atomic-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char fifo[64], file[64];
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(file, sizeof file, "%s/file", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* a regular file is still replaced atomically */
	assert_int_equal(bwk_write_file_atomic(file, "abc", 3, 0600, &err), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 3);
	assert_int_equal(stat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	unlink(fifo);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_atomic_write_to_device_and_fifo)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
