/* The host side of `bulwark run`: resolve everything that needs the caller's view of the host
 * (layer and bind directories, secrets, the seccomp profile) before clone(), then write the
 * id maps and attach the cgroup while the child waits, forward signals and report the exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/hostpaths.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define MAX_SECRET_SIZE (1u << 20)

void sbx_note(const bwk_container_spec *s, int kind, const char *fmt, ...)
{
	if (!s || !s->notify || (kind == BWK_NOTE_WARNING && s->quiet))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->notify(s->notify_ctx, kind, msg);
}

/* Whether a bind of a host path is refused (without allow_sensitive_mounts): the shared
 * table's engine sockets, system directories and everything below the kernel trees; below
 * another system directory (/run/user/1000/x) a bind is allowed, writable ones with a
 * warning. */
static bool refused(bwk_hostpath_class c)
{
	return c == BWK_HOSTPATH_ENGINE || c == BWK_HOSTPATH_SYSTEM ||
	       c == BWK_HOSTPATH_KERNEL_TREE;
}

bool bwk_sandbox_sensitive_path(const char *src)
{
	struct stat st;
	int sock = stat(src, &st) == 0 ? S_ISSOCK(st.st_mode) : -1;
	return refused(bwk_hostpath_classify(src, sock));
}

/* Kernel interfaces are sensitive whatever their path is called: procfs bound elsewhere,
 * /proc/1/root/…, a cgroup or bpf filesystem mounted under /srv. */
static const struct {
	long magic;
	const char *what;
} pseudo_fs[] = {
    {PROC_SUPER_MAGIC, "a sensitive host path (on the host's procfs)"},
    {SYSFS_MAGIC, "a sensitive host path (on the host's sysfs)"},
    {CGROUP_SUPER_MAGIC, "a sensitive host path (on a cgroup filesystem)"},
    {CGROUP2_SUPER_MAGIC, "a sensitive host path (on the cgroup2 filesystem)"},
    {DEBUGFS_MAGIC, "a sensitive host path (on debugfs)"},
    {TRACEFS_MAGIC, "a sensitive host path (on tracefs)"},
    {SECURITYFS_MAGIC, "a sensitive host path (on securityfs)"},
    {BPF_FS_MAGIC, "a sensitive host path (on the bpf filesystem)"},
    {EFIVARFS_MAGIC, "a sensitive host path (on efivarfs)"},
    {NSFS_MAGIC, "a sensitive host path (a namespace file)"},
    {BINFMTFS_MAGIC, "a sensitive host path (on binfmt_misc)"},
    {DEVPTS_SUPER_MAGIC, "a sensitive host path (on a devpts)"},
};

/* Why the object open at `fd` (whose kernel name is `name`) must not become a volume, or
 * NULL. Judged on the fd: what was checked is what gets mounted. */
static const char *volume_risk(int fd, const char *name)
{
	struct stat st;
	struct statfs sf;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return "a sensitive host path (it cannot be examined)";
	bwk_hostpath_class c = bwk_hostpath_classify(name, S_ISSOCK(st.st_mode));
	if (c == BWK_HOSTPATH_ENGINE)
		return "a sensitive host path (a container engine's socket or directory)";
	if (refused(c))
		return "a sensitive host path";
	for (size_t i = 0; i < sizeof pseudo_fs / sizeof *pseudo_fs; i++)
		if ((long)sf.f_type == pseudo_fs[i].magic)
			return pseudo_fs[i].what;
	return NULL;
}

/* Open a host path once: canonicalised (a symlink the caller gave is resolved once), then
 * opened from "/" without following any symlink, and confirmed to be what the canonical name
 * now names. Whatever is checked next is checked on the returned fd, and the fd is what gets
 * mounted: renaming a link to /proc over the path in between makes this fail instead. */
