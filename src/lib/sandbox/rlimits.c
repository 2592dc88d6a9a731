/* Resource limits of the container's process: their names as specs and Docker's --ulimit spell
 * them, and setting them in the container before exec (both executors). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "sandbox/sandbox_private.h"

int bwk_rlimit_from_name(const char *name)
{
	static const struct {
		const char *name;
		int resource;
	} t[] = {{"RLIMIT_CPU", RLIMIT_CPU},	       {"RLIMIT_FSIZE", RLIMIT_FSIZE},
		 {"RLIMIT_DATA", RLIMIT_DATA},	       {"RLIMIT_STACK", RLIMIT_STACK},
		 {"RLIMIT_CORE", RLIMIT_CORE},	       {"RLIMIT_RSS", RLIMIT_RSS},
		 {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
		 {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
		 {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
		 {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
		 {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
	for (size_t i = 0; name && i < sizeof t / sizeof *t; i++)
		if (!strcmp(name, t[i].name))
			return t[i].resource;
	return -1;
}

int sbx_rlimits_apply(const bwk_rlimit *r, size_t n, char *why, size_t whylen)
{
	for (size_t i = 0; i < n && i < BWK_MAX_RLIMITS; i++) {
		struct rlimit rl = {r[i].soft, r[i].hard};
		if (setrlimit(r[i].resource, &rl) == 0)
			continue;
		int e = errno;
		char soft[24] = "unlimited", hard[24] = "unlimited";
		if (rl.rlim_cur != RLIM_INFINITY)
			snprintf(soft, sizeof soft, "%llu", (unsigned long long)rl.rlim_cur);
		if (rl.rlim_max != RLIM_INFINITY)
			snprintf(hard, sizeof hard, "%llu", (unsigned long long)rl.rlim_max);
		snprintf(why, whylen, "resource limit %d (soft %s, hard %s): %s%s", r[i].resource,
			 soft, hard, strerror(e),
			 e == EPERM ? " (a hard limit above bulwark's own cannot be granted)" : "");
		errno = e;
		return -1;
	}
	return 0;
}
