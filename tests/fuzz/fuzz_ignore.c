/* libFuzzer target: the .bulwarkignore parser and its application to findings. */
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
	bwk_ignore *ig = NULL;
	bwk_error *err = NULL;
	if (bwk_ignore_parse(buf, size, "fuzz", &ig, &err) == 0) {
		bwk_findings *f = bwk_findings_new();
		bwk_finding_spec s = {.rule = &rule,
				      .loc = {.path = "a/b/c", .layer_index = -1},
				      .secret = "secretsecret",
				      .secret_len = 12,
				      .severity = -1};
		bwk_findings_add(f, &s, NULL);
		bwk_ignore_apply(ig, f);
		bwk_findings_free(f);
		bwk_ignore_free(ig);
	} else {
		bwk_error_free(err);
	}
	free(buf);
	return 0;
}
