/* bulwark — the sandbox: namespaces, mounts, seccomp, capabilities, cgroups and a pid-1 init.
 * Used by `bulwark run` and (later) the OCI runtime front end: the container is described by a
 * plain struct that an OCI config.json can fill as well as the CLI's flags.
 *
 * Every field defaults to the hardened choice when zero/NULL, so a caller relaxes a default
 * only by setting a field explicitly (docs/run.md lists each default and what relaxing costs).
 */
#ifndef BULWARK_SANDBOX_H
#define BULWARK_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/strv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_net_mode {
	BWK_NET_NONE = 0, /* own network namespace with loopback only */
	BWK_NET_HOST,	  /* share the host's (explicit, warns) */
	BWK_NET_SLIRP,	  /* own namespace + slirp4netns for outbound traffic */
	/* own namespace on a bridge network (`network`): as root a veth on a host bridge with
	 * the kernel's NAT; for other users pasta (passt) when installed, else slirp4netns */
	BWK_NET_BRIDGE,
} bwk_net_mode;

/* A network name for BWK_NET_BRIDGE: 1 to 11 of a-z 0-9 _ - (not first: _ -). */
bool bwk_sandbox_network_name_ok(const char *name);

struct bwk_oci_mount;

typedef struct bwk_bind {
	const char *src; /* host path (absolute) */
	const char *dst; /* container path (absolute, resolved inside the root) */
	bool rw;	 /* default read-only */
	/* Podman's :U: give the source (recursively) to the container user's host ids before the
	 * start. Without it, as root, a source owned by a host user outside the container's ids
	 * is shown as the container user's through an id-mapped mount (its files stay the host
	 * user's). */
	bool chown;
	/* The runtime spec's mount this was lowered from (bwk_oci_spec_lower): what the sandbox
	 * makes (sandbox/spec_mount.c, the builder `create` uses too), with the source the
	 * parent opened and checked; src, dst and rw summarise it. */
	const struct bwk_oci_mount *mount;
} bwk_bind;

/* A tmpfs of the container's (--tmpfs, an image's anonymous VOLUME): always nosuid and nodev. With
 * `copyup` it starts with a copy of the image's content at `dst` (Podman's tmpcopyup), owners
 * and modes kept, bounded (BWK_COPYUP_MAX_ENTRIES, the tmpfs size) and never following a
 * symbolic link; the directory itself takes the owner and mode of the image's. */
/* The places of bwk_container_spec.std_mounts. */
enum { BWK_STD_PROC, BWK_STD_SYS, BWK_STD_DEV, BWK_STD_DEVPTS, BWK_STD_SHM, BWK_STD_MOUNTS };

typedef struct bwk_tmpfs {
	const char *dst; /* container path (absolute, resolved inside the root) */
	uint64_t size;	 /* bytes (the spec lowering fills the default) */
	uint32_t mode;	 /* of its root when nothing is copied up */
	bool copyup, noexec;
	/* The runtime spec's mount this was lowered from, with the defaults made explicit
	 * (size, mode, nosuid, nodev): what the sandbox makes (sandbox/spec_mount.c); the fields
	 * above summarise it. */
	const struct bwk_oci_mount *mount;
} bwk_tmpfs;
#define BWK_COPYUP_MAX_ENTRIES 20000
#define BWK_COPYUP_MAX_DEPTH   64

typedef struct bwk_secret {
	const char *name; /* file name under /run/secrets (no '/', no "..") */
	const char *file; /* host file, read by bulwark before the container starts */
} bwk_secret;

/* The bounds of one container spec, each stated once: bwk_container_run refuses more, and
 * callers size their arrays and refuse extra flags with them. */
#define BWK_MAX_LOWER_LAYERS 128  /* layers `run` stacks (overlayfs lower directories) */
#define BWK_MAX_BINDS	     32	  /* volumes (bind mounts) */
#define BWK_MAX_TMPFS	     256  /* extra tmpfs mounts */
#define BWK_MAX_SECRETS	     256  /* files under /run/secrets */
#define BWK_MAX_ENV	     4096 /* environment entries ("KEY=VALUE") */
#define BWK_MAX_PORTS	     64	  /* published ports per container */
typedef struct bwk_port {
	char host_addr[64]; /* default 127.0.0.1 */
	uint16_t host_port, container_port;
	bool udp;
} bwk_port;

/* A resource limit of the container's process (setrlimit before exec, as root inside the
 * container: a hard limit above bulwark's own cannot be granted). resource: RLIMIT_*. */
