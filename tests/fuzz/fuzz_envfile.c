/* libFuzzer target: the --env-file parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data, size);
	bwk_strv v = {0};
	bwk_error *err = NULL;
	if (bwk_envfile_parse(buf, size, &v, &err) == 0) {
		for (size_t i = 0; i < v.n; i++)
			if (!v.v[i] || !v.v[i][0])
				abort();
		if (v.n && v.v[v.n])
			abort();
		bwk_strv_clear(&v);
	} else {
		bwk_error_free(err);
	}
	free(buf);
	return 0;
}
