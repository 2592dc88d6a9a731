/* libFuzzer target: the outer-archive member index (ustar, pax, GNU long names). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include "image/image_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	tar_index idx = {0};
	bwk_error *err = NULL;
	if (tar_index_build(fd, "fuzz", &idx, &err) == 0) {
		tar_index_find(&idx, "manifest.json");
		blob_src s = {.dirfd = -1, .tarfd = fd, .idx = idx};
		char *doc = NULL;
		size_t len = 0;
		if (blob_src_read_all(&s, "index.json", 1 << 20, &doc, &len, &err) == 0)
			free(doc);
		tar_index_free(&idx);
	}
	bwk_error_free(err);
	close(fd);
	return 0;
}
