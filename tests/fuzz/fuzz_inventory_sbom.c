/* libFuzzer target: the SBOM reader (inventory_sbomin.c: CycloneDX and SPDX JSON, purls with
 * their percent-encoding and qualifiers), given the input as a file (a memfd). The source
 * table's detection of an SBOM is a few strstr over the first bytes (source_sbom.c). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bulwark/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("sbom", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		bwk_inventory *inv = NULL;
		bwk_error *err = NULL;
		if (bwk_inventory_read_sbom(path, &inv, &err) == 0)
			bwk_inventory_free(inv);
		bwk_error_free(err);
		/* and through the image source table's sbom row (detection, then the fd reader) */
		err = NULL;
		if (bwk_inventory_read_sbom_fd("sbom", fd, &inv, &err) == 0)
			bwk_inventory_free(inv);
		bwk_error_free(err);
	}
	close(fd);
	return 0;
}
