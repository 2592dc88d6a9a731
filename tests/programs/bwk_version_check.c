/* Test helper: reads lines "VERSION INTRODUCED [FIXED…]" on stdin and prints, per line, the C
 * matcher's verdict (1 affected, 0 not, -1 unparsable), so that the tests can compare it with
 * the reference semantics in tests/tools/check_cve_data.py. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bulwark/audit.h"

int main(void)
{
	char line[4096];
	while (fgets(line, sizeof(line), stdin)) {
		const char *tok[64];
		size_t n = 0;
		char *save = NULL;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 64;
		     t = strtok_r(NULL, " \t\n", &save))
			tok[n++] = t;
		if (n < 2) {
			puts("usage");
			continue;
		}
		printf("%d\n", bwk_version_affected(tok[0], tok[1], tok + 2, n - 2));
	}
	return 0;
}
