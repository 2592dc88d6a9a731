/* Internals of the sandbox module: the state shared by the host-side parent and the container
 * side between clone() and exec. */
#ifndef BWK_SANDBOX_PRIVATE_H
#define BWK_SANDBOX_PRIVATE_H
#ifndef BWK_IN_SANDBOX
#error "sandbox_private.h is private to src/lib/sandbox"
#endif

#include <limits.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bulwark/oci.h"
#include "bulwark/sandbox.h"
#include "core/cleanup.h"

/* One id mapping line: container ids [inside, inside+count) are host [outside, …). */
typedef struct sbx_idmap {
	uint32_t inside, outside, count;
} sbx_idmap;

typedef struct sbx_userns {
	sbx_idmap uid[2], gid[2];
	int nuid, ngid;
	bool helper;	     /* newuidmap/newgidmap write the maps (unprivileged with subuids) */
	bool deny_setgroups; /* single-id fallback: setgroups must be denied first */
	int lock_fd;	     /* root: holds the claim on the host ids (subid.c), else -1 */
} sbx_userns;

typedef enum sbx_cg_mode { SBX_CG_NONE = 0, SBX_CG_V2, SBX_CG_V1 } sbx_cg_mode;
#define SBX_CG_V1_DIRS 5 /* memory, pids, cpu, cpuacct, cpuset */
#define SBX_CG_V1_OWN  4 /* the first four are the container's own, removed after it */

typedef struct sbx_cgroup {
	sbx_cg_mode mode;
	char v2[PATH_MAX]; /* the container's cgroup (v2), for messages only */
	int v2_fd;	   /* v2: the container's cgroup, and the bulwark/ cgroup it is in */
	int v2_parent_fd;
	char name[64]; /* run-PID-…: the container's cgroup in every hierarchy */
	/* v1: the directories below, open (-1 when absent) and, for the container's own, their
	 * bulwark/ parents (cpuset's is shared and kept: -1). Each own directory is flock()ed
	 * shared for the life of the run: the lock, not the pid in the name, tells a later run
	 * that its owner is gone (see sbx_cgroup_reap_stale). */
	int v1_fd[SBX_CG_V1_DIRS];
	int v1_parent_fd[SBX_CG_V1_DIRS];
	char memory[PATH_MAX]; /* v1 controller directories, for messages ("" when absent) */
	char pids[PATH_MAX];
	char cpu[PATH_MAX];
	/* v1 hierarchies without limits of ours, where the container gets a cgroup only so that
	 * its view (cgroup_view.c) shows its own and not the host's tree: the JVM reads cgroups
	 * only when memory, cpu, cpuacct and cpuset are all there ("" when absent or co-mounted
	 * with cpu, or when they could not be made: said once) */
	char cpuacct[PATH_MAX];
	char cpuset[PATH_MAX]; /* shared by all containers (see cgroups.c) */
	uint64_t memory_limit;
	bool has_memory, has_pids, has_cpu; /* v2: controllers enabled for us */
} sbx_cgroup;

typedef struct sbx_slirp {
	pid_t pid;
	int exit_w;
	char api[108];
} sbx_slirp;

/* net_bridge.c: a root container's place on a bridge network */
typedef struct sbx_bridge {
	uint32_t ip;	  /* the container's (network byte order) */
	char table[48];	  /* its nftables table, "" when none */
	char lease[20];	  /* its lease file under /run/bulwark/net/leases, "" when none */
	char network[16]; /* a named network's name ("" for the default one) */
	unsigned index;	  /* its N in 10.213.N.0/24 */
} sbx_bridge;

/* A seccomp program, in memory shared with the child: the host side writes it after clone()
 * (while the child builds its filesystem) and the child reads it after the last go byte. */
typedef struct sbx_bpf {
	unsigned len;	/* 0: unconfined */
	unsigned flags; /* seccomp(SECCOMP_SET_MODE_FILTER)'s (linux.seccomp.flags) */
	struct sock_filter insns[BPF_MAXINSNS];
} sbx_bpf;

typedef struct sbx_ctx {
	const bwk_container_spec *spec;
	uint64_t caps;
	bool seccomp;		      /* false: unconfined */
	bwk_seccomp_profile *profile; /* --seccomp FILE, else NULL: the default policy */
	sbx_bpf *bpf;		      /* shared mapping */
	pid_t seccomp_pid;	      /* the helper compiling it, until reaped */
	bool seccomp_keep;	      /* the default policy compiled here: kept for the next run */
	sbx_bpf *bpf_kept; /* its private copy, taken before the container runs anything */
	uint64_t memory, pids, tmpfs_size;
	sbx_userns userns;
	sbx_cgroup cg;
	int *lower_fds; /* O_PATH fds opened by the host side (the child may not traverse the
			 * host directories above them once its uid is mapped) */
	size_t nlowers;
	char **lower_paths; /* canonical paths, for the child when no detached mount came */
	char **lower_masks; /* LAYER.whiteouts side lists (rootless cache), NULL when none */
	int *bind_fds;
	char **bind_paths;
	/* Detached mounts made by a privileged host side (open_tree + id mapping for layers),
	 * received by the child: a mount from the parent's namespace cannot be bind-mounted
	 * from inside the new one, so without them the child binds by path. */
	bool detached;
	int mnt_fds[BWK_MAX_LOWER_LAYERS + BWK_MAX_BINDS]; /* layers, then volumes */
	char **secret_data;
	size_t *secret_len;
	int sync_fd;	  /* child: read one byte when the host side is done */
	int parent_pidfd; /* child: the host side's pidfd, to notice it died early, or -1 */
	int cg_tasks[SBX_CG_V1_DIRS]; /* v1 tasks files for the child to move itself, else -1 */
	int tty_master; /* host side, -t: the master of the container's pty once received */
	bool is_root;
} sbx_ctx;

