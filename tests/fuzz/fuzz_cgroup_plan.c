/* libFuzzer target: the rootless cgroup decision's parsers (/proc/self/cgroup and mountinfo).
 * Input: PROC_CGROUP \0 MOUNTINFO. Mount points resolve inside a removed empty directory, so
 * nothing outside it is ever opened. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int root = -1;
	if (root < 0) {
		char dir[] = "/tmp/bwk-fuzz-cg-XXXXXX";
		if (!mkdtemp(dir))
			abort();
		root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		rmdir(dir); /* empty and gone: nothing resolves in it, nothing is left behind */
	}
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = 0;
	const char *mi = buf + strlen(buf);
	if (mi < buf + size)
		mi++;
	bwk_cgroup_plan p;
	int fd = bwk_cgroup_plan_rootless(root, buf, mi, 1000, &p);
	if (fd >= 0)
		abort(); /* nothing to open in an empty root */
	free(buf);
	return 0;
}
