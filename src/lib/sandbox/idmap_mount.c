/* The hardening policy's user namespace for an OCI bundle that has none (docs/oci-runtime.md,
 * "Hardening"). The container's ids are one 65536-id slice of bulwark's subordinate range
 * (subid.c, shared with `bulwark run`), claimed until `delete` removes the state directory.
 * Its files keep their apparent ownership through idmapped mounts: before anything runs in the
 * new user namespace, the create process, still host root, clones the root filesystem and each
 * bind mount's source (open_tree: fds, not paths, since a mapped root may not even traverse
 * the engine's data root, 0710 under Docker) and maps them with the namespace's ids
 * (mount_setattr MOUNT_ATTR_IDMAP); the container's init attaches them. On disk nothing
 * changes: a file the container's uid 1000 writes to a volume is owned by host uid 1000, as
 * without the policy. Whatever refuses (a filesystem without idmapped mounts, no free slice)
 * leaves the bundle without a user namespace, and the reason in the runtime log. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/idmap_mount.h"
#include "sandbox/sandbox_private.h"

#define CLAIM_FILE "userns.claim"

void ocirt_userns_init(ocirt_userns *u)
{
	memset(u, 0, sizeof *u);
	u->userns_fd = u->lock_fd = u->root_fd = -1;
	for (size_t i = 0; i < OCIRT_USERNS_MAX_MOUNTS; i++)
		u->mount_fd[i] = -1;
}

void ocirt_userns_release(ocirt_userns *u)
{
	if (u->userns_fd >= 0)
		close(u->userns_fd);
	if (u->lock_fd >= 0)
		close(u->lock_fd);
	if (u->root_fd >= 0)
		close(u->root_fd);
	for (size_t i = 0; i < OCIRT_USERNS_MAX_MOUNTS; i++)
		if (u->mount_fd[i] >= 0)
			close(u->mount_fd[i]);
	bool active = u->active;
	uint32_t start = u->uid_start;
	ocirt_userns_init(u);
	u->active = active;
	u->uid_start = start;
}

static void push(bwk_oci_strv *v, const char *m)
{
	v->v = xrealloc(v->v, (v->n + 2) * sizeof *v->v);
	v->v[v->n++] = xstrdup(m);
	v->v[v->n] = NULL;
}

static bool is_bind(const bwk_oci_mount *m, bool *recursive)
{
	*recursive = false;
	bool bind = m->type && !strcmp(m->type, "bind");
	for (size_t i = 0; i < m->options.n; i++) {
		if (!strcmp(m->options.v[i], "rbind"))
			*recursive = bind = true;
		else if (!strcmp(m->options.v[i], "bind"))
			bind = true;
	}
	return bind;
}

static void fs_name(int fd, char *buf, size_t len)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	static const struct {
		unsigned long magic;
		const char *name;
	} t[] = {{0x9fa0, "proc"},	  {0x62656572, "sysfs"}, {0x1373, "devtmpfs"},
		 {0x63677270, "cgroup2"}, {0x6969, "nfs"},	 {0x65735546, "fuse"},
		 {0x794c7630, "overlay"}, {0xef53, "ext4"},	 {0x01021994, "tmpfs"},
		 {0x58465342, "xfs"},	  {0x9123683e, "btrfs"}};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if ((unsigned long)sf.f_type == t[i].magic) {
			snprintf(buf, len, "%s", t[i].name);
			return;
		}
	snprintf(buf, len, "0x%lx", (unsigned long)sf.f_type);
}

/* A clone of `path` (relative to dirfd), mapped through the user namespace. -1 with *why. */
static int idmapped_clone(int dirfd, const char *path, bool recursive, int userns, char *why,
			  size_t whylen)
{
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	cleanup_close int m = open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (m < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	if (mount_setattr(m, "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0) {
		int e = errno;
		char fs[32];
		fs_name(m, fs, sizeof fs);
		if (e == EINVAL || e == EPERM || e == EOPNOTSUPP)
			snprintf(why, whylen,
				 "%s is on a filesystem (%s%s) that refuses idmapped mounts", path,
				 fs, recursive ? ", or one below it" : "");
		else
			snprintf(why, whylen, "%s: idmapped mount: %s", path, strerror(e));
		return -1;
	}
	return steal_fd(&m);
}

static void add_user_ns(bwk_oci_spec *s, uint32_t uid, uint32_t gid)
{
	bwk_oci_linux *l = &s->linux_;
	l->namespaces = xrealloc(l->namespaces, (l->n_namespaces + 1) * sizeof *l->namespaces);
	l->namespaces[l->n_namespaces++] = (bwk_oci_namespace){.type = xstrdup("user")};
	free(l->uid_mappings);
	free(l->gid_mappings);
	l->uid_mappings = xcalloc(1, sizeof *l->uid_mappings);
	l->gid_mappings = xcalloc(1, sizeof *l->gid_mappings);
	l->uid_mappings[0] = (bwk_oci_idmap){0, uid, SBX_SUBID_SLICE};
	l->gid_mappings[0] = (bwk_oci_idmap){0, gid, SBX_SUBID_SLICE};
	l->n_uid_mappings = l->n_gid_mappings = 1;
	l->set = true;
}

int ocirt_userns_prepare(bwk_oci_spec *s, int bundlefd, const char *rootfs, const char *refusal,
			 ocirt_userns *u, bwk_oci_strv *changes, bwk_error **err)
{
	ocirt_userns_init(u);
	if (bwk_oci_spec_namespace(s, "user"))
		return 0; /* the engine's own stands */
	char why[PATH_MAX + 128] = "";
	if (refusal)
		snprintf(why, sizeof why, "%s", refusal);
	else if (s->n_mounts > OCIRT_USERNS_MAX_MOUNTS)
		snprintf(why, sizeof why, "more than %d mounts", OCIRT_USERNS_MAX_MOUNTS);
	if (!*why) {
		cleanup_subid_db sbx_subid_db db = {0};
		bwk_error *e = NULL;
		uint32_t us = 0, gs = 0, n = 0;
		if (sbx_subid_load(&db, true, NULL, &e) < 0 ||
		    (u->lock_fd = sbx_subid_claim(&db, 0, 0, &us, &gs, &n, &e)) < 0) {
			snprintf(why, sizeof why, "no host ids for it: %s", e ? e->msg : "?");
			bwk_error_free(e);
		} else {
			u->uid_start = us;
			u->gid_start = gs;
			sbx_userns plan = {.uid = {{0, us, SBX_SUBID_SLICE}},
					   .gid = {{0, gs, SBX_SUBID_SLICE}},
					   .nuid = 1,
					   .ngid = 1,
					   .lock_fd = -1};
			u->userns_fd = sbx_userns_fd(&plan);
			if (u->userns_fd < 0)
				snprintf(why, sizeof why, "creating it: %s", strerror(errno));
		}
	}
	if (!*why)
		u->root_fd = idmapped_clone(AT_FDCWD, rootfs, true, u->userns_fd, why, sizeof why);
	for (size_t i = 0; !*why && i < s->n_mounts; i++) {
		bool rec;
		const bwk_oci_mount *m = &s->mounts[i];
		if (!is_bind(m, &rec) || !m->source)
			continue;
		u->mount_fd[i] =
		    idmapped_clone(bundlefd, m->source, rec, u->userns_fd, why, sizeof why);
		if (u->mount_fd[i] >= 0) {
			struct stat st;
			u->mount_dir[i] = fstat(u->mount_fd[i], &st) == 0 && S_ISDIR(st.st_mode);
		}
	}
	if (*why) {
		ocirt_userns_release(u);
		u->active = false;
		if (changes) {
			cleanup_free char *m =
			    xasprintf("harden: no user namespace added: %s (the container's root "
				      "is host root)",
				      why);
			push(changes, m);
		}
		return 0;
	}
	(void)err;
	u->active = true;
	add_user_ns(s, u->uid_start, u->gid_start);
	if (changes) {
		cleanup_free char *m = xasprintf(
		    "harden: user namespace added: container ids 0-%u are host ids %u-%u, the "
		    "root filesystem and bind mounts idmapped (their owners unchanged on disk)",
		    SBX_SUBID_SLICE - 1, u->uid_start, u->uid_start + (SBX_SUBID_SLICE - 1));
		push(changes, m);
	}
	return 0;
}

int ocirt_userns_commit(const ocirt_userns *u, int dirfd, bwk_error **err)
{
	if (!u->active)
		return 0;
	char self[64], statedir[PATH_MAX];
	snprintf(self, sizeof self, "/proc/self/fd/%d", dirfd);
	ssize_t l = readlink(self, statedir, sizeof statedir - 1);
	if (l <= 0)
		return bwk_error_set(err, BWK_E_IO, errno, "the state directory");
	statedir[l] = 0;
	char num[16];
	int n = snprintf(num, sizeof num, "%u", u->uid_start);
	cleanup_close int f =
	    openat(dirfd, CLAIM_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0 || write(f, num, (size_t)n) != n)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s", statedir, CLAIM_FILE);
	cleanup_free char *path = xasprintf("%s/%s", statedir, CLAIM_FILE);
	return sbx_subid_record(u->uid_start, path, err);
}
