/* libFuzzer target: `events --stats` over cgroup and /proc files (sandbox/oci_events.c). The
 * kernel writes them, but a container's process can make some of their contents (interface
 * names in net/dev), and a reader must never trust a format. Input: a first byte ('2' for
 * cgroup v2, else v1), then up to four parts separated by form feeds, written as: v1
 * blkio.throttle.io_service_bytes_recursive / v2 io.stat; v1 io_serviced_recursive / v2
 * hugetlb.2MB.events; hugetlb.2MB.usage_in_bytes or .current; /proc/PID/net/dev. The event
 * must be JSON that names the container. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

static int cgfd = -1, procfd = -1;
static char base[] = "/tmp/bwk-fuzz-events-XXXXXX";

/* The files setup() and the inputs made, and the directories, removed at exit. */
static void cleanup_base(void)
{
	static const char *const files[] = {"cg/blkio.throttle.io_service_bytes_recursive",
					    "cg/blkio.throttle.io_serviced_recursive",
					    "cg/hugetlb.2MB.usage_in_bytes",
					    "cg/io.stat",
					    "cg/hugetlb.2MB.events",
					    "cg/hugetlb.2MB.current",
					    "proc/net/dev",
					    "proc/ns/net"};
	static const char *const dirs[] = {"cg", "proc/net", "proc/ns", "proc"};
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b < 0)
		return;
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		(void)unlinkat(b, files[i], 0);
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		(void)unlinkat(b, dirs[i], AT_REMOVEDIR);
	close(b);
	(void)rmdir(base);
}

static void put(int dir, const char *name, const char *text, size_t len)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (len && write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
}

static void setup(void)
{
	if (!mkdtemp(base))
		abort();
	atexit(cleanup_base);
	int b = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b < 0 || mkdirat(b, "cg", 0700) || mkdirat(b, "proc", 0700) ||
	    mkdirat(b, "proc/net", 0700) || mkdirat(b, "proc/ns", 0700) ||
	    symlinkat("net:[0]", b, "proc/ns/net"))
		abort();
	cgfd = openat(b, "cg", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	procfd = openat(b, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(b);
	if (cgfd < 0 || procfd < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cgfd < 0)
		setup();
	if (!size)
		return 0;
	bool v2 = data[0] == '2';
	const char *v1names[] = {"blkio.throttle.io_service_bytes_recursive",
				 "blkio.throttle.io_serviced_recursive",
				 "hugetlb.2MB.usage_in_bytes"};
	const char *v2names[] = {"io.stat", "hugetlb.2MB.events", "hugetlb.2MB.current"};
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	for (int part = 0; part < 4; part++) {
		const char *ff = memchr(p, '\f', (size_t)(end - p));
		const char *stop = ff ? ff : end;
		if (part < 3)
			put(cgfd, (v2 ? v2names : v1names)[part], p, (size_t)(stop - p));
		else
			put(procfd, "net/dev", p, (size_t)(stop - p));
		p = ff ? ff + 1 : end;
	}
	ocirt_cgroup cg = {.v2 = v2, .n = 1, .open = true};
	cg.dirs[0] = (char *)(v2 ? "/sys/fs/cgroup/c" : "/sys/fs/cgroup/hugetlb/c");
	cg.fds[0] = cgfd;
	char *text = ocirt_stats_event("c", &cg, procfd);
	json_t *ev = text ? json_loads(text, 0, NULL) : NULL;
	if (!ev || strcmp(json_string_value(json_object_get(ev, "id")), "c"))
		abort();
	json_decref(ev);
	free(text);
	return 0;
}
