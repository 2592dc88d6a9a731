/* bulwark — the OCI runtime-spec model: config.json of runtime-spec 1.0 to 1.2.
 *
 * A bundle's config.json is untrusted input (an engine writes it, but so can anyone who can
 * hand a bundle to `bulwark create`): bwk_oci_spec_parse() bounds its size, the length of every
 * string and list, and the nesting depth, and checks every field's type. It then holds the
 * whole document as plain data that bwk_oci_spec_validate() checks for meaning (absolute paths,
 * known namespace types, capability and rlimit names, seccomp actions …) and that
 * bwk_oci_spec_serialise() writes back. Unknown properties are ignored, as the spec requires,
 * and are therefore not written back.
 *
 * Ownership: every pointer in a parsed spec belongs to the spec; bwk_oci_spec_free() frees it.
 * Optional scalars carry a `set` flag (absent and zero are different things in the spec).
 */
#ifndef BULWARK_OCI_H
#define BULWARK_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/image.h"
#include "bulwark/sandbox.h"
#include "bulwark/strv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits on config.json: one number each, used by the parser (docs/oci-runtime.md). */
#define BWK_OCI_MAX_BYTES  ((size_t)4 << 20) /* the whole document */
#define BWK_OCI_MAX_STRING ((size_t)1 << 17) /* one string: 128 KiB */
#define BWK_OCI_MAX_LIST   16384	     /* entries of one list or object */
#define BWK_OCI_MAX_DEPTH  16		     /* nesting, unknown properties included */

typedef struct bwk_oci_kv {
	char *key, *value;
} bwk_oci_kv;

typedef struct bwk_oci_map {
	bwk_oci_kv *v;
	size_t n;
} bwk_oci_map;

typedef struct bwk_oci_i64 {
	bool set;
	int64_t v;
} bwk_oci_i64;

typedef struct bwk_oci_u64 {
	bool set;
	uint64_t v;
} bwk_oci_u64;

typedef struct bwk_oci_user {
	uint32_t uid, gid;
	bwk_oci_u64 umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* Windows only; kept */
} bwk_oci_user;

typedef struct bwk_oci_caps {
	bool set;
	bwk_strv bounding, effective, inheritable, permitted, ambient; /* "CAP_…" names */
} bwk_oci_caps;

typedef struct bwk_oci_rlimit {
	char *type; /* "RLIMIT_NOFILE" … */
	uint64_t hard, soft;
} bwk_oci_rlimit;

typedef struct bwk_oci_sched {
	bool set;
	char *policy; /* "SCHED_OTHER" … */
	bwk_oci_i64 nice, priority;
	bwk_strv flags;
	bwk_oci_u64 runtime, deadline, period;
} bwk_oci_sched;

typedef struct bwk_oci_ioprio {
	bool set;
	char *class_; /* "IOPRIO_CLASS_RT" … */
	int64_t priority;
} bwk_oci_ioprio;

typedef struct bwk_oci_process {
	bool terminal;
	bool has_console_size;
	uint32_t console_height, console_width;
	bwk_oci_user user;
	bwk_strv args, env;
	char *cwd;
	bwk_oci_caps caps;
	bwk_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile, *selinux_label;
	bwk_oci_i64 oom_score_adj;
	bwk_oci_sched scheduler;
	bwk_oci_ioprio io_priority;
} bwk_oci_process;

typedef struct bwk_oci_idmap {
	uint32_t container_id, host_id, size;
} bwk_oci_idmap;

typedef struct bwk_oci_mount {
	char *destination, *type, *source;
	bwk_strv options; /* "rbind", "ro", "nosuid", "idmap", "rro" … as given */
	bwk_oci_idmap *uid_mappings, *gid_mappings; /* idmapped mounts (1.2) */
	size_t n_uid_mappings, n_gid_mappings;
} bwk_oci_mount;

/* One mount's options, parsed once (src/lib/oci/mount_opts.c) for `create` and `run` alike:
 * what mount(2) takes as flags, the propagation, the recursive r* options for mount_setattr
 * with AT_RECURSIVE, the idmap and copy-up switches, and the rest (size=, mode= …) joined
 * for the filesystem. An option given twice, or two that contradict, take the last. */
