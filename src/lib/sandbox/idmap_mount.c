/* The hardening policy's user namespace for an OCI bundle that has none (docs/oci-runtime.md,
 * "Hardening"). The container's ids are one 65536-id slice of bulwark's subordinate range
 * (subid.c, shared with `bulwark run`), claimed until `delete` removes the state directory.
 * Its files keep their apparent ownership through idmapped mounts: before anything runs in the
 * new user namespace, the create process, still host root, clones the root filesystem and each
 * bind mount's source (open_tree: fds, not paths, since a mapped root may not even traverse
 * the engine's data root, 0710 under Docker) and maps them with the namespace's ids
 * (mount_setattr MOUNT_ATTR_IDMAP); the container's init attaches them. overlayfs refuses to be
 * idmapped itself, so an overlay root is mounted anew from its layers, each idmapped. On disk
 * nothing changes: a file the container's uid 1000 writes to a volume is owned by host uid 1000, as
 * without the policy. Whatever refuses (a filesystem without idmapped mounts, no free slice)
 * leaves the bundle without a user namespace, and the reason in the runtime log. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
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
	u->userns_fd = u->lock_fd = u->root_fd = u->upper_parent_fd = -1;
	for (size_t i = 0; i < OCIRT_USERNS_MAX_MOUNTS; i++)
		u->mount_fd[i] = -1;
	for (size_t i = 0; i < BWK_MAX_LOWER_LAYERS; i++)
		u->lower_fd[i] = -1;
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
	for (size_t i = 0; i < u->n_lower; i++)
		if (u->lower_fd[i] >= 0)
			close(u->lower_fd[i]);
	if (u->upper_parent_fd >= 0)
		close(u->upper_parent_fd);
	bool active = u->active;
	uint32_t start = u->uid_start;
	ocirt_userns_init(u);
	u->active = active;
	u->uid_start = start;
}

static void push(bwk_strv *v, const char *m)
{
	(void)bwk_strv_push(v, m, NULL); /* a few notes in a list of a few: cannot fail */
}

bool ocirt_mount_is_bind(const bwk_oci_mount *m, bool *recursive)
{
	bwk_oci_mount_opts o;
	/* validated before (spec_validate.c): a failure here is not a bind */
	bool bind = bwk_oci_mount_opts_parse(m, 0, &o, NULL) == 0 && o.bind;
	*recursive = bind && (o.flags & MS_REC);
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
	return ocirt_idmapped_clone(dirfd, path, recursive, recursive, userns, why, whylen);
}

int ocirt_idmapped_clone(int dirfd, const char *path, bool clone_rec, bool map_rec, int userns,
			 char *why, size_t whylen)
{
	unsigned rec = map_rec ? AT_RECURSIVE : 0;
	cleanup_close int m = open_tree(
	    dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (clone_rec ? AT_RECURSIVE : 0));
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
				 fs, map_rec ? ", or one below it" : "");
		else
			snprintf(why, whylen, "%s: idmapped mount: %s", path, strerror(e));
		return -1;
	}
	return steal_fd(&m);
}

/* mountinfo's octal escapes (\040 …) undone in place. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else
			*o++ = *p;
	}
	*o = 0;
}

/* The super options of the overlay mounted at `path` (mountinfo, the last such line). */
static char *overlay_options(const char *path)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20, true, &data, &len, NULL) <
	    0)
		return NULL;
	char *found = NULL, *save = NULL;
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS…] - FSTYPE SOURCE SUPEROPTS */
		char *f[6] = {0}, *p = l;
		for (int i = 0; i < 5 && p; i++) {
			f[i] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = 0;
		}
		char *dash = p ? strstr(p, " - ") : NULL;
		if (!f[4] || !dash)
			continue;
		unescape(f[4]);
		char *fs = dash + 3, *src = strchr(fs, ' ');
		char *opts = src ? strchr(src + 1, ' ') : NULL;
		if (!opts || strncmp(fs, "overlay ", 8) || strcmp(f[4], path))
			continue;
		free(found);
		found = xstrdup(opts + 1);
	}
	return found;
}

static const char *opt_value(char *opts, const char *key)
{
	size_t kl = strlen(key);
	for (char *p = opts; p && *p;) {
		char *next = strchr(p, ',');
		if (next)
			*next++ = 0;
		if (!strncmp(p, key, kl) && p[kl] == '=')
			return p + kl + 1;
		p = next;
	}
	return NULL;
}

static int overlay_mount(ocirt_userns *u, const char *opts, char *why, size_t whylen);

/* The overlay at `rootfs` mounted anew from its layers, each idmapped (u->root_fd). 0, or -1
 * with *why. */
