/* libFuzzer target: the runtime configuration parser (/etc/bulwark/runtime.conf). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data, size);
	bwk_oci_runtime_conf conf;
	bwk_error *err = NULL;
	if (bwk_oci_runtime_conf_parse(buf, size, &conf, &err) < 0) {
		if (!err)
			abort(); /* a failure always says why */
		bwk_error_free(err);
	}
	free(buf);
	return 0;
}
