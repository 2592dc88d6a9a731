/* libFuzzer target: OSV advisory records (what `bulwark db import` reads from exports), and
 * the range evaluation of what the parser keeps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_VULN
#include "vuln/vuln_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so that ASan sees any overread */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	bwk_error *err = NULL;
	osv_record r;
	if (osv_parse(buf, size, &r, &err) == 0) {
		for (size_t i = 0; i < r.naff; i++) {
			char *fixed = NULL;
			int scheme = osv_scheme(r.aff[i].ecosystem);
			(void)osv_affects(r.aff[i].data, scheme < 0 ? BWK_VER_SEMVER : scheme,
					  "1.0", &fixed);
			free(fixed);
		}
		osv_record_free(&r);
	}
	bwk_error_free(err);
	free(buf);
	return 0;
}