#define BWK_OCI_MOUNT_DATA_MAX 4096
typedef struct bwk_oci_mount_opts {
	unsigned long flags;   /* MS_*: ro, nosuid …, MS_BIND (bind), MS_BIND|MS_REC (rbind) */
	unsigned long cleared; /* MS_* an option turned off by name (rw, suid, exec …) */
	unsigned long prop;    /* MS_PRIVATE, MS_SHARED, MS_SLAVE or MS_UNBINDABLE, |MS_REC */
	uint64_t rec_set, rec_clr; /* MOUNT_ATTR_* of rro, rnosuid …, applied recursively */
	bool bind;		   /* type "bind", or a bind or rbind option */
	bool idmap, ridmap, tmpcopyup;
	bool chown;			   /* U (Podman's): to the container's user */
	char data[BWK_OCI_MOUNT_DATA_MAX]; /* the rest, comma-separated */
} bwk_oci_mount_opts;

/* Parse mount `i` of a spec (named in errors). BWK_E_LIMIT when the data string would exceed
 * BWK_OCI_MOUNT_DATA_MAX. */
int bwk_oci_mount_opts_parse(const bwk_oci_mount *m, size_t i, bwk_oci_mount_opts *out,
			     bwk_error **err);
/* MS_* of a propagation name ("rslave" → MS_SLAVE|MS_REC; rootfsPropagation); 0 if unknown. */
unsigned long bwk_oci_propagation_flags(const char *name);
/* The options `create` applies (NULL-terminated): what `features` advertises. */
extern const char *const bwk_oci_mount_options_known[];

typedef struct bwk_oci_hook {
	char *path;
	bwk_strv args, env;
	bwk_oci_i64 timeout; /* seconds, > 0 */
} bwk_oci_hook;

/* The six kinds, in the order the spec lists them (prestart is deprecated but still run). */
typedef enum bwk_oci_hook_kind {
	BWK_OCI_HOOK_PRESTART,
	BWK_OCI_HOOK_CREATE_RUNTIME,
	BWK_OCI_HOOK_CREATE_CONTAINER,
	BWK_OCI_HOOK_START_CONTAINER,
	BWK_OCI_HOOK_POSTSTART,
	BWK_OCI_HOOK_POSTSTOP,
	BWK_OCI_HOOK_KINDS
} bwk_oci_hook_kind;
const char *bwk_oci_hook_kind_name(bwk_oci_hook_kind k); /* "createRuntime" … */

typedef struct bwk_oci_hooks {
	bwk_oci_hook *v[BWK_OCI_HOOK_KINDS];
	size_t n[BWK_OCI_HOOK_KINDS];
} bwk_oci_hooks;

typedef struct bwk_oci_namespace {
	char *type; /* "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" */
	char *path; /* join this one; NULL: create */
} bwk_oci_namespace;

typedef struct bwk_oci_device {
	char *path, *type; /* type: "c", "b", "u" or "p" */
	int64_t major, minor;
	bwk_oci_u64 file_mode, uid, gid;
} bwk_oci_device;

typedef struct bwk_oci_dev_rule { /* linux.resources.devices[] */
	bool allow;
	char *type, *access; /* type "a", "c", "b" or NULL (all); access subset of "rwm" */
	bwk_oci_i64 major, minor;
} bwk_oci_dev_rule;

typedef struct bwk_oci_throttle {
	int64_t major, minor;
	uint64_t rate;
} bwk_oci_throttle;

typedef struct bwk_oci_ifprio { /* linux.resources.network.priorities[] */
	char *name;
	uint32_t priority;
} bwk_oci_ifprio;

typedef struct bwk_oci_hugepage { /* linux.resources.hugepageLimits[] */
	char *page_size;	  /* "2MB", "1GB" … */
	uint64_t limit;
} bwk_oci_hugepage;

typedef struct bwk_oci_rdma { /* linux.resources.rdma["DEVICE"] */
	char *device;	      /* "mlx5_1": a name without blanks */
	bwk_oci_u64 hca_handles, hca_objects;
} bwk_oci_rdma;

typedef struct bwk_oci_weight_dev {
	int64_t major, minor;
	bwk_oci_u64 weight, leaf_weight;
} bwk_oci_weight_dev;