static int open_host_once(const char *given, int flags, char **canon, const char *what,
			  bwk_error **err)
{
	char real[PATH_MAX], now[PATH_MAX];
	/* the caller's own open object (run --scan hands over the directory it scanned): follow
	 * the magic link to that very object; a name would be resolved again, and a directory
	 * renamed over it in between would pass the name check below */
	const char *digits = !strncmp(given, "/proc/self/fd/", 14) ? given + 14 : NULL;
	if (digits && *digits && strspn(digits, "0123456789") == strlen(digits)) {
		cleanup_close int fd = open(given, O_PATH | O_CLOEXEC | flags);
		if (fd < 0 || sbx_fd_path(fd, now, sizeof now) < 0)
			return bwk_error_set(err, BWK_E_NOTFOUND, errno, "%s %s", what, given);
		*canon = xstrdup(now);
		return steal_fd(&fd);
	}
	if (!realpath(given, real))
		return bwk_error_set(err, BWK_E_NOTFOUND, errno, "%s %s", what, given);
	cleanup_close int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int fd = slash < 0 ? -1 : sbx_open_beneath(slash, real + 1, O_PATH | flags);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return bwk_error_set(err, BWK_E_UNSAFE, errno,
				     "%s %s changed while it was being opened (a component became "
				     "a symbolic link): refusing it",
				     what, real);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_NOTFOUND, errno, "%s %s", what, real);
	if (sbx_fd_path(fd, now, sizeof now) < 0 || strcmp(now, real))
		return bwk_error_set(err, BWK_E_UNSAFE, 0,
				     "%s %s changed while it was being opened (it was renamed): "
				     "refusing it",
				     what, real);
	*canon = xstrdup(real);
	return steal_fd(&fd);
}

typedef struct run_state {
	sbx_ctx ctx;
	/* what prepare() keeps open: the v1 tasks files, the layers, the volumes, the pty */
	int fds[SBX_CG_V1_DIRS + BWK_MAX_LOWER_LAYERS + BWK_MAX_BINDS + 1];
	size_t nfds;
} run_state;

static void close_all(run_state *st)
{
	for (size_t i = 0; i < st->nfds; i++)
		if (st->fds[i] >= 0)
			close(st->fds[i]);
	st->nfds = 0;
}

static int keep_fd(run_state *st, int fd)
{
	if (st->nfds < sizeof st->fds / sizeof *st->fds)
		st->fds[st->nfds++] = fd;
	return fd;
}

/* What the spec must carry before anything is opened. Its limits and capability set are the
 * effective ones (bwk_oci_spec_lower() fills bulwark's defaults): the sandbox applies what it
 * is given and picks no default of its own. */
static int check_spec(const bwk_container_spec *s, bwk_error **err)
{
	if (s->nrlimits > BWK_MAX_RLIMITS)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%zu resource limits (at most %d)",
				     s->nrlimits, BWK_MAX_RLIMITS);
	if (!s->argv || !s->argv[0] || !s->argv[0][0])
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "no command: the image has no Entrypoint or Cmd; give one");
	const char *missing = !s->caps_set			  ? "capability set"
			      : !s->memory			  ? "memory limit"
			      : !s->pids			  ? "pids limit"
			      : !s->tmpfs_size			  ? "tmpfs size"
			      : s->tmpfs_size == BWK_UNLIMITED	  ? "tmpfs size (unlimited)"
			      : !s->writable_size		  ? "writable size"
			      : s->writable_size == BWK_UNLIMITED ? "writable size (unlimited)"
			      : !s->cpu_weight || s->cpu_weight > 10000 ? "cpu weight (1-10000)"
			      : !s->stop_timeout_ms			? "stop timeout"
									: NULL;
	for (int k = 0; !missing && k < BWK_STD_MOUNTS; k++)
		if (!s->std_mounts[k])
			missing = "proc, sysfs or /dev mount";
	if (missing)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "container spec: no effective %s: the spec's producer sets it "
				     "(bwk_oci_spec_lower() gives bulwark's defaults)",
				     missing);
	return 0;
}

/* The seccomp program: the custom profile (--seccomp FILE) parsed here, then compiled by a
 * helper process. libseccomp takes ~1.3 ms: the helper compiles into memory shared with the
 * child while this process opens the layers, clones and the child builds its filesystem
 * (spawn() waits for it). As root, the default policy's program comes from the last run of
 * this build instead when it kept one (seccomp.c's memo): no helper at all, and the helper's
 * fork, its libseccomp and the copy-on-write faults it costs this process were ~2-3 ms of CPU
 * of a ~10 ms run. Unconfined: no helper, no program. The policy's warnings (seccomp
 * disabled or replaced) are the caller's, said where it is decided. */
