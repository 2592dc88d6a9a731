/* libFuzzer target: --user resolution against an image's /etc/passwd and /etc/group. Input:
 * SPEC \0 PASSWD \0 GROUP (missing parts are empty). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = 0;
	const char *spec = buf;
	const char *passwd = buf + strlen(buf);
	if (passwd < buf + size)
		passwd++;
	const char *group = passwd + strlen(passwd);
	if (group < buf + size)
		group++;
	bwk_user u;
	char e[128];
	(void)bwk_user_resolve(spec, passwd, group, &u, e, sizeof e);
	free(buf);
	return 0;
}
