/* libFuzzer target: --systemd-cgroup's cgroupsPath (config.json, untrusted) → slice and unit
 * name (sandbox/oci_systemd.c). Input: the path. What it accepts must be a unit name of the
 * allowed characters, NUL-terminated within its buffer. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = malloc(size + 1);
	memcpy(path, data, size);
	path[size] = 0;
	char slice[OCIRT_UNIT_MAX], unit[OCIRT_UNIT_MAX];
	bwk_error *err = NULL;
	if (ocirt_systemd_unit(path, "fuzz", slice, unit, &err) == 0) {
		if (strlen(slice) >= OCIRT_UNIT_MAX || strlen(unit) >= OCIRT_UNIT_MAX ||
		    strspn(unit,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
			strlen(unit) ||
		    strchr(slice, '/') || strlen(unit) < 7 ||
		    strcmp(unit + strlen(unit) - 6, ".scope"))
			abort();
	}
	bwk_error_free(err);
	free(path);
	return 0;
}