static int overlay_layers(ocirt_userns *u, const char *rootfs, char *why, size_t whylen)
{
	cleanup_free char *opts = overlay_options(rootfs);
	if (!opts) {
		snprintf(why, whylen, "%s: its overlay mount is not in /proc/self/mountinfo",
			 rootfs);
		return -1;
	}
	cleanup_free char *o1 = xstrdup(opts), *o2 = xstrdup(opts), *o3 = xstrdup(opts);
	const char *lower = opt_value(o1, "lowerdir"), *upper = opt_value(o2, "upperdir"),
		   *work = opt_value(o3, "workdir");
	if (!lower || !upper || !work || strstr(opts, "lowerdir+") || strstr(opts, "datadir")) {
		snprintf(why, whylen,
			 "%s: an overlay without upperdir and workdir (or with data "
			 "layers)",
			 rootfs);
		return -1;
	}
	/* relative layers (Docker's short links, when the options are long) are relative to the
	 * directory above the container's: overlay2/<id>/merged → overlay2 */
	cleanup_free char *base = xstrdup(rootfs);
	for (int i = 0; i < 2; i++) {
		char *sl = strrchr(base, '/');
		if (sl && sl != base)
			*sl = 0;
	}
	cleanup_close int basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *lw = xstrdup(lower);
	for (char *p = lw; p && *p;) {
		char *next = p;
		while (*next && !(*next == ':' && (next == p || next[-1] != '\\')))
			next++;
		char *end = next;
		next = *next ? next + 1 : NULL;
		*end = 0;
		if (u->n_lower >= BWK_MAX_LOWER_LAYERS) {
			snprintf(why, whylen, "%s: more than %d overlay layers", rootfs,
				 BWK_MAX_LOWER_LAYERS);
			return -1;
		}
		int fd = idmapped_clone(*p == '/' ? AT_FDCWD : basefd, p, false, u->userns_fd, why,
					whylen);
		if (fd < 0)
			return -1;
		u->lower_fd[u->n_lower++] = fd;
		p = next;
	}
	const char *us = strrchr(upper, '/'), *ws = strrchr(work, '/');
	if (!us || !ws || us - upper != ws - work || strncmp(upper, work, (size_t)(us - upper)) ||
	    strlen(us + 1) >= sizeof u->upper_name || strlen(ws + 1) >= sizeof u->work_name) {
		snprintf(why, whylen,
			 "%s: the overlay's upperdir and workdir have different parents", rootfs);
		return -1;
	}
	cleanup_free char *parent = xstrndup(upper, (size_t)(us - upper));
	u->upper_parent_fd =
	    idmapped_clone(AT_FDCWD, *parent ? parent : "/", false, u->userns_fd, why, whylen);
	if (u->upper_parent_fd < 0)
		return -1;
	snprintf(u->upper_name, sizeof u->upper_name, "%s", us + 1);
	snprintf(u->work_name, sizeof u->work_name, "%s", ws + 1);
	int r = overlay_mount(u, opts, why, whylen);
	for (size_t i = 0; i < u->n_lower; i++) { /* the overlay holds its own clones */
		close(u->lower_fd[i]);
		u->lower_fd[i] = -1;
	}
	u->n_lower = 0;
	close(u->upper_parent_fd);
	u->upper_parent_fd = -1;
	return r;
}

size_t ocirt_userns_fds(const ocirt_userns *u, int *fds, size_t max)
{
	size_t n = 0;
	int all[2 + OCIRT_USERNS_MAX_MOUNTS + BWK_MAX_LOWER_LAYERS];
	size_t k = 0;
	all[k++] = u->root_fd;
	all[k++] = u->upper_parent_fd;
	for (size_t i = 0; i < OCIRT_USERNS_MAX_MOUNTS; i++)
		all[k++] = u->mount_fd[i];
	for (size_t i = 0; i < u->n_lower; i++)
		all[k++] = u->lower_fd[i];
	for (size_t i = 0; i < k && n < max; i++)
		if (all[i] >= 0)
			fds[n++] = all[i];
	return n;
}

