/* libFuzzer target: the package database parsers of the inventory (dpkg status, apk installed,
 * Python METADATA, npm package.json and package-lock.json, os-release, Java archives) and the path
 * classifier. The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN
#include "scan/inventory_private.h"

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
	inv_list l = {0};
	switch (data[0] % 8) {
	case 0:
		inv_parse_dpkg(buf, n, &l, &err);
		break;
	case 1:
		inv_parse_apk(buf, n, &l, &err);
		break;
	case 2:
		inv_parse_python(buf, n, &l, &err);
		break;
	case 3:
		inv_parse_npm(buf, n, &l, &err);
		break;
	case 4: {
		inv_osrel o = {0};
		inv_parse_os_release(buf, n, &o, &err);
		inv_osrel_free(&o);
		break;
	}
	case 5:
		inv_parse_java(buf, n, &l, &err);
		break;
	case 6:
		inv_parse_npm_lock(buf, n, &l, &err);
		break;
	default: {
		char *path = strndup(buf, n);
		(void)inv_kind_of(path);
		free(path);
		break;
	}
	}
	inv_list_free(&l);
	bwk_error_free(err);
	free(buf);
	return 0;
}