static int seccomp_prepare(sbx_ctx *ctx, const bwk_container_spec *s, bwk_error **err)
{
	ctx->seccomp = !(s->seccomp && !strcmp(s->seccomp, "unconfined"));
	if (ctx->seccomp && s->seccomp &&
	    sbx_seccomp_load(s->seccomp, ctx->caps, &ctx->profile, err) < 0)
		return -1;
	/* shared with the child, which reads the program after the last go byte */
	void *m =
	    mmap(NULL, sizeof *ctx->bpf, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mmap");
	ctx->bpf = m;
	if (ctx->seccomp && !ctx->profile && ctx->is_root) {
		cleanup_close int memo = sbx_seccomp_memo_dir();
		if (memo >= 0 && sbx_seccomp_memo_get(memo, ctx->caps, ctx->bpf) == 0)
			return 0;
		ctx->seccomp_keep = true;
	}
	if (ctx->seccomp) {
		ctx->seccomp_pid = fork();
		if (ctx->seccomp_pid == 0)
			_exit(sbx_seccomp_compile(ctx->profile, ctx->caps, ctx->bpf, NULL) < 0);
	}
	return 0;
}

/* Unprivileged: a delegated cgroup v2 subtree, else rlimits (said once). */
static int cgroup_prepare(run_state *st, bwk_error **err)
{
	sbx_ctx *ctx = &st->ctx;
	if (sbx_cgroup_create(&ctx->cg, ctx, err) < 0 ||
	    sbx_cgroup_open_tasks(&ctx->cg, ctx->cg_tasks, err) < 0)
		return -1;
	for (size_t i = 0; i < SBX_CG_V1_DIRS; i++)
		if (ctx->cg_tasks[i] >= 0)
			keep_fd(st, ctx->cg_tasks[i]);
	return 0;
}

/* A layer applied twice (two identical RUN steps give identical diff_ids) is one directory
 * twice, which overlayfs refuses. Applying it again on top supersedes every effect of the
 * lower copy (same files, same whiteouts), so only the topmost occurrence is kept: the lower
 * twin of `id` (at most one is kept at any time) is dropped as the upper one comes. */
static void drop_lower_twin(sbx_ctx *ctx, struct stat *ids, const struct stat *id)
{
	for (size_t j = 0; j < ctx->nlowers; j++) {
		if (ids[j].st_dev != id->st_dev || ids[j].st_ino != id->st_ino)
			continue;
		free(ctx->lower_paths[j]);
		free(ctx->lower_masks[j]);
		size_t rest = ctx->nlowers - j - 1;
		memmove(ctx->lower_fds + j, ctx->lower_fds + j + 1, rest * sizeof(int));
		memmove(ctx->lower_paths + j, ctx->lower_paths + j + 1, rest * sizeof(char *));
		memmove(ctx->lower_masks + j, ctx->lower_masks + j + 1, rest * sizeof(char *));
		memmove(ids + j, ids + j + 1, rest * sizeof *ids);
		ctx->nlowers--;
		ctx->lower_paths[ctx->nlowers] = ctx->lower_masks[ctx->nlowers] = NULL;
		return;
	}
}

/* A layer cache written without privileges lists whiteouts beside the layer (LAYER.whiteouts):
 * layer k's list, or NULL when it has none or it is empty. */
static void read_layer_mask(sbx_ctx *ctx, size_t k)
{
	cleanup_free char *wl = xasprintf("%s.whiteouts", ctx->lower_paths[k]);
	char **mask = &ctx->lower_masks[k];
	size_t wlen = 0;
	if (bwk_read_file_at(AT_FDCWD, wl, 16u << 20, false, mask, &wlen, NULL) == 0 && !wlen) {
		free(*mask);
		*mask = NULL;
	}
}

/* Layers (or the rootfs directory) are opened here, as the caller, bottom first. */
static int open_layers(run_state *st, const bwk_container_spec *s, bwk_error **err)
{
	sbx_ctx *ctx = &st->ctx;
	const char *single[2] = {s->rootfs, NULL};
	const char *const *lowers = s->lowers ? s->lowers : (s->rootfs ? single : NULL);
	if (!lowers || !lowers[0])
		return bwk_error_set(err, BWK_E_USAGE, 0, "no root filesystem given");
	size_t n = 0;
	while (lowers[n])
		n++;
	if (n > BWK_MAX_LOWER_LAYERS)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%zu layers (at most %d)", n,
				     BWK_MAX_LOWER_LAYERS);
	ctx->lower_fds = xcalloc(n, sizeof(int));
	ctx->lower_paths = xcalloc(n + 1, sizeof(char *));
	ctx->lower_masks = xcalloc(n + 1, sizeof(char *));
	struct stat ids[BWK_MAX_LOWER_LAYERS] = {0}; /* of the layers kept, [0, nlowers) */
	for (size_t i = 0; i < n; i++) {
		char *path = NULL;
		int fd =
		    open_host_once(lowers[i], O_DIRECTORY, &path, "root filesystem layer", err);
		if (fd < 0)
			return -1;
		keep_fd(st, fd);
		struct stat id;
		if (fstat(fd, &id) < 0) {
			free(path);
			return bwk_error_set(err, BWK_E_IO, errno, "root filesystem layer %s",
					     lowers[i]);
		}
		drop_lower_twin(ctx, ids, &id);
		ids[ctx->nlowers] = id;
		size_t k = ctx->nlowers++;
		ctx->lower_fds[k] = fd;
		ctx->lower_paths[k] = path;
		if (s->lowers && !ctx->is_root)
			read_layer_mask(ctx, k);
	}
	return 0;
}

