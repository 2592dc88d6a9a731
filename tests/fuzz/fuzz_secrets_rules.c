/* libFuzzer target: the secret rules loader (a user's --rules file): YAML parsing, validation,
 * PCRE2 and Hyperscan compilation, then one scan with whatever was accepted. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN
#include "scan/secrets_private.h"

static int count(void *ctx, const bwk_secret_hit *h, bwk_error **err)
{
	(void)err;
	(*(size_t *)ctx) += h->secret_len > 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	/* exact-size copy so that ASan sees any overread */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	if (bwk_secrets_new_from(buf, size, NULL, &s, &err) == 0) {
		static const char text[] = "password = hunter2hunter2\nAKIAZ3MSJV4WLQFH2XRT\n"
					   "token: ghp_R4nd0mT0k3nV4lu3abcdefGHIJKLmnop1234\r\n";
		size_t n = 0;
		bwk_secrets_scan(s, "app/.env", text, sizeof(text) - 1, count, &n, NULL);
		bwk_secrets_free(s);
	} else {
		bwk_error_free(err);
	}
	free(buf);
	return 0;
}
