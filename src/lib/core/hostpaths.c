/* The one table of sensitive host paths (see hostpaths.h). Why each one is listed:
 * - /, /usr, /lib, /lib64, /bin, /sbin (and their merged-/usr homes): the host's programs and
 * libraries; writable, a container replaces what root runs next.
 * - /etc, /boot, /root, /home: host users, credentials, keys, cron jobs, the boot chain.
 * - /proc, /sys, /dev: kernel interfaces and devices (core_pattern, sysrq, raw disks).
 * - /run, /var/run: every daemon's sockets, engines' included.
 * - /var/lib/docker, /var/lib/containerd, /var/lib/kubelet: other containers' filesystems,
 *   secrets and pod credentials.
 * - /var/log: a writable host log directory lets the container plant symlinks that the host's
 *   log readers (kubelet, logrotate as root) follow: a known escape path. */
#include <stddef.h>
#include <string.h>

#include "core/hostpaths.h"

enum { KERNEL_TREE = 1, ENGINE = 2 };

static const struct {
	const char *path;
	unsigned flags;
} table[] = {
    {"/", 0},
    {"/etc", KERNEL_TREE},
    {"/proc", KERNEL_TREE},
    {"/sys", KERNEL_TREE},
    {"/dev", KERNEL_TREE},
    {"/boot", KERNEL_TREE},
    {"/root", 0},
    {"/home", 0},
    {"/run", 0},
    {"/var/run", 0},
    {"/var/lib/docker", 0},
    {"/var/lib/containerd", 0},
    {"/var/lib/kubelet", 0},
    {"/var/log", 0},
    {"/usr", 0},
    {"/lib", 0},
    {"/lib64", 0},
    {"/bin", 0},
    {"/sbin", 0},
    /* merged /usr: where /lib, /lib64, /bin and /sbin really are (a bind's canonical path) */
    {"/usr/lib", 0},
    {"/usr/lib64", 0},
    {"/usr/bin", 0},
    {"/usr/sbin", 0},
    {"/var/run/docker", ENGINE},
    {"/run/docker", ENGINE},
    {"/run/containerd", ENGINE},
    {"/var/run/containerd", ENGINE},
    {"/run/crio", ENGINE},
    {"/var/run/crio", ENGINE},
    {"/run/podman", ENGINE},
};

static const char *const engine_sockets[] = {"docker.sock", "containerd.sock", "crio.sock",
					     "podman.sock", "cri-dockerd.sock"};

/* `path` without repeated or trailing slashes, at most `cap`-1 bytes (longer: truncated,
 * which can only make a match less likely for paths longer than any in the table) */
static size_t norm(const char *path, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *q = path; *q && n + 1 < cap; q++) {
		if (*q == '/' && n && out[n - 1] == '/')
			continue;
		out[n++] = *q;
	}
	while (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = 0;
	return n;
}

static bool below(const char *p, size_t pl, const char *dir)
{
	size_t dl = strlen(dir);
	return dl > 1 && pl > dl && !strncmp(p, dir, dl) && p[dl] == '/';
}

bwk_hostpath_class bwk_hostpath_classify(const char *path, int socket)
{
	char p[4096];
	if (!path || path[0] != '/')
		return BWK_HOSTPATH_NONE;
	size_t pl = norm(path, p, sizeof p);
	const char *base = strrchr(p, '/') + 1;
	if (socket != 0)
		for (size_t i = 0; i < sizeof engine_sockets / sizeof *engine_sockets; i++)
			if (!strcmp(base, engine_sockets[i]))
				return BWK_HOSTPATH_ENGINE;
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if ((table[i].flags & ENGINE) &&
		    (!strcmp(p, table[i].path) || below(p, pl, table[i].path)))
			return BWK_HOSTPATH_ENGINE;
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		/* the directory itself, or a parent of it (/var/lib holds /var/lib/docker) */
		if (!strcmp(p, table[i].path) || below(table[i].path, strlen(table[i].path), p))
			return BWK_HOSTPATH_SYSTEM;
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if ((table[i].flags & KERNEL_TREE) && below(p, pl, table[i].path))
			return BWK_HOSTPATH_KERNEL_TREE;
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if (below(p, pl, table[i].path))
			return BWK_HOSTPATH_BELOW;
	return BWK_HOSTPATH_NONE;
}