typedef struct bwk_oci_resources {
	bool set;
	bwk_oci_dev_rule *devices;
	size_t n_devices;
	struct {
		bwk_oci_i64 limit, reservation, swap, kernel, kernel_tcp;
		bwk_oci_u64 swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;
	struct {
		bwk_oci_u64 shares, period, realtime_period, burst;
		bwk_oci_i64 quota, realtime_runtime, idle;
		char *cpus, *mems;
	} cpu;
	bwk_oci_i64 pids_limit;
	struct {
		bwk_oci_u64 weight, leaf_weight;
		bwk_oci_weight_dev *weight_device;
		size_t n_weight_device;
		/* read bps, write bps, read iops, write iops */
		bwk_oci_throttle *throttle[4];
		size_t n_throttle[4];
	} block_io;
	struct {
		bwk_oci_u64 class_id;
		bwk_oci_ifprio *priorities;
		size_t n_priorities;
	} network;
	bwk_oci_hugepage *hugepage_limits;
	size_t n_hugepage_limits;
	bwk_oci_map unified; /* cgroup v2 files, "memory.high": "…" */
	bwk_oci_rdma *rdma;  /* rdma.max lines, "DEVICE hca_handle=N hca_object=M" */
	size_t n_rdma;
} bwk_oci_resources;

typedef struct bwk_oci_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	char *op; /* "SCMP_CMP_EQ" … */
} bwk_oci_seccomp_arg;

typedef struct bwk_oci_syscall {
	bwk_strv names;
	char *action;
	bwk_oci_u64 errno_ret;
	bwk_oci_seccomp_arg *args;
	size_t n_args;
} bwk_oci_syscall;

typedef struct bwk_oci_seccomp {
	bool set;
	char *default_action;
	bwk_oci_u64 default_errno_ret;
	bwk_strv architectures, flags;
	char *listener_path, *listener_metadata;
	bwk_oci_syscall *syscalls;
	size_t n_syscalls;
} bwk_oci_seccomp;

/* linux.timeOffsets: a clock's offset in a new time namespace. */
typedef struct bwk_oci_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs; /* below 1e9 */
} bwk_oci_time_offset;
/* The clocks a time namespace offsets, in the order of bwk_oci_linux.time_offsets, with their
 * clockid_t (CLOCK_MONOTONIC, CLOCK_BOOTTIME). */
#define BWK_OCI_CLOCKS                                                                             \
	{                                                                                          \
		"monotonic", "boottime"                                                            \
	}
#define BWK_OCI_CLOCK_IDS                                                                          \
	{                                                                                          \
		1, 7                                                                               \
	}
#define BWK_OCI_N_CLOCKS      2
#define BWK_OCI_MAX_TIME_SECS 4611686018LL /* the kernel's KTIME_SEC_MAX / 2 */

typedef struct bwk_oci_linux {
	bool set;
	bwk_oci_namespace *namespaces;
	size_t n_namespaces;
	bwk_oci_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	bwk_oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	bwk_oci_resources resources;
	bwk_oci_seccomp seccomp;
	bwk_strv masked_paths, readonly_paths;
	bwk_oci_map sysctl;
	char *rootfs_propagation, *mount_label;
	bool intel_rdt; /* linux.intelRdt is there (its content is not read: create refuses it) */
	struct {
		bool set;
		char *domain; /* "LINUX" or "LINUX32" */
		bwk_strv flags;
	} personality;
	bwk_oci_time_offset
	    time_offsets[BWK_OCI_N_CLOCKS]; /* linux.timeOffsets, by BWK_OCI_CLOCKS */
} bwk_oci_linux;

typedef struct bwk_oci_spec {
	char *oci_version;
	bool has_process;
	bwk_oci_process process;
	bool has_root;
	char *root_path;
	bool root_readonly;
	bwk_oci_mount *mounts;
	size_t n_mounts;
	char *hostname, *domainname;
	bwk_oci_linux linux_;
	bwk_oci_hooks hooks;
	bwk_oci_map annotations;
} bwk_oci_spec;

/* Parse `len` bytes of config.json (need not be NUL-terminated). `name` names the input in
 * errors, which also name the property: "config.json: linux.namespaces[2].type: …". Errors:
 * BWK_E_INPUT (not JSON, a wrong type), BWK_E_LIMIT (a bound above). The result is not yet
 * validated. Caller frees with bwk_oci_spec_free(). */
int bwk_oci_spec_parse(const char *name, const char *data, size_t len, bwk_oci_spec **out,
		       bwk_error **err);

/* Check the meaning of a parsed (or built) spec: ociVersion 1.0-1.2, absolute paths, known
 * names (namespaces, capabilities, rlimits, seccomp actions/operators/architectures/flags,
 * device types, propagation, personality), no duplicate namespace or rlimit, id mappings and
 * a hostname only with their namespaces, SCMP_ACT_NOTIFY only with a listenerPath. The first
 * problem is an BWK_E_INPUT error naming the property. `name` as for parse. */
