/* The default seccomp policy: an allowlist (default action EPERM) that is a subset of Docker's
 * default profile, minus the kernel attack surface that containers rarely need and exploits
 * often do (docs/run.md "Seccomp" lists every difference and why). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stddef.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

/* Allowed unconditionally. Not here, so denied with EPERM: io_uring_*, userfaultfd, keyctl,
 * add_key, request_key, bpf, perf_event_open, unshare, setns, mount, umount2, pivot_root,
 * open_tree, move_mount, fs{open,config,mount,pick}, mount_setattr, kexec_*, *_module,
 * open_by_handle_at, reboot, swapon/off, acct, settimeofday, clock_settime, clock_adjtime,
 * adjtimex, syslog, quotactl*, sethostname, setdomainname, iopl, ioperm, modify_ldt, vhangup,
 * lookup_dcookie, fanotify_init, uselib, ustat, sysfs, _sysctl, nfsservctl, mbind,
 * set_mempolicy*, migrate_pages, move_pages, ptrace family (unless CAP_SYS_PTRACE), chroot
 * (unless CAP_SYS_CHROOT), and every syscall libseccomp does not know. */
static const char *const allowed[] = {
    "accept",
    "accept4",
    "access",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "sendfile",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "socketpair",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
    "times",
    "tkill",
    "truncate",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "write",
    "writev",
};

static const char *const ptrace_family[] = {"ptrace", "process_vm_readv", "process_vm_writev",
					    "kcmp",   "pidfd_getfd",	  "process_madvise"};

/* Socket families a container may create; AF_ALG (CVE-2026-31431 "Copy Fail") and AF_VSOCK
 * (host channel) are not among them. Compared on the low 32 bits because the kernel
 * truncates the int argument: an upper-bit variant must not slip past a 64-bit compare. */
static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};
static const uint32_t personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

#define CLONE_NS_FLAGS                                                                             \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET)

/* Syscall numbers newer than libseccomp 2.5 knows (cachestat=451 …): ENOSYS, so that libc
 * falls back to older calls instead of failing with EPERM. */
#define FIRST_UNKNOWN_NR 451
#define LAST_UNKNOWN_NR	 470

/* A rule for `name`; one libseccomp does not know here is skipped (not on this architecture),
 * as is one that only repeats the default action (EACCES) or an earlier rule (EEXIST). */
static int add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
	       const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0;
	int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
	return r == -EACCES || r == -EEXIST ? 0 : r;
}

int sbx_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *out)
{
	uint32_t e = has_errno ? errno_ret : EPERM;
	static const struct {
		const char *name;
		uint32_t action;
		bool takes_errno;
	} t[] = {
	    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false},
	    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true},
	    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false},
	    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false},
	    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false},
	    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, false},
	    {"SCMP_ACT_LOG", SCMP_ACT_LOG, false},
	    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true},
	};
	for (size_t i = 0; name && i < sizeof t / sizeof *t; i++)
		if (!strcmp(name, t[i].name)) {
			*out = t[i].action | (t[i].takes_errno ? (e & 0xffff) : 0);
			return 0;
		}
	return -1;
}

