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
	char **v = NULL;
	size_t n = 0;
	bwk_error *err = NULL;
	if (bwk_envfile_parse(buf, size, &v, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!v[i] || !v[i][0])
				abort();
		bwk_strv_free_n(v, n);
	} else {
		bwk_error_free(err);
	}
	free(buf);
	return 0;
}