/* The volume sources, each opened once and judged on that fd (volume_risk): a sensitive one
 * is refused unless allow_sensitive_mounts, and then said. */
static int open_volumes(run_state *st, const bwk_container_spec *s, bwk_error **err)
{
	sbx_ctx *ctx = &st->ctx;
	ctx->bind_fds = xcalloc(s->nbinds + 1, sizeof(int));
	ctx->bind_paths = xcalloc(s->nbinds + 1, sizeof(char *));
	for (size_t i = 0; i < s->nbinds; i++) {
		const bwk_bind *b = &s->binds[i];
		if (!b->src || b->src[0] != '/' || !b->dst || b->dst[0] != '/')
			return bwk_error_set(err, BWK_E_USAGE, 0,
					     "volume %s:%s: both paths must be absolute",
					     b->src ? b->src : "", b->dst ? b->dst : "");
		int fd = open_host_once(b->src, 0, &ctx->bind_paths[i], "volume source", err);
		if (fd < 0)
			return -1;
		ctx->bind_fds[i] = keep_fd(st, fd);
		const char *real = ctx->bind_paths[i];
		const char *risk = volume_risk(fd, real);
		if (risk && !s->allow_sensitive_mounts)
			return bwk_error_set(
			    err, BWK_E_UNSAFE, 0,
			    "volume source %s is %s: it would give the container control of the "
			    "host (%s forces it)",
			    real, risk,
			    bwk_setting("allow-sensitive-mount", "allowing sensitive mounts"));
		if (risk)
			sbx_warn(s, "mounting sensitive host path %s into the container", real);
		if (b->rw)
			sbx_warn(s, "volume %s is writable by the container", real);
	}
	return 0;
}

/* The secrets' contents, read as the caller (wiped when the state is freed). */
static int read_secrets(sbx_ctx *ctx, const bwk_container_spec *s, bwk_error **err)
{
	ctx->secret_data = xcalloc(s->nsecrets + 1, sizeof(char *));
	ctx->secret_len = xcalloc(s->nsecrets + 1, sizeof(size_t));
	for (size_t i = 0; i < s->nsecrets; i++) {
		const char *name = s->secrets[i].name;
		if (!name || !name[0] || strchr(name, '/') || !strcmp(name, ".") ||
		    !strcmp(name, "..") || strlen(name) > 128)
			return bwk_error_set(err, BWK_E_USAGE, 0,
					     "secret name '%s': a plain file name is needed",
					     name ? name : "");
		if (bwk_read_file_at(AT_FDCWD, s->secrets[i].file, MAX_SECRET_SIZE, true,
				     &ctx->secret_data[i], &ctx->secret_len[i], err) < 0)
			return bwk_error_wrap(err, "secret %s", name);
	}
	return 0;
}

static int check_counts(const bwk_container_spec *s, bwk_error **err)
{
	if (s->nbinds > BWK_MAX_BINDS)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%zu volumes (at most %d)", s->nbinds,
				     BWK_MAX_BINDS);
	if (s->ntmpfs > BWK_MAX_TMPFS || s->nsecrets > BWK_MAX_SECRETS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%zu tmpfs mounts and %zu secrets (at most %d and %d)",
				     s->ntmpfs, s->nsecrets, BWK_MAX_TMPFS, BWK_MAX_SECRETS);
	return 0;
}

/* Everything resolved in the caller's view of the host before clone(), in this order (each
 * step's errors come before the next one's). */
