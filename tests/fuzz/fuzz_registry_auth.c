/* libFuzzer target: the WWW-Authenticate challenge, token answers and docker config.json
 * credentials. The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_REGISTRY
#include "registry/registry_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1;
	char *buf = malloc(n ? n : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data + 1, n);
	bwk_error *err = NULL;
	switch (data[0] % 3) {
	case 0: {
		reg_challenge c;
		if (reg_challenge_parse(buf, n, &c, &err) == 0) {
			if (c.scheme == REG_AUTH_BEARER && !c.realm)
				abort();
			reg_challenge_free(&c);
		}
		break;
	}
	case 1: {
		char *t = NULL;
		if (reg_token_parse(buf, n, &t, &err) == 0 && strpbrk(t, " \r\n"))
			abort();
		free(t);
		break;
	}
	default: {
		reg_creds c;
		char *helper = NULL;
		if (reg_creds_from_config(buf, n, "docker.io", &c, &helper, &err) == 0)
			reg_creds_free(&c);
		free(helper);
		break;
	}
	}
	bwk_error_free(err);
	free(buf);
	return 0;
}