int ocirt_userns_attach_root(const ocirt_userns *u, char *why, size_t len)
{
	/* (the cwd by an empty path: looking "." up needs search permission on it, which the
	 * container's root may not have) */
	if (move_mount(u->root_fd, "", AT_FDCWD, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		snprintf(why, len, "attaching the idmapped root: %s", strerror(errno));
		return -1;
	}
	return fcntl(u->root_fd, F_DUPFD_CLOEXEC, 3);
}

/* Raise the effective capabilities to the permitted ones (setfsuid dropped the file ones). */
static void caps_effective(void)
{
	cap_t c = cap_get_proc();
	for (int i = 0; c && i <= CAP_LAST_CAP; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		cap_value_t cv = i;
		if (cap_get_flag(c, cv, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			cap_set_flag(c, CAP_EFFECTIVE, 1, &cv, CAP_SET);
	}
	if (c) {
		(void)cap_set_proc(c);
		cap_free(c);
	}
}

/* The original overlay's options a new one should keep (features, not layers). */
static void copy_options(int fs, const char *opts)
{
	static const char *const keys[] = {"index", "redirect_dir", "metacopy", "xino", NULL};
	cleanup_free char *o = xstrdup(opts);
	char *save = NULL;
	for (char *p = strtok_r(o, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');
		if (!eq) {
			if (!strcmp(p, "volatile"))
				(void)fsconfig(fs, FSCONFIG_SET_FLAG, p, NULL, 0);
			continue;
		}
		*eq = 0;
		for (const char *const *k = keys; *k; k++)
			if (!strcmp(p, *k))
				(void)fsconfig(fs, FSCONFIG_SET_STRING, p, eq + 1, 0);
	}
}

/* A new overlay of the idmapped layers, as a detached mount in u->root_fd. Its creator's
 * credentials (overlayfs copies up and makes its work directory with them) are host root's
 * capabilities with the container root's host ids as file system ids: the idmapped layers map
 * those (host root's would not: EOVERFLOW), and the capabilities keep the trusted.overlay.*
 * attributes readable (opaque directories, whiteouts), as in the engine's own mount. */
static int overlay_mount(ocirt_userns *u, const char *opts, char *why, size_t whylen)
{
	const char *step = "a layer";
	int r = -1, e = 0;
	cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	cleanup_close int up =
	    openat(u->upper_parent_fd, u->upper_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int wk =
	    openat(u->upper_parent_fd, u->work_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	bool ok = fs >= 0 && up >= 0 && wk >= 0;
	for (size_t i = 0; ok && i < u->n_lower; i++)
		ok = fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, u->lower_fd[i]) == 0;
	ok = ok && fsconfig(fs, FSCONFIG_SET_FD, "upperdir", NULL, up) == 0 &&
	     fsconfig(fs, FSCONFIG_SET_FD, "workdir", NULL, wk) == 0;
	if (ok) {
		copy_options(fs, opts);
		step = "creating it";
		setfsgid(u->gid_start);
		setfsuid(u->uid_start);
		caps_effective();
		r = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
		e = errno;
		setfsuid(0);
		setfsgid(0);
		caps_effective();
		errno = e;
		ok = r == 0;
	}
	if (ok) {
		step = "fsmount";
		ok = (u->root_fd = fsmount(fs, FSMOUNT_CLOEXEC, 0)) >= 0;
	}
	if (!ok) {
		snprintf(why, whylen, "the overlay of the idmapped layers: %s: %s", step,
			 strerror(errno));
		return -1;
	}
	return 0;
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

/* cgroup2 may be mounted only by the owner of the cgroup namespace (v1 hierarchies are
 * bound, which works from the user namespace). */
static bool cgroup2_shared(const bwk_oci_spec *s)
{
	bool cg = false;
	for (size_t i = 0; i < s->n_mounts; i++)
		cg |= s->mounts[i].type && !strncmp(s->mounts[i].type, "cgroup", 6);
	struct statfs sf;
	return cg && !bwk_oci_spec_namespace(s, "cgroup") && statfs("/sys/fs/cgroup", &sf) == 0 &&
	       (unsigned long)sf.f_type == 0x63677270;
}

int ocirt_userns_prepare(bwk_oci_spec *s, int bundlefd, const char *rootfs, const char *refusal,
			 ocirt_userns *u, bwk_strv *changes, bwk_error **err)
{
	ocirt_userns_init(u);
	if (bwk_oci_spec_namespace(s, "user"))
		return 0; /* the engine's own stands */
	char why[PATH_MAX + 128] = "";
	if (refusal)
		snprintf(why, sizeof why, "%s", refusal);
	else if (s->n_mounts > OCIRT_USERNS_MAX_MOUNTS)
		snprintf(why, sizeof why, "more than %d mounts", OCIRT_USERNS_MAX_MOUNTS);
	else if (cgroup2_shared(s))
		snprintf(why, sizeof why,
			 "the bundle mounts the host's cgroup2 hierarchy without a cgroup "
			 "namespace");
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
	if (!*why) {
		u->root_fd = idmapped_clone(AT_FDCWD, rootfs, true, u->userns_fd, why, sizeof why);
		cleanup_close int r =
		    u->root_fd < 0 ? open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		struct statfs sf;
		if (r >= 0 && fstatfs(r, &sf) == 0 && sf.f_type == 0x794c7630 /* overlay */) {
			*why = 0;
			overlay_layers(u, rootfs, why, sizeof why);
		}
	}
	for (size_t i = 0; !*why && i < s->n_mounts; i++) {
		bool rec;
		const bwk_oci_mount *m = &s->mounts[i];
		if (!ocirt_mount_is_bind(m, &rec) || !m->source)
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
	for (size_t i = 0; i < s->linux_.sysctl.n; i++) {
		/* a range of group ids (Docker's "0 2147483647": every group may ping) means the
		 * namespace's groups: the kernel refuses ids it does not map */
		bwk_oci_kv *e = &s->linux_.sysctl.v[i];
		unsigned long lo, hi;
		if (!strcmp(e->key, "net.ipv4.ping_group_range") &&
		    sscanf(e->value, "%lu %lu", &lo, &hi) == 2 && hi >= SBX_SUBID_SLICE) {
			free(e->value);
			e->value = xasprintf("%lu %u", lo < SBX_SUBID_SLICE ? lo : 1,
					     lo < SBX_SUBID_SLICE ? SBX_SUBID_SLICE - 1 : 0);
			if (changes) {
				cleanup_free char *m = xasprintf(
				    "harden: sysctl net.ipv4.ping_group_range %s (the user "
				    "namespace's groups)",
				    e->value);
				push(changes, m);
			}
		}
	}
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
