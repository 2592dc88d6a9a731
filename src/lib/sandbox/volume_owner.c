/* Volumes for a container user that is not the directory's owner (root only; issue #18 §3).
 *
 * A host directory owned by host uid O (not root) is shown to the container through an
 * id-mapped mount (mount_setattr(MOUNT_ATTR_IDMAP), Linux >= 5.12) whose map makes O the
 * container's user: `-v DIR:/var/lib/postgresql/data` works for USER postgres without a chown
 * computed by hand, the host directory is not touched, and what the user writes there comes
 * back to the host owned by O — never by host root, never by an id of the container's slice.
 * The map holds that single id: every other owner shows as nobody, and a process of the
 * container other than its user (its root) cannot create files there (EOVERFLOW).
 *
 * Not mapped: a directory owned by host root (mapping it would make the container's writes
 * host root's), or by an id of the container's own slice (it shows as it is already). There,
 * and where a filesystem cannot be id-mapped, `:U` chowns the source to the container user's
 * host ids instead (Podman's), bounded and never following a link (chown_tree).
 *
 * The container's user is resolved here, on the host side, from the image's /etc/passwd and
 * /etc/group read through the layer mount the container will get (resolved inside it), with
 * the same function as the container's init. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define MAX_ACCOUNT_FILE  (1u << 20)
#define CHOWN_MAX_ENTRIES 1000000u
#define CHOWN_MAX_DEPTH	  256
/* bwk_bind.chown, said in words: no caller names it with a flag of its own */
#define CHOWN_SETTING "the volume's chown option"

static char *read_in_root(int root, const char *path)
{
	cleanup_close int fd = sbx_open_in_root(root, path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	for (ssize_t n; buf; len += (size_t)n) {
		if (len == cap) {
			if (cap >= MAX_ACCOUNT_FILE)
				break;
			cap *= 2;
			char *b = realloc(buf, cap + 1);
			if (!b)
				break;
			buf = b;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

/* The host id of container id `id` through the maps, or -1. */
static int64_t host_id(const sbx_idmap *m, int n, uint32_t id)
{
	for (int i = 0; i < n && i < 2; i++)
		if (id >= m[i].inside && id - m[i].inside < m[i].count)
			return (int64_t)m[i].outside + (id - m[i].inside);
	return -1;
}

static bool in_slice(const sbx_idmap *m, int n, uint32_t host)
{
	for (int i = 0; i < n && i < 2; i++)
		if (host >= m[i].outside && host - m[i].outside < m[i].count)
			return true;
	return false;
}

/* A user namespace whose only ids are on-disk `uid`/`gid` ↔ host `huid`/`hgid`, as an fd. */
static int owner_userns(uint32_t uid, uint32_t huid, uint32_t gid, uint32_t hgid)
{
	sbx_idmap um = {uid, huid, 1}, gm = {gid, hgid, 1};
	sbx_idmaps m = {.uid = &um, .gid = &gm, .nuid = 1, .ngid = 1};
	return sbx_idmap_userns_fd(&m);
}

typedef struct chown_walk {
	uid_t uid;
	gid_t gid;
	size_t entries;
} chown_walk;

/* `:U`: everything below the directory `dir` to uid:gid, fd-relative, links themselves
 * (never followed), bounded. */
static int chown_tree(int dir, int depth, chown_walk *w)
{
	if (depth > CHOWN_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	int dfd = dup(dir);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++w->entries > CHOWN_MAX_ENTRIES) {
			errno = EFBIG;
			rc = -1;
			break;
		}
		if (fchownat(dir, e->d_name, w->uid, w->gid, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -1;
			break;
		}
		cleanup_close int sub =
		    openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			rc = chown_tree(sub, depth + 1, w);
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

static int user_in_root(int root, const char *spec, bwk_user *u)
{
	cleanup_free char *passwd = read_in_root(root, "/etc/passwd");
	cleanup_free char *group = read_in_root(root, "/etc/group");
	char msg[256];
	return bwk_user_resolve(spec, passwd, group, u, msg, sizeof msg);
}

/* `fd` (O_PATH) and, for a directory, everything below it to uid:gid. */
static int chown_all(int fd, uid_t uid, gid_t gid)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	/* O_PATH cannot be read: the same directory again, for readdir */
	cleanup_close int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	chown_walk w = {uid, gid, 0};
	return d < 0 ? -1 : chown_tree(d, 0, &w);
}

int sbx_volume_chown_child(const sbx_ctx *ctx, int root, size_t i, int src)
{
	bwk_user u;
	if (user_in_root(root, ctx->spec->user, &u) < 0)
		return 0; /* the container's init says why */
	if (chown_all(src, u.uid, u.gid) < 0) {
		int e = errno;
		sbx_child_error("volume %s: giving it to the container's user %u:%u (the volume "
				"option U): %s%s",
				ctx->bind_paths[i], (unsigned)u.uid, (unsigned)u.gid,
				e == EFBIG ? "more than 1000000 files" : strerror(e),
				e == EPERM || e == EINVAL
				    ? " (unprivileged, only files of yours can be given, and only "
				      "to ids of your /etc/subuid range)"
				    : "");
		return -1;
	}
	return 0;
}

int sbx_volume_owners(const sbx_ctx *ctx, int root, const int *mnts, bwk_error **err)
{
	const bwk_container_spec *s = ctx->spec;
	const sbx_userns *un = &ctx->userns;
	bwk_user u;
	if (user_in_root(root, s->user, &u) < 0)
		return 0; /* the container's init says why */
	int64_t huid = host_id(un->uid, un->nuid, u.uid), hgid = host_id(un->gid, un->ngid, u.gid);
	if (huid < 0 || hgid < 0)
		return 0;
	for (size_t i = 0; i < s->nbinds; i++) {
		int src = ctx->bind_fds[i];
		struct stat st;
		if (fstat(src, &st) < 0)
			continue;
		if (s->binds[i].chown) {
			if (chown_all(src, (uid_t)huid, (gid_t)hgid) < 0) {
				return bwk_error_set(
				    err, BWK_E_IO, errno == EFBIG ? 0 : errno,
				    "volume %s: giving it to the container's user (%s)%s",
				    ctx->bind_paths[i], CHOWN_SETTING,
				    errno == EFBIG ? ": more than 1000000 files" : "");
			}
			continue;
		}
		if (st.st_uid == 0 || in_slice(un->uid, un->nuid, st.st_uid) || s->binds[i].chown)
			continue;
		uint32_t gid =
		    st.st_gid && !in_slice(un->gid, un->ngid, st.st_gid) ? st.st_gid : st.st_uid;
		cleanup_close int ns = owner_userns(st.st_uid, (uint32_t)huid, gid, (uint32_t)hgid);
		struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns};
		if (ns < 0 || mount_setattr(mnts[i], "", AT_EMPTY_PATH, &a, sizeof a) < 0)
			sbx_warn(s,
				 "volume %s: its owner (host uid %u) cannot be shown as the "
				 "container's user (%s): %s gives it to that user",
				 ctx->bind_paths[i], (unsigned)st.st_uid, strerror(errno),
				 CHOWN_SETTING);
	}
	return 0;
}
