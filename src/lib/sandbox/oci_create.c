/* `bulwark create`: an OCI bundle → a container whose init waits on its exec fifo.
 *
 * Three processes, as runc's nsexec stages and crun have them:
 *  - the create process (P) reads and validates config.json, makes the state directory (its
 *    flock held throughout), the exec fifo and the cgroup, and writes the id maps;
 *  - stage A (forked) joins the cgroup (first, by itself: ocirt_cgroup_join_self) and the
 *    namespaces the spec gives a path for (the engine's netns), unshares a user namespace and
 *    waits for P to map it, then unshares the other namespaces and forks the init (B), whose
 *    pid it tells P, and exits;
 *  - the init (B, pid 1 of a new pid namespace) builds the root filesystem (mounts, devices,
 *    pivot_root, masked and read-only paths, hostname, sysctls, the console), tells P it is
 *    ready and opens the exec fifo for writing, which blocks until `start` opens it. It then
 *    drops to the process user and capabilities, loads seccomp and executes process.args.
 * Before pivot_root the init asks P to run the prestart and createRuntime hooks, then runs
 * createContainer itself; startContainer runs in it once `start` has released it and it has
 * become the process (user, capabilities, seccomp), right before the exec. P writes
 * state.json and the pid file and exits: B's parent is gone, so B belongs to the nearest subreaper
 * (the engine's shim). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/idmap_mount.h"
#include "sandbox/oci_rt_private.h"
#include "sandbox/sandbox_private.h"

extern char **environ;

#define MAX_JOIN SBX_NS_MAX_JOIN
#define MAX_KEEP (MAX_JOIN + 8 + OCIRT_USERNS_MAX_MOUNTS + BWK_MAX_LOWER_LAYERS + 2)

typedef struct init_ctx {
	const bwk_oci_spec *s;	     /* the container's */
	const bwk_oci_process *proc; /* what runs: s->process, or exec's */
	const char *bundle, *rootfs;
	const ocirt_cgroup *cg;
	int sync_fd, fifo_fd, console_fd;
	sbx_ns_set ns;		/* to create and to join (namespaces.c) */
	const ocirt_userns *un; /* the hardening policy's user namespace (idmap_mount.c) */
	bool seccomp_loaded;	/* linux.seccomp loaded early, with a listener */
	unsigned preserve_fds;	/* 3..3+N-1 kept for the process (--preserve-fds) */
	bool in_cgroup;		/* A was born in the cgroup (ocirt_cgroup_fork) */
} init_ctx;

/* One message on the sync socket (SOCK_SEQPACKET: one message per send). */
typedef struct sync_msg {
	char type; /* 'U' A unshared (map me), 'G' go, 'P' init pid, 'R' ready,
		    * 'E' error text, 'S' the seccomp listener fd (SCM_RIGHTS), 'H' B asks for
		    * the create-time hooks, 'K' they ran (val: the length of the state that
		    * follows, for B's own hooks) */
	int32_t val;
	char text[1024];
} sync_msg;

static void send_msg(int fd, char type, int32_t val, const char *text)
{
	sync_msg m = {.type = type, .val = val};
	if (text)
		snprintf(m.text, sizeof m.text, "%s", text);
	if (send(fd, &m, sizeof m, MSG_NOSIGNAL) < 0) {
	}
}

/* In A and B: report and die. errno (if any) is appended. Once the init has left its parent
 * (sync_fd closed) the container's stderr is its only channel, as runc's and crun's: it writes
 * there, not to the output handler of bulwark/log.h, which belongs to the parent. */
static __attribute__((noreturn, format(printf, 2, 3))) void die(const init_ctx *c, const char *fmt,
								...)
{
	int e = errno;
	char buf[900];
	va_list ap;
	va_start(ap, fmt);
	/* started on the line above: clang 14's analyzer loses that on its way from
	 * mask_and_protect()'s cleanup of the shared mask tmpfs */
	vsnprintf(buf, sizeof buf, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	char out[1024];
	snprintf(out, sizeof out, "%s%s%s", buf, e ? ": " : "", e ? strerror(e) : "");
	if (c->sync_fd >= 0)
		send_msg(c->sync_fd, 'E', 0, out);
	else
		fprintf(stderr, "bulwark: %s\n", out);
	_exit(1);
}

/* Close every descriptor but 0-2, 3..3+preserve-1 and `keep`. */
static void close_except(const int *keep, size_t n, unsigned preserve)
{
	int sorted[MAX_KEEP];
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (keep[i] > 2 + (int)preserve)
			sorted[m++] = keep[i];
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			int t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	unsigned lo = 3 + preserve;
	for (size_t i = 0; i < m; i++) {
		if ((unsigned)sorted[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)sorted[i] - 1, 0);
		lo = (unsigned)sorted[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

/* ---- mounts ---- */

static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Remount a bind mount (the read-only root) with `flags` (ro, nosuid …), keeping the flags a user
 * namespace may not clear. */
static int bind_remount(const char *target, unsigned long flags)
{
	unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
	if (mount(NULL, target, NULL, f, NULL) == 0)
		return 0;
	return mount(NULL, target, NULL, f | locked_flags(target), NULL);
}

static void fdpath(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* Mount `m` of the spec in the root, through the one builder `run` uses too (spec_mount.c);
 * a bundle's links are followed inside the root, as runc and crun do. An idmapped bind's
 * source is the clone the create process prepared (the source may lie where the container's
 * root may not go). */
static void do_mount(const init_ctx *c, int rootfd, const bwk_oci_mount *m)
{
	size_t idx = (size_t)(m - c->s->mounts);
	bwk_oci_mount_opts o;
	bwk_error *e = NULL;
	if (bwk_oci_mount_opts_parse(m, idx, &o, &e) < 0) {
		errno = 0;
		die(c, "%s", e->msg);
	}
	int mapped = c->un && idx < OCIRT_USERNS_MAX_MOUNTS ? c->un->mount_fd[idx] : -1;
	char why[PATH_MAX + 512];
	sbx_spec_mount_env env = {
	    .policy = SBX_MP_FOLLOW_IN_ROOT,
	    .role = "mount point",
	    .src = mapped,
	    .src_is_mount = mapped >= 0,
	    .cg_v1 = !c->cg->v2,
	    .cg_dirs = (const char *const *)c->cg->dirs,
	    .n_cg_dirs = c->cg->n,
	    .why = why,
	    .whylen = sizeof why,
	};
	int fd = sbx_spec_mount(rootfd, m, &o, &env);
	if (fd < 0) {
		errno = 0; /* in why */
		die(c, "%s", why);
	}
	close(fd);
}

/* Node `path` of the root (its directory created), made or bound from the host's `path`. */
static void make_device(const init_ctx *c, int rootfd, const char *path, char type, unsigned major,
			unsigned minor, mode_t perm, uid_t uid, gid_t gid)
{
	char dir[PATH_MAX], why[512];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	*slash = 0;
	cleanup_close int parent = sbx_mkpath_in_root(rootfd, *dir ? dir : "/", true);
	if (parent < 0)
		die(c, "device directory %s", dir);
	if (sbx_dev_node(parent, slash + 1, path, type, major, minor, perm, uid, gid, why,
			 sizeof why) < 0) {
		errno = 0; /* named in why */
		die(c, "%s", why);
	}
}

static bool has_mount(const bwk_oci_spec *s, const char *dest)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].destination, dest))
			return true;
	return false;
}

/* Whether the spec binds a directory on /dev (`-v /dev:/dev`, a privileged engine's): then
 * /dev is that directory, often the host's own, and nothing is created in it — neither the
 * standard nodes nor linux.devices, whose making unlinks and recreates a name (runc's
 * needsSetupDev). */
static bool dev_is_bind(const bwk_oci_spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const bwk_oci_mount *m = &s->mounts[i];
		bwk_oci_mount_opts o;
		bwk_error *e = NULL;
		if (strcmp(m->destination, "/dev"))
			continue;
		if (m->type && !strcmp(m->type, "bind"))
			return true;
		if (bwk_oci_mount_opts_parse(m, i, &o, &e) < 0) {
			bwk_error_free(e);
			return true; /* refused by do_mount already; never reached */
		}
		if (o.bind)
			return true;
	}
	return false;
}

