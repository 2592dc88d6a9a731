/* libFuzzer target: image references (bwk_registry_ref_parse) and their string form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a C string: exactly size + 1 bytes so that ASan sees any overread */
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	bwk_registry_ref r;
	bwk_error *err = NULL;
	if (bwk_registry_ref_parse(s, &r, &err) == 0) {
		/* the string form parses back to the same reference */
		char *str = bwk_registry_ref_string(&r);
		bwk_registry_ref r2;
		bwk_error *e2 = NULL;
		if (bwk_registry_ref_parse(str, &r2, &e2) != 0 || strcmp(r.registry, r2.registry) ||
		    strcmp(r.repository, r2.repository))
			abort();
		bwk_registry_ref_free(&r2);
		free(str);
		bwk_registry_ref_free(&r);
	}
	bwk_error_free(err);
	free(s);
	return 0;
}