typedef struct bwk_rlimit {
	int resource;
	uint64_t soft, hard; /* RLIM_INFINITY: none */
} bwk_rlimit;
#define BWK_MAX_RLIMITS 16
/* RLIMIT_* of a name ("RLIMIT_NOFILE"), or -1. */
int bwk_rlimit_from_name(const char *name);

/* Sentinel for the limits: BWK_UNLIMITED = no limit (the caller warns). */
#define BWK_UNLIMITED UINT64_MAX

typedef struct bwk_container_spec {
	/* Root filesystem: either `lowers` (layer directories bottom first, NULL-terminated; an
	 * overlay of them) or `rootfs` (one directory). Both are mounted read-only; a tmpfs upper
	 * holds mount points and, with read_write, the container's writes (discarded at exit). */
	const char *const *lowers;
	const char *rootfs;
	bool read_write;
	/* Without read_write: the state directories of /var the image has (/var/cache, /var/lib,
	 * /var/log, /var/spool, /var/tmp; the set and why: src/lib/sandbox/varfs.c) writable all
	 * the same, their writes in the in-memory upper (writable_size, discarded at exit), while
	 * the code and configuration (/usr, /etc, /var/www …) stay read-only. Off: the whole root
	 * read-only. A tmpfs or bind at or above one of them takes its place. */
	bool writable_var;

	/* Process: argv[0] is looked up in the container's PATH from env. env is the complete
	 * environment ("KEY=VALUE"), nothing is inherited from the caller. */
	const char *const *argv;
	const char *const *env;
	const char *user; /* "", "uid", "uid:gid", "name[:group]": looked up in the root */
	const char *cwd;  /* NULL or "": "/" */
	const char *hostname;
	bool tty;	  /* allocate a pty for the process (stdin must be a terminal) */
	bool interactive; /* keep stdin attached */
	bool no_init;	  /* the command is pid 1 itself (no reaper, no signal forwarding) */
	/* Docker's stop: a SIGTERM to the caller reaches the command as stop_signal (0:
	 * SIGTERM), and the container is killed stop_timeout_ms later (0: 10 s) if still
	 * running; UINT32_MAX: never). bwk_oci_spec_lower() gives Docker's 10 s, the caller
	 * replaces it; 0 is refused. */
	int stop_signal;
	uint32_t stop_timeout_ms;

	const bwk_bind *binds;
	size_t nbinds;
	bool allow_sensitive_mounts; /* else binds of bwk_sandbox_sensitive_path() are refused */
	const bwk_secret *secrets;
	size_t nsecrets;

	bwk_net_mode net;
	const char *network; /* BWK_NET_BRIDGE: the network's name (NULL: "bulwark") */
	const bwk_port *ports;
	size_t nports;

	/* The spec carries its effective capability set, limits and tmpfs size: the sandbox
	 * applies them as given and picks no default (bwk_oci_spec_lower() fills bulwark's, the
	 * BWK_DEFAULT_* below); a spec without them (caps_set false, a limit 0) is refused. */
	/* Capability bounding/effective set for uid 0 (bit n = capability n); ambient and
	 * inheritable are always empty. caps_set: `caps` is given (else refused). */
	uint64_t caps;
	bool caps_set;

	/* Seccomp: NULL = the built-in default; "unconfined" = none; else a Docker JSON file. */
	const char *seccomp;

	const bwk_rlimit *rlimits; /* at most BWK_MAX_RLIMITS */
	size_t nrlimits;

	uint64_t memory;     /* bytes, or BWK_UNLIMITED */
	uint64_t pids;	     /* max tasks, or BWK_UNLIMITED */
	uint64_t cpus_milli; /* CPU quota in 1/1000 CPU; 0 = no quota (weight only) */
	uint32_t cpu_weight; /* cgroup v2 cpu.weight 1-10000 (v1: cpu.shares weight*1024/100) */
	uint64_t tmpfs_size; /* bytes, each of /tmp, /dev/shm; /run a quarter; not unlimited */

	/* Host ids of container ids 0… (root only). userns_count 0: a free 65536-id slice of the
	 * `bulwark` range of /etc/subuid and /etc/subgid, claimed while the container runs; else
	 * exactly [userns_start, userns_start + userns_count) for uids and gids, refused when an
	 * /etc/subuid or /etc/subgid entry or another running container uses any of it. */
	uint32_t userns_start, userns_count;

	/* The library never prints: what the caller should tell its user goes to `notify` (NULL:
	 * dropped). Messages name settings of this struct through bwk_setting()
	 * (bulwark/log.h): the caller's name for the key ("--memory" for the CLI), else words.
	 * BWK_NOTE_WARNING: a default relaxed or a limit that falls back, not sent when `quiet`;
	 * BWK_NOTE_EXIT: why the container died (out of memory), always sent. */
	void (*notify)(void *ctx, int kind, const char *msg);
	void *notify_ctx;
	bool quiet; /* no BWK_NOTE_WARNING */

	/* More tmpfs mounts (anonymous volumes, --tmpfs), mounted before the binds. /tmp and
	 * /run are always tmpfs and always start with the image's content there. */
	const bwk_tmpfs *tmpfs;
	size_t ntmpfs;
	/* Bytes of the writable layer (read_write, or writable_var's directories together); the
	 * spec's producer sets it (bwk_oci_spec_lower: BWK_DEFAULT_WRITABLE_SIZE, which also sizes
	 * a tmpfs of the spec without a size of its own). In memory: counted in `memory`. */
	uint64_t writable_size;
	/* The runtime spec's proc, sysfs, /dev, devpts and /dev/shm mounts (bwk_oci_spec_lower,
	 * which gives bulwark's where the spec has none): what the sandbox makes
	 * (sandbox/spec_mount.c, as `create` does), then masks and fills with the standard
	 * device nodes through the mounts it made. */
	const struct bwk_oci_mount *std_mounts[BWK_STD_MOUNTS];
} bwk_container_spec;

