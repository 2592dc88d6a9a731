/* The body shared by the fuzz_audit_* reader targets: one input kind each. */
#ifndef BWK_FUZZ_AUDIT_H
#define BWK_FUZZ_AUDIT_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/audit.h"

static inline int fuzz_audit(const uint8_t *data, size_t size, bwk_workload_kind kind)
{
	/* exact-size copy so that ASan sees any overread */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	/* the secret engine is fuzzed on its own (fuzz_secrets_*); compiling it per input would
	 * starve the reader of iterations */
	bwk_audit_opts opts = {.no_secrets = true};
	bwk_findings *f = bwk_findings_new();
	bwk_error *err = NULL;
	if (bwk_audit_buffer("fuzz", buf, size, kind, &opts, f, &err) < 0)
		bwk_error_free(err);
	bwk_findings_free(f);
	free(buf);
	return 0;
}
#endif
