/* Hosts that stop unprivileged user namespaces, and what to tell the user.
 *
 * Three switches do it: user.max_user_namespaces=0 (upstream), Debian's
 * kernel.unprivileged_userns_clone=0, and Ubuntu 23.10+'s
 * kernel.apparmor_restrict_unprivileged_userns=1. The last one lets the clone succeed and then
 * denies every capability inside the new namespace unless the caller's AppArmor profile allows
 * `userns`, so the failure would surface later as a baffling mount EPERM: it is checked before
 * the clone. bubblewrap and rootless Podman broke on those hosts with messages that named none
 * of this. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/sandbox.h"
#include "core/cleanup.h"
#include "core/util.h"

/* An integer sysctl under proc_root, -1 when absent or unreadable. */
static long sysctl_long(int procfd, const char *rel)
{
	cleanup_close int fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	char buf[32];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end = NULL;
	long v = strtol(buf, &end, 10);
	return end == buf ? -1 : v;
}

/* Whether this process runs under an AppArmor profile that is not "unconfined" (the bulwark
 * profile of contrib/apparmor/ attaches as "bulwark (unconfined)" and allows userns). */
static bool confined_by_profile(int procfd)
{
	char buf[256];
	cleanup_close int fd = openat(procfd, "self/attr/apparmor/current", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = openat(procfd, "self/attr/current", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, "unconfined") != 0;
}

char *bwk_userns_restriction(const char *proc_root)
{
	cleanup_close int procfd =
	    open(proc_root && *proc_root ? proc_root : "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return NULL;
	if (sysctl_long(procfd, "sys/user/max_user_namespaces") == 0)
		return xstrdup(
		    "user namespaces are disabled on this host (user.max_user_namespaces=0): "
		    "set it above 0 (sudo sysctl -w user.max_user_namespaces=15000, and "
		    "in /etc/sysctl.d/ to keep it), or run bulwark as root");
	if (sysctl_long(procfd, "sys/kernel/unprivileged_userns_clone") == 0)
		return xstrdup("unprivileged user namespaces are disabled on this host "
			       "(kernel.unprivileged_userns_clone=0): set it to 1 (sudo sysctl -w "
			       "kernel.unprivileged_userns_clone=1, and in /etc/sysctl.d/ to keep "
			       "it), or run bulwark as root");
	if (sysctl_long(procfd, "sys/kernel/apparmor_restrict_unprivileged_userns") == 1 &&
	    !confined_by_profile(procfd))
		return xstrdup(
		    "AppArmor restricts unprivileged user namespaces on this host "
		    "(kernel.apparmor_restrict_unprivileged_userns=1): install bulwark's "
		    "profile (sudo install -m 644 contrib/apparmor/bulwark "
		    "/etc/apparmor.d/bulwark && sudo apparmor_parser -r "
		    "/etc/apparmor.d/bulwark; see docs/run.md), or run bulwark as root");
	return NULL;
}