int bwk_oci_spec_validate(const char *name, const bwk_oci_spec *spec, bwk_error **err);
/* The process part of that check alone (runc exec --process FILE): args, an absolute cwd,
 * env, capability and rlimit names, the scheduler, the I/O priority, at most
 * BWK_OCI_MAX_ADDITIONAL_GIDS supplementary groups. */
#define BWK_OCI_MAX_ADDITIONAL_GIDS 65536 /* the kernel's NGROUPS_MAX: a bound, not a choice */
int bwk_oci_process_validate(const char *name, const bwk_oci_process *p, bwk_error **err);

/* config.json text of `spec` (NUL-terminated, indented when `pretty`), or NULL with *err. Every
 * property the model holds is written; parse(serialise(s)) gives s back. Caller frees. */
char *bwk_oci_spec_serialise(const bwk_oci_spec *spec, bool pretty, bwk_error **err);

/* Integers above INT64_MAX (Go writes uint64 values so: Docker's --ulimit memlock=-1 is
 * 18446744073709551615), which jansson refuses. bwk_oci_json_loadb() loads JSON text of the
 * spec's (config.json, update's resources, exec's process) keeping such a literal as the
 * string "\u0000DIGITS", which the spec parser reads back as the number;
 * bwk_oci_json_dumps() is json_dumps() writing those strings back as integers. The loader
 * returns NULL with `je` filled as json_loadb() does; the dump is freed by the caller. */
struct json_t;
struct json_error_t;
struct json_t *bwk_oci_json_loadb(const char *data, size_t len, struct json_error_t *je);
char *bwk_oci_json_dumps(const struct json_t *v, size_t flags);

void bwk_oci_spec_free(bwk_oci_spec *spec);
BWK_DEFINE_CLEANUP(bwk_oci_spec *, bwk_oci_spec_free)

/* The numbers the kernel takes for what a spec names (after bwk_oci_spec_validate). */
typedef struct bwk_oci_sched_attr { /* sched_setattr(2)'s struct sched_attr */
	uint32_t policy;	    /* SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5, DEADLINE 6 */
	uint64_t flags;		    /* SCHED_FLAG_* bits */
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period; /* nanoseconds, SCHED_DEADLINE only */
} bwk_oci_sched_attr;
/* process.scheduler as sched_setattr's fields; -1 on a name it does not know. */
int bwk_oci_sched_lower(const bwk_oci_sched *s, bwk_oci_sched_attr *out);
/* process.ioPriority as ioprio_set's value (class << 13 | priority); -1 on an unknown class. */
int bwk_oci_ioprio_lower(const bwk_oci_ioprio *p);
/* linux.personality as personality(2)'s persona (PER_LINUX, PER_LINUX32); -1 when unknown. */
long bwk_oci_personality_lower(const bwk_oci_linux *l);
/* linux.seccomp.flags as seccomp(SECCOMP_SET_MODE_FILTER)'s flags; -1 on an unknown one. */
long bwk_oci_seccomp_flags_lower(const bwk_oci_seccomp *sc);

/* Lookups on a spec. */
const bwk_oci_namespace *bwk_oci_spec_namespace(const bwk_oci_spec *spec, const char *type);
const char *bwk_oci_spec_annotation(const bwk_oci_spec *spec, const char *key);

/* ---- `bulwark run`: image config + run settings → spec → the sandbox ----
 *
 * What a runtime spec cannot say is carried in annotations of bulwark's own (docs/oci-runtime.md):
 * org.bulwark.user (Docker's user string, resolved against the image's /etc/passwd and
 * /etc/group in the container), org.bulwark.seccomp ("default": bulwark's built-in policy,
 * "unconfined", or a Docker JSON profile's path), org.bulwark.stop-signal (a number),
 * org.bulwark.network ("slirp"), org.bulwark.writable-var ("true"). */
#define BWK_OCI_ANN_USER	"org.bulwark.user"
#define BWK_OCI_ANN_SECCOMP	"org.bulwark.seccomp"
#define BWK_OCI_ANN_STOP_SIGNAL "org.bulwark.stop-signal"
#define BWK_OCI_ANN_NETWORK	"org.bulwark.network"
/* "true": /var's state directories writable under the read-only root (writable_var) */
#define BWK_OCI_ANN_WRITABLE_VAR "org.bulwark.writable-var"