enum { BWK_NOTE_WARNING = 0, BWK_NOTE_EXIT = 1 };

/* Documented defaults (docs/run.md), filled in by the spec's producer (src/lib/oci/). */
#define BWK_DEFAULT_MEMORY	    (512ull << 20)
#define BWK_DEFAULT_PIDS	    512
#define BWK_DEFAULT_TMPFS_SIZE	    (64ull << 20)
#define BWK_DEFAULT_WRITABLE_SIZE   (512ull << 20)
#define BWK_DEFAULT_CPU_WEIGHT	    50 /* cgroup v2 weight (v1 shares 512): half a default task */
#define BWK_DEFAULT_STOP_TIMEOUT_MS 10000 /* Docker's stop timeout */

/* Capabilities: the default set and name lookup ("NET_ADMIN", "CAP_NET_ADMIN", "ALL"). */
uint64_t bwk_sandbox_default_caps(void);
int bwk_cap_from_name(const char *name, uint64_t *mask);
/* `n` names as one mask; -1 at the first unknown one, named in *bad (when bad is not NULL). */
int bwk_caps_from_names(const char *const *names, size_t n, uint64_t *mask, const char **bad);

/* An OCI spec's capability names as one mask, read as runc and crun read them: "CAP_" and a
 * capability of bulwark's table that the running kernel has. Any other name (unknown to
 * bulwark or to this kernel, "ALL", lower case, no prefix) is left out of the mask, which
 * only ever grants less, and appended once to *unknown when it is not NULL (for the caller's
 * warning: engines pass lists newer than an older host's kernel). */
uint64_t bwk_caps_spec_mask(const char *const *names, size_t n, bwk_strv *unknown);

/* A signal as Docker's --stop-signal and an image's StopSignal give it: "SIGQUIT", "QUIT",
 * "sigquit" or a number 1-64; -1 when it is none of these. */
int bwk_signal_from_name(const char *name);
const char *bwk_cap_name(int cap); /* "CAP_CHOWN" … or NULL */

/* True if host path `src` (absolute, canonical) is sensitive: /, /proc, /sys, /dev, /etc,
 * /boot, /usr, /lib, /var/run/docker.sock, containerd's socket … or a parent of one. */
bool bwk_sandbox_sensitive_path(const char *src);

/* Why this host stops unprivileged user namespaces (user.max_user_namespaces=0, Debian's
 * kernel.unprivileged_userns_clone=0, or Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1
 * while this process has no AppArmor profile that allows them), as one sentence naming the
 * setting and the fix; NULL when nothing stops them. `proc_root` is /proc (or a fixture tree).
 * Caller frees. */
char *bwk_userns_restriction(const char *proc_root);