static int prepare(run_state *st, const bwk_container_spec *s, bwk_error **err)
{
	sbx_ctx *ctx = &st->ctx;
	ctx->spec = s;
	ctx->is_root = geteuid() == 0;
	ctx->caps = s->caps;
	ctx->memory = s->memory;
	ctx->pids = s->pids;
	ctx->tmpfs_size = s->tmpfs_size;
	ctx->tty_master = -1;
	ctx->userns.lock_fd = -1;
	for (size_t i = 0; i < SBX_CG_V1_DIRS; i++)
		ctx->cg_tasks[i] = -1;
	ctx->seccomp_pid = -1;
	if (check_spec(s, err) < 0 || seccomp_prepare(ctx, s, err) < 0 ||
	    cgroup_prepare(st, err) < 0 || open_layers(st, s, err) < 0 ||
	    check_counts(s, err) < 0 || open_volumes(st, s, err) < 0 ||
	    read_secrets(ctx, s, err) < 0)
		return -1;
	return sbx_userns_plan(&ctx->userns, s, err);
}

static void free_state(run_state *st)
{
	sbx_ctx *ctx = &st->ctx;
	if (ctx->seccomp_pid > 0)
		waitpid(ctx->seccomp_pid, NULL, 0);
	free(ctx->bpf_kept);
	close_all(st);
	for (size_t i = 0; ctx->secret_data && i < ctx->spec->nsecrets; i++) {
		if (ctx->secret_data[i]) {
			explicit_bzero(ctx->secret_data[i], ctx->secret_len[i]);
			free(ctx->secret_data[i]);
		}
	}
	free(ctx->secret_data);
	free(ctx->secret_len);
	free(ctx->lower_fds);
	free(ctx->bind_fds);
	for (size_t i = 0; ctx->lower_paths && i < ctx->nlowers; i++)
		free(ctx->lower_paths[i]);
	for (size_t i = 0; ctx->bind_paths && i < ctx->spec->nbinds; i++)
		free(ctx->bind_paths[i]);
	for (size_t i = 0; ctx->lower_masks && i < ctx->nlowers; i++)
		free(ctx->lower_masks[i]);
	free(ctx->lower_masks);
	free(ctx->lower_paths);
	free(ctx->bind_paths);
	bwk_seccomp_profile_free(ctx->profile);
	if (ctx->bpf)
		munmap(ctx->bpf, sizeof *ctx->bpf);
	if (ctx->cg.mode != SBX_CG_NONE)
		sbx_cgroup_destroy(&ctx->cg);
	sbx_userns_release(&ctx->userns); /* the container is reaped: its ids are free again */
}

/* Several id-mapped layers are merged here, in the host's user namespace, into one read-only
 * overlay (no upper: nothing is ever written with our credentials through it) handed to the
 * container as its single lower: only an overlay mounted here can read the layer cache's
 * trusted.overlay.opaque markers, which an overlay inside a user namespace never sees. On any
 * failure the layers go over one by one, as before. Returns the merged mount or -1. */
static int merge_layers(const int *layers, size_t n)
{
	cleanup_close int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	for (size_t i = n; i-- > 0;) /* lowerdir+ goes from the top layer down */
		if (fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, layers[i]) < 0)
			return -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return fsmount(fs, FSMOUNT_CLOEXEC,
		       MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
}

/* As root, show the layers to the container through id-mapped mounts: files owned by host
 * root appear owned by container root, so images work unmodified and copy-up succeeds.
 * Volumes are plain clones (host ownership shows as it is). All or nothing: 0 on failure,
 * and the child falls back to binding by path. *merged: the layers became one mount. */
