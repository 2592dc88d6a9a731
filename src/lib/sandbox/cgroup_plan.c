/* Can an unprivileged `bulwark run` limit its container as a whole? Only inside a cgroup v2
 * subtree delegated to the user (systemd's Delegate=yes, a scope made with systemd-run): the
 * decision reads /proc/self/cgroup, mountinfo and the cgroup's files, and is kept apart from
 * the mechanism (cgroups.c) so that fixture trees can test it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define MAX_PROC_CGROUP (64u << 10)
#define MAX_MOUNTINFO	(4u << 20)

/* The cgroup where bulwark moves the processes it finds in a delegated cgroup, which must be
 * empty before it can enable controllers for its children (cgroup v2's "no internal
 * processes" rule). Shared with cgroups.c. */
const char sbx_cgroup_origin[] = "bulwark-origin";

/* The line starting at p, NUL-terminated in place; returns the next one or NULL. */
static char *cut_line(char *p)
{
	char *nl = strchr(p, '\n');
	if (!nl)
		return NULL;
	*nl = 0;
	return nl + 1;
}

/* Split a mountinfo line into its space-separated fields, in place; at most `max`. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	for (char *p = line; *p && n < max;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		f[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo (octal). */
static bool unescape(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = in; *p; p++) {
		char c = *p;
		if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			c = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		}
		if (o + 1 >= cap || c == 0)
			return false;
		out[o++] = c;
	}
	out[o] = 0;
	return true;
}

static bool has_word(const char *list, const char *word, char sep)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && (p[len - 1] == '\n' || p[len - 1] == ' '))
			len--;
		if (len == wl && !memcmp(p, word, wl))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

typedef struct mounts {
	bool found;
	char root[4096], point[512];	 /* of the cgroup2 mount holding our cgroup */
	bool v1_memory, v1_pids, v1_cpu; /* controllers bound to cgroup v1 hierarchies */
} mounts;

/* Is `path` (our cgroup) inside a mount whose root is `root`? */
static bool under(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (!strcmp(root, "/"))
		return true;
	return !strncmp(path, root, n) && (path[n] == 0 || path[n] == '/');
}

static void scan_mountinfo(const char *text, const char *cgpath, mounts *m)
{
	cleanup_free char *copy = xstrndup(text, MAX_MOUNTINFO);
	for (char *line = copy, *next; line; line = next) {
		next = cut_line(line);
		char *f[64];
		size_t n = split_fields(line, f, 64), dash = 6;
		while (dash < n && strcmp(f[dash], "-"))
			dash++;
		if (dash + 4 > n)
			continue; /* malformed: no "- fstype source superopts" */
		const char *type = f[dash + 1], *super = f[dash + 3];
		if (!strcmp(type, "cgroup")) {
			m->v1_memory |= has_word(super, "memory", ',');
			m->v1_pids |= has_word(super, "pids", ',');
			m->v1_cpu |= has_word(super, "cpu", ',');
			continue;
		}
		if (m->found || strcmp(type, "cgroup2"))
			continue;
		char root[sizeof m->root], point[sizeof m->point];
		if (!unescape(f[3], root, sizeof root) || !unescape(f[4], point, sizeof point) ||
		    root[0] != '/' || point[0] != '/' || !under(cgpath, root))
			continue;
		m->found = true;
		memcpy(m->root, root, sizeof root);
		memcpy(m->point, point, sizeof point);
	}
}