int sbx_seccomp_op(const char *name)
{
	static const struct {
		const char *name;
		int op;
	} ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
		   {"SCMP_CMP_LT", SCMP_CMP_LT},
		   {"SCMP_CMP_LE", SCMP_CMP_LE},
		   {"SCMP_CMP_EQ", SCMP_CMP_EQ},
		   {"SCMP_CMP_GE", SCMP_CMP_GE},
		   {"SCMP_CMP_GT", SCMP_CMP_GT},
		   {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
	for (size_t i = 0; name && i < sizeof ops / sizeof *ops; i++)
		if (!strcmp(name, ops[i].name))
			return ops[i].op;
	return -1;
}

/* The capabilities the default policy looks at: its program is the same for every set that
 * agrees on these. */
#define POLICY_CAPS ((1ull << 18 /* CAP_SYS_CHROOT */) | (1ull << 19 /* CAP_SYS_PTRACE */))

int sbx_seccomp_default(uint64_t caps, scmp_filter_ctx *out, bwk_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return bwk_error_set(err, BWK_E_RUNTIME, ENOMEM, "seccomp_init");
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof allowed / sizeof *allowed; i++)
		r = add(ctx, SCMP_ACT_ALLOW, allowed[i], 0, NULL);
	if (caps & (1ull << 19 /* CAP_SYS_PTRACE */))
		for (size_t i = 0; r == 0 && i < sizeof ptrace_family / sizeof *ptrace_family; i++)
			r = add(ctx, SCMP_ACT_ALLOW, ptrace_family[i], 0, NULL);
	if (r == 0 && (caps & (1ull << 18 /* CAP_SYS_CHROOT */)))
		r = add(ctx, SCMP_ACT_ALLOW, "chroot", 0, NULL);
	for (size_t i = 0; r == 0 && i < sizeof families / sizeof *families; i++) {
		struct scmp_arg_cmp c = {.arg = 0,
					 .op = SCMP_CMP_MASKED_EQ,
					 .datum_a = 0xffffffff,
					 .datum_b = families[i]};
		r = add(ctx, SCMP_ACT_ALLOW, "socket", 1, &c);
	}
	for (size_t i = 0; r == 0 && i < sizeof personas / sizeof *personas; i++) {
		struct scmp_arg_cmp c = {.arg = 0,
					 .op = SCMP_CMP_MASKED_EQ,
					 .datum_a = 0xffffffff,
					 .datum_b = personas[i]};
		r = add(ctx, SCMP_ACT_ALLOW, "personality", 1, &c);
	}
	if (r == 0) {
		/* threads and processes, never new namespaces */
		struct scmp_arg_cmp c = {
		    .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_NS_FLAGS, .datum_b = 0};
		r = add(ctx, SCMP_ACT_ALLOW, "clone", 1, &c);
	}
	if (r == 0) /* its flags live in memory we cannot inspect: ENOSYS makes glibc use clone */
		r = add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	if (r == 0) {
		/* TIOCSTI pushes keystrokes into a terminal (CVE-2017-5226): every other request
		 * is allowed. The kernel truncates the request to 32 bits, so values above
		 * TIOCSTI are allowed only as aligned blocks below 2^32 (one comparison per
		 * argument is all libseccomp takes), never as a 64-bit "greater than". */
		struct scmp_arg_cmp lo = {
		    .arg = 1, .op = SCMP_CMP_LT, .datum_a = TIOCSTI, .datum_b = 0};
		r = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &lo);
		uint64_t start = (uint64_t)TIOCSTI + 1, end = 1ull << 32;
		while (r == 0 && start < end) {
			uint64_t size = 1;
			while ((start & (size * 2 - 1)) == 0 && start + size * 2 <= end)
				size *= 2;
			struct scmp_arg_cmp blk = {.arg = 1,
						   .op = SCMP_CMP_MASKED_EQ,
						   .datum_a = ~(size - 1),
						   .datum_b = start};
			r = add(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &blk);
			start += size;
		}
	}
	for (int nr = FIRST_UNKNOWN_NR; r == 0 && nr <= LAST_UNKNOWN_NR; nr++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	if (r < 0) {
		seccomp_release(ctx);
		return bwk_error_set(err, BWK_E_RUNTIME, -r, "building the default seccomp filter");
	}
	*out = ctx;
	return 0;
}

int sbx_seccomp_build(const bwk_seccomp_profile *p, scmp_filter_ctx *out, bwk_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(p->default_action);
	if (!ctx)
		return bwk_error_set(err, BWK_E_RUNTIME, ENOMEM, "seccomp_init");
	/* the caller's no_new_privs decides, not libseccomp's default */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (unsigned i = 0; i < p->narches; i++)
		if (seccomp_arch_add(ctx, p->arches[i]) < 0 &&
		    seccomp_arch_exist(ctx, p->arches[i]) != 0) {
			/* an architecture this libseccomp cannot add is skipped, as runc does */
		}
	for (size_t i = 0; i < p->nrules; i++) {
		const sbx_seccomp_rule *rule = &p->rules[i];
		if (rule->action == p->default_action)
			continue;
		struct scmp_arg_cmp cmp[6];
		for (unsigned a = 0; a < rule->nargs; a++)
			cmp[a] = (struct scmp_arg_cmp){
			    rule->args[a].index, (enum scmp_compare)rule->args[a].op,
			    rule->args[a].value, rule->args[a].value_two};
		int r = add(ctx, rule->action, rule->name, rule->nargs, cmp);
		if (r < 0) {
			seccomp_release(ctx);
			return bwk_error_set(err, BWK_E_INPUT, -r, "seccomp rule for %s",
					     rule->name);
		}
	}
	*out = ctx;
	return 0;
}

int sbx_seccomp_load(const char *path, uint64_t caps, bwk_seccomp_profile **out, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, path, 4u << 20, true, &data, &len, err) < 0)
		return bwk_error_wrap(err, "reading seccomp profile %s", path);
	if (bwk_seccomp_profile_parse(data, len, caps, out, err) < 0)
		return bwk_error_wrap(err, "seccomp profile %s", path);
	return 0;
}

/* libseccomp's generation costs about a millisecond: the host side runs it while the child
 * builds its filesystem, and both pid 1 and the command install the one program. */