static size_t detach_mounts(const sbx_ctx *ctx, pid_t pid, int *out, bool *merged)
{
	*merged = false;
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/ns/user", (int)pid);
	cleanup_close int ns = open(p, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return 0;
	size_t total = ctx->nlowers + ctx->spec->nbinds, i;
	for (i = 0; i < total; i++) {
		bool layer = i < ctx->nlowers;
		int src = layer ? ctx->lower_fds[i] : ctx->bind_fds[i - ctx->nlowers];
		int t = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (t < 0)
			break;
		struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
				       .userns_fd = (uint64_t)ns};
		if (layer && mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof a) < 0) {
			close(t);
			break;
		}
		out[i] = t;
	}
	if (i < total) {
		while (i-- > 0)
			close(out[i]);
		return 0;
	}
	if (ctx->nlowers > 1) {
		int m = merge_layers(out, ctx->nlowers);
		if (m >= 0) {
			for (i = 0; i < ctx->nlowers; i++)
				/* set above (the analyzer assumes nlowers + nbinds wraps) */
				/* NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
				close(out[i]);
			out[0] = m;
			memmove(out + 1, out + ctx->nlowers, ctx->spec->nbinds * sizeof *out);
			*merged = true;
			return 1 + ctx->spec->nbinds;
		}
	}
	return total;
}

static int release_child(int sock, const int *fds, size_t n, char byte)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (BWK_MAX_LOWER_LAYERS + BWK_MAX_BINDS))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* The helper's program, or (it failed or could not start) one compiled here, with the error. */
static int seccomp_ready(sbx_ctx *ctx, bwk_error **err)
{
	if (ctx->seccomp_pid < 0 && ctx->bpf->len) /* the kept one (seccomp_prepare) */
		return 0;
	int ws = -1;
	if (ctx->seccomp_pid > 0 && waitpid(ctx->seccomp_pid, &ws, 0) == ctx->seccomp_pid)
		ctx->seccomp_pid = -1;
	if (!(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && ctx->bpf->len) &&
	    sbx_seccomp_compile(ctx->profile, ctx->caps, ctx->bpf, err) < 0)
		return -1;
	/* What the next run will load is copied now, before the go byte: once the container
	 * runs, the shared page is within reach of its pid 1 (a workload given CAP_SYS_PTRACE
	 * could write it), and the memo must hold what was compiled here, not what is in the
	 * page when it is saved. */
	if (ctx->seccomp_keep && !ctx->bpf_kept) {
		ctx->bpf_kept = xmalloc(sizeof *ctx->bpf_kept);
		ctx->bpf_kept->len = ctx->bpf->len;
		ctx->bpf_kept->flags = ctx->bpf->flags;
		memcpy(ctx->bpf_kept->insns, ctx->bpf->insns,
		       ctx->bpf->len * sizeof *ctx->bpf->insns);
	}
	return 0;
}

/* On cgroup v2, clone3(CLONE_INTO_CGROUP) creates the child inside its cgroup: a later move
 * (cgroup.procs) would first wait for an RCU grace period, 6-14 ms (see cgroups.c; on v1 the
 * child moves itself instead). Where clone3 is refused: plain clone, and the host side moves
 * the child. *in_cgroup says which happened. */
static pid_t clone_container(const sbx_ctx *ctx, unsigned long flags, bool *in_cgroup)
{
	*in_cgroup = false;
	if (ctx->cg.mode == SBX_CG_V2) {
		int dir = ctx->cg.v2_fd;
		struct clone_args a = {.flags =
					   (flags & ~(unsigned long)CSIGNAL) | CLONE_INTO_CGROUP,
				       .exit_signal = flags & CSIGNAL,
				       .cgroup = (uint64_t)dir};
		pid_t pid = dir < 0 ? -1 : (pid_t)syscall(SYS_clone3, &a, sizeof a);
		if (pid >= 0) {
			*in_cgroup = true;
			return pid;
		}
		/* any refusal (old kernel, an outer seccomp filter answering ENOSYS or EPERM):
		 * plain clone says whether namespaces themselves are the problem */
	}
	return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}

/* The container's ends of its stdio pipes to the host ids of the container's
 * root (stdio.c says why). Only root can, and only root needs to: unprivileged, they are
 * already ours, and ours is the container's root. */
static int stdio_to_container_root(const sbx_ctx *ctx, sbx_stdio *io, bwk_error **err)
{
	const sbx_userns *u = &ctx->userns;
	int ui = -1, gi = -1;
	for (int i = 0; i < u->nuid && i < 2; i++)
		if (u->uid[i].inside == 0 && u->uid[i].count)
			ui = i;
	for (int i = 0; i < u->ngid && i < 2; i++)
		if (u->gid[i].inside == 0 && u->gid[i].count)
			gi = i;
	if (ui < 0 || gi < 0)
		return 0;
	uid_t uid = u->uid[ui].outside;
	gid_t gid = u->gid[gi].outside;
	return sbx_stdio_chown(io, uid, gid, err);
}

/* clone, configure from outside, release, wait. */
static int spawn(run_state *st, const bwk_container_spec *spec, int sfd, int *status,
		 bwk_error **err)
{
	sbx_ctx *ctx = &st->ctx;
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "socketpair");
	cleanup_close int parent_end = sp[0];
	cleanup_close int child_end = sp[1];
	unsigned long flags = sbx_ns_run_flags(spec) | SIGCHLD;
	/* the container's 0-2: pipes (with -t until its pty replaces them), never the caller's
	 * descriptors */
	cleanup_stdio sbx_stdio io;
	sbx_stdio_init(&io);
	if (sbx_stdio_open(&io, spec->interactive && !spec->tty, err) < 0)
		return -1;
	ctx->parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	bool born_in_cgroup = false;
	/* Ubuntu's AppArmor restriction lets the clone succeed and fails the set-up later with a
	 * bare EPERM: as a normal user, name the host setting first */
	cleanup_free char *restricted = ctx->is_root ? NULL : bwk_userns_restriction("/proc");
	if (restricted)
		return bwk_error_set(err, BWK_E_PERM, 0, "%s", restricted);
	/* the published host ports are bound first: a busy one fails before anything starts */
	cleanup_net sbx_net netst;
	sbx_net *net = &netst;
	sbx_net_init(net);
	if (sbx_net_reserve(net, spec, ctx->is_root, err) < 0)
		return -1;
	/* killed and reaped on every early return from here on (before the network goes) */
	cleanup_pid pid_t pid = clone_container(ctx, flags, &born_in_cgroup);
	if (pid < 0) {
		int e = errno;
		cleanup_free char *why = bwk_userns_restriction("/proc");
		if (why)
			return bwk_error_set(err, BWK_E_PERM, 0, "%s", why);
		char names[128];
		sbx_ns_describe(flags, names, sizeof names);
		return bwk_error_set(
		    err, BWK_E_RUNTIME, e, "clone: creating the container's %s namespaces%s", names,
		    e == ENOSPC ? " (the user namespace limit user.max_user_namespaces "
				  "is reached)"
				: "");
	}
	if (pid == 0) {
		/* before anything else: from here on nothing in here holds the caller's terminal */
		if (sbx_stdio_child(&io) < 0) {
			sbx_child_error("setting up the container's stdio: %s", strerror(errno));
			_exit(125);
		}
		/* the host side's end: left open in here, the host side dying before its first
		 * byte (before the parent-death signal is armed) never reads as EOF and the
		 * container waits for ever, an orphan */
		close(parent_end);
		ctx->sync_fd = child_end;
		_exit(sbx_container_main(ctx));
	}
	bwk_closep(&child_end);
	child_end = -1;
	/* after the clone, whose failure says more (a disabled user namespace), and before the
	 * child goes on: it waits for our first byte */
	if (ctx->is_root && stdio_to_container_root(ctx, &io, err) < 0) {
		return -1;
	}
	sbx_stdio_close_child(&io); /* the pipes' ends are the container's alone: EOF works */
	if (ctx->parent_pidfd >= 0)
		close(ctx->parent_pidfd);
	int idfds[BWK_MAX_LOWER_LAYERS + BWK_MAX_BINDS];
	size_t nid = 0;
	/* Two steps: the first byte (with the layer mounts) lets the child build its filesystem;
	 * the second comes once the seccomp program is ready (and, on a v2 host without
	 * clone3, once we moved the child into its cgroup). The child execs nothing before it. */
	if (sbx_userns_apply(&ctx->userns, pid, err) < 0) {
		return -1;
	}
	bool merged = false;
	if (ctx->is_root)
		nid = detach_mounts(ctx, pid, idfds, &merged);
	/* volumes shown as the container user's (volume_owner.c), from the top of the root */
	size_t first_bind = merged ? 1 : ctx->nlowers;
	if (nid && spec->nbinds && first_bind > 0 && /* no layer: no root to show them from */
	    sbx_volume_owners(ctx, idfds[first_bind - 1], idfds + first_bind, err) < 0) {
		for (size_t i = 0; i < nid; i++)
			close(idfds[i]);
		return -1;
	}
	int sent = release_child(parent_end, idfds, nid, merged ? SBX_GO_MERGED : SBX_GO);
	if (sent == 0 && sbx_net_start(net, spec, pid, ctx->is_root, err) < 0) {
		return -1;
	}
	for (size_t i = 0; i < nid; i++)
		close(idfds[i]);
	if (sent == 0 && ((ctx->seccomp && seccomp_ready(ctx, err) < 0) ||
			  (ctx->cg.mode == SBX_CG_V2 && !born_in_cgroup &&
			   sbx_cgroup_attach(&ctx->cg, pid, err) < 0))) {
		sbx_net_stop(net);
		return -1;
	}
	/* -t: the container's pty, made in its devpts once its filesystem is built; what it said
	 * before (a warning) waits in the pipes, whose last writer it closed by then */
	int got = 0;
	if (sent == 0 && spec->tty && (got = sbx_tty_receive(parent_end, &ctx->tty_master)) == 0) {
		keep_fd(st, ctx->tty_master);
		sbx_stdio_drain(&io, sfd, spec);
	}
	if (sent < 0 || got < 0 || release_child(parent_end, NULL, 0, SBX_GO) < 0) {
		/* the child gave up while building its filesystem and said why */
		int ws = 0;
		sbx_net_stop(net);
		pid_t child = steal_pid(&pid); /* waited for here */
		if (waitpid(child, &ws, 0) == child && WIFEXITED(ws) && WEXITSTATUS(ws) == 125) {
			if (ctx->tty_master >= 0)
				sbx_tty_drain(ctx->tty_master);
			else
				sbx_stdio_drain(&io, sfd, spec);
			*status = 125;
			return 0;
		}
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "starting the container");
	}
	for (size_t i = 0; i < spec->nsecrets; i++) /* the container has its copy now */
		explicit_bzero(ctx->secret_data[i], ctx->secret_len[i]);
	if (ctx->cg.mode != SBX_CG_NONE) /* off the critical path now */
		sbx_cgroup_reap_stale(&ctx->cg);
	if (ctx->seccomp_keep && ctx->bpf_kept) { /* for the next run (seccomp_prepare) */
		cleanup_close int memo = sbx_seccomp_memo_dir();
		if (memo >= 0)
			sbx_seccomp_memo_put(memo, ctx->caps, ctx->bpf_kept);
	}
	malloc_trim(0); /* we only wait from here on: give the heap back */
	int ws = 0;
	sbx_stop stop;
	sbx_stop_init(&stop, spec);
	int wr = ctx->tty_master >= 0
		     ? sbx_tty_wait(pid, sfd, ctx->tty_master, spec->interactive, &stop, &ws, &io)
		     : sbx_stdio_wait(&io, pid, sfd, spec, &stop, &ws);
	sbx_net_stop(net);
	if (wr < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "waiting for the container");
		return -1;
	}
	steal_pid(&pid); /* reaped by the wait */
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	/* it failed on the read-only root or a full tmpfs: say which setting allows it (hint.c) */
	char hint[768];
	if (*status != 0 && sbx_storage_hint(spec, io.err_tail, io.err_tail_len, hint, sizeof hint))
		sbx_note(spec, BWK_NOTE_EXIT, "%s", hint);
	sbx_stop_note(&stop, spec, *status);
	/* the command itself was killed, and the kernel's OOM killer did it */
	/* not a warning but why the command died: printed with -q too */
	if (*status == 137 && ctx->cg.mode != SBX_CG_NONE && sbx_cgroup_oom_killed(&ctx->cg))
		sbx_note(spec, BWK_NOTE_EXIT,
			 "container killed: out of memory (limit %" PRIu64 " MiB; raise %s)",
			 ctx->memory >> 20, bwk_setting("memory", "the memory limit"));
	return 0;
}

