#ifndef BWK_AUDIT_PRIVATE_H
#define BWK_AUDIT_PRIVATE_H
#ifndef BWK_IN_AUDIT
#error "audit_private.h is private to src/lib/audit"
#endif
#include <stdint.h>

#include <jansson.h>

#include "bulwark/audit.h"
#include "bulwark/strv.h"
#include "core/engine_client.h"
#include "core/util.h"

/* ---- the one workload model every input kind is normalised into ---- */

/* Fields an input kind can express. A rule fires only when the kind can express its fix:
 * a Kubernetes manifest has no pids limit, an OCI config has no published ports. */
enum {
	WF_PRIVILEGED = 1u << 0,
	WF_CAPS = 1u << 1,
	WF_HOST_PID = 1u << 2,
	WF_HOST_IPC = 1u << 3,
	WF_HOST_NET = 1u << 4,
	WF_HOST_UTS = 1u << 5,
	WF_HOST_USERNS = 1u << 6,
	WF_MOUNTS = 1u << 7,
	WF_PROPAGATION = 1u << 8,
	WF_DEVICES = 1u << 9,
	WF_SECCOMP = 1u << 10,
	WF_APPARMOR = 1u << 11,
	WF_SELINUX = 1u << 12,
	WF_NNP = 1u << 13,
	WF_USER = 1u << 14,
	WF_RO_ROOTFS = 1u << 15,
	WF_MEM_LIMIT = 1u << 16,
	WF_PIDS_LIMIT = 1u << 17,
	WF_CPU_LIMIT = 1u << 18,
	WF_PORTS = 1u << 19,
	WF_RESTART = 1u << 20,
	WF_ENV = 1u << 21,
	WF_IMAGE = 1u << 22,
	WF_HOSTPATH = 1u << 23,
	WF_SA_TOKEN = 1u << 24,
};

typedef enum tri { TRI_UNSET = 0, TRI_FALSE, TRI_TRUE } tri;

typedef struct wl_mount {
	char *source; /* host path (bind / hostPath), NULL for volumes and tmpfs */
	char *target;
	bool rw;
	bool hostpath; /* a Kubernetes hostPath volume */
	char *propagation;
	char *key;
} wl_mount;

typedef struct wl_port {
	char *host_ip; /* NULL or "" = every interface */
	unsigned host_port, container_port;
	char *key;
} wl_port;

typedef struct wl_str {
	char *s;
	char *key;
} wl_str;

typedef struct wl_env {
	char *name, *value;
	char *key;
} wl_env;

typedef struct workload {
	bwk_workload_kind kind;
	uint32_t fields; /* WF_* this input kind can express */
	char *name;	 /* "web" (compose), "Deployment/ns/app:nginx" (k8s), container name … */
	char *key;	 /* key prefix of the workload in its input ("services.web") */
	unsigned line;

	bool privileged;
	wl_str *cap_add, *cap_drop; /* upper case, without CAP_ */
	size_t ncap_add, ncap_drop;
	bool host_pid, host_ipc, host_net, host_uts, host_userns;
	wl_mount *mounts;
	size_t nmounts;
	wl_str *devices;
	size_t ndevices;
	char *seccomp; /* NULL = runtime default, "unconfined", or a profile name */
	bool seccomp_unset_means_unconfined; /* Kubernetes before SeccompDefault, OCI */
	char *apparmor; /* NULL = runtime default, "unconfined", or a profile */
	bool selinux_disabled;
	tri no_new_privs; /* TRI_TRUE: no-new-privileges / allowPrivilegeEscalation: false */
	char *user;	  /* as written, NULL if unset */
	int64_t uid;	  /* -1 unknown */
	tri run_as_non_root;
	tri ro_rootfs;
	int64_t mem_limit, pids_limit; /* 0 = none */
	double cpu_limit;	       /* CPUs, 0 = none */
	wl_port *ports;
	size_t nports;
	char *restart; /* policy name, NULL = none */
	int64_t restart_max;
	wl_env *env;
	size_t nenv;
	char *image;
	tri automount_sa_token;
	char *sa_key;
} workload;

/* Items per list (mounts, ports, devices, capabilities, environment) of one workload: past
 * this the input is refused (aud_wl_bounded), never silently cut. */
#define AUD_MAX_WL_ITEMS 4096
int aud_wl_bounded(const workload *w, const char *target, bwk_error **err);

workload *aud_wl_new(bwk_workload_kind kind, const char *name, const char *key, unsigned line);
void aud_wl_free(workload *w);
BWK_DEFINE_CLEANUP(workload *, aud_wl_free)
#define cleanup_workload cleanup_with(aud_wl_freep)
/* A bind in Docker's "SRC:DST[:OPTS]" form (HostConfig.Binds, compose short syntax): OPTS
 * may hold ro and a propagation mode. SRC is a host path when it starts with '/' (or, with
 * `relative_paths`, '.', '~' or '$' as compose allows); otherwise it is a named volume. A spec
 * without ':' is an anonymous volume and adds nothing. */
void aud_wl_add_bind_spec(workload *w, const char *spec, bool relative_paths, const char *key);
void aud_wl_add_cap(wl_str **v, size_t *n, const char *cap, const char *key);
/* Every string of the JSON array `caps` (not an array: nothing), keyed "<key>[i]". */
void aud_wl_add_caps(wl_str **v, size_t *n, const json_t *caps, const char *key);
void aud_wl_add_mount(workload *w, const char *source, const char *target, bool rw,
		      const char *propagation, bool hostpath, const char *key);
void aud_wl_add_port(workload *w, const char *host_ip, unsigned host_port, unsigned container_port,
		     const char *key);