int sbx_seccomp_compile(const bwk_seccomp_profile *custom, uint64_t caps, sbx_bpf *out,
			bwk_error **err)
{
	scmp_filter_ctx ctx = NULL;
	if ((custom ? sbx_seccomp_build(custom, &ctx, err) : sbx_seccomp_default(caps, &ctx, err)) <
	    0)
		return -1;
	cleanup_close int fd = memfd_create("bulwark-seccomp", MFD_CLOEXEC);
	int r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (r < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, -r, "exporting the seccomp filter");
	off_t len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) || len > (off_t)sizeof out->insns)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "the seccomp filter has %lld instructions (the kernel takes "
				     "at most %d): simplify the profile",
				     (long long)(len / (off_t)sizeof(struct sock_filter)),
				     BPF_MAXINSNS);
	if (pread(fd, out->insns, (size_t)len, 0) != len)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "reading the seccomp filter");
	out->len = (unsigned)(len / (off_t)sizeof(struct sock_filter));
	return 0;
}

/* ---- the default policy's program, kept between runs ----
 * libseccomp builds the same program every time for one build of bulwark, one libseccomp and
 * one POLICY_CAPS subset: root's run directory (0700, root's: whoever can write in it is root
 * already) keeps it as seccomp-default-BUILD-N.bpf (BUILD: the start of the build id, so two
 * builds run at once each keep their own), a header naming all three, then the program.
 * Anything else under that name (a short or long file, one others can write, another
 * libseccomp's) is not used: the program is compiled as before and the file replaced. Each
 * write keeps at most MEMO_KEEP_OTHERS files of other builds, the newest: a directory that
 * sees build after build does not fill. */

#define MEMO_MAGIC	 0x6277736bu /* "bwsk" */
#define MEMO_ID_MAX	 64
#define MEMO_PREFIX	 "seccomp-default-"
#define MEMO_BUILD_HEX	 12 /* hex digits of the build id in the name */
#define MEMO_KEEP_OTHERS 4
#define MEMO_TMP_AGE	 60 /* seconds: a writer's temporary file left by a crash */

typedef struct memo_header {
	uint32_t magic;
	uint32_t libseccomp; /* major << 16 | minor << 8 | micro */
	uint64_t caps;	     /* the POLICY_CAPS subset */
	uint32_t id_len;     /* of build_id */
	uint32_t len;	     /* instructions that follow */
	uint8_t build_id[MEMO_ID_MAX];
} memo_header;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	memo_header *h = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
			size_t name = (n->n_namesz + 3u) & ~3u, desc = (n->n_descsz + 3u) & ~3u;
			const char *d = p + sizeof *n + name;
			if (d + desc > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    !memcmp(p + sizeof *n, "GNU", 4) && n->n_descsz <= MEMO_ID_MAX &&
			    n->n_descsz > 0) {
				memcpy(h->build_id, d, n->n_descsz);
				h->id_len = n->n_descsz;
				return 1;
			}
			p = d + desc;
		}
	}
	return 1; /* the first object is the program itself: only its id counts */
}

/* This build's header for `caps`, or -1 when the program carries no build id. */
static int memo_key(uint64_t caps, memo_header *h)
{
	memset(h, 0, sizeof *h);
	const struct scmp_version *v = seccomp_version();
	dl_iterate_phdr(find_build_id, h);
	if (!v || !h->id_len)
		return -1;
	h->magic = MEMO_MAGIC;
	h->libseccomp = v->major << 16 | v->minor << 8 | v->micro;
	h->caps = caps & POLICY_CAPS;
	return 0;
}

/* seccomp-default-BUILD- (the prefix of this build's names) into `name`; its length */
static size_t memo_build_prefix(const memo_header *h, char *name, size_t len)
{
	size_t n = (size_t)snprintf(name, len, "%s", MEMO_PREFIX);
	for (size_t i = 0; i < MEMO_BUILD_HEX / 2 && i < h->id_len && n + 3 < len; i++)
		n += (size_t)snprintf(name + n, len - n, "%02x", h->build_id[i]);
	n += (size_t)snprintf(name + n, len - n, "-");
	return n < len ? n : len - 1;
}

static void memo_name(const memo_header *h, char *name, size_t len)
{
	size_t n = memo_build_prefix(h, name, len);
	snprintf(name + n, len - n, "%u.bpf",
		 (unsigned)(((h->caps >> 18) & 1u) | ((h->caps >> 19) & 1u) << 1));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

static bool newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec ? a->tv_sec > b->tv_sec : a->tv_nsec > b->tv_nsec;
}

/* Other builds' memo files beyond the newest MEMO_KEEP_OTHERS, and writers' temporary files
 * older than MEMO_TMP_AGE, are removed: only regular files of ours (never through a link:
 * unlinkat removes the name), this build's (`ours`: their prefix) never. */