/* namespaces.c: the namespaces of both executors. One table names them (the spec's type,
 * /proc/PID/ns name, CLONE_NEW* flag); an sbx_ns_set holds the flags to create and the
 * namespaces to join (open fds). sbx_ns_from_spec: linux.namespaces (a path: joined, else
 * created); sbx_ns_of_pid: exec's, the init's namespaces of the spec's types; sbx_ns_add_fd
 * takes `fd` (closing it on error; fd < 0 is an error naming the namespace and `what`).
 * In the child (no error objects): sbx_ns_join setns()es into each, the user namespace last,
 * and sbx_ns_unshare creates `flags`; both -1 + errno with `why` naming the namespace(s).
 * sbx_ns_run_flags: what `bulwark run` creates with its clone (the cgroup namespace comes in
 * init.c, once the child is in its cgroup); sbx_ns_run_child_flags: what the child creates
 * itself first thing, before the host side releases it (--net none's network namespace). */
#ifndef CLONE_NEWTIME
#define SBX_CLONE_NEWTIME 0x00000080
#else
#define SBX_CLONE_NEWTIME CLONE_NEWTIME
#endif
#define SBX_NS_MAX_JOIN 8
typedef struct sbx_ns_set {
	unsigned long new_flags;
	int fd[SBX_NS_MAX_JOIN], flag[SBX_NS_MAX_JOIN];
	size_t njoin;
} sbx_ns_set;
int sbx_ns_flag(const char *type); /* 0 when unknown */
const char *sbx_ns_type(int flag);
const char *sbx_ns_proc_name(int flag); /* NULL when unknown */
/* "user, mount, pid" for `flags`; its length */
size_t sbx_ns_describe(unsigned long flags, char *buf, size_t len);
void sbx_ns_init(sbx_ns_set *n);
void sbx_ns_close(sbx_ns_set *n);
int sbx_ns_from_spec(sbx_ns_set *n, const bwk_oci_spec *s, bwk_error **err);
int sbx_ns_of_pid(sbx_ns_set *n, pid_t pid, const bwk_oci_spec *s, const char *id, bwk_error **err);
int sbx_ns_add_fd(sbx_ns_set *n, int flag, int fd, const char *what, bwk_error **err);
int sbx_ns_join(sbx_ns_set *n, char *why, size_t len);
int sbx_ns_unshare(unsigned long flags, char *why, size_t len);
unsigned long sbx_ns_run_flags(const bwk_container_spec *s);
unsigned long sbx_ns_run_child_flags(const bwk_container_spec *s);

/* userns.c. plan: as root, claims host ids until release (keep the claim until the container
 * is reaped); unprivileged, the caller's own subordinate ids. */
/* Re-execute `argv` from an immutable view of the running binary (selfexe.c) unless it
 * already runs from one (CVE-2019-5736); `always` skips the exemption for a root-owned binary run
 * as root. Returns only on error, or 0 when no copy is needed. */
int sbx_reexec_sealed(char **argv, bool always, bwk_error **err);

int sbx_userns_plan(sbx_userns *u, const bwk_container_spec *s, bwk_error **err);
/* The one writer of id maps, for both executors (run: sbx_userns_apply; create: the spec's
 * linux.uidMappings) and the helper namespaces (sbx_userns_fd, volume_owner.c): `pid`'s new
 * user namespace gets its uid_map, then "deny" in setgroups with deny_setgroups, then its
 * gid_map (an empty list is left unwritten); with `helper` newuidmap/newgidmap write them
 * (at most 2 lines each). A map is one write of at most SBX_IDMAP_MAX lines that must fit
 * the kernel's page. -1 + err naming the file. */
#define SBX_IDMAP_MAX	340 /* the kernel's UID_GID_MAP_MAX_EXTENTS */
#define SBX_IDMAP_BYTES 4096
typedef struct sbx_idmaps {
	const sbx_idmap *uid, *gid;
	size_t nuid, ngid;
	bool helper;
	bool deny_setgroups;
} sbx_idmaps;
int sbx_idmap_write(pid_t pid, const sbx_idmaps *m, bwk_error **err);
/* The lines "inside outside count\n" of `m` into buf; their length, -1 when n > SBX_IDMAP_MAX
 * or they do not fit len - 1 bytes. */
int sbx_idmap_format(const sbx_idmap *m, size_t n, char *buf, size_t len);
int sbx_userns_apply(const sbx_userns *u, pid_t pid, bwk_error **err);
void sbx_userns_release(sbx_userns *u);

