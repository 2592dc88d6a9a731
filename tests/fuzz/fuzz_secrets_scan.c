/* libFuzzer target: the secret engine on arbitrary bytes with the built-in rules (Hyperscan
 * candidates, PCRE2 confirmation windows, CRLF trimming, line counting, generic-rule dedup).
 * The first byte picks a path so that path-scoped rules run too. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/secrets.h"

static int check(void *ctx, const bwk_secret_hit *h, bwk_error **err)
{
	(void)err;
	const char *base = ctx;
	/* the secret must lie inside the scanned buffer */
	if (h->secret < base || !h->secret_len || h->line == 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* built once per process: compiling the database is the slow part */
	static bwk_secrets *s;
	if (!s && bwk_secrets_new(NULL, &s, NULL) < 0)
		abort();
	static const char *const paths[] = {NULL,
					    "app/.env",
					    "root/.npmrc",
					    "root/.netrc",
					    "root/.aws/credentials",
					    "etc/shadow",
					    "root/.docker/config.json",
					    "root/.kube/config",
					    "src/app/main.go",
					    "app/Dockerfile"};
	const char *path = size ? paths[data[0] % 10] : NULL;
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	if (bwk_secrets_scan(s, path, buf, size, check, buf, NULL) < 0)
		abort();
	free(buf);
	return 0;
}
