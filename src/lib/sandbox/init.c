/* The container side after clone(): wait for the host side (id maps, cgroup), build the
 * filesystem, then either exec the command as pid 1 (--init=false) or fork it and stay as a
 * minimal init that forwards signals and reaps zombies, exiting with the command's status. */
#define _GNU_SOURCE
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define EXIT_RUNTIME 125

/* Receive the go byte, and with it the id-mapped layer mounts when the host side made them. */
static int wait_for_host(sbx_ctx *ctx)
{
	char byte;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 160)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n;
	do
		n = recvmsg(ctx->sync_fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return -1; /* the host side failed and said so */
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		size_t layers = byte == SBX_GO_MERGED ? 1 : ctx->nlowers;
		if (nfd == layers + ctx->spec->nbinds) {
			memcpy(ctx->mnt_fds, CMSG_DATA(c), nfd * sizeof(int));
			ctx->detached = true;
			ctx->nlowers = layers;
		}
	}
	return 0;
}

static void loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static const char *env_get(const char *const *env, const char *key)
{
	size_t kl = strlen(key);
	for (; env && *env; env++)
		if (!strncmp(*env, key, kl) && (*env)[kl] == '=')
			return *env + kl + 1;
	return NULL;
}

/* execvpe() searches the caller's PATH; the command must be found in the container's. */
static int exec_in_path(const char *const *argv, const char *const *env)
{
	const char *cmd = argv[0];
	if (strchr(cmd, '/')) {
		execve(cmd, (char *const *)argv, (char *const *)env);
		return errno;
	}
	const char *path = env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int err = ENOENT;
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t dl = colon ? (size_t)(colon - path) : strlen(path);
		char full[PATH_MAX];
		if (snprintf(full, sizeof full, "%.*s/%s", (int)dl, dl ? path : ".", cmd) <
		    (int)sizeof full) {
			execve(full, (char *const *)argv, (char *const *)env);
			if (errno == EACCES)
				err = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				err = errno;
		}
		if (!colon)
			break;
		path = colon + 1;
	}
	return err;
}

static char *read_small(const char *path)
{
	char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, path, 4 << 20, false, &data, &len, NULL) < 0)
		return NULL;
	return data;
}

static void set_limit(int res, uint64_t v)
{
	if (v == BWK_UNLIMITED)
		return;
	struct rlimit rl = {v, v};
	(void)setrlimit(res, &rl);
}

/* Every disposition back to the default: whatever bulwark was started with (nohup, a script
 * that runs it in the background with SIGINT and SIGQUIT ignored, a `trap '' TERM`) passes
 * through fork and exec, and an ignored signal stays ignored in the command: a shell cannot
 * even trap it, python and the JVM never see Ctrl-C. Docker's containers start with none. */
static void reset_signals(void)
{
	/* the raw system call: glibc's sigaction() refuses signals 32 and 33 (its own cancel
	 * and setxid signals), which an ignoring parent passes on like any other */
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} dfl = {.handler = SIG_DFL};
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
}

/* Descriptors 0-2 are the container's pipes (or its pty), owned by the container's root
 * (run.c): the command's user gets them, or it could not open them again by name
 * (/dev/stdout, /dev/stderr: links to /proc/self/fd/N, which checks the inode's owner and
 * mode 0600 like any open). Nothing else: /dev/null is the host's device. */
static void stdio_to_user(const bwk_container_spec *s, const bwk_user *u)
{
	if (u->uid == 0 && u->gid == 0)
		return;
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_uid != 0 ||
		    !(S_ISFIFO(st.st_mode) || (s->tty && S_ISCHR(st.st_mode) && isatty(fd))))
			continue;
		(void)!fchown(fd, u->uid, S_ISFIFO(st.st_mode) ? u->gid : (gid_t)-1);
	}
}

/* Runs in the process that becomes the command. Never returns. */
/* Whether the host side is gone already (a parent-death signal armed after it died never
 * comes). Without a pidfd (old kernels) it cannot be told: false. */
static bool parent_gone(const sbx_ctx *ctx)
{
	struct pollfd pf = {.fd = ctx->parent_pidfd, .events = POLLIN};
	return ctx->parent_pidfd >= 0 && poll(&pf, 1, 0) != 0;
}

