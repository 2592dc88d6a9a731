/* libFuzzer target: the compose reader of `bulwark audit FILE` (YAML/JSON parsing, the
 * workload model and every workload rule). */
#include "fuzz_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_audit(data, size, BWK_WL_COMPOSE);
}
