/* libFuzzer target: the keystore checks of the secret scan: PKCS#12 (the sniff, then GnuTLS's
 * parser driven with the well-known passwords under the iteration and bag bounds) and the
 * JKS/JCEKS entry walker. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN
#include "scan/secrets_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data, size);
	sec_keystore_result r;
	int found = sec_keystore_check(buf, size, &r);
	if (found != (r.keys > 0) || (found && !sec_keystore_sniff(buf, size)))
		abort();
	found = sec_jks_check(buf, size, &r);
	if (found != (r.keys > 0) || (found && !sec_jks_sniff(buf, size)))
		abort();
	free(buf);
	return 0;
}
