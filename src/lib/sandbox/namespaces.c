/* Namespaces, for both executors: one table of their names (the spec's linux.namespaces type,
 * the /proc/PID/ns entry, the CLONE_NEW* flag), the set a container creates and the ones it
 * joins, and the joining itself (user namespace last) with errors that name the namespace.
 * `bulwark run` creates its set with clone (run.c) and its cgroup namespace later (init.c);
 * create unshares it in two steps (oci_create.c: the user namespace first, to be mapped);
 * exec joins the init's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

static const struct {
	const char *type, *proc;
	int flag;
} ns_table[] = {
    {"user", "user", CLONE_NEWUSER},	   {"mount", "mnt", CLONE_NEWNS},
    {"pid", "pid", CLONE_NEWPID},	   {"uts", "uts", CLONE_NEWUTS},
    {"ipc", "ipc", CLONE_NEWIPC},	   {"network", "net", CLONE_NEWNET},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", SBX_CLONE_NEWTIME},
};
#define NS_COUNT (sizeof ns_table / sizeof *ns_table)

int sbx_ns_flag(const char *type)
{
	for (size_t i = 0; type && i < NS_COUNT; i++)
		if (!strcmp(type, ns_table[i].type))
			return ns_table[i].flag;
	return 0;
}

const char *sbx_ns_type(int flag)
{
	for (size_t i = 0; i < NS_COUNT; i++)
		if (ns_table[i].flag == flag)
			return ns_table[i].type;
	return "unknown";
}

const char *sbx_ns_proc_name(int flag)
{
	for (size_t i = 0; i < NS_COUNT; i++)
		if (ns_table[i].flag == flag)
			return ns_table[i].proc;
	return NULL;
}

size_t sbx_ns_describe(unsigned long flags, char *buf, size_t len)
{
	size_t off = 0;
	if (!len)
		return 0;
	buf[0] = 0;
	for (size_t i = 0; i < NS_COUNT; i++) {
		if (!(flags & (unsigned long)ns_table[i].flag))
			continue;
		int w = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", ns_table[i].type);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return off;
}

void sbx_ns_init(sbx_ns_set *n)
{
	memset(n, 0, sizeof *n);
	for (size_t i = 0; i < SBX_NS_MAX_JOIN; i++)
		n->fd[i] = -1;
}

void sbx_ns_close(sbx_ns_set *n)
{
	for (size_t i = 0; i < n->njoin; i++)
		if (n->fd[i] >= 0)
			close(n->fd[i]);
	n->njoin = 0;
}

int sbx_ns_add_fd(sbx_ns_set *n, int flag, int fd, const char *what, bwk_error **err)
{
	if (n->njoin >= SBX_NS_MAX_JOIN) {
		if (fd >= 0)
			close(fd);
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: too many namespaces to join (at most %d)", what,
				     SBX_NS_MAX_JOIN);
	}
	if (fd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "%s: the %s namespace", what,
				     sbx_ns_type(flag));
	n->fd[n->njoin] = fd;
	n->flag[n->njoin++] = flag;
	return 0;
}

int sbx_ns_from_spec(sbx_ns_set *n, const bwk_oci_spec *s, bwk_error **err)
{
	for (size_t i = 0; i < s->linux_.n_namespaces; i++) {
		const bwk_oci_namespace *ns = &s->linux_.namespaces[i];
		int flag = sbx_ns_flag(ns->type);
		if (!ns->path) {
			n->new_flags |= (unsigned long)flag;
			continue;
		}
		if (n->njoin >= SBX_NS_MAX_JOIN)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "linux.namespaces: too many paths");
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return bwk_error_set(err, BWK_E_NOTFOUND, errno,
					     "linux.namespaces: %s namespace %s", ns->type,
					     ns->path);
		n->fd[n->njoin] = fd;
		n->flag[n->njoin++] = flag;
	}
	return 0;
}

int sbx_ns_of_pid(sbx_ns_set *n, pid_t pid, const bwk_oci_spec *s, const char *id, bwk_error **err)
{
	for (size_t i = 0; i < s->linux_.n_namespaces && n->njoin < SBX_NS_MAX_JOIN; i++) {
		int flag = sbx_ns_flag(s->linux_.namespaces[i].type);
		const char *name = sbx_ns_proc_name(flag);
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name ? name : "?");
		int fd = name ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd < 0)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "container %s: %s", id,
					     path);
		n->fd[n->njoin] = fd;
		n->flag[n->njoin++] = flag;
	}
	return 0;
}

int sbx_ns_join(sbx_ns_set *n, char *why, size_t len)
{
	/* the user namespace last: as host root we may join any other namespace (an engine's
	 * network namespace is the host's user namespace's, which the container's root may not
	 * enter) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n->njoin; i++)
			if ((n->flag[i] == CLONE_NEWUSER) == (pass == 1)) {
				if (setns(n->fd[i], n->flag[i]) < 0) {
					int e = errno;
					snprintf(why, len, "joining the %s namespace: %s",
						 sbx_ns_type(n->flag[i]), strerror(e));
					errno = e;
					return -1;
				}
				close(n->fd[i]);
				n->fd[i] = -1;
			}
	return 0;
}

int sbx_ns_unshare(unsigned long flags, char *why, size_t len)
{
	if (!flags || unshare((int)flags) == 0)
		return 0;
	int e = errno;
	char names[128];
	sbx_ns_describe(flags, names, sizeof names);
	snprintf(why, len, "creating the %s namespace%s: %s", names, strchr(names, ',') ? "s" : "",
		 strerror(e));
	errno = e;
	return -1;
}

unsigned long sbx_ns_run_flags(const bwk_container_spec *s)
{
	unsigned long f = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	/* slirp and the bridge configure it from the host side once the child is released:
	 * it must exist from the clone on (--net none's: sbx_ns_run_child_flags) */
	if (s->net != BWK_NET_HOST && s->net != BWK_NET_NONE)
		f |= CLONE_NEWNET;
	return f;
}

unsigned long sbx_ns_run_child_flags(const bwk_container_spec *s)
{
	/* --net none: nobody outside needs it, and creating it (~0.5 ms: every pernet
	 * subsystem's set-up) overlaps the host side's id maps and layer mounts this way
	 * instead of lengthening its clone */
	return s->net == BWK_NET_NONE ? CLONE_NEWNET : 0;
}
