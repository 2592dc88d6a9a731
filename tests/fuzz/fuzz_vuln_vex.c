/* libFuzzer target: VEX documents (`bulwark scan --vex FILE`: OpenVEX and CycloneDX VEX), and
 * the package URL parser behind product matching, on the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/vuln.h"
#define BWK_IN_VULN
#include "vuln/vuln_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so that ASan sees any overread */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	bwk_error *err = NULL;
	bwk_vex *v = NULL;
	if (bwk_vex_parse(buf, size, "fuzz.json", &v, &err) == 0)
		(void)bwk_vex_statement_count(v);
	bwk_vex_free(v);
	bwk_error_free(err);
	/* the input as a purl, both ways round against a real one */
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	static const char have[] =
	    "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12";
	(void)vex_purl_matches(s, have);
	(void)vex_purl_matches(have, s);
	(void)vex_purl_matches(s, s);
	free(s);
	free(buf);
	return 0;
}