static void setup_dev(const init_ctx *c, int rootfd)
{
	const bwk_oci_spec *s = c->s;
	if (dev_is_bind(s))
		return;
	if (has_mount(s, "/dev")) {
		cleanup_close int dev = sbx_mkpath_in_root(rootfd, "/dev", true);
		char why[512];
		if (dev < 0)
			die(c, "/dev");
		if (sbx_dev_standard(dev, has_mount(s, "/dev/pts"), why, sizeof why) < 0) {
			errno = 0; /* named in why */
			die(c, "%s", why);
		}
	}
	for (size_t i = 0; i < s->linux_.n_devices; i++) {
		const bwk_oci_device *d = &s->linux_.devices[i];
		make_device(c, rootfd, d->path, d->type[0], (unsigned)d->major, (unsigned)d->minor,
			    d->file_mode.set ? (mode_t)(d->file_mode.v & 07777) : 0666,
			    d->uid.set ? (uid_t)d->uid.v : 0, d->gid.set ? (gid_t)d->gid.v : 0);
	}
}

/* After pivot_root: a mount the spec made shared (or rshared) is shared again. pivot_root's
 * detaching of the old root makes the whole tree a slave first (sbx_pivot), which leaves a
 * shared mount without a master private, and the option would be dropped silently. */
