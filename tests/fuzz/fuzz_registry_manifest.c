/* libFuzzer target: manifests and indexes as a registry serves them, and platform selection.
 * The first byte picks the Content-Type the response claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_REGISTRY
#include "registry/registry_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const char *const types[] = {NULL, MT_OCI_INDEX, MT_OCI_MANIFEST, MT_DOCKER_LIST,
					    MT_DOCKER_MANIFEST "; charset=utf-8"};
	size_t n = size - 1;
	char *buf = malloc(n ? n : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data + 1, n);
	bwk_error *err = NULL;
	reg_manifest m;
	if (reg_manifest_parse(buf, n, types[data[0] % 5], &m, &err) == 0) {
		if (m.is_index) {
			reg_index_select(&m, "linux/amd64");
			reg_index_select(&m, "linux/arm/v7");
		} else if (!reg_digest_valid(m.config.digest)) {
			abort();
		}
		for (size_t i = 0; i < m.ndescs; i++)
			if (!reg_digest_valid(m.descs[i].digest))
				abort();
		reg_manifest_free(&m);
	}
	bwk_error_free(err);
	free(buf);
	return 0;
}
