/* libFuzzer target: the Go build information finder and parser (inventory_go.c) and the
 * cargo-auditable finder and parser (inventory_rust.c). The input is
 * fed to the finder in chunks of the first byte's size (the stream of a layer comes in pieces
 * of any size), and what it finds is parsed; the input is also parsed as a blob directly. */
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
	size_t chunk = (size_t)data[0] + 1, n = size - 1;
	unsigned char *buf = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
	memcpy(buf, data + 1, n);
	inv_gofind *g = inv_gofind_new();
	inv_rustfind *r = inv_rustfind_new();
	for (size_t at = 0; at < n; at += chunk) {
		inv_gofind_feed(g, buf + at, n - at < chunk ? n - at : chunk);
		inv_rustfind_feed(r, buf + at, n - at < chunk ? n - at : chunk);
	}
	const unsigned char *blob;
	size_t len;
	bool old;
	bwk_error *err = NULL;
	inv_list l = {0};
	if (inv_gofind_result(g, &blob, &len, &old))
		inv_parse_gobuildinfo(blob, len, &l, &err);
	bwk_error_free(err);
	err = NULL;
	inv_parse_gobuildinfo(buf, n, &l, &err);
	bwk_error_free(err);
	err = NULL;
	const char *json;
	if (inv_rustfind_result(r, &json, &len)) {
		inv_parse_cargo_auditable(json, len, &l, &err);
		bwk_error_free(err);
		err = NULL;
	}
	inv_list_free(&l);
	inv_rustfind_free(r);
	inv_gofind_free(g);
	free(buf);
	return 0;
}