static void reshare_mounts(const init_ctx *c)
{
	cleanup_close int root = -1;
	for (size_t i = 0; i < c->s->n_mounts; i++) {
		bwk_oci_mount_opts o;
		bwk_error *e = NULL;
		if (bwk_oci_mount_opts_parse(&c->s->mounts[i], i, &o, &e) < 0) {
			errno = 0;
			die(c, "%s", e->msg);
		}
		if (!(o.prop & MS_SHARED))
			continue;
		if (root < 0 && (root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			die(c, "opening the root");
		cleanup_close int t = sbx_open_in_root(root, c->s->mounts[i].destination, O_PATH);
		char target[64];
		if (t >= 0)
			fdpath(target, sizeof target, t);
		if (t < 0 || mount(NULL, target, NULL, o.prop & (MS_SHARED | MS_REC), NULL) < 0)
			die(c, "propagation of %s", c->s->mounts[i].destination);
	}
}

/* ---- hooks in the init ---- */

/* The largest state the init receives for its own hooks (one message on the sync socket,
 * within its default buffer). */
#define HOOK_STATE_MAX (128 * 1024)

/* In B: the state its own hooks get, from P (NULL: it has none), and the write end of the
 * exec fifo, where a failing startContainer hook is reported to `start` (-1: none, `exec`). */
static char *init_hook_state;
static int init_hook_fifo = -1;

static bool hooks_in_create(const bwk_oci_spec *s)
{
	return s->hooks.n[BWK_OCI_HOOK_PRESTART] || s->hooks.n[BWK_OCI_HOOK_CREATE_RUNTIME] ||
	       s->hooks.n[BWK_OCI_HOOK_CREATE_CONTAINER] ||
	       s->hooks.n[BWK_OCI_HOOK_START_CONTAINER];
}

/* In B, its mounts made and before pivot_root (or the chroot), as runc and crun order them:
 * P runs prestart and createRuntime in the runtime's namespaces while B waits ('H'), then
 * sends the state for B's own hooks ('K'); B runs createContainer in the container's mount
 * namespace, where the host's paths still resolve. A failure is create's error. */
static void hooks_before_pivot(const init_ctx *c)
{
	if (!hooks_in_create(c->s))
		return;
	send_msg(c->sync_fd, 'H', 0, NULL);
	sync_msg m;
	if (recv(c->sync_fd, &m, sizeof m, 0) != (ssize_t)sizeof m || m.type != 'K' || m.val < 0 ||
	    m.val > HOOK_STATE_MAX)
		_exit(1); /* P gave up: it reports why */
	if (m.val == 0)
		return;
	char *buf = xmalloc((size_t)m.val + 1);
	if (recv(c->sync_fd, buf, (size_t)m.val, 0) != (ssize_t)m.val)
		_exit(1);
	buf[m.val] = 0;
	init_hook_state = buf;
	bwk_error *e = NULL;
	if (ocirt_run_hooks(c->s, BWK_OCI_HOOK_CREATE_CONTAINER, buf, &e) < 0) {
		errno = 0;
		die(c, "%s", e->msg);
	}
}

/* In B, released by `start`, once it has become the process (rlimits, user, capabilities,
 * no_new_privs, seccomp) and right before it executes process.args, as runc (after
 * finalizeNamespace and the filter) and crun (after the capabilities and the filter) run it:
 * startContainer in the container's namespaces, paths resolved in its root, with the
 * process's credentials and filter. A failure goes to `start` through the exec fifo ('E' and
 * the error), then B exits. */
static void hooks_at_start(const init_ctx *c)
{
	int fifo_w = init_hook_fifo;
	if (!c->s->hooks.n[BWK_OCI_HOOK_START_CONTAINER] || !init_hook_state || fifo_w < 0)
		return;
	bwk_error *e = NULL;
	if (ocirt_run_hooks(c->s, BWK_OCI_HOOK_START_CONTAINER, init_hook_state, &e) < 0) {
		char msg[OCIRT_FIFO_ERR_MAX];
		int n = snprintf(msg, sizeof msg, "E%s", e->msg);
		if (n > 0 &&
		    write(fifo_w, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1)) {
		}
		fprintf(stderr, "bulwark: %s\n", e->msg);
		_exit(1);
	}
}

/* In P, on B's 'H' (once B's pid is known): prestart and createRuntime, then the state for
 * B's hooks. Every create-time hook gets the status "created", as from crun (runc says
 * "creating"; runtime-tools' hooks_stdin wants "created"). */
static int hooks_runtime(const bwk_oci_spec *s, const char *id, const char *bundle, pid_t b,
			 int sync_fd, bwk_error **err)
{
	cleanup_free char *ann = ocirt_annotations_json(s);
	ocirt_state st = {
	    .id = (char *)id, .bundle = (char *)bundle, .pid = b, .annotations_json = ann};
	cleanup_free char *state = ocirt_state_serialise(&st, "created", false);
	if (!state)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "container %s: its state", id);
	if (ocirt_run_hooks(s, BWK_OCI_HOOK_PRESTART, state, err) < 0 ||
	    ocirt_run_hooks(s, BWK_OCI_HOOK_CREATE_RUNTIME, state, err) < 0)
		return -1;
	bool in_init =
	    s->hooks.n[BWK_OCI_HOOK_CREATE_CONTAINER] || s->hooks.n[BWK_OCI_HOOK_START_CONTAINER];
	size_t len = in_init ? strlen(state) : 0;
	if (len > HOOK_STATE_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "container %s: its state (%zu bytes, mostly annotations) is "
				     "too large for createContainer and startContainer hooks (at "
				     "most %d)",
				     id, len, HOOK_STATE_MAX);
	send_msg(sync_fd, 'K', (int32_t)len, NULL);
	if (len && send(sync_fd, state, len, MSG_NOSIGNAL) != (ssize_t)len)
		return bwk_error_set(err, BWK_E_RUNTIME, errno,
				     "container %s: the state for its init's hooks", id);
	return 0;
}

static void setup_rootfs(const init_ctx *c)
{
	const bwk_oci_spec *s = c->s;
	unsigned long prop = MS_SLAVE | MS_REC;
	const char *rp = s->linux_.rootfs_propagation;
	if (rp && (!strcmp(rp, "private") || !strcmp(rp, "rprivate")))
		prop = MS_PRIVATE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		die(c, "making / %s", prop & MS_PRIVATE ? "private" : "a slave");
	cleanup_close int rootfd = -1;
	if (c->un && c->un->active) {
		/* the idmapped root, attached over the bundle directory (our cwd: its path may
		 * not be traversable from the user namespace) */
		char why[512];
		errno = 0;
		if ((rootfd = ocirt_userns_attach_root(c->un, why, sizeof why)) < 0)
			die(c, "root %s: %s", c->rootfs, why);
	} else {
		if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			die(c, "bind mount of the root %s", c->rootfs);
		rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (rootfd < 0)
		die(c, "root %s", c->rootfs);
	for (size_t i = 0; i < s->n_mounts; i++)
		do_mount(c, rootfd, &s->mounts[i]);
	setup_dev(c, rootfd);
	hooks_before_pivot(c);
	const char *step = NULL;
	if (sbx_pivot(rootfd, &step) < 0)
		die(c, "%s %s", step, c->rootfs);
	reshare_mounts(c);
	unsigned long rprop = rp ? bwk_oci_propagation_flags(rp) : 0;
	if ((rprop & (MS_SHARED | MS_SLAVE | MS_UNBINDABLE)) &&
	    mount(NULL, "/", NULL, rprop, NULL) < 0)
		die(c, "rootfsPropagation %s", rp);
}

/* After pivot_root: each path resolved inside the new root. A file is masked with the
 * container's /dev/null, checked: a mount outside the new root (the host's) cannot be cloned
 * once the old root is detached. */
static void mask_and_protect(const init_ctx *c)
{
	const bwk_oci_linux *l = &c->s->linux_;
	cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		die(c, "opening the root");
	cleanup_close int devnull =
	    l->masked_paths.n ? sbx_host_device("/dev/null", S_IFCHR, 1, 3) : -1;
	if (l->masked_paths.n && devnull < 0)
		die(c, "/dev/null of the container (for linux.maskedPaths)");
	cleanup_close int empty = -1; /* one tmpfs for every masked directory */
	for (size_t i = 0; i < l->masked_paths.n; i++) {
		const char *p = l->masked_paths.v[i];
		cleanup_close int t = sbx_open_in_root(root, p, O_PATH);
		if (t < 0 && errno == ENOENT)
			continue;
		if (t < 0 || sbx_mask_at(t, devnull, &empty) < 0)
			die(c, "masking %s", p);
	}
	for (size_t i = 0; i < l->readonly_paths.n; i++) {
		const char *p = l->readonly_paths.v[i];
		cleanup_close int t = sbx_open_in_root(root, p, O_PATH);
		if (t < 0 && errno == ENOENT)
			continue;
		if (t < 0 || sbx_readonly_at(t, true) < 0)
			die(c, "read-only path %s", p);
	}
	if (c->s->root_readonly && bind_remount("/", MS_RDONLY) < 0)
		die(c, "read-only root");
}

/* The loopback interface of a new network namespace up, as runc and crun bring it (Podman's
 * --network none has it, Docker's network hooks expect it). */
static int loopback_up(void)
{
	cleanup_close int s = sbx_nl_open();
	unsigned lo = if_nametoindex("lo");
	return s < 0 || !lo ? -1 : sbx_nl_link_up(s, (int)lo, 0);
}

static void setup_sysctl_hostname(const init_ctx *c)
{
	const bwk_oci_spec *s = c->s;
	if ((c->ns.new_flags & CLONE_NEWNET) && loopback_up() < 0)
		die(c, "bringing the loopback interface up");
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		die(c, "hostname %s", s->hostname);
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		die(c, "domainname %s", s->domainname);
	for (size_t i = 0; i < s->linux_.sysctl.n; i++) {
		const char *k = s->linux_.sysctl.v[i].key, *v = s->linux_.sysctl.v[i].value;
		char path[512];
		if (strstr(k, "..") || strchr(k, '/') == k ||
		    snprintf(path, sizeof path, "/proc/sys/%s", k) >= (int)sizeof path)
			die(c, "linux.sysctl: '%.64s' is not a sysctl name", k);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		cleanup_close int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || write(fd, v, strlen(v)) < 0)
			die(c, "sysctl %s=%s", k, v);
	}
}

/* The pty, made in the container's devpts, its master to the engine's console socket. */
static void setup_console(const init_ctx *c)
{
	struct winsize ws = {.ws_row = (unsigned short)c->proc->console_height,
			     .ws_col = (unsigned short)c->proc->console_width};
	if (sbx_tty_make(c->console_fd, c->proc->has_console_size ? &ws : NULL, true) < 0)
		die(c, "console: a pty sent to the console socket");
	close(c->console_fd);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		die(c, "console: TIOCSCTTY");
}

/* ---- the process ---- */

/* A name unknown to bulwark or to this kernel is left out (warned about by unknown_caps) */
static uint64_t cap_mask(const bwk_strv *v)
{
	return bwk_caps_spec_mask((const char *const *)v->v, v->n, NULL);
}

/* The process's capability names left out of its sets, as one warning line (runc's) in
 * *warnings, or through bwk_log when warnings is NULL */
static void unknown_caps(const bwk_oci_process *p, bwk_strv *warnings)
{
	if (!p->caps.set)
		return;
	cleanup_strv_clear bwk_strv u = {0};
	const bwk_strv *sets[] = {&p->caps.bounding, &p->caps.effective, &p->caps.inheritable,
				  &p->caps.permitted, &p->caps.ambient};
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
		(void)bwk_caps_spec_mask((const char *const *)sets[i]->v, sets[i]->n, &u);
	if (!u.n)
		return;
	bwk_strbuf b;
	bwk_strbuf_init(&b, 4096);
	bwk_strbuf_append(&b, "ignoring unknown or unavailable capabilities:");
	for (size_t i = 0; i < u.n; i++)
		bwk_strbuf_printf(&b, " %.64s", u.v[i]);
	char *line = bwk_strbuf_steal(&b);
	if (!warnings) {
		bwk_log(BWK_LOG_WARNING, "%s", line);
		free(line);
	} else
		(void)bwk_strv_take(warnings, line, NULL);
}

/* AppArmor confines a process once the kernel has the module enabled (runc and crun refuse a
 * profile otherwise: a confinement asked for and silently not applied is worse than an error). */
static bool apparmor_enabled(void)
{
	char y = 0;
	cleanup_close int fd =
	    open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &y, 1) == 1 && y == 'Y';
}

/* The profile the next execve enters: "exec NAME" to the process's AppArmor exec attribute
 * (the per-module file first, the legacy shared one on kernels without it). */