/* Run the container to completion. *status is the exit status docker would report: the
 * command's code, 128+N if it was killed by signal N (137 on OOM, with a message on stderr),
 * 126/127 when the command cannot be executed/found. Returns -1 (and *err) on runtime errors,
 * for which the CLI exits 125. */
int bwk_sandbox_run(const bwk_container_spec *spec, int *status, bwk_error **err);

/* Re-execute the running binary from an immutable view of it (a read-only detached bind, else
 * a sealed memfd copy) unless it already runs from one, so that no process of a container can
 * ever reach a writable bulwark binary (CVE-2019-5736). Returns only on error, or 0 if
 * already sealed. */
int bwk_sandbox_ensure_sealed_exe(char **argv, bwk_error **err);

/* Docker's --user semantics: "uid", "uid:gid", "name", "name:group", resolved against the
 * image's /etc/passwd and /etc/group contents (either may be NULL). A numeric uid need not
 * exist; a name must. Supplementary groups come from /etc/group membership. Lines longer
 * than 4 KiB and malformed ids are skipped. On error, a one-line reason in errbuf. */
typedef struct bwk_user {
	uint32_t uid, gid;
	uint32_t groups[32];
	int ngroups;
	char home[256];
} bwk_user;
int bwk_user_resolve(const char *spec, const char *passwd, const char *group, bwk_user *out,
		     char *errbuf, size_t errlen);

/* Docker's --env-file format (KEY=VALUE or KEY lines, '#' comments). *out gets the lines as
 * written ("KEY" alone means: take the caller's value), cleared with bwk_strv_clear(); `v` is
 * NULL when there are none. At most 1 MiB and BWK_MAX_ENV variables; a malformed name is an
 * input error naming the line. */
int bwk_envfile_parse(const char *data, size_t len, bwk_strv *out, bwk_error **err);

/* Docker seccomp JSON profile (the format of moby's profiles/seccomp/default.json). */
typedef struct bwk_seccomp_profile bwk_seccomp_profile;
/* Parse at most 4 MiB of JSON; unknown syscall names are skipped (as Docker does). `caps` is
 * the container's capability set, used for "includes"/"excludes" {"caps": […]} conditions. */
int bwk_seccomp_profile_parse(const char *json, size_t len, uint64_t caps,
			      bwk_seccomp_profile **out, bwk_error **err);
size_t bwk_seccomp_profile_rule_count(const bwk_seccomp_profile *p);
void bwk_seccomp_profile_free(bwk_seccomp_profile *p);
BWK_DEFINE_CLEANUP(bwk_seccomp_profile *, bwk_seccomp_profile_free)
/* Whether the running kernel takes seccomp(2)'s filter flag `flag` (a SECCOMP_FILTER_FLAG_…
 * bit), probed without loading anything (WAIT_KILLABLE_RECV together with a listener, the only
 * way the kernel takes it). */
bool bwk_seccomp_filter_flag_supported(unsigned long flag);

/* Whether an unprivileged `bulwark run` can limit its container as a whole: the caller's own
 * cgroup v2 (its "0::" line of /proc/self/cgroup, on the cgroup2 mount of mountinfo) must be
 * delegated to `uid` (the directory, cgroup.procs and cgroup.subtree_control owned by it, as
 * systemd's Delegate=yes and crun's rootless mode expect) and list memory, pids and cpu in
 * cgroup.controllers. `root` is the directory the mount points are resolved in ("/" on a
 * host, a fixture tree in tests); nothing resolves outside it or through a symlink. A cgroup
 * named bulwark-origin (where bulwark moves the processes it finds, see docs/run.md) stands
 * for its parent. Inputs are capped (64 KiB, 4 MiB). Returns the open cgroup directory when
 * delegated (the caller closes it), else -1; `why` then says what is missing, and also when a
 * controller is. */
typedef struct bwk_cgroup_plan {
	bool delegated;
	bool memory, pids, cpu; /* in its cgroup.controllers */
	bool v1_memory;		/* memory is bound to a cgroup v1 hierarchy: no v2 cgroup has it */
	char mount[512];	/* the cgroup2 mount point, e.g. /sys/fs/cgroup */
	char path[4096];	/* the cgroup, relative to that mount ("/" for its root) */
	char why[1024];		/* "" when delegated with every controller */
} bwk_cgroup_plan;
int bwk_cgroup_plan_rootless(int root, const char *proc_cgroup, const char *mountinfo, uint32_t uid,
			     bwk_cgroup_plan *out);

#ifdef __cplusplus
}
#endif
#endif