/* subid.c: the host ids of containers started by root. The `bulwark` entries of /etc/subuid
 * and /etc/subgid reserve a range (created once when missing, in a window nothing else
 * allocates from, never overlapping another entry); each running container claims one
 * SBX_SUBID_SLICE of it with an open-file-description lock on its byte range of
 * /run/bulwark/userns.lock, which the kernel drops when the last holder exits. */
#define SBX_SUBID_OWNER "bulwark"
#define SBX_SUBID_SLICE 65536u /* ids per container: 0-65535 inside */
/* systemd's UIDS-GIDS.md leaves 0x70000000-0x7ffdffff unused: above nspawn's container range
 * (0x80000-0x6fffffff) and useradd's SUB_UID_MAX (600100000), below the mountable foreign
 * range (0x7ffe0000) and below 2^31, past which ids read as negative to signed uid_t users. */
#define SBX_SUBID_WINDOW_LO    0x70000000u
#define SBX_SUBID_WINDOW_HI    0x7ffe0000u /* exclusive */
#define SBX_SUBID_MIN_SLICES   64u	   /* a smaller free gap is not worth reserving */
#define SBX_SUBID_MAX_FILE     (4u << 20)
#define SBX_SUBID_MAX_ENTRIES  100000u
#define SBX_SUBID_MAX_FIELD    64u    /* a number field longer than this is not an entry */
#define SBX_SUBID_EXPLICIT_MIN 65536u /* host ids below: the host's own users and groups */

/* One entry of another owner: ids [start, end) of the 32-bit id space (end <= 2^32). */
typedef struct sbx_subid_entry {
	uint64_t start, end;
	unsigned line;
	char name[33]; /* printable copy, for messages */
} sbx_subid_entry;

typedef struct sbx_subid_file {
	char path[PATH_MAX]; /* for messages */
	sbx_subid_entry *other;
	size_t nother, cap;
	bool has_own; /* the first SBX_SUBID_OWNER entry */
	uint32_t own_start, own_count;
	unsigned own_line;
} sbx_subid_file;

typedef struct sbx_subid_db {
	sbx_subid_file uid, gid;
} sbx_subid_db;

/* Parse `len` bytes of /etc/subuid format (hostile content is fine: malformed lines grant
 * nothing to anyone and are skipped; numbers as shadow-utils reads them, base 0; an entry past
 * 2^32 is clipped). Errors: more than SBX_SUBID_MAX_ENTRIES entries, a malformed own entry. */
int sbx_subid_parse(const char *data, size_t len, const char *path, sbx_subid_file *out,
		    bwk_error **err);
void sbx_subid_file_free(sbx_subid_file *f);
void sbx_subid_db_free(sbx_subid_db *db);
#define cleanup_subid_db cleanup_with(sbx_subid_db_free)
/* The first other entry sharing an id with [start, start+count), or NULL. */
const sbx_subid_entry *sbx_subid_conflict(const sbx_subid_file *f, uint64_t start, uint64_t count);
/* A new own range in the window avoiding every other entry of both files: the largest free
 * slice-aligned gap (the lowest of equals), at least SBX_SUBID_MIN_SLICES. -1 when none. */
int sbx_subid_pick(const sbx_subid_file *a, const sbx_subid_file *b, uint32_t *start,
		   uint32_t *count);
/* Whether [start, start+count) may be given to a container as both its uids and gids. */
int sbx_subid_check_explicit(const sbx_subid_db *db, uint32_t start, uint32_t count,
			     bwk_error **err);
/* Read both files from $BWK_ETC_DIR (default /etc); with `add`, add the missing own entries
 * under the password-file lock (/etc/.pwd.lock, as lckpwdf() and shadow-utils take it). */
int sbx_subid_load(sbx_subid_db *db, bool add, const bwk_container_spec *note, bwk_error **err);
/* Claim host ids in $BWK_RUN_DIR/userns.lock (default /run/bulwark): count == 0, the lowest
 * free slice of the own ranges; else exactly [start, start+count) for uids and gids. Returns
 * the lock fd (close it to release) and the ids. */
int sbx_subid_claim(const sbx_subid_db *db, uint32_t start, uint32_t count, uint32_t *uid,
		    uint32_t *gid, uint32_t *n, bwk_error **err);
/* Make the claim on the slice starting at uid `start` (held now by sbx_subid_claim's lock)
 * outlive the lock: it lasts while the file `claim_file` holds that number in decimal (an OCI
 * container's state directory, removed by `delete`). */
int sbx_subid_record(uint32_t start, const char *claim_file, bwk_error **err);
/* A user namespace with the maps `m` (sbx_idmap_write), held by nothing but the returned fd
 * (its first process is gone); -1 and errno. sbx_userns_fd: run's plan `u` (host root refused). */
int sbx_idmap_userns_fd(const sbx_idmaps *m);
int sbx_userns_fd(const sbx_userns *u);

/* cgroups.c: create before the child runs, attach it, read OOM, remove. As root a failure is
 * an error; unprivileged, bulwark uses a delegated cgroup v2 subtree when there is one and
 * otherwise says once which limits fall back to rlimits (mode SBX_CG_NONE). */