static int apparmor_exec(const char *profile)
{
	char v[4096];
	int n = snprintf(v, sizeof v, "exec %s", profile);
	if (n < 0 || (size_t)n >= sizeof v)
		return -1;
	int fd = open("/proc/thread-self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, v, (size_t)n);
	close(fd);
	return w == n ? 0 : -1;
}

static __attribute__((noreturn)) void exec_process(const init_ctx *c)
{
	const bwk_oci_process *p = c->proc;
	uint64_t bounding = cap_mask(&p->caps.bounding);
	sbx_bpf *filters[2] = {NULL, NULL};
	size_t nf = 0;
	bwk_error *serr = NULL;
	if (c->s->linux_.seccomp.set && !c->seccomp_loaded) {
		cleanup_with(bwk_seccomp_profile_freep) bwk_seccomp_profile *prof = NULL;
		filters[nf] = xcalloc(1, sizeof *filters[nf]);
		if (sbx_seccomp_from_spec(&c->s->linux_.seccomp, &prof, &serr) < 0 ||
		    sbx_seccomp_compile(prof, bounding, filters[nf], &serr) < 0)
			die(c, "%s", serr->msg);
		long sf = bwk_oci_seccomp_flags_lower(&c->s->linux_.seccomp);
		if (sf < 0) {
			errno = 0;
			die(c, "linux.seccomp.flags: a flag is unknown");
		}
		filters[nf++]->flags = (unsigned)sf;
	}
	/* `bulwark spec`'s bundles and the hardening policy ask for bulwark's built-in policy
	 * by annotation; with the bundle's own filter too, both are loaded (the intersection) */
	const char *ann = bwk_oci_spec_annotation(c->s, BWK_OCI_ANN_SECCOMP);
	if (ann && !strcmp(ann, "default")) {
		filters[nf] = xcalloc(1, sizeof *filters[nf]);
		if (sbx_seccomp_compile(NULL, bounding, filters[nf++], &serr) < 0)
			die(c, "the default seccomp policy: %s", serr->msg);
	}
	if (p->apparmor_profile && (!apparmor_enabled() || apparmor_exec(p->apparmor_profile) < 0))
		die(c, "process.apparmorProfile '%s'%s", p->apparmor_profile,
		    apparmor_enabled() ? "" : ": AppArmor is not enabled on this host");
	bwk_rlimit rl[BWK_MAX_RLIMITS];
	size_t nrl = 0;
	for (size_t i = 0; i < p->n_rlimits && nrl < BWK_MAX_RLIMITS; i++)
		nrl += bwk_oci_rlimit_lower(&p->rlimits[i], &rl[nrl]) == 0;
	bwk_oci_sched_attr sched;
	errno = 0; /* the refusals below name their property; no errno of their own */
	if (p->scheduler.set && bwk_oci_sched_lower(&p->scheduler, &sched) < 0)
		die(c, "process.scheduler: policy '%s' or a flag is unknown", p->scheduler.policy);
	int ioprio = p->io_priority.set ? bwk_oci_ioprio_lower(&p->io_priority) : 0;
	if (ioprio < 0)
		die(c, "process.ioPriority: class '%s' is unknown", p->io_priority.class_);
	long persona = c->s->linux_.personality.set ? bwk_oci_personality_lower(&c->s->linux_) : 0;
	if (persona < 0)
		die(c, "linux.personality: domain '%s' is unknown",
		    c->s->linux_.personality.domain);
	/* the spec's gids as they are (validated: at most NGROUPS_MAX) */
	_Static_assert(sizeof(gid_t) == sizeof *p->user.additional_gids, "gid_t is 32 bits");
	const gid_t *groups = p->user.additional_gids;
	size_t ng = p->user.n_additional_gids;
	sbx_process proc = {.rlimits = rl,
			    .nrlimits = nrl,
			    .bounding = bounding,
			    .uid = p->user.uid,
			    .gid = p->user.gid,
			    .groups = groups,
			    .ngroups = ng,
			    .groups_may_fail = true,
			    .umask = p->user.umask.set ? (int)(p->user.umask.v & 0777) : -1,
			    .cwd = p->cwd,
			    .caps = {.effective = cap_mask(&p->caps.effective),
				     .permitted = cap_mask(&p->caps.permitted),
				     .inheritable = cap_mask(&p->caps.inheritable),
				     .ambient = cap_mask(&p->caps.ambient)},
			    .no_new_privs = p->no_new_privileges,
			    .filters = {filters[0], filters[1]},
			    .set_personality = c->s->linux_.personality.set,
			    .personality = (unsigned long)persona,
			    .set_ioprio = p->io_priority.set,
			    .ioprio = ioprio,
			    .sched = p->scheduler.set ? &sched : NULL,
			    .preserve_fds = c->preserve_fds};
	char why[512];
	if (sbx_process_enter(&proc, why, sizeof why) < 0) {
		errno = 0; /* named in why */
		die(c, "%s", why);
	}
	hooks_at_start(c);
	static char *empty[] = {NULL};
	environ = p->env.n ? p->env.v : empty;
	execvp(p->args.v[0], p->args.v);
	int e = errno;
	if (c->sync_fd >= 0) { /* exec: the caller reports it (in runc's words, which engines
				* map to 127 and 126) */
		errno = 0;
		if (e == ENOENT)
			die(c, "exec: \"%s\": executable file not found in $PATH", p->args.v[0]);
		errno = e;
		die(c, "exec: \"%s\"", p->args.v[0]);
	}
	fprintf(stderr, "bulwark: exec %s: %s\n", p->args.v[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* A filter with SCMP_ACT_NOTIFY: loaded now, while the runtime waits on the sync socket, its
 * listener fd handed to the runtime and our copy closed (oci_seccomp_notify.c). */
static void hand_over_listener(init_ctx *c)
{
	if (!ocirt_notify_wanted(&c->s->linux_.seccomp))
		return;
	char why[512];
	int fd = ocirt_notify_load(&c->s->linux_.seccomp, cap_mask(&c->proc->caps.bounding), why,
				   sizeof why);
	if (fd < 0)
		die(c, "%s", why);
	sync_msg m = {.type = 'S'};
	if (sbx_send_fd(c->sync_fd, &m, sizeof m, fd) != (ssize_t)sizeof m)
		die(c, "handing the seccomp listener fd to the runtime");
	close(fd);
	c->seccomp_loaded = true;
}

/* The runtime's side: once it has the listener fd and the process's pid, the fd goes to the
 * agent at listenerPath, and ours is closed. */
static int forward_listener(const bwk_oci_spec *s, ocirt_state *st, const char *status, pid_t pid,
			    int *fd, bwk_error **err)
{
	if (*fd < 0 || pid <= 0)
		return 0;
	bool own = !st->annotations_json; /* exec: the state's own */
	if (own)
		st->annotations_json = ocirt_annotations_json(s);
	int r = ocirt_notify_send(&s->linux_.seccomp, st, status, pid, *fd, err);
	if (own) {
		free(st->annotations_json);
		st->annotations_json = NULL;
	}
	close(*fd);
	*fd = -1;
	return r;
}

static __attribute__((noreturn)) void init_main(init_ctx *c)
{
	if (setsid() < 0)
		die(c, "setsid");
	bool mntns = bwk_oci_spec_namespace(c->s, "mount") != NULL;
	/* no mount namespace, as the spec allows: the host's mounts, none of the spec's (they
	 * would land in the host's namespace), chrooted into the root; the fifo is reopened
	 * through the host's /proc */
	cleanup_close int fds =
	    mntns ? -1 : open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mntns)
		setup_rootfs(c);
	else {
		hooks_before_pivot(c);
		if (fds < 0 || chroot(c->rootfs) < 0 || chdir("/") < 0)
			die(c, "chroot %s", c->rootfs);
	}
	setup_sysctl_hostname(c);
	if (mntns)
		mask_and_protect(c);
	if (c->s->process.terminal)
		setup_console(c);
	hand_over_listener(c);
	send_msg(c->sync_fd, 'R', 0, NULL);
	close(c->sync_fd);
	c->sync_fd = -1; /* from here on errors go to the container's stderr */
	char fp[64];
	fdpath(fp, sizeof fp, c->fifo_fd);
	if (fds >= 0)
		snprintf(fp, sizeof fp, "%d", c->fifo_fd);
	int w = openat(fds >= 0 ? fds : AT_FDCWD, fp, O_WRONLY | O_CLOEXEC); /* until `start` */
	if (w < 0 || write(w, "0", 1) != 1)
		die(c, "exec fifo");
	/* w stays open (close-on-exec): `start` waits for it to close, so that once start has
	 * returned the container's process runs its own program (a signal sent then reaches it,
	 * not an init that has no handler for it yet) */
	close(c->fifo_fd);
	init_hook_fifo = w; /* startContainer: in exec_process, once B is the process */
	exec_process(c);
}

/* A (or exec's A) into the container's cgroup, first, unless it was born there (v2:
 * ocirt_cgroup_fork): everything it forks is born there, the init before any of its own code
 * runs (ocirt_cgroup_join_self: on v1 the cheap move of the caller's one thread, which P
 * writing A's pid would not be) */
static void join_cgroup(const init_ctx *c)
{
	bwk_error *e = NULL;
	if (!c->in_cgroup && ocirt_cgroup_join_self(c->cg, &e) < 0) {
		cleanup_free char *msg = bwk_error_format(e);
		bwk_error_free(e);
		errno = 0; /* in msg */
		die(c, "%s", msg ? msg : "cgroup: joining");
	}
}

/* In A (and exec's A), first: the container's process.oomScoreAdj, inherited by everything
 * forked after (as runc's nsexec, which writes it before any namespace). Written while still
 * in the host's user namespace: lowering it needs CAP_SYS_RESOURCE there, and once a user
 * namespace is unshared /proc/self/oom_score_adj is no longer writable at all (the id change
 * left A not dumpable, the file belongs to a root the namespace does not map). exec's process
 * gets the container's value too, as runc gives it (not its process file's). */
static void set_oom_score_adj(const init_ctx *c)
{
	if (!c->s->process.oom_score_adj.set)
		return;
	cleanup_close int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	char v[32];
	int n = snprintf(v, sizeof v, "%lld", (long long)c->s->process.oom_score_adj.v);
	if (fd < 0 || write(fd, v, (size_t)n) != n)
		die(c, "process.oomScoreAdj %lld", (long long)c->s->process.oom_score_adj.v);
}

/* linux.timeOffsets into the time namespace A has just unshared (validated: a new one): its
 * offsets can be written only before a process enters it, so before the fork of B. */
static void set_time_offsets(init_ctx *c)
{
	static const int ids[] = BWK_OCI_CLOCK_IDS;
	char buf[128];
	size_t n = 0;
	for (size_t i = 0; i < BWK_OCI_N_CLOCKS; i++) {
		const bwk_oci_time_offset *t = &c->s->linux_.time_offsets[i];
		if (t->set)
			n += (size_t)snprintf(buf + n, sizeof buf - n,
					      "%d %" PRId64 " %" PRIu32 "\n", ids[i], t->secs,
					      t->nanosecs);
	}
	if (!n || !(c->ns.new_flags & SBX_CLONE_NEWTIME))
		return;
	cleanup_close int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n)
		die(c, "linux.timeOffsets: writing /proc/self/timens_offsets");
}

static __attribute__((noreturn)) void stage_a(init_ctx *c)
{
	join_cgroup(c);
	set_oom_score_adj(c);
	int keep[MAX_KEEP];
	size_t nk = 0;
	keep[nk++] = c->sync_fd;
	keep[nk++] = c->fifo_fd;
	if (c->console_fd >= 0)
		keep[nk++] = c->console_fd;
	for (size_t i = 0; i < c->ns.njoin; i++)
		keep[nk++] = c->ns.fd[i];
	if (c->un)
		nk += ocirt_userns_fds(c->un, keep + nk, MAX_KEEP - nk);
	close_except(keep, nk, c->preserve_fds);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (chdir(c->bundle) < 0)
		die(c, "chdir %s", c->bundle);
	char why[512];
	if (sbx_ns_join(&c->ns, why, sizeof why) < 0) {
		errno = 0; /* named in why */
		die(c, "%s", why);
	}
	/* (dumpable again, as the id change left it not: /proc/self stays its own) */
	if (c->un && c->un->active &&
	    (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 ||
	     prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0))
		die(c, "becoming root in the user namespace");
	if (sbx_ns_unshare(c->ns.new_flags & CLONE_NEWUSER, why, sizeof why) < 0) {
		errno = 0;
		die(c, "%s", why);
	}
	send_msg(c->sync_fd, 'U', 0, NULL);
	sync_msg m;
	if (recv(c->sync_fd, &m, sizeof m, 0) != (ssize_t)sizeof m || m.type != 'G')
		_exit(1);
	if ((c->ns.new_flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		die(c, "becoming root in the user namespace (is 0 mapped?)");
	if (sbx_ns_unshare(c->ns.new_flags & ~(unsigned long)CLONE_NEWUSER, why, sizeof why) < 0) {
		errno = 0;
		die(c, "%s", why);
	}
	set_time_offsets(c);
	pid_t b = fork();
	if (b < 0)
		die(c, "fork");
	if (b == 0) {
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		init_main(c);
	}
	send_msg(c->sync_fd, 'P', (int32_t)b, NULL);
	_exit(0);
}

/* ---- the create process ---- */

/* linux.uidMappings and gidMappings into the new user namespace of `pid` (sbx_idmap_write) */
static int write_idmaps(pid_t pid, const bwk_oci_linux *l, bwk_error **err)
{
	sbx_idmap uid[SBX_IDMAP_MAX], gid[SBX_IDMAP_MAX];
	if (l->n_uid_mappings > SBX_IDMAP_MAX || l->n_gid_mappings > SBX_IDMAP_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "linux.uidMappings/gidMappings: at most %d each",
				     SBX_IDMAP_MAX);
	for (size_t i = 0; i < l->n_uid_mappings; i++)
		uid[i] = (sbx_idmap){l->uid_mappings[i].container_id, l->uid_mappings[i].host_id,
				     l->uid_mappings[i].size};
	for (size_t i = 0; i < l->n_gid_mappings; i++)
		gid[i] = (sbx_idmap){l->gid_mappings[i].container_id, l->gid_mappings[i].host_id,
				     l->gid_mappings[i].size};
	sbx_idmaps m = {
	    .uid = uid, .gid = gid, .nuid = l->n_uid_mappings, .ngid = l->n_gid_mappings};
	if (sbx_idmap_write(pid, &m, err) < 0)
		return bwk_error_wrap(err, "linux.uidMappings and gidMappings");
	return 0;
}

static void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static int check_spec(const bwk_oci_spec *s, const bwk_oci_create_opts *o, bwk_error **err)
{
	if (!s->has_process || !s->process.args.n)
		return bwk_error_set(err, BWK_E_INPUT, 0, "config.json: process.args is required");
	if (!s->has_root)
		return bwk_error_set(err, BWK_E_INPUT, 0, "config.json: root.path is required");
	if (s->process.terminal && !o->console_socket)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "process.terminal is true: %s is required",
				     bwk_setting("console-socket", "the console socket"));
	if (ocirt_notify_check(&s->linux_.seccomp, err) < 0)
		return -1;
	if (s->linux_.intel_rdt)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "config.json: linux.intelRdt: not supported: bulwark does not "
				     "manage Intel RDT (resctrl); remove it from the bundle");
	if (s->process.apparmor_profile && !apparmor_enabled())
		return bwk_error_set(
		    err, BWK_E_UNSUPPORTED, 0,
		    "process.apparmorProfile '%s': AppArmor is not enabled on this "
		    "host (the engine should not ask for a profile then)",
		    s->process.apparmor_profile);
	const bwk_oci_namespace *u = bwk_oci_spec_namespace(s, "user");
	if (u && !u->path && (!s->linux_.n_uid_mappings || !s->linux_.n_gid_mappings))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "config.json: a new user namespace needs linux.uidMappings "
				     "and linux.gidMappings");
	return 0;
}

/* runc's --preserve-fds N: 3..3+N-1 must be open here (the caller's to pass on). */
static int check_preserve_fds(unsigned n, bwk_error **err)
{
	if (n > BWK_OCI_MAX_PRESERVE_FDS)
		return bwk_error_set(err, BWK_E_USAGE, 0, "%s %u: at most %d",
				     bwk_setting("preserve-fds", "preserved descriptors"), n,
				     BWK_OCI_MAX_PRESERVE_FDS);
	for (unsigned i = 0; i < n; i++)
		if (fcntl(3 + (int)i, F_GETFD) < 0)
			return bwk_error_set(
			    err, BWK_E_USAGE, errno, "%s %u: descriptor %u is not open",
			    bwk_setting("preserve-fds", "preserved descriptors"), n, 3 + i);
	return 0;
}

/* The engine's console socket (--console-socket), which receives the pty's master. */
static int connect_console(const char *path, bwk_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t l = strlen(path);
	if (l >= sizeof sa.sun_path)
		return bwk_error_set(err, BWK_E_USAGE, 0, "%s: path too long",
				     bwk_setting("console-socket", "the console socket"));
	memcpy(sa.sun_path, path, l + 1);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s %s",
				     bwk_setting("console-socket", "the console socket"), path);
	return steal_fd(&fd);
}