int bwk_sandbox_run(const bwk_container_spec *spec, int *status, bwk_error **err)
{
	run_state st = {0};
	*status = 125;
	int rc = prepare(&st, spec, err);
	if (rc == 0) {
		sigset_t mask, block, old, epipe;
		sigemptyset(&mask);
		sigaddset(&mask, SIGCHLD);
		for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
			sigaddset(&mask, forwarded[i]);
		/* a relay write to a reader that left says EPIPE instead of killing us (the
		 * container's own mask is reset before exec) */
		sigemptyset(&epipe);
		sigaddset(&epipe, SIGPIPE);
		sigorset(&block, &mask, &epipe);
		sigprocmask(SIG_BLOCK, &block, &old);
		/* started with SIGCHLD ignored, the kernel would reap the container's pid 1 for
		 * us and its status would be lost; the signals we forward are blocked and read
		 * from the signalfd, so an inherited SIG_IGN (nohup, a script's `trap '' INT`)
		 * does not stop them */
		struct sigaction dfl = {.sa_handler = SIG_DFL}, old_chld;
		sigaction(SIGCHLD, &dfl, &old_chld);
		cleanup_close int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
		if (sfd < 0)
			rc = bwk_error_set(err, BWK_E_RUNTIME, errno, "signalfd");
		else
			rc = spawn(&st, spec, sfd, status, err);
		if (!sigismember(&old, SIGPIPE)) /* consumed, or it would kill us now */
			(void)sigtimedwait(&epipe, NULL, &(struct timespec){0});
		sigaction(SIGCHLD, &old_chld, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	free_state(&st);
	return rc;
}
