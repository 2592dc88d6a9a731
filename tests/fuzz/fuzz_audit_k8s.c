/* libFuzzer target: the k8s reader of `bulwark audit FILE` (YAML/JSON parsing, the
 * workload model and every workload rule). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copy so that ASan sees any overread */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	/* the secret engine is fuzzed on its own (fuzz_secrets_*); compiling it per input would
	 * starve the reader of iterations */
	bwk_audit_opts opts = {.no_secrets = true};
	bwk_findings *f = bwk_findings_new();
	bwk_error *err = NULL;
	if (bwk_audit_buffer("fuzz", buf, size, BWK_WL_K8S, &opts, f, &err) < 0)
		bwk_error_free(err);
	bwk_findings_free(f);
	free(buf);
	return 0;
}