int bwk_oci_create(const bwk_oci_create_opts *o, bwk_error **err)
{
	const char *root = o->root ? o->root : BWK_OCI_DEFAULT_ROOT;
	/* first: a descriptor opened here would look like one of the caller's */
	if (check_preserve_fds(o->preserve_fds, err) < 0 || ocirt_require_root("create", err) < 0 ||
	    ocirt_check_id(o->id, err) < 0)
		return -1;
	cleanup_free char *bundle = realpath(o->bundle ? o->bundle : ".", NULL);
	if (!bundle)
		return bwk_error_set(err, BWK_E_NOTFOUND, errno, "bundle %s", o->bundle);
	cleanup_close int bfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *data = NULL;
	size_t len;
	if (bfd < 0 ||
	    bwk_read_file_at(bfd, "config.json", BWK_OCI_MAX_BYTES, true, &data, &len, err) < 0)
		return bfd < 0 ? bwk_error_set(err, BWK_E_IO, errno, "bundle %s", bundle)
			       : bwk_error_wrap(err, "bundle %s", bundle);
	bwk_oci_spec *s = NULL;
	if (bwk_oci_spec_parse("config.json", data, len, &s, err) < 0)
		return -1;
	int rc = -1;
	int rootfd = -1, dirfd = -1, fifo = -1, console = -1, sync[2] = {-1, -1}, listener = -1;
	bool made_dir = false;
	pid_t a = -1, b = -1;
	ocirt_cgroup cg = {0};
	init_ctx c = {.s = s,
		      .proc = &s->process,
		      .bundle = bundle,
		      .cg = &cg,
		      .sync_fd = -1,
		      .console_fd = -1};
	char *rootfs = NULL;
	ocirt_state st = {0};
	char created[64];
	bool ready = false, hooks_asked = false;
	int wait_ms = 60000; /* for each step of the setup; longer by what B's hooks may take */
	int harden = 0;
	char no_userns[512];
	const char *refusal = NULL;
	ocirt_userns un;
	ocirt_userns_init(&un);
	c.preserve_fds = o->preserve_fds;
	if (bwk_oci_spec_validate("config.json", s, err) < 0 || check_spec(s, o, err) < 0)
		goto out;
	/* the hardening policy: the hardened spec is the one run and saved */
	harden = bwk_oci_harden_wanted(s, o->harden, o->runtime_conf, err);
	if (harden > 0) /* asked of the bundle as given, before capabilities are dropped */
		refusal = bwk_oci_harden_userns_refusal(s, no_userns, sizeof no_userns);
	if (harden < 0 || (harden > 0 && bwk_oci_harden(s, o->changes, err) < 0))
		goto out;
	unknown_caps(&s->process, o->warnings);
	{
		char rp[PATH_MAX];
		if (snprintf(rp, sizeof rp, "%s%s%s", s->root_path[0] == '/' ? "" : bundle,
			     s->root_path[0] == '/' ? "" : "/", s->root_path) >= (int)sizeof rp ||
		    !(rootfs = realpath(rp, NULL))) {
			bwk_error_set(err, BWK_E_NOTFOUND, errno, "root.path %s", s->root_path);
			goto out;
		}
		c.rootfs = rootfs;
	}
	if (harden > 0) {
		if (ocirt_userns_prepare(s, bfd, rootfs, refusal, &un, o->changes, err) < 0)
			goto out;
		c.un = &un;
		free(data);
		if (!(data = bwk_oci_spec_serialise(s, false, err)))
			goto out;
		len = strlen(data);
	}
	/* the spec's own idmapped mounts (oci_mount_idmap.c), attached by the init as the
	 * policy's are */
	if (ocirt_mount_idmaps(s, bfd, &un, err) < 0)
		goto out;
	c.un = &un;
	if ((rootfd = ocirt_open_root(root, true, err)) < 0)
		goto out;
	if (mkdirat(rootfd, o->id, 0700) < 0) {
		bwk_error_set(err, errno == EEXIST ? BWK_E_RUNTIME : BWK_E_IO, errno,
			      errno == EEXIST ? "container %s exists (state root %s): delete it "
						"first or choose another id"
					      : "container %s: state directory under %s",
			      o->id, root);
		goto out;
	}
	made_dir = true;
	dirfd = openat(rootfd, o->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0 || flock(dirfd, LOCK_EX) < 0) {
		bwk_error_set(err, BWK_E_IO, errno, "container %s: state directory", o->id);
		goto out;
	}
	if (ocirt_userns_commit(&un, dirfd, err) < 0)
		goto out;
	if (mkfifoat(dirfd, OCIRT_FIFO, 0600) < 0 ||
	    (fifo = openat(dirfd, OCIRT_FIFO, O_PATH | O_CLOEXEC)) < 0) {
		bwk_error_set(err, BWK_E_IO, errno, "container %s: exec fifo", o->id);
		goto out;
	}
	c.fifo_fd = fifo;
	{
		/* a new user namespace: its root opens the fifo, as the host id it maps to */
		const bwk_oci_namespace *u = bwk_oci_spec_namespace(s, "user");
		uid_t hu = 0;
		gid_t hg = 0;
		for (size_t i = 0; u && !u->path && i < s->linux_.n_uid_mappings; i++)
			if (s->linux_.uid_mappings[i].container_id == 0)
				hu = s->linux_.uid_mappings[i].host_id;
		for (size_t i = 0; u && !u->path && i < s->linux_.n_gid_mappings; i++)
			if (s->linux_.gid_mappings[i].container_id == 0)
				hg = s->linux_.gid_mappings[i].host_id;
		if ((hu || hg) && fchownat(dirfd, OCIRT_FIFO, hu, hg, AT_SYMLINK_NOFOLLOW) < 0) {
			bwk_error_set(err, BWK_E_IO, errno, "container %s: exec fifo", o->id);
			goto out;
		}
	}
	{
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s/%s", root, o->id, OCIRT_CONFIG);
		if (bwk_write_file_replace(p, data, len, 0600, err) < 0)
			goto out;
	}
	if (o->console_socket) {
		if ((console = connect_console(o->console_socket, err)) < 0)
			goto out;
		c.console_fd = console;
	}
	if (sbx_ns_from_spec(&c.ns, s, err) < 0)
		goto out;
	if (un.active) { /* the policy's user namespace exists already: joined, not created */
		c.ns.new_flags &= ~(unsigned long)CLONE_NEWUSER;
		if (sbx_ns_add_fd(&c.ns, CLONE_NEWUSER, fcntl(un.userns_fd, F_DUPFD_CLOEXEC, 3),
				  "the hardening policy", err) < 0)
			goto out;
	}
	if (ocirt_cgroup_create(s, o->id, o->systemd_cgroup, &cg, err) < 0)
		goto out;
	{
		/* A first state: no init yet (reads as stopped), but the cgroup. Should this
		 * process die from here on, `delete --force` kills what is in the cgroup (an init
		 * waiting on the fifo) and removes it. */
		ocirt_state early = {.id = (char *)o->id, .bundle = bundle, .cg = cg};
		cleanup_free char *text = ocirt_state_serialise(&early, "stopped", true);
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s/%s", root, o->id, OCIRT_STATE);
		if (bwk_write_file_replace(p, text, strlen(text), 0600, err) < 0)
			goto out;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "socketpair");
		goto out;
	}
	fflush(NULL);
	a = ocirt_cgroup_fork(&cg, &c.in_cgroup);
	if (a < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "fork");
		goto out;
	}
	if (a == 0) {
		close(sync[0]);
		c.sync_fd = sync[1];
		stage_a(&c);
	}
	close(sync[1]);
	sync[1] = -1;
	for (;;) {
		sync_msg m;
		struct pollfd pf = {sync[0], POLLIN, 0};
		int pr = poll(&pf, 1, wait_ms);
		if (pr == 0) {
			bwk_error_set(err, BWK_E_RUNTIME, ETIMEDOUT, "container %s: setup", o->id);
			goto out;
		}
		int passed = -1;
		ssize_t n = pr > 0 ? sbx_recv_fd(sync[0], &m, sizeof m, &passed) : -1;
		if (n < 0 && errno == EINTR)
			continue;
		if (passed >= 0 && (n != (ssize_t)sizeof m || m.type != 'S' || listener >= 0))
			close(passed); /* only the one listener fd is expected */
		else if (passed >= 0)
			listener = passed;
		if (n != (ssize_t)sizeof m) {
			bwk_error_set(err, BWK_E_RUNTIME, 0,
				      "container %s: its init exited during setup", o->id);
			goto out;
		}
		m.text[sizeof m.text - 1] = 0;
		if (m.type == 'E') {
			bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: %s", o->id, m.text);
			goto out;
		}
		if (m.type == 'U') {
			if ((c.ns.new_flags & CLONE_NEWUSER) &&
			    write_idmaps(a, &s->linux_, err) < 0)
				goto out;
			send_msg(sync[0], 'G', 0, NULL);
		} else if (m.type == 'P')
			b = (pid_t)m.val;
		else if (m.type == 'R')
			ready = true;
		else if (m.type == 'H')
			hooks_asked = true;
		/* B's 'H' may come before A's 'P': the hooks wait for B's pid */
		if (hooks_asked && b > 0) {
			hooks_asked = false;
			if (hooks_runtime(s, o->id, bundle, b, sync[0], err) < 0)
				goto out;
			wait_ms += ocirt_hooks_budget_ms(s, BWK_OCI_HOOK_CREATE_CONTAINER);
		}
		ocirt_state early = {.id = (char *)o->id, .bundle = bundle, .pid = b};
		if (forward_listener(s, &early, "creating", b, &listener, err) < 0)
			goto out;
		/* the init's 'R' and its parent's 'P' race: wait for both */
		if (ready && b > 0)
			break;
	}
	waitpid(a, NULL, 0);
	a = -1;
	st = (ocirt_state){.id = (char *)o->id, .bundle = bundle, .pid = b, .cg = cg};
	rfc3339_now(created, sizeof created);
	st.created = created;
	if (b <= 0 || ocirt_proc_start_time(b, &st.start_time, NULL) < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: its init is gone", o->id);
		goto out;
	}
	st.annotations_json = ocirt_annotations_json(s);
	{
		cleanup_free char *internal = ocirt_state_serialise(&st, "created", true);
		free(st.annotations_json);
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s/%s", root, o->id, OCIRT_STATE);
		if (bwk_write_file_replace(p, internal, strlen(internal), 0600, err) < 0)
			goto out;
	}
	if (o->pid_file) {
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%d", (int)b);
		if (bwk_write_file_replace(o->pid_file, pid, (size_t)n, 0644, err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		if (b > 0)
			kill(b, SIGKILL);
		if (a > 0) {
			kill(a, SIGKILL);
			waitpid(a, NULL, 0);
		}
		ocirt_cgroup_destroy(&cg);
		if (made_dir)
			ocirt_remove_state(rootfd, dirfd, o->id);
	} else
		ocirt_cgroup_free(&cg);
	ocirt_userns_release(&un);
	sbx_ns_close(&c.ns);
	if (sync[0] >= 0)
		close(sync[0]);
	if (listener >= 0)
		close(listener);
	if (console >= 0)
		close(console);
	if (fifo >= 0)
		close(fifo);
	if (dirfd >= 0)
		close(dirfd);
	if (rootfd >= 0)
		close(rootfd);
	free(rootfs);
	bwk_oci_spec_free(s);
	return rc;
}

/* ---- exec: a new process in a running container ---- */

static __attribute__((noreturn)) void stage_exec(init_ctx *c)
{
	join_cgroup(c);
	set_oom_score_adj(c);
	int keep[MAX_JOIN + 4];
	size_t nk = 0;
	keep[nk++] = c->sync_fd;
	if (c->console_fd >= 0)
		keep[nk++] = c->console_fd;
	for (size_t i = 0; i < c->ns.njoin; i++)
		keep[nk++] = c->ns.fd[i];
	close_except(keep, nk, c->preserve_fds);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	char why[512];
	if (sbx_ns_join(&c->ns, why, sizeof why) < 0) { /* the user namespace last */
		errno = 0;				/* named in why */
		die(c, "the container's namespaces: %s", why);
	}
	pid_t b = fork();
	if (b < 0)
		die(c, "fork");
	if (b == 0) {
		prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		if (setsid() < 0)
			die(c, "setsid");
		if (c->proc->terminal)
			setup_console(c);
		hand_over_listener(c);
		exec_process(c);
	}
	send_msg(c->sync_fd, 'P', (int32_t)b, NULL);
	_exit(0);
}

int bwk_oci_exec_process_load(const char *path, bwk_oci_spec **out, bwk_error **err)
{
	*out = NULL;
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, path, BWK_OCI_MAX_BYTES, true, &data, &len, err) < 0)
		return bwk_error_wrap(err, "%s", bwk_setting("process", "the process file"));
	json_error_t je;
	json_t *p = bwk_oci_json_loadb(data, len, &je);
	if (!p || !json_is_object(p)) {
		json_decref(p);
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s %s: not a JSON object",
				     bwk_setting("process", "the process file"), path);
	}
	json_t *doc = json_pack("{s:s, s:o, s:{s:s}}", "ociVersion", "1.2.0", "process", p, "root",
				"path", "rootfs");
	cleanup_free char *text = bwk_oci_json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "%s",
				     bwk_setting("process", "the process file"));
	/* the same parser and checks as config.json's process */
	if (bwk_oci_spec_parse(path, text, strlen(text), out, err) < 0)
		return -1;
	if (bwk_oci_process_validate(path, &(*out)->process, err) < 0) {
		bwk_oci_spec_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* The process exec runs, as a spec holding only that process: the process file (loaded by
 * the caller, or here), else the container's own with exec's args and options */
static int exec_process_spec(const bwk_oci_exec_opts *o, int dirfd, bwk_oci_spec **out,
			     bwk_error **err)
{
	if (o->process) {
		*out = o->process; /* the caller's: not freed here */
		return 0;
	}
	if (o->process_json)
		return bwk_oci_exec_process_load(o->process_json, out, err);
	/* the container's own process with other args */
	*out = ocirt_saved_config(dirfd);
	if (!*out)
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: its config is gone",
				     o->id);
	bwk_oci_process *pr = &(*out)->process;
	for (size_t i = 0; i < pr->args.n; i++)
		free(pr->args.v[i]);
	free(pr->args.v);
	size_t n = 0;
	while (o->args && o->args[n])
		n++;
	pr->args.v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		pr->args.v[i] = xstrdup(o->args[i]);
	pr->args.n = n;
	pr->terminal = o->tty;
	if (!n || ocirt_exec_overrides(pr, o, err) < 0 ||
	    bwk_oci_process_validate("exec", pr, err) < 0) {
		bwk_oci_spec_free(*out);
		*out = NULL;
		return n ? -1 : bwk_error_set(err, BWK_E_USAGE, 0, "exec: a command is required");
	}
	return 0;
}