extern const char sbx_cgroup_origin[]; /* cgroup_plan.c */
int sbx_cgroup_create(sbx_cgroup *cg, const sbx_ctx *ctx, bwk_error **err);
int sbx_cgroup_attach(const sbx_cgroup *cg, pid_t pid, bwk_error **err); /* v2 */
/* v1: the host side opens the tasks files, the child moves itself through them. */
int sbx_cgroup_open_tasks(const sbx_cgroup *cg, int fds[SBX_CG_V1_DIRS], bwk_error **err);
int sbx_cgroup_enter_self(int fds[SBX_CG_V1_DIRS]); /* closes them; -1 + errno */
bool sbx_cgroup_oom_killed(const sbx_cgroup *cg);
void sbx_cgroup_destroy(sbx_cgroup *cg);
/* Remove the empty cgroups of bulwark runs that were killed before they could. */
void sbx_cgroup_reap_stale(const sbx_cgroup *cg);

/* cgroup_fd.c: the steps on the cgroup file system that run (cgroups.c) and the OCI runtime
 * (oci_cgroup.c) share; no path is handed to a syscall. `where` names a directory in
 * messages only. */
#define SBX_CG_MKDIR 1 /* sbx_cg_open: create it first (an existing one is fine… */
#define SBX_CG_EXCL  2 /* …unless this is set too) */
/* Whether fd is on a cgroup v1 or v2 file system. */
bool sbx_cg_on_fs(int fd);
/* The cgroup mount point `path` (/sys/fs/cgroup), O_PATH; *v2 when it is a cgroup2 mount
 * (otherwise the tmpfs holding the v1 hierarchies). */
int sbx_cg_open_mount(const char *path, bool *v2, bwk_error **err);
/* The v1 hierarchy of controller `ctl` below the mount point mnt, O_PATH; a link there
 * (cpu -> cpu,cpuacct) is followed only to a name beside it, copied to name (NULL: not).
 * -1 + errno when absent or not a cgroup file system; no error object: absence is normal. */
int sbx_cg_open_hierarchy(int mnt, const char *ctl, char *name, size_t cap);
/* The cgroup `name` (one component: no '/', '.' or '..') below the open cgroup directory
 * parent, made first with SBX_CG_MKDIR; O_RDONLY (clone3 and flock take it), no link
 * followed, checked to be on a cgroup file system. */
int sbx_cg_open(int parent, const char *name, int flags, const char *where, bwk_error **err);
/* One write() of val to the cgroup file `file` of the open directory dfd. */
int sbx_cg_write(int dfd, const char *where, const char *file, const char *val, bwk_error **err);
/* Signal every process of the open cgroup dfd (v2 SIGKILL: cgroup.kill); how many. */
int sbx_cg_kill(int dfd, int sig);
/* rmdir of the cgroup `name` below parent, retried for about 2 s while its last processes
 * exit (v2: woken by cgroup.events); with kill_left they are SIGKILLed first. True when it is
 * gone. */
bool sbx_cg_remove(int parent, const char *name, bool kill_left);
/* Remove the stale run-PID-… cgroups below parent (a bulwark/ directory; see cgroup_fd.c). */
void sbx_cg_reap(int parent);
/* cgroup_view.c: in the container, in its own cgroup namespace and after pivot_root: its
 * cgroup read-only at /sys/fs/cgroup (nothing without one). -1 + errno. */
int sbx_cgroup_view(const sbx_ctx *ctx);

/* rlimits.c: in the container, before exec; -1 with `why` naming the limit. */
int sbx_rlimits_apply(const bwk_rlimit *r, size_t n, char *why, size_t whylen);

/* caps.c: in the container, before exec (-1 + errno). The bounding set first, while
 * CAP_SETPCAP is still held; the others after the uid switch: sbx_caps_set() as a spec gives
 * them, sbx_caps_apply() as `bulwark run` does (uid 0 keeps `caps`, other uids none). */
typedef struct sbx_capsets {
	uint64_t effective, permitted, inheritable, ambient; /* bit n = capability n */
} sbx_capsets;
int sbx_caps_drop_bounding(uint64_t keep);
int sbx_caps_set(const sbx_capsets *s);
int sbx_caps_apply(uint64_t caps, bool root);

/* process.c: the container's process, root in its namespaces until here, becomes what it runs
 * as (both executors; see there for the order). -1 with `why` saying which step failed. */
struct bwk_oci_sched_attr;
typedef struct sbx_process {
	const bwk_rlimit *rlimits;
	size_t nrlimits;
	uint64_t bounding; /* capabilities kept in the bounding set */
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t ngroups;
	bool skip_groups;     /* setgroups is denied here (a single-id user namespace) */
	bool groups_may_fail; /* EPERM from setgroups is no error (a joined user namespace) */
	int umask;	      /* -1: inherited */
	const char *cwd;      /* NULL or "": "/" */
	sbx_capsets caps;
	bool pdeathsig; /* SIGKILL when the parent dies, again after the uid switch */
	bool no_new_privs;
	const struct sbx_bpf *filters[2]; /* loaded in turn (a filter with len 0, NULL: none) */
	bool set_personality, set_ioprio; /* false: inherited */
	unsigned long personality;	  /* personality(2)'s persona */
	int ioprio;			  /* ioprio_set(2)'s value */
	const struct bwk_oci_sched_attr *sched; /* sched_setattr(2); NULL: inherited */
	unsigned preserve_fds; /* 3..3+N-1 stay open across the exec (close-on-exec cleared) */
} sbx_process;
int sbx_process_enter(const sbx_process *p, char *why, size_t len);

