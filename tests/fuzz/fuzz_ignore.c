/* libFuzzer target: the .bulwarkignore parsers (line syntax, and YAML when the first byte is
 * odd) and their application to findings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/finding.h"

static const bwk_rule rule = {"fuzz-rule", BWK_CAT_SECRET, BWK_SEV_HIGH, "t", "d", "r", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so that ASan sees any overread */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	bwk_ignore *ig = bwk_ignore_new();
	bwk_error *err = NULL;
	const char *name = size && (data[0] & 1) ? "fuzz.yaml" : "fuzz";
	if (bwk_ignore_parse(ig, buf, size, name, 20794, &err) == 0) {
		bwk_findings *f = bwk_findings_new();
		bwk_finding_spec s = {.rule = &rule,
				      .loc = {.path = "a/b/c", .layer_index = -1},
				      .secret = "secretsecret",
				      .secret_len = 12,
				      .severity = -1};
		bwk_findings_add(f, &s, NULL);
		bwk_ignore_apply(ig, f);
		bwk_findings_free(f);
	} else {
		bwk_error_free(err);
	}
	bwk_ignore_free(ig);
	free(buf);
	return 0;
}