int bwk_oci_exec(const bwk_oci_exec_opts *o, int *status, bwk_error **err)
{
	const char *root = o->root ? o->root : BWK_OCI_DEFAULT_ROOT;
	*status = 0;
	if (ocirt_require_root("exec", err) < 0 || ocirt_check_id(o->id, err) < 0)
		return -1;
	int rc = -1, rootfd = -1, dirfd = -1, console = -1, sync[2] = {-1, -1}, listener = -1;
	pid_t a = -1, b = -1;
	ocirt_state st = {0};
	bwk_oci_spec *cs = NULL, *ps = NULL;
	init_ctx c = {.sync_fd = -1, .console_fd = -1, .preserve_fds = o->preserve_fds};
	const char *status_s;
	unsigned long long t;
	if (check_preserve_fds(o->preserve_fds, err) < 0 ||
	    (rootfd = ocirt_open_root(root, false, err)) < 0 ||
	    (dirfd = ocirt_open_container(rootfd, root, o->id, false, err)) < 0 ||
	    ocirt_state_read(dirfd, o->id, &st, err) < 0)
		goto out;
	status_s = ocirt_status(dirfd, &st);
	if (!strcmp(status_s, "paused") && !o->ignore_paused) {
		bwk_error_set(err, BWK_E_RUNTIME, 0,
			      "container %s is paused: resume it, or exec with %s (the process "
			      "then runs on resume)",
			      o->id, bwk_setting("ignore-paused", "the paused container ignored"));
		goto out;
	}
	if (strcmp(status_s, "running") && strcmp(status_s, "paused")) {
		bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s is %s: exec needs it running",
			      o->id, status_s);
		goto out;
	}
	if (!(cs = ocirt_saved_config(dirfd))) {
		bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: its config is gone", o->id);
		goto out;
	}
	if (exec_process_spec(o, dirfd, &ps, err) < 0)
		goto out;
	{ /* a hardened container's exec gets the same process hardening */
		const char *h = bwk_oci_spec_annotation(cs, BWK_OCI_ANN_HARDENED);
		if (h && !strcmp(h, "true"))
			bwk_oci_harden_process(&ps->process, NULL);
	}
	unknown_caps(&ps->process, NULL);
	c.s = cs;
	c.proc = &ps->process;
	c.cg = &st.cg;
	if (ps->process.terminal && !o->console_socket) {
		bwk_error_set(err, BWK_E_USAGE, 0, "process.terminal is true: %s is required",
			      bwk_setting("console-socket", "the console socket"));
		goto out;
	}
	if (sbx_ns_of_pid(&c.ns, st.pid, cs, o->id, err) < 0)
		goto out;
	/* the namespaces are the init's, not a reused pid's */
	if (ocirt_proc_start_time(st.pid, &t, NULL) < 0 || t != st.start_time) {
		bwk_error_set(err, BWK_E_RUNTIME, ESRCH, "container %s is not running", o->id);
		goto out;
	}
	if (o->console_socket) {
		if ((console = connect_console(o->console_socket, err)) < 0)
			goto out;
		c.console_fd = console;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "socketpair");
		goto out;
	}
	/* without --detach the process is ours to wait for once its parent (A) is gone */
	if (!o->detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* born in the container's cgroup where the kernel can (v2), as create's child is */
	if (ocirt_cgroup_open(&st.cg, err) < 0)
		goto out;
	fflush(NULL);
	a = ocirt_cgroup_fork(&st.cg, &c.in_cgroup);
	if (a < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "fork");
		goto out;
	}
	if (a == 0) {
		close(sync[0]);
		c.sync_fd = sync[1];
		stage_exec(&c);
	}
	close(sync[1]);
	sync[1] = -1;
	for (;;) {
		sync_msg m;
		int passed = -1;
		ssize_t n = sbx_recv_fd(sync[0], &m, sizeof m, &passed);
		if (n < 0 && errno == EINTR)
			continue;
		if (passed >= 0 && (n != (ssize_t)sizeof m || m.type != 'S' || listener >= 0))
			close(passed);
		else if (passed >= 0)
			listener = passed;
		if (forward_listener(cs, &st, "running", b, &listener, err) < 0)
			goto out;
		if (n == (ssize_t)sizeof m && m.type == 'S')
			continue;
		if (n == 0 && b > 0)
			break; /* executed: its end of the socket closed on exec */
		if (n != (ssize_t)sizeof m) {
			bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: exec: the process died",
				      o->id);
			goto out;
		}
		m.text[sizeof m.text - 1] = 0;
		if (m.type == 'E') {
			bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: %s", o->id, m.text);
			goto out;
		}
		if (m.type == 'P')
			b = (pid_t)m.val;
		if (forward_listener(cs, &st, "running", b, &listener, err) < 0)
			goto out;
	}
	waitpid(a, NULL, 0);
	a = -1;
	if (o->pid_file) {
		char pid[32];
		int n = snprintf(pid, sizeof pid, "%d", (int)b);
		if (bwk_write_file_replace(o->pid_file, pid, (size_t)n, 0644, err) < 0)
			goto out;
	}
	if (!o->detach) {
		close(dirfd); /* never hold the container's lock while it runs */
		dirfd = -1;
		int ws = 0;
		while (waitpid(b, &ws, 0) < 0 && errno == EINTR)
			;
		*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	}
	rc = 0;
out:
	if (rc < 0) {
		if (b > 0)
			kill(b, SIGKILL);
		if (a > 0) {
			kill(a, SIGKILL);
			waitpid(a, NULL, 0);
		}
		/* ours once A is gone (subreaper): a zombie left in the container's pid
		 * namespace would keep its init from ever finishing its exit */
		if (b > 0 && !o->detach)
			waitpid(b, NULL, 0);
	}
	sbx_ns_close(&c.ns);
	if (sync[0] >= 0)
		close(sync[0]);
	if (listener >= 0)
		close(listener);
	if (console >= 0)
		close(console);
	if (dirfd >= 0)
		close(dirfd);
	if (rootfd >= 0)
		close(rootfd);
	ocirt_state_free(&st);
	bwk_oci_spec_free(cs);
	if (ps != o->process)
		bwk_oci_spec_free(ps);
	return rc;
}