/* A parsed Docker seccomp profile, already filtered for this host and capability set. */
typedef struct sbx_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	int op; /* enum scmp_compare */
} sbx_seccomp_arg;

typedef struct sbx_seccomp_rule {
	char *name;
	uint32_t action; /* SCMP_ACT_… with the errno folded in */
	sbx_seccomp_arg args[6];
	unsigned nargs;
} sbx_seccomp_rule;

#define SBX_SECCOMP_MAX_ARCHES 16
struct bwk_seccomp_profile {
	uint32_t default_action;
	sbx_seccomp_rule *rules;
	size_t nrules, cap;
	uint32_t arches[SBX_SECCOMP_MAX_ARCHES]; /* SCMP_ARCH_… besides the native one */
	unsigned narches;
};

/* seccomp.c: the names of actions ("SCMP_ACT_ERRNO", with its errno when `has_errno`, else
 * EPERM) and comparisons ("SCMP_CMP_EQ"), as profiles and specs spell them; -1 when unknown
 * (SCMP_ACT_NOTIFY: only in a runtime spec, which names its listener: seccomp_json.c). */
int sbx_seccomp_action(const char *name, bool has_errno, uint32_t errno_ret, uint32_t *out);
int sbx_seccomp_op(const char *name);
/* seccomp_json.c: a runtime spec's linux.seccomp as a profile. */
struct bwk_oci_seccomp;
int sbx_seccomp_from_spec(const struct bwk_oci_seccomp *sc, bwk_seccomp_profile **out,
			  bwk_error **err);
/* seccomp.c */
int sbx_seccomp_default(uint64_t caps, scmp_filter_ctx *out, bwk_error **err);
int sbx_seccomp_build(const bwk_seccomp_profile *p, scmp_filter_ctx *out, bwk_error **err);
/* Read and check a Docker JSON profile (early, before anything starts). */
int sbx_seccomp_load(const char *path, uint64_t caps, bwk_seccomp_profile **out, bwk_error **err);
/* The BPF program of `custom`, or of the default policy when NULL. */
int sbx_seccomp_compile(const bwk_seccomp_profile *custom, uint64_t caps, sbx_bpf *out,
			bwk_error **err);
int sbx_seccomp_install(const sbx_bpf *bpf); /* -1 + errno */
/* The default policy's program kept between runs (root's run directory, seccomp.c says why it
 * is trusted): the directory (-1: none, or not private to us), the program compiled for `caps`
 * by this very build (0, or -1: none), and keeping one (best effort). */
int sbx_seccomp_memo_dir(void);
int sbx_seccomp_memo_get(int dirfd, uint64_t caps, sbx_bpf *out);
void sbx_seccomp_memo_put(int dirfd, uint64_t caps, const sbx_bpf *bpf);

/* mounts.c: in the child, from "/" of the host to the pivoted root. */
int sbx_mounts_setup(const sbx_ctx *ctx);
/* The root at `rootfd` becomes "/", the old one detached; -1 + errno with *step naming what
 * failed. */
int sbx_pivot(int rootfd, const char **step);
/* A clone of the mount at `src` attached over `dst` (both fds), with `attrs` (MOUNT_ATTR_*). */
int sbx_bind_fd(int src, int dst, bool recursive, uint64_t attrs);
/* A new filesystem as a detached mount (fsopen/fsconfig/fsmount; spec_mount.c): the returned
 * fd is the mount itself, so everything done inside it afterwards is relative to it, never to
 * a name. `source` (may be NULL), each key=value or flag of `data` ("k=v,flag,…", up to
 * BWK_OCI_MOUNT_DATA_MAX), the superblock flags of `sb` (MS_RDONLY, MS_SYNCHRONOUS,
 * MS_DIRSYNC, MS_MANDLOCK) through fsconfig, `attrs` (MOUNT_ATTR_*) on the mount. -1 + errno. */
int sbx_new_fs(const char *type, const char *source, const char *data, unsigned long sb,
	       uint64_t attrs);

/* devices.c (see there). sbx_host_device: the host's node at `path` opened once (O_PATH), only
 * when it is the device `kind` (S_IFCHR, S_IFBLK) `maj`:`min`, else -1 + ENODEV.
 * sbx_dev_node: node `name` in directory `dir`, made or bound from `host`. sbx_dev_standard:
 * the standard nodes and /dev links in `dev`, ptmx (-> pts/ptmx) with `ptmx`. -1 with `why`. */
