/* Unit tests: privilege narrowing for readers. Runs in a child so the test runner keeps its
 * own privileges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/privs.h"

static unsigned long long status_field(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long v = ~0ULL;
	size_t n = strlen(name);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0)
			v = strtoull(line + n + 1, NULL, 16);
	if (f)
		fclose(f);
	return v;
}

static void test_reader_profile(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (bwk_privs_narrow(BWK_PRIVS_READER, false, NULL) < 0)
			_exit(10);
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
			_exit(11);
		unsigned long long allowed = 1ULL << 2; /* CAP_DAC_READ_SEARCH */
		if (geteuid() == 0) {
			if (status_field("CapEff:") != allowed ||
			    status_field("CapPrm:") != allowed)
				_exit(12);
			if (status_field("CapBnd:") & ~allowed)
				_exit(13);
		} else if (status_field("CapEff:") != 0) {
			_exit(14);
		}
		if (status_field("CapInh:") != 0 || status_field("CapAmb:") != 0)
			_exit(15);
		_exit(0);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_reader_profile)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
