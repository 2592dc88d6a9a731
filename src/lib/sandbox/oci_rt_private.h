/* Internals of the OCI runtime lifecycle (oci_create.c, oci_state.c, oci_cgroup.c). */
#ifndef BWK_OCI_RT_PRIVATE_H
#define BWK_OCI_RT_PRIVATE_H
#ifndef BWK_IN_SANDBOX
#error "oci_rt_private.h is private to src/lib/sandbox"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/oci.h"
#include "bulwark/oci_runtime.h"

#define OCIRT_STATE	  "state.json"
#define OCIRT_CONFIG	  "config.json" /* the bundle's config as create read it (hooks) */
#define OCIRT_FIFO	  "exec.fifo"
#define OCIRT_MAX_CGROUPS 12

/* The cgroup directories of one container (absolute paths; v2: one). `open` when fds[] holds
 * them open (ocirt_cgroup_create); a cgroup read back from state.json has only the names and
 * each use opens them again, component by component below /sys/fs/cgroup. */
typedef struct ocirt_cgroup {
	bool v2;
	char *dirs[OCIRT_MAX_CGROUPS];
	size_t n;
	bool open;
	int fds[OCIRT_MAX_CGROUPS];
} ocirt_cgroup;

/* What state.json holds. */
typedef struct ocirt_state {
	char *id, *bundle, *created;
	pid_t pid;
	unsigned long long start_time; /* field 22 of /proc/PID/stat */
	ocirt_cgroup cg;
	char *annotations_json; /* "{…}" */
} ocirt_state;

int ocirt_check_id(const char *id, bwk_error **err);
int ocirt_require_root(const char *verb, bwk_error **err);
/* The state root, created (0700) when `create`. */
int ocirt_open_root(const char *root, bool create, bwk_error **err);
/* The container's state directory, flocked (LOCK_EX or LOCK_SH). */
int ocirt_open_container(int rootfd, const char *root, const char *id, bool exclusive,
			 bwk_error **err);

int ocirt_proc_start_time(pid_t pid, unsigned long long *t, char *state_char);
/* "created", "running" or "stopped". */
const char *ocirt_status(int dirfd, const ocirt_state *st);

char *ocirt_state_serialise(const ocirt_state *st, const char *status, bool internal);
int ocirt_state_read(int dirfd, const char *id, ocirt_state *st, bwk_error **err);
void ocirt_state_free(ocirt_state *st);
/* The state and status of container `id`, read under a shared lock that is let go before
 * returning (events polls with it, never holding a container's lock). */
int ocirt_read_container(const char *root, const char *id, ocirt_state *st, const char **status,
			 bwk_error **err);
char *ocirt_annotations_json(const bwk_oci_spec *s);
/* The bundle's config.json as create saw it (saved in the state directory), or NULL. */
bwk_oci_spec *ocirt_saved_config(int dirfd);
/* runc exec's process options over the container's process (oci_exec_opts.c). */
int ocirt_exec_overrides(bwk_oci_process *p, const bwk_oci_exec_opts *o, bwk_error **err);
/* Remove the state directory `id` (open as dirfd) and what is in it. */
void ocirt_remove_state(int rootfd, int dirfd, const char *id);

/* Run the hooks of one kind with the state on their stdin; each waits at most its timeout
 * (default 30 s). The first failure is an error naming the hook. */
int ocirt_run_hooks(const bwk_oci_spec *s, bwk_oci_hook_kind kind, const char *state_json,
		    bwk_error **err);
/* A hook's timeout in seconds: its own (1 to 3599), else 30. */
int ocirt_hook_timeout_s(const bwk_oci_hook *h);
/* How long the hooks of one kind may take together (ms). */
int ocirt_hooks_budget_ms(const bwk_oci_spec *s, bwk_oci_hook_kind kind);
/* poststart and poststop: each hook runs; a failure is a warning (bwk_log) naming it. */
void ocirt_run_hooks_warn(const bwk_oci_spec *s, bwk_oci_hook_kind kind, const char *state_json,
			  const char *id);
/* At most this much of a failed startContainer hook's error travels through the exec fifo. */
#define OCIRT_FIFO_ERR_MAX 1024

/* oci_cgroup.c */
int ocirt_cgroup_create(const bwk_oci_spec *s, const char *id, bool systemd, ocirt_cgroup *cg,
			bwk_error **err);
/* The cgroup v2 path of create on the unified hierarchy of a hybrid host
 * (/sys/fs/cgroup/unified), whose controllers stay with the v1 mounts: device rules, attach,
 * signal, freeze and destroy work there as on a v2 host (tests: such a host's only v2). */
int ocirt_cgroup_create_unified(const bwk_oci_spec *s, const char *id, ocirt_cgroup *cg,
				bwk_error **err);
/* The calling process (single-threaded: a child just forked) into the container's cgroup, by
 * itself. On v1 its one thread goes through each hierarchy's `tasks` as "0" (the caller): the
 * kernel moves the caller's own thread without write-locking cgroup_threadgroup_rwsem, whose
 * first writer waits out an RCU grace period (7-15 ms) — what writing a pid to cgroup.procs
 * costs. v2 has no such file: cgroup.procs "0". Before the caller enters another user or
 * cgroup namespace (the files belong to the host's root). */