typedef struct sbx_devnode {
	const char *name;
	unsigned major, minor;
} sbx_devnode;
#define SBX_STD_DEVICES 6
extern const sbx_devnode sbx_std_devices[SBX_STD_DEVICES];
int sbx_host_device(const char *path, mode_t kind, unsigned maj, unsigned min);
int sbx_dev_node(int dir, const char *name, const char *host, char type, unsigned maj, unsigned min,
		 mode_t perm, uid_t uid, gid_t gid, char *why, size_t len);
int sbx_dev_standard(int dev, bool ptmx, char *why, size_t len);
/* Masked and read-only paths of both executors, on the O_PATH fd `t` of what the caller
 * looked up its own way (-1 + errno). Masked: an empty read-only tmpfs over a directory, the
 * host's /dev/null (`devnull`, from sbx_host_device) over anything else. One tmpfs serves
 * every directory: `*empty` (-1 at first, closed by the caller) is the one made for the first,
 * cloned on the others. Read-only: a bind of itself, read-only, nosuid, nodev and noexec (only
 * read-only where the others are refused), with `recursive` its submounts too. */
int sbx_mask_at(int t, int devnull, int *empty);
int sbx_readonly_at(int t, bool recursive);

/* copyup.c: copy the image's directory `src` (an fd of the mount point, before it is covered)
 * into the new tmpfs `dst` (its detached mount); `where` names it. `keep_root`: dst's root
 * takes src's owner and mode. `skip`: a name of src's own left out (the runtime mounts there:
 * an image's link at /run/secrets stays hidden), or NULL. -1 after saying why. */
int sbx_copyup(int src, int dst, const char *where, bool keep_root, const char *skip);

/* varfs.c: with spec->writable_var (and no read_write), /var's state directories of the root
 * (`rootfd`, an overlay with its upper on the staging tmpfs, not yet read-only) made writable
 * where the spec mounts nothing at or above them. -1 after saying why. sbx_varfs_holds: `path`
 * is one of them or below one. */
int sbx_varfs_setup(const bwk_container_spec *s, int rootfd);
bool sbx_varfs_holds(const char *path);

/* slirp.c */
int sbx_slirp_start(sbx_slirp *sl, pid_t pid, bool root, const bwk_port *ports, size_t nports,
		    bwk_error **err);
void sbx_slirp_stop(sbx_slirp *sl);
/* pasta (Debian's passt) for --net bridge as a normal user, when installed */
bool sbx_pasta_available(void);
int sbx_pasta_start(sbx_slirp *sl, pid_t pid, const bwk_port *ports, size_t nports,
		    bwk_error **err);

/* net_link.c: rtnetlink requests, each acknowledged (-1 with errno the kernel's answer);
 * addresses in network byte order */
int sbx_nl_open(void);
int sbx_nl_bridge_add(int s, const char *name);
int sbx_nl_veth_add(int s, const char *host, const char *peer, pid_t pid);
int sbx_nl_link_up(int s, int index, int master);
int sbx_nl_link_del(int s, int index);
int sbx_nl_addr_add(int s, int index, uint32_t addr, int prefix);
int sbx_nl_default_route(int s, uint32_t gw);
/* For each N in 0..255: a main-table route of /24 or longer inside net16.N.0/24 through a device
 * other than `except` (0: none)? foreign[N]: that device's index, -1 for a route with none, 0
 * when there is none. */
int sbx_nl_routed_24s(int s, uint32_t net16, int except, int foreign[256]);

/* net_bridge.c: --net bridge as root (veth, bridge, nftables NAT). sbx_ports_reserve binds
 * every published host port (holds: spec->nports slots, -1 when unused) before the start. */
int sbx_ports_reserve(const bwk_container_spec *spec, int *holds, bwk_error **err);
void sbx_ports_release(int *holds, size_t n);
int sbx_bridge_start(sbx_bridge *b, const bwk_container_spec *spec, pid_t pid, bwk_error **err);
void sbx_bridge_stop(sbx_bridge *b);
/* net_forward.c: accept bridge br's traffic in iptables' FORWARD chain when its policy may
 * drop (Docker's), once; forget removes those rules with the bridge. */
void sbx_forward_allow(const char *br);
/* net_dns.c: the container's resolv.conf by Docker's rules from the host's `etc`
 * (/etc/resolv.conf) and, behind systemd-resolved's stub, `resolved`
 * (/run/systemd/resolve/resolv.conf); its length. size >= 64. */
#define SBX_HOST_RESOLV	    "/etc/resolv.conf"
#define SBX_RESOLVED_RESOLV "/run/systemd/resolve/resolv.conf"
size_t sbx_dns_resolv_conf(const char *etc, const char *resolved, char *out, size_t size);
void sbx_forward_forget(const char *br);

/* net.c: whichever of the above the spec's `net` needs (stop: idempotent) */
typedef struct sbx_net {
	int holds[BWK_MAX_PORTS];
	size_t nholds;
	sbx_bridge bridge;
	sbx_slirp slirp; /* slirp4netns or pasta */
} sbx_net;
void sbx_net_init(sbx_net *n);
int sbx_net_reserve(sbx_net *n, const bwk_container_spec *spec, bool root, bwk_error **err);
int sbx_net_start(sbx_net *n, const bwk_container_spec *spec, pid_t pid, bool root,
		  bwk_error **err);
