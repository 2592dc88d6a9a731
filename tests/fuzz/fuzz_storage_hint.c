/* libFuzzer target: the storage hint (hint.c), which reads the tail of a container command's
 * stderr (its own output: untrusted). The first byte picks the spec's mounts; the rest is the
 * tail. Invariants: the line is NUL-terminated within its buffer and printable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SANDBOX
#include "sandbox/sandbox_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size || size > SBX_ERR_TAIL + 1)
		return 0;
	uint8_t sel = data[0];
	char *tail = malloc(size - 1 ? size - 1 : 1); /* exact size: ASan sees any overread */
	memcpy(tail, data + 1, size - 1);
	bwk_bind binds[] = {{.src = "/h", .dst = "/srv", .rw = sel & 1}, {.src = "/h", .dst = "/"}};
	bwk_tmpfs tmpfs[] = {{.dst = "/data", .size = sel & 2 ? 4096 : 0}, {.dst = NULL}};
	bwk_container_spec s = {.binds = binds,
				.nbinds = ((sel >> 2) & 3) > 2 ? 2 : (size_t)((sel >> 2) & 3),
				.tmpfs = tmpfs,
				.ntmpfs = (sel >> 4) & 1 ? 2 : 1,
				.read_write = sel & 0x20};
	char out[768];
	memset(out, 'X', sizeof out);
	if (sbx_storage_hint(&s, tail, size - 1, out, sizeof out)) {
		size_t n = strnlen(out, sizeof out);
		if (n == sizeof out)
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
				abort();
	}
	free(tail);
	return 0;
}