/* The path of the "0::" line (cgroup v2), or false. */
static bool v2_path(const char *text, char *out, size_t cap)
{
	size_t len = strnlen(text, MAX_PROC_CGROUP);
	for (const char *p = text; p && p < text + len;) {
		const char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
		if (ll > 3 && !memcmp(p, "0::/", 4)) {
			if (ll - 3 >= cap)
				return false;
			memcpy(out, p + 3, ll - 3);
			out[ll - 3] = 0;
			return true;
		}
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

static int open_how(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	return bwk_openat2(dirfd, path, (uint64_t)(flags | O_CLOEXEC), 0, resolve);
}

/* mount point + path, for messages */
static void where(const bwk_cgroup_plan *p, char *out, size_t cap)
{
	snprintf(out, cap, "%.255s%.300s", p->mount, strcmp(p->path, "/") ? p->path : "");
}

/* The directory and the two files a delegation hands over must all be the user's. */
static bool owned(int cfd, uint32_t uid, bwk_cgroup_plan *out)
{
	static const char *const files[] = {".", "cgroup.procs", "cgroup.subtree_control"};
	char w[560];
	where(out, w, sizeof w);
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		if (fstatat(cfd, files[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			snprintf(out->why, sizeof out->why, "cgroup v2 %s has no %s: %s", w,
				 files[i], strerror(errno));
			return false;
		}
		if (st.st_uid != uid) {
			snprintf(out->why, sizeof out->why,
				 "cgroup v2 not delegated to uid %u (%s%s%s is owned by uid %u)",
				 uid, w, i ? "/" : "", i ? files[i] : "", (unsigned)st.st_uid);
			return false;
		}
	}
	return true;
}

static void missing_controllers(const mounts *m, uint32_t uid, bwk_cgroup_plan *out)
{
	char list[64] = "";
	bool all_v1 = true;
	const struct {
		bool have, v1;
		const char *name;
	} c[] = {{out->memory, m->v1_memory, "memory"},
		 {out->pids, m->v1_pids, "pids"},
		 {out->cpu, m->v1_cpu, "cpu"}};
	for (size_t i = 0; i < 3; i++) {
		if (c[i].have)
			continue;
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", c[i].name);
		all_v1 &= c[i].v1;
	}
	if (!list[0])
		return;
	char w[560];
	where(out, w, sizeof w);
	snprintf(out->why, sizeof out->why,
		 "cgroup v2 %s is delegated to uid %u but offers no %s controller (%s)", w, uid,
		 list,
		 all_v1 ? "this host binds it to a cgroup v1 hierarchy"
			: "its parent cgroup does not delegate it");
}

int bwk_cgroup_plan_rootless(int root, const char *proc_cgroup, const char *mountinfo, uint32_t uid,
			     bwk_cgroup_plan *out)
{
	memset(out, 0, sizeof *out);
	char cgpath[sizeof out->path];
	if (!proc_cgroup || !v2_path(proc_cgroup, cgpath, sizeof cgpath)) {
		snprintf(out->why, sizeof out->why,
			 "no cgroup v2 entry in /proc/self/cgroup (a cgroup v1 host)");
		return -1;
	}
	mounts m = {0};
	scan_mountinfo(mountinfo ? mountinfo : "", cgpath, &m);
	out->v1_memory = m.v1_memory;
	if (!m.found) {
		snprintf(out->why, sizeof out->why,
			 "no cgroup2 filesystem mounted that holds cgroup %.500s", cgpath);
		return -1;
	}
	/* the path inside the mount; our own leaf stands for the cgroup it was made in */
	const char *rel = strcmp(m.root, "/") ? cgpath + strlen(m.root) : cgpath;
	snprintf(out->path, sizeof out->path, "%s", rel[0] ? rel : "/");
	snprintf(out->mount, sizeof out->mount, "%s", m.point);
	char *slash = strrchr(out->path, '/');
	if (slash && !strcmp(slash + 1, sbx_cgroup_origin))
		*(slash == out->path ? slash + 1 : slash) = 0;

	cleanup_close int mfd =
	    open_how(root, m.point, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	const char *below = out->path[1] ? out->path + 1 : ".";
	cleanup_close int cfd =
	    mfd < 0 ? -1
		    : open_how(mfd, below, O_RDONLY | O_DIRECTORY,
			       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (cfd < 0) {
		char w[560];
		where(out, w, sizeof w);
		snprintf(out->why, sizeof out->why, "cannot open cgroup %s: %s", w,
			 strerror(errno));
		return -1;
	}
	if (!owned(cfd, uid, out))
		return -1;
	out->delegated = true;
	cleanup_free char *ctl = NULL;
	size_t len;
	if (bwk_read_file_at(cfd, "cgroup.controllers", 4096, false, &ctl, &len, NULL) == 0) {
		out->memory = has_word(ctl, "memory", ' ');
		out->pids = has_word(ctl, "pids", ' ');
		out->cpu = has_word(ctl, "cpu", ' ');
	}
	missing_controllers(&m, uid, out);
	return steal_fd(&cfd);
}