void sbx_net_stop(sbx_net *n);
#define cleanup_net cleanup_with(sbx_net_stop)

/* signals.c: Docker's stop on the host side. A SIGTERM to bulwark becomes the stop signal
 * for the container and arms a deadline after which its pid 1 gets SIGKILL (the kernel then
 * kills everything in its pid namespace); every other forwarded signal goes as it is. */
typedef struct sbx_stop {
	int signal;	     /* what SIGTERM becomes */
	uint32_t timeout_ms; /* from the first SIGTERM to SIGKILL */
	bool armed, killed;
	struct timespec deadline; /* CLOCK_MONOTONIC */
} sbx_stop;
void sbx_stop_init(sbx_stop *st, const bwk_container_spec *s);
void sbx_stop_forward(sbx_stop *st, pid_t pid, int sig);
/* The poll timeout until the deadline (-1: none), SIGKILLing `pid` once it has passed. */
int sbx_stop_poll_ms(sbx_stop *st, pid_t pid);
/* After the wait: one line (always shown) when the deadline's SIGKILL ended the command. */
void sbx_stop_note(const sbx_stop *st, const bwk_container_spec *s, int status);

/* fdpass.c: `len` bytes with one fd (SCM_RIGHTS), EINTR retried. send: what sendmsg returns.
 * recv: what recvmsg returns, *fd the fd that came along whole (close-on-exec) or -1. */
ssize_t sbx_send_fd(int sock, const void *buf, size_t len, int fd);
ssize_t sbx_recv_fd(int sock, void *buf, size_t len, int *fd);

/* tty.c: the container makes its pty (sbx_tty_make, after pivot_root; its slave becomes 0-2,
 * sized `ws` when given) and sends the master over `sock` (`bulwark run`: the sync socket,
 * the message one byte; an OCI engine's console socket: the message the pty's name, with
 * `send_name`); the host side of `run` receives it. -1 + errno. */
struct winsize;
int sbx_tty_make(int sock, const struct winsize *ws, bool send_name);
int sbx_tty_receive(int sock, int *master);
struct sbx_stdio;
/* `tail` (or NULL) keeps the last bytes of the terminal's output for the storage hint */
int sbx_tty_wait(pid_t pid, int sfd, int master, bool interactive, sbx_stop *stop, int *wstatus,
		 struct sbx_stdio *tail);
void sbx_tty_drain(int master);

/* stdio.c: the container's descriptors 0-2, never the caller's own (see there). */
#define SBX_ERR_TAIL 2048
typedef struct sbx_stdio {
	int child[3];		/* the container's 0, 1, 2 until the host side closes them */
	int in_w, out_r, err_r; /* the host side's relay ends (non-blocking), or -1 */

	/* the last bytes of the command's stderr (hint.c) */
	char err_tail[SBX_ERR_TAIL];
	size_t err_tail_len;
} sbx_stdio;

void sbx_stdio_init(sbx_stdio *io);
/* Append n bytes to io->err_tail, keeping the last SBX_ERR_TAIL. */
void sbx_stdio_keep_tail(sbx_stdio *io, const char *p, size_t n);
/* Pipes for stdout and stderr, and for stdin a pipe with `interactive`, else /dev/null. With
 * -t they carry what the container says before its pty replaces them (tty.c). */
int sbx_stdio_open(sbx_stdio *io, bool interactive, bwk_error **err);
/* As root with the container's root mapped to host `uid`:`gid`: hand the container's pipe
 * ends to it, so that its command can open them again through /dev/stdout (see stdio.c). */
int sbx_stdio_chown(sbx_stdio *io, uid_t uid, gid_t gid, bwk_error **err);
/* In the child, first thing after clone: child[] onto 0-2, everything else of ours closed.
 * -1 + errno. */
int sbx_stdio_child(sbx_stdio *io);
void sbx_stdio_close_child(sbx_stdio *io); /* host side, after clone */
void sbx_stdio_close(sbx_stdio *io);
#define cleanup_stdio cleanup_with(sbx_stdio_close)
/* Relay until `pid` exits and the pipes are drained (our readers permitting), forwarding the
 * signals read from `sfd` to it. -1 + errno when poll fails. */
int sbx_stdio_wait(sbx_stdio *io, pid_t pid, int sfd, const bwk_container_spec *note,
		   sbx_stop *stop, int *wstatus);
/* The container is gone (it failed to start): relay what it left in the pipes. */
void sbx_stdio_drain(sbx_stdio *io, int sfd, const bwk_container_spec *note);

/* volume_owner.c (root, host side, before the child gets its mounts): with `root` the layer
 * mount the container gets and `mnts` the detached clones of the binds, id-map each volume
 * owned by a host user outside the container's ids to the container's user, and chown the
 * `chown` ones to it. -1 + err when a chown fails; a volume that cannot be id-mapped warns. */
int sbx_volume_owners(const sbx_ctx *ctx, int root, const int *mnts, bwk_error **err);
/* Unprivileged, in the container before bind `i` (open at `src`) is attached: its `chown`
 * done from inside the user namespace, to the container's user as `root`'s passwd says. -1
 * after saying why. */
