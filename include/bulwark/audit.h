/* bulwark — audits of what surrounds a container: the host kernel, the Docker daemon and how
 * workloads are launched (live containers, docker inspect JSON, Compose files, Kubernetes
 * manifests, OCI runtime config.json). Findings are mapped to the CIS Docker Benchmark and the
 * Kubernetes Pod Security Standards (docs/audit.md).
 */
#ifndef BULWARK_AUDIT_H
#define BULWARK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the audits look. Every path is optional; NULL means the real system's. Overrides let
 * tests point the host and daemon audits at fixture trees without weakening the defaults. */
typedef struct bwk_audit_opts {
	const char *proc_root;	     /* "/proc" (env BWK_PROC_ROOT) */
	const char *sys_root;	     /* "/sys" (env BWK_SYS_ROOT) */
	const char *root;	     /* host filesystem root for /etc, /var/lib/docker: "/" */
	const char *daemon_config;   /* daemon.json; default: dockerd's --config-file, else
					ROOT/etc/docker/daemon.json */
	const char *host;	     /* engine endpoint: unix:///path or tcp://host:port; default
					$DOCKER_HOST, else unix:///var/run/docker.sock */
	const char *data_dir;	     /* directory with kernel-cves.yaml/engine-cves.yaml replacing
					the built-in tables (env BWK_DATA_DIR) */
	bool all;		     /* containers: stopped ones too */
	bool no_engine;		     /* daemon: do not contact the engine API */
	bool no_probe;		     /* daemon: do not probe configured TCP listeners */
	bool no_secrets;	     /* workloads: skip the secret-in-env rule (fuzzing, speed) */
	struct bwk_secrets *secrets; /* compiled secret rules to use (borrowed); NULL: each
					audit call compiles the built-in rules itself */
	int timeout_ms;		     /* engine API and probes; 0 = 5000 */
	/* containers: whether a bulwark runtime's runtimeArgs (n of them) turn --harden on, as
	 * the runtime's own option parser reads them (the CLI gives its table's); NULL: only
	 * the exact "--harden" */
	bool (*runtime_harden)(const char *const *args, size_t n);
} bwk_audit_opts;

/* Input kinds of workload descriptions (bwk_audit_buffer). */
typedef enum bwk_workload_kind {
	BWK_WL_AUTO = 0, /* detect from content */
	BWK_WL_INSPECT,	 /* `docker inspect` JSON: one object or an array */
	BWK_WL_COMPOSE,	 /* docker-compose.yml / compose.yaml */
	BWK_WL_K8S,	 /* Kubernetes manifests: multi-document YAML or JSON, List */
	BWK_WL_OCI,	 /* OCI runtime-spec config.json */
} bwk_workload_kind;

const char *bwk_workload_kind_name(bwk_workload_kind k);

/* Kernel version, hardening sysctls, LSMs, cgroups, /var/lib/docker placement. */
int bwk_audit_host(const bwk_audit_opts *o, bwk_findings *out, bwk_error **err);

/* daemon.json + dockerd command line + the live engine (unless no_engine). */
int bwk_audit_daemon(const bwk_audit_opts *o, bwk_findings *out, bwk_error **err);

/* Every running (o->all: every) container of the live engine, from its inspect data. */
int bwk_audit_containers(const bwk_audit_opts *o, bwk_findings *out, bwk_error **err);

/* A workload file (type detected from content). Size, depth, document and alias-expansion
 * caps apply; malformed or unknown input is BWK_E_INPUT/BWK_E_LIMIT naming file and line. */
int bwk_audit_file(const char *path, const bwk_audit_opts *o, bwk_findings *out, bwk_error **err);

/* The same on an open file or pipe (standard input), read as the parsers need it: memory
 * holds the document being audited, not the input. `name` names it in findings and errors. */
int bwk_audit_fd(const char *name, int fd, const bwk_audit_opts *o, bwk_findings *out,
		 bwk_error **err);

/* The same on a buffer (need not be NUL-terminated); `name` names it in findings and errors.
 * `kind` forces a reader (BWK_WL_AUTO detects). */
int bwk_audit_buffer(const char *name, const char *data, size_t len, bwk_workload_kind kind,
		     const bwk_audit_opts *o, bwk_findings *out, bwk_error **err);

/* Rule metadata of the workload, host and daemon rules (CVE findings are built from the data
 * files): stores up to `max` pointers in `out` (may be NULL) and returns the total count. */
size_t bwk_audit_rules(const bwk_rule **out, size_t max);

/* Every rule an audit can report: the rules above plus one per CVE id of the kernel, engine
 * and registry tables (from `data_dir` when set, like --data; else the built-in ones). A CVE's
 * title names the components it is listed for. *out is the caller's: bwk_rule_list_free. */
int bwk_audit_rule_list(const char *data_dir, bwk_rule_list **out, bwk_error **err);

/* The CVEs of `table` ("registry-cves.yaml": built in from data/, or from data_dir / env
 * BWK_DATA_DIR like --data) listed for `component` whose range holds `version`: one finding
 * each (category `cat`, at target/key), as the daemon audit reports engine CVEs. *nentries
 * (may be NULL) receives how many entries of the component were compared; the return is the
 * count of matches, -1 on error (a table that does not load). */
int bwk_audit_cve_match(const char *table, const char *data_dir, const char *component,
			const char *version, bwk_category cat, const char *target, const char *key,
			bwk_findings *out, size_t *nentries, bwk_error **err);

/* Version comparison used against the CVE tables (docs/data.md): true when `version` is
 * affected by an entry introduced in `introduced` with first fixed versions `fixed` (one per
 * stable branch, ascending). Distribution suffixes are normalised ("20.10.24+dfsg1" ->
 * 20.10.24, "1:1.6.20~ds1-1" -> 1.6.20, "6.1.0-18-amd64" -> 6.1.0). Returns -1 when a version
 * does not parse. */
int bwk_version_affected(const char *version, const char *introduced, const char *const *fixed,
			 size_t nfixed);

#ifdef __cplusplus
}
#endif
#endif