/* ---- Hardening as a policy (docs/oci-runtime.md) ----
 * Without it bulwark runs what a bundle asks. With it — the global --harden (engines pass it
 * as runtimeArgs), `harden = true` in the runtime configuration, or a bundle's annotation
 * org.bulwark.harden=true — bwk_oci_harden() adds what the engine left out. */
#define BWK_OCI_ANN_HARDEN   "org.bulwark.harden"   /* "true": the bundle asks for it */
#define BWK_OCI_ANN_HARDENED "org.bulwark.hardened" /* set by the policy: it was applied */
#define BWK_OCI_RUNTIME_CONF "/etc/bulwark/runtime.conf"

/* The runtime configuration: "KEY = VALUE" lines, '#' comments; the one key is
 * `harden = true|false`. At most 64 KiB; an unknown key or value is an BWK_E_INPUT error. */
typedef struct bwk_oci_runtime_conf {
	bool harden;
} bwk_oci_runtime_conf;
int bwk_oci_runtime_conf_parse(const char *text, size_t len, bwk_oci_runtime_conf *out,
			       bwk_error **err);

/* 1 when the policy applies to `spec`: `flag`, else the configuration at conf_path (NULL:
 * BWK_OCI_RUNTIME_CONF; a missing file says no), else the annotation. A bundle can only ask
 * for the policy, never turn the administrator's off. -1 on an unreadable or bad file. */
int bwk_oci_harden_wanted(const bwk_oci_spec *spec, bool flag, const char *conf_path,
			  bwk_error **err);

/* Harden `spec` in place where it does not already do as much: noNewPrivileges; capabilities
 * limited to bulwark run's default set; bulwark's seccomp allowlist stacked on the bundle's
 * filter (annotation org.bulwark.seccomp=default: both are loaded, their intersection
 * applies); bulwark's masked and read-only paths; memory and pids limits (BWK_DEFAULT_*) where
 * none is set; a read-only root with a tmpfs /tmp and /run; a mount namespace when the bundle
 * has none. The user namespace is the runtime's to add (it needs the host: id ranges,
 * idmapped mounts); bwk_oci_harden_userns_refusal() says whether the bundle allows one. Each
 * change is appended to *changes as one line (NULL: not reported); the annotation
 * org.bulwark.hardened=true is set. */
int bwk_oci_harden(bwk_oci_spec *spec, bwk_strv *changes, bwk_error **err);
/* Why the hardening policy cannot add a user namespace to the bundle as given (before
 * bwk_oci_harden): it joins a namespace by path (other than the network's), asks for a
 * capability only the host's user namespace honours (a privileged container), host devices
 * beyond the default set, a sysctl its namespaces do not own, or ids beyond 65535. Writes the
 * reason to buf and returns buf; NULL when it can run in one. */
const char *bwk_oci_harden_userns_refusal(const bwk_oci_spec *spec, char *buf, size_t len);
/* The process part alone (for `exec` into a hardened container). */
void bwk_oci_harden_process(bwk_oci_process *p, bwk_strv *changes);

/* The settings of a run, named as settings (the CLI maps its flags onto them). Zero/NULL
 * fields take the image's value, else the hardened default (docs/run.md). */
typedef struct bwk_oci_run {
	const char *root_path;	 /* the root filesystem as the caller will provide it */
	const char *const *args; /* after IMAGE: replace the image's Cmd; NULL: keep it */
	const char *entrypoint;	 /* replaces the image's and drops its Cmd; "": none */
	const char *const *env;	 /* KEY=VALUE, applied over the image's Env */
	const char *user;	 /* Docker's user string; NULL: the image's */
	const char *cwd;	 /* NULL: the image's WorkingDir, else "/" */
	const char *hostname;	 /* NULL: "bulwark" */
	bool tty, read_write;
	/* the whole root read-only, /var's state directories too (else they are writable,
	 * bwk_container_spec.writable_var; moot with read_write) */
	bool read_only;
	uint64_t caps; /* the capability set of uid 0 (bit n = capability n) */
	const bwk_bind *binds;
	size_t nbinds;
	bwk_net_mode net;
	const char *network; /* BWK_NET_BRIDGE: the network's name, NULL: the default */
	uint64_t memory, pids, cpus_milli; /* 0: default; BWK_UNLIMITED: none (not cpus) */
	const char *seccomp;		   /* NULL: default; "unconfined"; a profile path */
	int stop_signal;		   /* 0: the image's StopSignal, else SIGTERM */
	const bwk_oci_rlimit *rlimits;	   /* process.rlimits (INT64_MAX: unlimited) */
	size_t nrlimits;
	/* --tmpfs mounts; the image's VOLUMEs become tmpfs mounts with tmpcopyup too (anonymous
	 * volumes, discarded at exit), unless a bind or a tmpfs covers that path. */
	const bwk_tmpfs *tmpfs;
	size_t ntmpfs;
	uint64_t writable_size; /* size of each anonymous volume; 0: the lowering's default */
	uint64_t tmpfs_size;	/* /dev/shm's (and so /tmp's); 0: BWK_DEFAULT_TMPFS_SIZE */
	/* also /dev/mqueue and cgroupfs, which the sandbox makes its own way (`bulwark spec`,
	 * for other runtimes); proc, sysfs and /dev are always listed */
	bool all_std_mounts;
} bwk_oci_run;