int sbx_volume_chown_child(const sbx_ctx *ctx, int root, size_t i, int src);

/* hint.c: after a failed command, one line naming the path that was read-only or full and
 * the setting that makes it writable or larger, from the tail of its stderr; false when the
 * tail shows neither error. */
bool sbx_storage_hint(const bwk_container_spec *s, const char *tail, size_t len, char *out,
		      size_t outlen);

/* masks.c: whiteouts and opaque dirs of a rootless layer cache as an overlay layer. `mask`
 * is an empty directory, `layers` the open lower layers bottom first, `layer` this one. */
int sbx_mask_build(const char *list, int mask, const int *layers, size_t layer);

/* rootpath.c: lookups that never leave a root (see the file's comment).
 * sbx_open_in_root: `path` inside `rootfd` as if it were "/" (openat2 RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS, or the checked fallback below when openat2 is refused); no O_CREAT.
 * sbx_open_beneath: `rel` below `dirfd` without following any symlink, the last component
 * included (ELOOP), and without "." or ".." (EINVAL). Both return an fd or -1 + errno. */
int sbx_open_in_root(int rootfd, const char *path, int flags);
int sbx_open_in_root_fallback(int rootfd, const char *path, int flags);
int sbx_open_beneath(int dirfd, const char *rel, int flags);
/* mkdir -p `path` inside the root, each component resolved in it (a symbolic link of the
 * image stays in the image) and each missing one created fd-relative: directories, and for
 * the last one a regular file when !dir. Returns an O_PATH fd or -1 + errno. */
int sbx_mkpath_in_root(int rootfd, const char *path, bool dir);
/* spec_mount.c: the mount point PATH inside the root, as an O_PATH fd; a directory when `dir`,
 * else a file (created when missing). SBX_MP_REFUSE_LINKS (run: an image is untrusted): the
 * last component must not be a symbolic link (CVE-2021-30465 class) and must already be of the
 * right type; SBX_MP_FOLLOW_IN_ROOT (create: a bundle, as runc and crun): links are followed
 * inside the root (sbx_mkpath_in_root). -1 with errno and one line naming the mount (`role`
 * "mount point", "volume destination" …) in `why`. */
typedef enum sbx_mp_policy { SBX_MP_REFUSE_LINKS, SBX_MP_FOLLOW_IN_ROOT } sbx_mp_policy;
int sbx_mountpoint(int rootfd, const char *path, bool dir, sbx_mp_policy policy, const char *role,
		   char *why, size_t len);
/* spec_mount.c: one mount of a spec's `mounts` list, made the same way by `create` and
 * `run`: the mount point by `policy` (sbx_mountpoint); a bind cloned with open_tree (the
 * source `src` the caller opened and checked, a detached mount it prepared — an idmapped
 * one — when `src_is_mount`, else `source` opened as mount(2) would) and attached with
 * move_mount; a new filesystem from fsopen/fsconfig/fsmount (the data string whole, the
 * superblock flags through fsconfig), else mount(2) on the opened mount point, with create's
 * fallbacks (sysfs refused in a user namespace: the host's /sys read-only; mqueue refused:
 * the host's /dev/mqueue); tmpcopyup; the flags set as mount attributes (a bind never
 * loosens its source's), the propagation and the recursive r* options with mount_setattr.
 * cgroup on a v1 host (`cg_v1`): a tmpfs with `cg_dirs` bound into it. Returns the attached
 * mount's fd, or -1 with errno and one line in `why`. */
typedef struct sbx_spec_mount_env {
	sbx_mp_policy policy;
	const char *role; /* the mount point in messages: "mount point", "volume destination" */
	int src;	  /* a bind's source, or -1 */
	bool src_is_mount;
	bool copyup_keep_root; /* tmpcopyup: the tmpfs's root takes the image directory's owner
				* and mode (run's volumes, Docker's) */
	bool cg_v1;
	const char *const *cg_dirs; /* /sys/fs/cgroup/CTRL/…, cgroup v1 */
	size_t n_cg_dirs;
	char *why;
	size_t whylen;
} sbx_spec_mount_env;
int sbx_spec_mount(int rootfd, const bwk_oci_mount *m, const bwk_oci_mount_opts *o,
		   const sbx_spec_mount_env *env);
/* The kernel's name for what `fd` is open on (readlink of /proc/self/fd/N). */
int sbx_fd_path(int fd, char *buf, size_t len);

/* The go bytes from the host side: SBX_GO_MERGED says the layers arrive as one mount. */
enum { SBX_GO = 1, SBX_GO_MERGED = 2 };

/* init.c */
int sbx_container_main(sbx_ctx *ctx);

/* Tell the caller (spec->notify, see bulwark/sandbox.h); `s` may be NULL (dropped). */
void sbx_note(const bwk_container_spec *s, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define sbx_warn(s, ...) sbx_note((s), BWK_NOTE_WARNING, __VA_ARGS__)

/* Print "bulwark: …" from inside the container side (no error objects cross the clone). */
void sbx_child_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
