/* libFuzzer target: the OCI runtime-spec parser (config.json of a bundle), the validator, the
 * lowering to the sandbox's description (mount options: tmpfs size=, mode= …), and the
 * serialiser's round trip: whatever parses must serialise, parse again and serialise to
 * the same text (a difference aborts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data, size);
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	if (bwk_oci_spec_parse("config.json", buf, size, &s, &err) < 0) {
		bwk_error_free(err);
		free(buf);
		return 0;
	}
	free(buf);
	if (bwk_oci_spec_validate("config.json", s, &err) < 0) {
		bwk_error_free(err);
		err = NULL;
	}
	bwk_oci_lowered low;
	if (bwk_oci_spec_lower(s, &low, &err) == 0)
		bwk_oci_lowered_free(&low);
	bwk_error_free(err);
	err = NULL;
	char *a = bwk_oci_spec_serialise(s, false, &err);
	if (!a)
		abort(); /* a parsed spec always has what the serialiser needs */
	bwk_oci_spec *s2 = NULL;
	if (bwk_oci_spec_parse("again", a, strlen(a), &s2, &err) < 0)
		abort();
	char *b = bwk_oci_spec_serialise(s2, false, &err);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	bwk_oci_spec_free(s2);
	bwk_oci_spec_free(s);
	return 0;
}
