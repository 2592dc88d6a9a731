/* libFuzzer target: the version order of each ecosystem (versions come from images and
 * advisories). Byte 0 picks the scheme; the rest is "A\nB". Checks antisymmetry too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/vuln.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = strndup((const char *)data + 1, size - 1);
	char *nl = strchr(s, '\n');
	const char *a = s, *b = "1.0";
	if (nl) {
		*nl = '\0';
		b = nl + 1;
	}
	bwk_version_scheme sc = (bwk_version_scheme)(data[0] % (BWK_VER_MAVEN + 1));
	int x, y;
	if (bwk_version_compare(sc, a, b, &x) == 0 && bwk_version_compare(sc, b, a, &y) == 0 &&
	    (x > 0) - (x < 0) != -((y > 0) - (y < 0)))
		abort();
	free(s);
	return 0;
}
