/* libFuzzer target: Podman's store read directly (podman_store.h). The first byte picks:
 * 0 one tar-split line; 1 a whole tar-split reassembled (uncompressed; every file entry reads
 * from one fixed file); 2 gzip'd tar-split; 3 name resolution over an images.json (the text up
 * to the first newline is the name). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include "image/image_private.h"
#include "image/podman_store.h"

static int open_fixed(void *ctx, const char *name, bwk_error **err)
{
	(void)ctx;
	if (strlen(name) % 7 == 3) /* some names are absent */
		return bwk_error_set(err, BWK_E_IO, 0, "%s: absent", name);
	int fd = memfd_create("file", MFD_CLOEXEC);
	static const char body[1000] = "content";
	if (fd < 0 || write(fd, body, sizeof(body)) != (ssize_t)sizeof(body)) {
		if (fd >= 0)
			close(fd);
		return bwk_error_set(err, BWK_E_IO, 0, "memfd");
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* exact-size copy so that ASan sees any overread */
	size_t n = size - 1;
	char *buf = malloc(n ? n : 1);
	memcpy(buf, data + 1, n);
	bwk_error *err = NULL;
	switch (data[0] % 4) {
	case 0: {
		ts_entry e;
		if (ts_parse_line(buf, n, &e, &err) == 0)
			ts_entry_free(&e);
		break;
	}
	case 1:
	case 2: {
		int fd = memfd_create("ts", MFD_CLOEXEC);
		if (fd < 0 || write(fd, buf, n) != (ssize_t)n) {
			if (fd >= 0)
				close(fd);
			break;
		}
		lseek(fd, 0, SEEK_SET);
		ts_reader *r = ts_reader_new(fd, data[0] % 4 == 2 ? BWK_COMP_GZIP : BWK_COMP_NONE,
					     open_fixed, NULL, "fuzz");
		char out[4096];
		uint64_t total = 0;
		ssize_t got;
		while ((got = ts_reader_read(r, out, sizeof(out), &err)) > 0 && total < (64u << 20))
			total += (uint64_t)got;
		ts_reader_free(r);
		break;
	}
	case 3: {
		const char *nl = memchr(buf, '\n', n);
		if (!nl)
			break;
		char *name = strndup(buf, (size_t)(nl - buf));
		char *id = NULL, *top = NULL;
		if (name && pstore_resolve(nl + 1, n - (size_t)(nl + 1 - buf), name, &id, &top,
					   &err) == 0) {
			free(id);
			free(top);
		}
		free(name);
		break;
	}
	}
	bwk_error_free(err);
	free(buf);
	return 0;
}