/* The spec of a run: Docker's semantics for the process (entrypoint, Cmd, Env over PATH and
 * HOSTNAME, user, working directory) and bulwark's hardened defaults (every namespace incl.
 * user and cgroup, noNewPrivileges, the default capability set, memory and pids limits, a
 * CPU weight, a read-only root). `img` may be NULL (a root filesystem directory). Errors:
 * BWK_E_USAGE when there is no command at all, BWK_E_INPUT for an image StopSignal that is
 * not a signal. */
int bwk_oci_spec_from_run(const bwk_image_config *img, const bwk_oci_run *run, bwk_oci_spec **out,
			  bwk_error **err);

/* A spec lowered to what the sandbox executes, with the effective capability set (bulwark's
 * default set when process.capabilities is absent), memory and pids limits (BWK_UNLIMITED when
 * none is set) and tmpfs size (BWK_DEFAULT_TMPFS_SIZE): the sandbox picks no default. `spec`
 * points into the bwk_oci_spec, which must outlive it; the caller adds what is no spec's
 * business (the layers, secrets, ports, stdio and stop timing) and calls
 * bwk_sandbox_run(&l->spec, …). Errors: BWK_E_UNSUPPORTED naming the property the sandbox
 * cannot execute yet. */
typedef struct bwk_oci_lowered {
	bwk_container_spec spec;
	bwk_bind *binds;
	bwk_tmpfs *tmpfs;	     /* mounts of type tmpfs beyond /tmp, /run, /dev/shm … */
	bwk_oci_mount *tmpfs_mounts; /* theirs, the defaults made explicit (tmpfs[i].mount) */
	size_t ntmpfs_mounts;
	bwk_oci_mount std_defaults[BWK_STD_MOUNTS]; /* std_mounts the spec leaves out */
	char *user;
	bwk_rlimit *rlimits;
} bwk_oci_lowered;
int bwk_oci_spec_lower(const bwk_oci_spec *s, bwk_oci_lowered *out, bwk_error **err);
/* One process.rlimits entry as the sandbox sets it (INT64_MAX and above: no limit); -1 when
 * its type is not an rlimit. */
int bwk_oci_rlimit_lower(const bwk_oci_rlimit *r, bwk_rlimit *out);
void bwk_oci_lowered_free(bwk_oci_lowered *l);
/* held by value, it is its own cleanup: cleanup_with(bwk_oci_lowered_free) bwk_oci_lowered l */

/* The config.json `bulwark spec` writes: bulwark run's hardened defaults (as
 * bwk_oci_spec_from_run with no image, `sh` in a terminal, root "rootfs") plus the standard
 * mounts and Docker's masked and read-only paths that another runtime needs spelled out.
 * Without `rootless` there is no user namespace (runc refuses one without mappings; bulwark's
 * sandbox makes one anyway); with it, the caller's uid/gid mapped to 0 (size 1) and no
 * cgroup limits, as runc does. */
int bwk_oci_spec_default(bool rootless, uint32_t uid, uint32_t gid, bwk_oci_spec **out,
			 bwk_error **err);

/* runtime-spec features.md JSON of what bulwark reads (NUL-terminated; caller frees).
 * `status` is the org.bulwark.status annotation: what the caller implements (the CLI names
 * its OCI commands, from its command table). */
char *bwk_oci_features_json(const char *status, bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