int ocirt_cgroup_join_self(const ocirt_cgroup *cg, bwk_error **err);
/* The directories of a cgroup read back from state.json, open (ocirt_cgroup_free closes them). */
int ocirt_cgroup_open(ocirt_cgroup *cg, bwk_error **err);
/* fork(), the child born in the cgroup where the kernel can: on v2 (an open cgroup, as
 * ocirt_cgroup_create leaves it) clone3(CLONE_INTO_CGROUP), which moves nothing and so waits
 * for nothing (cgroup.procs "0" waits as a pid written there does). *in_cgroup says whether it
 * is; if not, the child calls ocirt_cgroup_join_self. The caller is single-threaded. */
pid_t ocirt_cgroup_fork(const ocirt_cgroup *cg, bool *in_cgroup);
/* Signal every process of the cgroup; returns how many were signalled. */
int ocirt_cgroup_signal(const ocirt_cgroup *cg, int sig);
/* The pids in the cgroup (at most max; the first controller's cgroup.procs). */
size_t ocirt_cgroup_pids(const ocirt_cgroup *cg, pid_t *pids, size_t max);
void ocirt_cgroup_destroy(ocirt_cgroup *cg);
/* ocirt_cgroup_destroy's removal, saying which cgroup stays. With kill_left its processes are
 * killed and it is removed once empty; without, one that holds processes or cgroups (so is
 * not the caller's to remove) is left as it is, no error. Frees cg either way. */
int ocirt_cgroup_remove(ocirt_cgroup *cg, bool kill_left, bwk_error **err);
/* The directories ocirt_cgroup_create would make for the spec (names only, nothing made or
 * opened): what a create killed half-way may have left. */
int ocirt_cgroup_plan(const bwk_oci_spec *s, const char *id, bool systemd, ocirt_cgroup *cg,
		      bwk_error **err);
/* New limits for a running container (linux.resources without the device rules). */
int ocirt_cgroup_update(const ocirt_cgroup *cg, const bwk_oci_resources *r, bwk_error **err);
int ocirt_cgroup_freeze(const ocirt_cgroup *cg, bool freeze, bwk_error **err);
bool ocirt_cgroup_frozen(const ocirt_cgroup *cg);
void ocirt_cgroup_free(ocirt_cgroup *cg);
/* `file` (a name, no '/') of the first of the container's cgroup directories that has it, open
 * for reading; -1 when none has it. */
int ocirt_cgroup_open_file(const ocirt_cgroup *cg, const char *file);

/* oci_events.c: runc's stats event of container `id` from its cgroup and, when piddir (its
 * init's /proc directory, or -1) is in a network namespace of its own, its interfaces. */
char *ocirt_stats_event(const char *id, const ocirt_cgroup *cg, int piddir);

/* oci_devfilter.c: linux.resources.devices on cgroup v2, a BPF_PROG_TYPE_CGROUP_DEVICE program.
 * The rules (at most OCIRT_DEV_RULES_MAX; type a/b/c, major/minor -1 or absent for any,
 * access of r, w and m) are tried last to first, the first that matches decides (the last
 * match wins, as with the v1 files), no match denies. build: the instructions into out[cap],
 * *len of them; attach: build, load and attach it to the open cgroup v2 directory cgfd
 * (BPF_F_ALLOW_MULTI: the filters of the cgroups above still apply). */
struct bpf_insn;
#define OCIRT_DEV_RULES_MAX   256
#define OCIRT_DEVFILTER_INSNS (8 + 10 * (OCIRT_DEV_RULES_MAX + 16))
int ocirt_devfilter_build(const bwk_oci_dev_rule *rules, size_t n, struct bpf_insn *out, size_t cap,
			  size_t *len, bwk_error **err);
int ocirt_devfilter_attach(int cgfd, const char *cgname, const bwk_oci_dev_rule *rules, size_t n,
			   bwk_error **err);

/* oci_systemd.c: --systemd-cgroup. cgroupsPath "slice:prefix:name" (empty: system.slice,
 * bulwark, the id) becomes a transient scope "prefix-name.scope" in the slice, started
 * through systemd's D-Bus API (StartTransientUnit, Delegate=yes) with the calling process in
 * it; *rel is then the scope's cgroup path, which the cgroupfs code fills with the limits.
 * Without systemd as PID 1 (or its bus) one error line says so. */
int ocirt_systemd_scope(const char *cgroups_path, const char *id, char *rel, size_t len,
			bwk_error **err);
/* The slice and the scope's unit name of a cgroupsPath (untrusted: config.json), each into
 * OCIRT_UNIT_MAX bytes: "slice:prefix:name" → slice, "prefix-name.scope"; an empty slice is
 * system.slice, an empty path system.slice and "bulwark-ID.scope". */
#define OCIRT_UNIT_MAX 256
int ocirt_systemd_unit(const char *cgroups_path, const char *id, char *slice, char *unit,
		       bwk_error **err);

/* oci_seccomp_notify.c: linux.seccomp with SCMP_ACT_NOTIFY and its listenerPath. wanted: the
 * filter has a NOTIFY action. check: what bulwark refuses of it (at create). load: in the
 * container, the filter loaded with a listener; its fd, or -1 with *why. send: the fd and the
 * container process state (status as given, `pid` the process that loaded the filter) to the
 * listener, one connection. */
bool ocirt_notify_wanted(const bwk_oci_seccomp *sc);
int ocirt_notify_check(const bwk_oci_seccomp *sc, bwk_error **err);
int ocirt_notify_load(const bwk_oci_seccomp *sc, uint64_t bounding, char *why, size_t len);
int ocirt_notify_send(const bwk_oci_seccomp *sc, const ocirt_state *st, const char *status,
		      pid_t pid, int fd, bwk_error **err);

#endif