static void exec_workload(const sbx_ctx *ctx)
{
	const bwk_container_spec *s = ctx->spec;
	sigset_t none;
	sigemptyset(&none);
	reset_signals();
	sigprocmask(SIG_SETMASK, &none, NULL);
	cleanup_free char *passwd = read_small("/etc/passwd");
	cleanup_free char *group = read_small("/etc/group");
	bwk_user u;
	char msg[512];
	if (bwk_user_resolve(s->user, passwd, group, &u, msg, sizeof msg) < 0) {
		sbx_child_error("%s", msg);
		_exit(EXIT_RUNTIME);
	}
	/* 0-2 are already the container's own (stdio.c): with -t its pty becomes the
	 * controlling terminal of a new session; without, there is no controlling terminal */
	if (setsid() < 0 || (s->tty && ioctl(0, TIOCSCTTY, 0) < 0)) {
		sbx_child_error("attaching the terminal: %s", strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	stdio_to_user(s, &u);			    /* still root with every capability here */
	uint64_t caps = u.uid == 0 ? ctx->caps : 0; /* other users: none (Docker 20.10+) */
	sbx_process proc = {.rlimits = s->rlimits,
			    .nrlimits = s->nrlimits,
			    .bounding = ctx->caps,
			    .uid = u.uid,
			    .gid = u.gid,
			    .groups = u.groups,
			    .ngroups = (size_t)u.ngroups,
			    .skip_groups = ctx->userns.deny_setgroups,
			    .umask = -1,
			    .cwd = s->cwd,
			    .caps = {.effective = caps, .permitted = caps},
			    /* without an init this process is pid 1 and bulwark's child */
			    .pdeathsig = s->no_init,
			    .no_new_privs = true,
			    .filters = {ctx->bpf}};
	if (sbx_process_enter(&proc, msg, sizeof msg) < 0) {
		sbx_child_error("%s", msg);
		_exit(EXIT_RUNTIME);
	}
	/* bulwark killed between the uid change and the parent-death signal: none will come */
	if (s->no_init && parent_gone(ctx))
		_exit(EXIT_RUNTIME);
	/* Without the cgroup controller (unprivileged on a v1 host, an undelegated v2 one), a
	 * per-uid process ceiling and a per-process address-space ceiling still stop a fork bomb
	 * or a hog from taking the host down. Last thing before exec: an address-space limit
	 * would break a sanitizer build of ourselves. */
	bool v1 = ctx->cg.mode == SBX_CG_V1, v2 = ctx->cg.mode == SBX_CG_V2;
	if (!v1 && !(v2 && ctx->cg.has_pids))
		set_limit(RLIMIT_NPROC, ctx->pids);
	if (!v1 && !(v2 && ctx->cg.has_memory))
		set_limit(RLIMIT_AS, ctx->memory);
	/* HOME from the image's passwd entry unless the environment sets it (Docker's rule) */
	const char *env_home[BWK_MAX_ENV + 2];
	const char *const *envp = s->env;
	char home[sizeof u.home + 8];
	if (!env_get(s->env, "HOME")) {
		size_t n = 0;
		for (; s->env && s->env[n] && n < BWK_MAX_ENV; n++)
			env_home[n] = s->env[n];
		snprintf(home, sizeof home, "HOME=%s", u.home);
		env_home[n++] = home;
		env_home[n] = NULL;
		envp = env_home;
	}
	int e = exec_in_path(s->argv, envp);
	sbx_child_error("exec %s: %s", s->argv[0],
			e == ENOENT ? "executable file not found in $PATH" : strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_RUNTIME;
}

/* pid 1: forward every catchable signal to the command, reap everything, and leave with the
 * command's status (the kernel then kills whatever is left in the namespace). */
static int init_loop(const sbx_ctx *ctx, pid_t child)
{
	/* Our own privileges go before anything else runs: the container cannot reach this
	 * process through /proc (not dumpable since before the fork). It keeps CAP_KILL and
	 * nothing else: without it kill() fails with EPERM as soon as the command runs as
	 * another uid (an image's USER, --user, gosu/su-exec/setpriv in an entrypoint), and a
	 * SIGTERM never reached PostgreSQL. CAP_KILL held by a process of this user
	 * namespace reaches only its own pid namespace, the container's processes. Forwarding
	 * from the host side instead would need the command's host pid (racy against pid
	 * reuse) and would bypass this init for --no-init anyway. The command cannot inherit
	 * it: it was forked before this and sets its own sets in exec_workload(); the
	 * bounding and inheritable sets here are empty, the ambient set cleared, and this
	 * process never execs (no_new_privs besides). */
	(void)sbx_caps_drop_bounding(0);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	(void)sbx_caps_apply(1ull << CAP_KILL, true);
	if (ctx->bpf->len)
		(void)sbx_seccomp_install(ctx->bpf);
	sigset_t all;
	sigfillset(&all);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int st;
		pid_t p;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == child)
				_exit(status_code(st));
	}
}

int sbx_container_main(sbx_ctx *ctx)
{
	/* first, while nothing else runs in here: into the cgroup (v1, see cgroups.c) */
	if (sbx_cgroup_enter_self(ctx->cg_tasks) < 0) {
		sbx_child_error("moving into the container's cgroup: %s", strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	/* while the host side writes our id maps: nothing runs in here but this code until the
	 * namespace exists, and nothing outside looks at it */
	char ns_why[256];
	if (sbx_ns_unshare(sbx_ns_run_child_flags(ctx->spec), ns_why, sizeof ns_why) < 0) {
		sbx_child_error("%s", ns_why);
		_exit(EXIT_RUNTIME);
	}
	if (wait_for_host(ctx) < 0)
		_exit(EXIT_RUNTIME);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		sbx_child_error("becoming root in the user namespace: %s", strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	if (!ctx->userns.deny_setgroups)
		(void)setgroups(0, NULL);
	/* bulwark killed (even with SIGKILL): the container goes with it, nothing keeps running
	 * unattended. Set after the uid change, which clears it; the pidfd closes the window in
	 * which the host side could have died before. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(EXIT_RUNTIME);
	if (parent_gone(ctx))
		_exit(EXIT_RUNTIME);
	if (!ctx->spec->no_init && ctx->parent_pidfd >= 0) { /* the command re-checks, below */
		close(ctx->parent_pidfd);
		ctx->parent_pidfd = -1;
	}
	if (sbx_mounts_setup(ctx) < 0)
		_exit(EXIT_RUNTIME);
	for (size_t i = 0; i < ctx->spec->nsecrets; i++) /* written: no copy stays in memory */
		explicit_bzero(ctx->secret_data[i], ctx->secret_len[i]);
	if (ctx->spec->hostname && sethostname(ctx->spec->hostname, strlen(ctx->spec->hostname)))
		sbx_child_error("sethostname: %s", strerror(errno));
	if (ctx->spec->net != BWK_NET_HOST)
		loopback_up();
	if (ctx->spec->tty && sbx_tty_make(ctx->sync_fd, NULL, false) < 0) {
		sbx_child_error("allocating the container's pseudo-terminal: %s", strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	/* second byte: we are in our cgroup (its namespace is rooted there) and the seccomp
	 * program is written */
	char go;
	ssize_t n;
	do
		n = read(ctx->sync_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(EXIT_RUNTIME);
	char why[256];
	if (sbx_ns_unshare(CLONE_NEWCGROUP, why, sizeof why) < 0) {
		sbx_child_error("%s", why);
		_exit(EXIT_RUNTIME);
	}
	if (sbx_cgroup_view(ctx) < 0)
		sbx_child_error("warning: showing the container's cgroup at /sys/fs/cgroup: %s: "
				"runtimes that size themselves from it (the JVM's heap) see the "
				"host's resources",
				strerror(errno));
	reset_signals();
	if (ctx->spec->no_init)
		exec_workload(ctx);
	/* pid 1 keeps nothing of the host side's (layer and volume directories, cgroup files)
	 * and cannot be reached through /proc, from before the command exists: a command
	 * given CAP_SYS_PTRACE could otherwise take a descriptor with pidfd_getfd while the
	 * init had not yet closed it */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)syscall(SYS_close_range, 3, ~0u, 0);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	/* vfork: the command borrows this process's memory until its exec, and this process
	 * waits meanwhile. A fork copied the page tables and both processes then took a
	 * copy-on-write fault on every page they wrote, the command's all before its exec:
	 * ~0.4 ms of a run's critical path. The command's set-up changes nothing of ours (its
	 * credentials, seccomp filter, session and signal dispositions are its own task's; what
	 * it allocates stays unreferenced) and it never returns here: it execs or exits. Nothing
	 * it does before its exec can block for good (the image's passwd and group files are
	 * opened non-blocking), and the signals we would forward stay pending meanwhile. */
	/* NOLINTNEXTLINE(clang-analyzer-security.insecureAPI.vfork) */
	pid_t child = vfork();
	if (child < 0) {
		sbx_child_error("fork: %s", strerror(errno));
		_exit(EXIT_RUNTIME);
	}
	if (child == 0)
		exec_workload(ctx); /* NOLINT(clang-analyzer-unix.Vfork): execs or exits, above */
	return init_loop(ctx, child);
}
