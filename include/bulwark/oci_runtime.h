/* bulwark — the OCI runtime lifecycle: create, start, state, kill, delete, list, as runc and
 * crun implement them, so that an engine (containerd-shim-runc-v2, Docker, Podman) can use
 * bulwark as its runtime binary.
 *
 * `create` does the whole setup (namespaces, joining those with a path, id maps written by the
 * create process, cgroup, mounts, pivot_root) and leaves the container's init blocked on
 * <root>/<id>/exec.fifo; it writes <root>/<id>/state.json atomically and the pid file, and
 * returns: the engine's shim (a subreaper) becomes the init's parent. `start` opens the fifo,
 * which releases the init: it drops to the process user and capabilities, loads the seccomp
 * filter and executes process.args. Each container has one state directory, locked with flock
 * by every command; its status is computed from the init pid and its start time (a reused pid
 * reads as stopped). Root only for now (docs/oci-runtime.md).
 */
#ifndef BULWARK_OCI_RUNTIME_H
#define BULWARK_OCI_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/error.h"
#include "bulwark/oci.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BWK_OCI_DEFAULT_ROOT "/run/bulwark"
#define BWK_OCI_MAX_ID	     1024 /* bytes of a container id: [A-Za-z0-9_.+-], not "." or ".." */

typedef struct bwk_oci_create_opts {
	const char *root;	    /* state root (default BWK_OCI_DEFAULT_ROOT) */
	const char *id;		    /* container id */
	const char *bundle;	    /* bundle directory (config.json and the root filesystem) */
	const char *pid_file;	    /* NULL: none */
	const char *console_socket; /* process.terminal: where the pty master is sent */
	bool systemd_cgroup;	    /* cgroupsPath is "slice:prefix:name" (refused for now) */
	bool harden;		    /* --harden: apply the hardening policy (bulwark/oci.h) */
	const char *runtime_conf;   /* NULL: BWK_OCI_RUNTIME_CONF */
	struct bwk_strv *changes;   /* the policy's changes, one line each; NULL: not kept */
	struct bwk_strv *warnings;  /* what was left out (unknown capabilities), one line each;
				     * NULL: said through bwk_log */
	unsigned preserve_fds; /* runc's --preserve-fds: 3..3+N-1 go to the process as they are */
} bwk_oci_create_opts;

/* The most descriptors --preserve-fds passes on. */
#define BWK_OCI_MAX_PRESERVE_FDS 4096

int bwk_oci_create(const bwk_oci_create_opts *o, bwk_error **err);

/* Re-execute `argv` (the whole command line) from an immutable view of the running binary (a
 * read-only detached bind, else a sealed memfd copy) unless it already runs from one
 * (CVE-2019-5736; `create` and `exec` call it first). Returns only on error, or 0 when already
 * sealed. */
int bwk_oci_sealed_exe(char **argv, bwk_error **err);
int bwk_oci_start(const char *root, const char *id, bwk_error **err);

/* The runtime-spec state of a container (ociVersion, id, status, pid, bundle, annotations)
 * as a JSON object text; caller frees. */
char *bwk_oci_state(const char *root, const char *id, bwk_error **err);

/* Send `sig` to the init (`all`: to every process of the container's cgroup). */
int bwk_oci_kill(const char *root, const char *id, int sig, bool all, bwk_error **err);

/* Remove a stopped or created container (its init is killed), or with `force` a running one:
 * its processes, its cgroup and its state. A half-created one (a crash during create) goes
 * with `force`. */
int bwk_oci_delete(const char *root, const char *id, bool force, bwk_error **err);

/* A new process in running container `id`: the process of `process_json` (runc exec
 * --process: a runtime-spec process object), else the container's own with `args`. It joins
 * every namespace and the cgroup of the container and gets the container's seccomp filter.
 * With `detach` the call returns once it runs (its parent is then the caller's subreaper),
 * else when it exits, with its status in *status (128+N: killed by signal N). */
typedef struct bwk_oci_exec_opts {
	const char *root, *id;
	const char *process_json;
	/* or the process file already loaded (bwk_oci_exec_process_load, e.g. to read its
	 * terminal first): used instead of process_json, still the caller's to free (exec
	 * adjusts its process: a hardened container's hardening) */
	bwk_oci_spec *process;
	const char *const *args;
	const char *pid_file, *console_socket;
	bool detach, tty;
	/* runc exec's process options, over the container's own process (never with
	 * process_json): cwd and user ("UID[:GID]") replace, env (NAME=VALUE) is appended, caps
	 * ("CAP_X" or "X") are added to the bounding, effective and permitted sets (and ambient
	 * when the config has inheritable ones), additional gids are appended; apparmor and
	 * process_label replace the profile and the SELinux label. NULL-terminated lists. */
	const char *cwd, *user, *apparmor, *process_label;
	const char *const *env, *const *caps;
	const uint32_t *additional_gids;
	size_t n_additional_gids;
	bool no_new_privs;     /* set process.noNewPrivileges */
	bool ignore_paused;    /* exec into a paused container too (the process runs on resume) */
	unsigned preserve_fds; /* as bwk_oci_create_opts' */
} bwk_oci_exec_opts;
int bwk_oci_exec(const bwk_oci_exec_opts *o, int *status, bwk_error **err);
/* A process file (runc exec --process: a runtime-spec process object), parsed and validated
 * as config.json's process, as a spec holding only it. Caller frees *out. */
int bwk_oci_exec_process_load(const char *path, bwk_oci_spec **out, bwk_error **err);

/* The pids of every process of the container (its cgroup), at most BWK_OCI_MAX_PIDS: runc ps,
 * which containerd's shim calls for `ctr task ps` and the CRI's ListPids. Caller frees *pids. */
#define BWK_OCI_MAX_PIDS 65536
int bwk_oci_ps(const char *root, const char *id, pid_t **pids, size_t *n, bwk_error **err);

/* Freeze (pause) or thaw (resume) every process of the container through its freezer
 * cgroup; its status reads "paused" meanwhile. */
int bwk_oci_pause(const char *root, const char *id, bool pause, bwk_error **err);

/* New cgroup limits for a running container: `json` is a linux.resources object (runc update
 * --resources) merged into the container's (what it does not name stays; the device rules in
 * it are ignored), applied to its cgroup and saved with its config atomically. Kernel memory
 * limits are refused. */
int bwk_oci_update(const char *root, const char *id, const char *json, size_t len, bwk_error **err);

/* runc events --stats: one {"type":"stats","id":ID,"data":{cpu, memory, pids, blkio,
 * hugetlb}} object (runc's types.Stats) read from the container's cgroup, as JSON text;
 * caller frees. A stopped container is an error, as in runc. */
char *bwk_oci_stats(const char *root, const char *id, bwk_error **err);

/* runc events: `fn` gets each event as one JSON text: a stats event every `interval_ms` and
 * {"type":"oom","id":ID} for each process the OOM killer kills in the container's cgroup.
 * Returns 0 when the container stops or is deleted, or when `fn` returns negative. */
typedef int (*bwk_oci_event_fn)(const char *json, void *ctx);
int bwk_oci_events(const char *root, const char *id, unsigned interval_ms, bwk_oci_event_fn fn,
		   void *ctx, bwk_error **err);

/* The states of every container under `root` as a JSON array text; caller frees. */
char *bwk_oci_list(const char *root, bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
