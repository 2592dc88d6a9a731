/* libFuzzer target: the Docker seccomp JSON profile parser (bulwark run --seccomp FILE), and
 * building a libseccomp filter from whatever it accepts (never loaded). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data, size);
	bwk_seccomp_profile *p = NULL;
	bwk_error *err = NULL;
	uint64_t caps = size ? (uint64_t)data[0] * 0x0101010101ull : 0;
	if (bwk_seccomp_profile_parse(buf, size, caps, &p, &err) == 0) {
		(void)bwk_seccomp_profile_rule_count(p);
		bwk_seccomp_profile_free(p);
	} else {
		bwk_error_free(err);
	}
	free(buf);
	return 0;
}
