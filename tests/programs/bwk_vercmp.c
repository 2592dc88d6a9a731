/* Test helper: compares versions with bulwark's version order, for cross-checks against the
 * ecosystems' own tools (tests/integration/test_vuln.py runs `dpkg --compare-versions`).
 * Reads "SCHEME A B" lines (SCHEME: dpkg, apk, pep440, semver) and prints -1, 0, 1 or
 * "invalid" per line. */
#include <stdio.h>
#include <string.h>

#include "bulwark/vuln.h"

int main(void)
{
	char line[1024], scheme[16], a[300], b[300];
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%15s %299s %299s", scheme, a, b) != 3)
			return 2;
		bwk_version_scheme s = !strcmp(scheme, "dpkg")	   ? BWK_VER_DPKG
				       : !strcmp(scheme, "apk")	   ? BWK_VER_APK
				       : !strcmp(scheme, "pep440") ? BWK_VER_PEP440
								   : BWK_VER_SEMVER;
		int c;
		if (bwk_version_compare(s, a, b, &c) < 0)
			puts("invalid");
		else
			printf("%d\n", c < 0 ? -1 : c > 0);
	}
	return 0;
}