void aud_wl_add_device(workload *w, const char *path, const char *key);
void aud_wl_add_env(workload *w, const char *name, const char *value, const char *key);
/* A JSON array of "KEY=VALUE" strings (docker Env, compose list form, OCI process.env): each
 * variable located as key[i]; entries without '=' are skipped. */
void aud_wl_add_env_list(workload *w, const json_t *list, const char *key);
bool aud_wl_has_cap(const wl_str *v, size_t n, const char *cap);
/* uid from "1000", "1000:1000", "root", "nobody:nogroup" … (-1 unknown) */
int64_t aud_wl_uid_from_user(const char *user);

void aud_wl_security_opt(workload *w, const char *opt);
int64_t aud_wl_parse_size(const json_t *v);

/* Fields each kind can express. */
uint32_t aud_wl_kind_fields(bwk_workload_kind k);

/* Apply the workload rule table and add findings for `target`. */
typedef struct wl_ctx {
	const char *target;
	const char *path; /* the input file, part of each finding's fingerprint so that the same
			     service in two files is two findings; NULL for live containers */
	bwk_findings *out;
	const bwk_audit_opts *opts;
	struct bwk_secrets *secrets; /* NULL: secret-in-env rule off */
} wl_ctx;
int aud_wl_check(wl_ctx *c, const workload *w, bwk_error **err);

/* The i-th rule of each audit rule table (workload, host, daemon), NULL past the end: what
 * `bulwark rules` lists is read from the tables the checks run from. */
const bwk_rule *aud_wl_rule(size_t i);
const bwk_rule *aud_host_rule(size_t i);
const bwk_rule *aud_daemon_rule(size_t i);

/* ---- readers: json -> workloads, each calls aud_wl_check ---- */
typedef struct reader_ctx {
	wl_ctx *wl;
	const char *name; /* input name for errors */
	unsigned line;	  /* line of the current document (YAML), 0 for JSON */
	const struct bwk_yaml_doc *doc;
} reader_ctx;

int aud_read_inspect(reader_ctx *r, const json_t *root, bwk_error **err);
int aud_read_inspect_one(reader_ctx *r, const json_t *c, const char *key, bwk_error **err);
int aud_read_compose(reader_ctx *r, const json_t *root, bwk_error **err);
int aud_read_k8s(reader_ctx *r, const json_t *obj, const char *key, bwk_error **err);
int aud_read_oci(reader_ctx *r, const json_t *root, bwk_error **err);

/* json helpers */
const char *aud_js_str(const json_t *o, const char *k);
/* o[k] == "host" (network_mode, PidMode …) */
bool aud_js_is_host(const json_t *o, const char *k);
bool aud_js_true(const json_t *o, const char *k);
tri aud_js_tri(const json_t *o, const char *k);
/* number or numeric string; false if absent/other */
bool aud_js_num(const json_t *o, const char *k, double *out);
/* A number from a hostile document as int64: NaN is 0 and out-of-range values saturate, since
 * converting them with a cast is undefined behaviour. */
int64_t aud_i64(double d);
const json_t *aud_js_path(const json_t *o, const char *dotted);

/* ---- CVE tables (data/kernel-cves.yaml, data/engine-cves.yaml) ---- */
typedef struct cve_entry {
	char *id, *name, *severity, *klass, *component, *introduced, *description, *remediation,
	    *note;
	bwk_strv fixed, refs, requires; /* each `v` non-NULL: empty lists hold just the NULL */
} cve_entry;

typedef struct cve_table {
	cve_entry *e;
	size_t n;
} cve_table;

/* which: "kernel-cves.yaml", "engine-cves.yaml" or "registry-cves.yaml"; from data_dir when set,
 * else built in */
int aud_cve_table_load(const char *which, const char *data_dir, cve_table *t, bwk_error **err);
int aud_cve_table_parse(const char *name, const char *text, size_t len, cve_table *t,
			bwk_error **err);
void aud_cve_table_free(cve_table *t);
/* Add a finding for each entry matching `version` (component NULL: kernel table). `absent`
 * lists preconditions known absent (downgrade to info). */
int aud_cve_report(const cve_table *t, const char *component, const char *version,
		   const char *const *absent, bwk_category cat, const char *target, const char *key,
		   bwk_findings *out, bwk_error **err);

/* ---- host/daemon helpers ---- */
const char *aud_opt_proc_root(const bwk_audit_opts *o);
const char *aud_opt_sys_root(const bwk_audit_opts *o);
const char *aud_opt_data_dir(const bwk_audit_opts *o);
/* ROOT + abs path (root "/" or NULL gives the path itself). Caller frees. */
char *aud_opt_rooted(const bwk_audit_opts *o, const char *abs);

/* Report a rule with a message/evidence at a key. */
int aud_audit_add(bwk_findings *out, const bwk_rule *rule, int severity, const char *target,
		  const char *key, unsigned line, const char *message, const char *evidence,
		  bwk_error **err);

/* ---- engine API (libcurl over the unix socket or TCP) ---- */
typedef struct aud_engine {
	bwk_endpoint ep;
	const char *host;	 /* ep.host: as given */
	const char *socket_path; /* ep.socket_path: unix:// only */
	int timeout_ms;
} aud_engine;

int aud_engine_open(const bwk_audit_opts *o, aud_engine *e, bwk_error **err);
void aud_engine_close(aud_engine *e);
/* GET path; JSON body parsed with a size cap. */
int aud_engine_get_json(aud_engine *e, const char *path, json_t **out, bwk_error **err);
/* TCP connect + GET /_ping without TLS: 1 answers as a Docker API, 0 no */
int aud_engine_probe_tcp(const char *addr, int port, int timeout_ms, char **detail);

#endif