static void memo_prune(int dirfd, const char *ours)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_dir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct {
		char name[256];
		struct timespec mtime;
	} kept[MEMO_KEEP_OTHERS];
	size_t nkept = 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (struct dirent *e; (e = readdir(d));) {
		const char *n = e->d_name;
		bool tmp = n[0] == '.' && !strncmp(n + 1, MEMO_PREFIX, strlen(MEMO_PREFIX));
		if (!tmp &&
		    (strncmp(n, MEMO_PREFIX, strlen(MEMO_PREFIX)) || !has_suffix(n, ".bpf") ||
		     !strncmp(n, ours, strlen(ours)) || strlen(n) >= sizeof kept[0].name))
			continue;
		struct stat st;
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		if (tmp) {
			if (now.tv_sec - st.st_mtim.tv_sec > MEMO_TMP_AGE)
				(void)unlinkat(dirfd, n, 0);
			continue;
		}
		if (nkept < MEMO_KEEP_OTHERS) {
			snprintf(kept[nkept].name, sizeof kept[nkept].name, "%s", n);
			kept[nkept++].mtime = st.st_mtim;
			continue;
		}
		size_t old = 0;
		for (size_t i = 1; i < nkept; i++)
			if (newer(&kept[old].mtime, &kept[i].mtime))
				old = i;
		if (!newer(&st.st_mtim, &kept[old].mtime)) {
			(void)unlinkat(dirfd, n, 0);
			continue;
		}
		(void)unlinkat(dirfd, kept[old].name, 0);
		snprintf(kept[old].name, sizeof kept[old].name, "%s", n);
		kept[old].mtime = st.st_mtim;
	}
}

/* Only a file and directory of ours that nobody else can write are trusted. */
static bool private_to_us(int fd, bool dir, off_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) ||
	    (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
		return false;
	if (size)
		*size = st.st_size;
	return true;
}

int sbx_seccomp_memo_dir(void)
{
	const char *e = getenv("BWK_RUN_DIR");
	const char *dir = e && *e ? e : "/run/bulwark";
	cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !private_to_us(fd, true, NULL))
		return -1;
	return steal_fd(&fd);
}

int sbx_seccomp_memo_get(int dirfd, uint64_t caps, sbx_bpf *out)
{
	memo_header want, got;
	char name[64];
	off_t size = 0;
	if (memo_key(caps, &want) < 0)
		return -1;
	memo_name(&want, name, sizeof name);
	cleanup_close int fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || !private_to_us(fd, false, &size) ||
	    pread(fd, &got, sizeof got, 0) != (ssize_t)sizeof got)
		return -1;
	size_t bytes = (size_t)got.len * sizeof(struct sock_filter);
	if (memcmp(&got, &want, offsetof(memo_header, len)) ||
	    memcmp(got.build_id, want.build_id, sizeof got.build_id) || !got.len ||
	    got.len > BPF_MAXINSNS || size != (off_t)(sizeof got + bytes) ||
	    pread(fd, out->insns, bytes, sizeof got) != (ssize_t)bytes)
		return -1;
	out->len = got.len;
	return 0;
}

void sbx_seccomp_memo_put(int dirfd, uint64_t caps, const sbx_bpf *bpf)
{
	memo_header h;
	char name[64], tmp[96];
	if (!bpf->len || bpf->len > BPF_MAXINSNS || memo_key(caps, &h) < 0)
		return;
	h.len = bpf->len;
	memo_name(&h, name, sizeof name);
	snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
	cleanup_close int fd =
	    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t bytes = bpf->len * sizeof(struct sock_filter);
	bool ok = write(fd, &h, sizeof h) == (ssize_t)sizeof h &&
		  write(fd, bpf->insns, bytes) == (ssize_t)bytes;
	if (!ok || renameat(dirfd, tmp, dirfd, name) < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return;
	}
	char ours[64];
	memo_build_prefix(&h, ours, sizeof ours);
	memo_prune(dirfd, ours);
}

int sbx_seccomp_install(const sbx_bpf *bpf)
{
	struct sock_fprog prog = {.len = (unsigned short)bpf->len,
				  .filter = (struct sock_filter *)bpf->insns};
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bpf->flags, &prog);
}

bool bwk_seccomp_filter_flag_supported(unsigned long flag)
{
	/* with no program the kernel checks the flags, then fails to copy the program: EFAULT
	 * means it takes them, EINVAL that it does not; nothing is loaded either way.
	 * WAIT_KILLABLE_RECV is only valid with a listener, so it is asked for with one. */
	unsigned long f = flag;
	if (f & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
		f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 && errno == EFAULT;
}
