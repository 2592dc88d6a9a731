/* The workload rule table: one table for docker inspect, Compose, Kubernetes and OCI configs.
 * Each rule names the model fields it needs; it runs only on inputs that can express them, so
 * every finding comes with a fix the user can actually write in that file. */
#define _GNU_SOURCE
#include <string.h>

#include "audit/audit_private.h"
#include "bulwark/secrets.h"
#include "core/cleanup.h"
#include "core/hostpaths.h"

#define CIS(n)	"CIS Docker Benchmark " n
#define PSS(n)	"Kubernetes Pod Security Standards: " n
#define PSS_URL "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

/* A row: the rule and its check. */
typedef struct wl_rule {
	bwk_rule meta;
	uint32_t needs;
	int (*check)(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err);
} wl_rule;

static int hit(wl_ctx *c, const workload *w, const bwk_rule *r, int sev, const char *key,
	       const char *msg, bwk_error **err)
{
	cleanup_free char *m = xasprintf("%s: %s", w->name, msg);
	bwk_finding_spec s = {
	    .rule = r,
	    .loc = {.target = c->target,
		    .path = c->path,
		    .layer_index = -1,
		    .key = key && *key ? key : w->key,
		    .line = w->line},
	    .message = m,
	    .severity = sev,
	};
	return bwk_findings_add(c->out, &s, err);
}

/* ---- privileged ---- */
static int ck_priv(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	return w->privileged ? hit(c, w, r, -1, NULL, "privileged: true", err) : 0;
}

/* ---- capabilities ---- */
static const struct {
	const char *cap;
	bwk_severity sev;
	const char *why;
} danger_caps[] = {
    {"ALL", BWK_SEV_CRITICAL, "every capability: equivalent to --privileged minus devices"},
    {"SYS_ADMIN", BWK_SEV_HIGH,
     "mount filesystems, use cgroup release_agent and many kernel interfaces: the usual "
     "escape path (CVE-2022-0492)"},
    {"SYS_MODULE", BWK_SEV_CRITICAL, "load kernel modules: arbitrary code in the host kernel"},
    {"SYS_PTRACE", BWK_SEV_HIGH,
     "trace and inject code into other processes (all host processes with host PID)"},
    {"DAC_READ_SEARCH", BWK_SEV_HIGH,
     "open_by_handle_at() reads any host file by inode (the 'shocker' escape)"},
    {"SYS_RAWIO", BWK_SEV_HIGH, "raw I/O ports and /dev/mem access"},
    {"NET_ADMIN", BWK_SEV_MEDIUM,
     "reconfigure interfaces, routes and firewall of its network namespace (the host's with "
     "host networking); large kernel attack surface"},
    {"SYS_BOOT", BWK_SEV_MEDIUM, "reboot the host or load a new kernel with kexec"},
    {"SYS_TIME", BWK_SEV_MEDIUM, "set the host clock (breaks TLS, logs and tokens)"},
    {"BPF", BWK_SEV_HIGH, "load eBPF programs: read kernel memory, large attack surface"},
    {"PERFMON", BWK_SEV_MEDIUM, "perf events: kernel information leaks"},
    {"MAC_ADMIN", BWK_SEV_HIGH, "change AppArmor/SELinux policy"},
    {"MAC_OVERRIDE", BWK_SEV_HIGH, "bypass AppArmor/SELinux policy"},
    {"SYSLOG", BWK_SEV_MEDIUM, "read kernel log and addresses (defeats KASLR)"},
    {"LINUX_IMMUTABLE", BWK_SEV_LOW, "change immutable/append-only file flags"},
    {"SYS_RESOURCE", BWK_SEV_LOW, "override resource limits and quotas"},
    {"NET_BROADCAST", BWK_SEV_LOW, "broadcast and multicast"},
    {"WAKE_ALARM", BWK_SEV_LOW, "wake the host from suspend"},
    {"BLOCK_SUSPEND", BWK_SEV_LOW, "block host suspend"},
    {"IPC_LOCK", BWK_SEV_LOW, "lock host memory"},
    {"AUDIT_CONTROL", BWK_SEV_MEDIUM, "change the kernel audit rules"},
};

static int ck_caps(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->privileged)
		return 0; /* privileged-container already says everything */
	for (size_t i = 0; i < w->ncap_add; i++)
		for (size_t j = 0; j < sizeof(danger_caps) / sizeof(danger_caps[0]); j++) {
			if (strcmp(w->cap_add[i].s, danger_caps[j].cap))
				continue;
			cleanup_free char *m = xasprintf("capability %s added: %s", w->cap_add[i].s,
							 danger_caps[j].why);
			if (hit(c, w, r, (int)danger_caps[j].sev, w->cap_add[i].key, m, err) < 0)
				return -1;
		}
	return 0;
}

static int ck_drop(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->privileged || aud_wl_has_cap(w->cap_drop, w->ncap_drop, "ALL"))
		return 0;
	return hit(c, w, r, -1, NULL, "capabilities are not dropped (no drop ALL)", err);
}

/* ---- namespaces ---- */
#define NS_CHECK(var, what, field)                                                                 \
	static int ck_##var(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)      \
	{                                                                                          \
		return w->field                                                                    \
			   ? hit(c, w, r, -1, NULL, "shares the host " what " namespace", err)     \
			   : 0;                                                                    \
	}

NS_CHECK(pid, "PID", host_pid)
NS_CHECK(ipc, "IPC", host_ipc)
NS_CHECK(net, "network", host_net)
NS_CHECK(uts, "UTS", host_uts)
NS_CHECK(userns, "user", host_userns)

/* ---- mounts ---- */
/* Which host paths are sensitive is core/hostpaths.c's table, shared with `run`. */

static int ck_mount(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	for (size_t i = 0; i < w->nmounts; i++) {
		const wl_mount *m = &w->mounts[i];
		if (!m->source || m->source[0] != '/')
			continue;
		const char *why = NULL;
		int sev = -1;
		switch (bwk_hostpath_classify(m->source, -1)) {
		case BWK_HOSTPATH_ENGINE:
			why = "container engine socket: full control of the host";
			sev = BWK_SEV_CRITICAL;
			break;
		case BWK_HOSTPATH_SYSTEM:
			why = m->rw ? "host system directory, writable"
				    : "host system directory (read-only)";
			sev = m->rw ? BWK_SEV_CRITICAL : BWK_SEV_HIGH;
			break;
		case BWK_HOSTPATH_KERNEL_TREE:
		case BWK_HOSTPATH_BELOW:
			/* a single read-only file such as /etc/localtime is fine */
			if (m->rw) {
				why = "inside a host system directory, writable";
				sev = BWK_SEV_HIGH;
			}
			break;
		case BWK_HOSTPATH_NONE:
			break;
		}
		if (!why)
			continue;
		cleanup_free char *msg = xasprintf("mounts host %s at %s%s: %s", m->source,
						   m->target, m->rw ? "" : " (ro)", why);
		if (hit(c, w, r, sev, m->key, msg, err) < 0)
			return -1;
	}
	return 0;
}

static int ck_prop(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	for (size_t i = 0; i < w->nmounts; i++) {
		const char *pr = w->mounts[i].propagation;
		if (!pr ||
		    (strcmp(pr, "shared") && strcmp(pr, "rshared") && strcmp(pr, "Bidirectional")))
			continue;
		cleanup_free char *msg =
		    xasprintf("mount at %s uses %s propagation", w->mounts[i].target, pr);
		if (hit(c, w, r, -1, w->mounts[i].key, msg, err) < 0)
			return -1;
	}
	return 0;
}

static int ck_hostpath(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	for (size_t i = 0; i < w->nmounts; i++) {
		if (!w->mounts[i].hostpath)
			continue;
		cleanup_free char *msg = xasprintf(
		    "hostPath %s mounted at %s%s", w->mounts[i].source ? w->mounts[i].source : "?",
		    w->mounts[i].target, w->mounts[i].rw ? "" : " (ro)");
		if (hit(c, w, r, -1, w->mounts[i].key, msg, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- devices ---- */
static int ck_dev(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	for (size_t i = 0; i < w->ndevices; i++) {
		cleanup_free char *msg =
		    xasprintf("host device %s passed through", w->devices[i].s);
		if (hit(c, w, r, -1, w->devices[i].key, msg, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- LSMs and seccomp ---- */
static int ck_seccomp(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->privileged)
		return 0;
	if (w->seccomp && !strcasecmp(w->seccomp, "unconfined"))
		return hit(c, w, r, -1, NULL, "seccomp profile: unconfined", err);
	if (!w->seccomp && w->seccomp_unset_means_unconfined)
		return hit(c, w, r, BWK_SEV_MEDIUM, NULL,
			   w->kind == BWK_WL_K8S
			       ? "no seccompProfile: runs Unconfined unless the kubelet enables "
				 "SeccompDefault"
			       : "no linux.seccomp section: no system call filter",
			   err);
	return 0;
}

static int ck_aa(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->privileged || !w->apparmor || strcasecmp(w->apparmor, "unconfined"))
		return 0;
	return hit(c, w, r, -1, NULL, "AppArmor profile: unconfined", err);
}

static int ck_selinux(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	/* Docker adds label=disable itself for --privileged and host PID/IPC, which are
	 * reported on their own; only a label=disable the user chose is news. */
	if (!w->selinux_disabled || w->privileged || w->host_pid || w->host_ipc)
		return 0;
	return hit(c, w, r, -1, NULL, "label=disable", err);
}

static int ck_nnp(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->privileged || w->no_new_privs == TRI_TRUE)
		return 0;
	return hit(c, w, r, -1, NULL,
		   w->kind == BWK_WL_K8S ? "allowPrivilegeEscalation is not false"
					 : "no-new-privileges is not set",
		   err);
}

/* ---- user and root filesystem ---- */
static int ck_root(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->kind == BWK_WL_K8S) {
		if (w->uid > 0 || (w->run_as_non_root == TRI_TRUE && w->uid != 0))
			return 0;
		return hit(c, w, r, -1, NULL,
			   w->uid == 0 ? "runAsUser: 0"
				       : "runAsNonRoot is not true and runAsUser is not set",
			   err);
	}
	if (w->uid == 0)
		return hit(c, w, r, -1, NULL, "runs as uid 0", err);
	if (!w->user || !*w->user)
		return hit(c, w, r, -1, NULL,
			   w->kind == BWK_WL_INSPECT
			       ? "no user set: runs as root"
			       : "no user set: runs as the image's USER, root unless it sets one",
			   err);
	return 0;
}

static int ck_ro(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	return w->ro_rootfs == TRI_TRUE
		   ? 0
		   : hit(c, w, r, -1, NULL, "root filesystem is writable", err);
}

/* ---- limits ---- */
static int ck_mem(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	return w->mem_limit > 0 ? 0 : hit(c, w, r, -1, NULL, "no memory limit", err);
}

static int ck_cpu(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	return w->cpu_limit > 0 ? 0 : hit(c, w, r, -1, NULL, "no CPU limit", err);
}

static int ck_pids(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	return w->pids_limit > 0 ? 0 : hit(c, w, r, -1, NULL, "no pids limit", err);
}

/* ---- ports ---- */
static const struct {
	unsigned port;
	const char *svc;
} admin_ports[] = {
    {22, "SSH"},
    {23, "telnet"},
    {2375, "Docker API"},
    {2376, "Docker API"},
    {2379, "etcd"},
    {2380, "etcd peer"},
    {3306, "MySQL"},
    {5432, "PostgreSQL"},
    {6379, "Redis"},
    {27017, "MongoDB"},
    {9200, "Elasticsearch"},
    {9300, "Elasticsearch"},
    {11211, "memcached"},
    {5984, "CouchDB"},
    {8500, "Consul"},
    {15672, "RabbitMQ admin"},
    {10250, "kubelet"},
    {6443, "Kubernetes API"},
    {3389, "RDP"},
    {5900, "VNC"},
    {1433, "SQL Server"},
    {1521, "Oracle"},
    {9042, "Cassandra"},
    {4243, "Docker API"},
    {8086, "InfluxDB"},
    {5601, "Kibana"},
    {9000, "Portainer/MinIO admin"},
};

static int ck_port(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	for (size_t i = 0; i < w->nports; i++) {
		const wl_port *p = &w->ports[i];
		const char *ip = p->host_ip;
		if (p->host_port == 0 && w->kind == BWK_WL_K8S)
			continue; /* a containerPort alone publishes nothing on the host */
		if (ip && *ip && strcmp(ip, "0.0.0.0") && strcmp(ip, "::") && strcmp(ip, "[::]"))
			continue;
		for (size_t j = 0; j < sizeof(admin_ports) / sizeof(admin_ports[0]); j++) {
			if (admin_ports[j].port != p->container_port &&
			    admin_ports[j].port != p->host_port)
				continue;
			cleanup_free char *msg =
			    xasprintf("%s port %u published on all interfaces (host port %u)",
				      admin_ports[j].svc, p->container_port, p->host_port);
			if (hit(c, w, r, -1, p->key, msg, err) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* ---- restart ---- */
static int ck_restart(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (!w->restart)
		return 0;
	bool unbounded = !strcmp(w->restart, "always") || !strcmp(w->restart, "unless-stopped") ||
			 (!strcmp(w->restart, "on-failure") && w->restart_max <= 0);
	if (!unbounded)
		return 0;
	cleanup_free char *msg = xasprintf("restart policy %s without a retry limit", w->restart);
	return hit(c, w, r, -1, NULL, msg, err);
}

/* ---- image ---- */
static int ck_tag(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (!w->image || !*w->image || strstr(w->image, "@sha256:") ||
	    !strncmp(w->image, "sha256:", 7))
		return 0;
	cleanup_free char *msg = xasprintf("image %s is not pinned by digest", w->image);
	return hit(c, w, r, -1, NULL, msg, err);
}

/* ---- service account ---- */
static int ck_sa(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (w->automount_sa_token == TRI_FALSE)
		return 0;
	return hit(c, w, r, -1, w->sa_key, "automountServiceAccountToken is not false", err);
}

/* ---- secrets in the environment ---- */

typedef struct env_cb_ctx {
	wl_ctx *c;
	const workload *w;
	const wl_env *e;
	const bwk_rule *r;
} env_cb_ctx;

static int env_hit(void *ctx, const bwk_secret_hit *h, bwk_error **err)
{
	env_cb_ctx *x = ctx;
	cleanup_free char *msg = xasprintf("%s: environment variable %s holds a secret (%s)",
					   x->w->name, x->e->name, h->rule->title);
	bwk_finding_spec s = {
	    .rule = x->r,
	    .loc = {.target = x->c->target,
		    .path = x->c->path,
		    .layer_index = -1,
		    .key = x->e->key,
		    .line = x->w->line},
	    .message = msg,
	    .secret = h->secret,
	    .secret_len = h->secret_len,
	    .severity = (int)h->rule->severity > (int)BWK_SEV_HIGH ? (int)h->rule->severity : -1,
	};
	return bwk_findings_add(x->c->out, &s, err);
}

static int ck_env(wl_ctx *c, const workload *w, const bwk_rule *r, bwk_error **err)
{
	if (!c->secrets)
		return 0;
	for (size_t i = 0; i < w->nenv; i++) {
		const wl_env *e = &w->env[i];
		/* scan "NAME=value" as a line of a .env file: the variable name feeds the rules
		 * keyed on it, and the path selects the rules scoped to configuration files */
		cleanup_free char *line = xasprintf("%s=%s", e->name, e->value);
		env_cb_ctx x = {c, w, e, r};
		if (bwk_secrets_scan(c->secrets, ".env", line, strlen(line), env_hit, &x, err) < 0)
			return -1;
	}
	return 0;
}

static const wl_rule table[] = {
    {.meta = BWK_RULE(
	 "privileged-container", BWK_CAT_WORKLOAD, BWK_SEV_CRITICAL,
	 .title = "Container runs privileged",
	 .description = "A privileged container gets every capability, every host device, no "
			"seccomp or AppArmor filter and a writable /sys: root in it is root on the "
			"host (mount the host disk, load a kernel module).",
	 .remediation = "Remove --privileged / `privileged: true`; add only the capability or "
			"device the workload needs.",
	 .references = BWK_REFS(CIS("5.4"), PSS("baseline, Privileged Containers"), PSS_URL)),
     .needs = WF_PRIVILEGED,
     .check = ck_priv},
    {.meta = BWK_RULE(
	 "dangerous-capability", BWK_CAT_WORKLOAD, BWK_SEV_HIGH,
	 .title = "Dangerous capability added",
	 .description = "An added capability hands a piece of root's power over the host kernel to "
			"the container; several of them are well-known escape paths.",
	 .remediation = "Remove the capability from cap_add / capabilities.add; if the workload "
			"really needs it, isolate it on a dedicated host.",
	 .references = BWK_REFS(CIS("5.3"), PSS("baseline, Capabilities"), PSS_URL,
				"https://man7.org/linux/man-pages/man7/capabilities.7.html")),
     .needs = WF_CAPS,
     .check = ck_caps},
    {.meta = BWK_RULE(
	 "capabilities-not-dropped", BWK_CAT_WORKLOAD, BWK_SEV_LOW,
	 .title = "Default capabilities not dropped",
	 .description =
	     "The runtime's default set (CHOWN, DAC_OVERRIDE, FOWNER, SETUID, NET_RAW, MKNOD …) "
	     "stays with the container; most services need none of it, and each one widens what a "
	     "foothold can do (NET_RAW spoofing, DAC_OVERRIDE on mounted files).",
	 .remediation = "Drop every capability and add back only what is needed: `--cap-drop ALL` "
			"/ `cap_drop: [ALL]` / `capabilities: {drop: [ALL]}`.",
	 .references = BWK_REFS(CIS("5.3"), PSS("restricted, Capabilities"), PSS_URL)),
     .needs = WF_CAPS,
     .check = ck_drop},
    {.meta = BWK_RULE(
	 "host-pid", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "Host PID namespace shared",
	 .description =
	     "The container sees every host process, their command lines and environments, and "
	     "with SYS_PTRACE or as root can signal or inject into them.",
	 .remediation = "Remove --pid=host / `pid: host` / `hostPID: true`.",
	 .references = BWK_REFS(CIS("5.16"), PSS("baseline, Host Namespaces"), PSS_URL)),
     .needs = WF_HOST_PID,
     .check = ck_pid},
    {.meta =
	 BWK_RULE("host-ipc", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "Host IPC namespace shared",
		  .description = "The container can read and write host shared memory segments and "
				 "message queues of other processes.",
		  .remediation = "Remove --ipc=host / `ipc: host` / `hostIPC: true`.",
		  .references = BWK_REFS(CIS("5.17"), PSS("baseline, Host Namespaces"), PSS_URL)),
     .needs = WF_HOST_IPC,
     .check = ck_ipc},
    {.meta = BWK_RULE(
	 "host-network", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "Host network namespace shared",
	 .description = "The container uses the host's interfaces: it can bind any host port, "
			"reach services listening on localhost (the kubelet, metadata endpoints, "
			"databases) and sniff traffic with NET_RAW.",
	 .remediation = "Remove --network=host / `network_mode: host` / `hostNetwork: true`; "
			"publish only the ports needed.",
	 .references = BWK_REFS(CIS("5.10"), PSS("baseline, Host Namespaces"), PSS_URL)),
     .needs = WF_HOST_NET,
     .check = ck_net},
    {.meta = BWK_RULE(
	 "host-uts", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM, .title = "Host UTS namespace shared",
	 .description = "The container can change the host's hostname and domain name.",
	 .remediation = "Remove --uts=host / `uts: host`.",
	 .references = BWK_REFS(CIS("5.21"), PSS("baseline, Host Namespaces"), PSS_URL)),
     .needs = WF_HOST_UTS,
     .check = ck_uts},
    {.meta = BWK_RULE(
	 "host-userns", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM, .title = "Host user namespace shared",
	 .description = "The container opts out of the daemon's user-namespace remapping: its root "
			"is the host's root again.",
	 .remediation = "Remove --userns=host / `userns_mode: host`.",
	 .references = BWK_REFS(CIS("5.31 (userns)"), PSS("baseline, Host Namespaces"), PSS_URL)),
     .needs = WF_HOST_USERNS,
     .check = ck_userns},
    {.meta = BWK_RULE(
	 "sensitive-host-mount", BWK_CAT_WORKLOAD, BWK_SEV_HIGH,
	 .title = "Sensitive host path mounted",
	 .description = "A host system directory or a container-engine socket inside the "
			"container: the engine socket is full root on the host (start a privileged "
			"container), a writable /etc or / lets the container rewrite host users, "
			"cron jobs and binaries, read-only ones still leak keys and credentials.",
	 .remediation =
	     "Do not mount host system paths or engine sockets into workloads; use named volumes, "
	     "and mount what must be shared read-only and as narrowly as possible.",
	 .references = BWK_REFS(CIS("5.5"), CIS("5.31 (docker.sock)"),
				PSS("baseline, HostPath Volumes"), PSS_URL)),
     .needs = WF_MOUNTS,
     .check = ck_mount},
    {.meta = BWK_RULE(
	 "mount-propagation-shared", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM,
	 .title = "Mount propagation shared with the host",
	 .description = "With shared (Bidirectional) propagation, mounts made inside the container "
			"appear on the host: a compromised container can shadow host paths.",
	 .remediation =
	     "Use the default private propagation (or rslave if host mounts must be seen inside).",
	 .references = BWK_REFS(CIS("5.20"), PSS_URL)),
     .needs = WF_PROPAGATION,
     .check = ck_prop},
    {.meta = BWK_RULE(
	 "hostpath-volume", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM, .title = "hostPath volume",
	 .description = "A hostPath volume ties the pod to one node and exposes that node's "
			"filesystem; the Baseline Pod Security Standard forbids it.",
	 .remediation = "Use emptyDir, a PersistentVolumeClaim, a ConfigMap or a Secret instead.",
	 .references = BWK_REFS(PSS("baseline, HostPath Volumes"), PSS_URL)),
     .needs = WF_HOSTPATH,
     .check = ck_hostpath},
    {.meta = BWK_RULE(
	 "host-device", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "Host device passed through",
	 .description = "A host device node in the container gives raw access to hardware or "
			"kernel interfaces (a disk device is the whole host filesystem; /dev/mem, "
			"/dev/kmsg, fuse widen the kernel attack surface).",
	 .remediation = "Remove --device / `devices:`; if a device is really needed, pass it "
			"read-only (`:r`) and only that one.",
	 .references = BWK_REFS(CIS("5.18"))),
     .needs = WF_DEVICES,
     .check = ck_dev},
    {.meta = BWK_RULE(
	 "seccomp-unconfined", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "Seccomp disabled",
	 .description = "Without a seccomp filter the container can call every system call, "
			"including the rarely used ones behind most kernel privilege escalations "
			"(keyctl, unshare, bpf, io_uring …).",
	 .remediation = "Keep the runtime's default profile: remove seccomp=unconfined; in "
			"Kubernetes set securityContext.seccompProfile.type: RuntimeDefault.",
	 .references = BWK_REFS(CIS("5.22"), PSS("restricted, Seccomp"), PSS_URL)),
     .needs = WF_SECCOMP,
     .check = ck_seccomp},
    {.meta = BWK_RULE(
	 "apparmor-unconfined", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "AppArmor disabled",
	 .description = "The runtime's AppArmor profile blocks writes to /proc and /sys knobs and "
			"mounts that escapes rely on; unconfined removes that layer.",
	 .remediation = "Remove apparmor=unconfined; keep the runtime default (docker-default) or "
			"a custom profile.",
	 .references = BWK_REFS(CIS("5.1"), PSS("baseline, AppArmor"), PSS_URL)),
     .needs = WF_APPARMOR,
     .check = ck_aa},
    {.meta = BWK_RULE(
	 "selinux-disabled", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM,
	 .title = "SELinux labelling disabled",
	 .description =
	     "label=disable runs the container unconfined by SELinux on hosts that enforce it.",
	 .remediation = "Remove label=disable / label:disable.",
	 .references = BWK_REFS(CIS("5.2"), PSS("baseline, SELinux"), PSS_URL)),
     .needs = WF_SELINUX,
     .check = ck_selinux},
    {.meta = BWK_RULE(
	 "no-new-privileges-not-set", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM,
	 .title = "Privilege escalation allowed (no-new-privileges not set)",
	 .description =
	     "Without no_new_privs a process can gain privileges through setuid/setgid binaries or "
	     "file capabilities in the image, turning an unprivileged foothold into root.",
	 .remediation =
	     "Set `--security-opt no-new-privileges` / `security_opt: [no-new-privileges:true]` / "
	     "`allowPrivilegeEscalation: false` / process.noNewPrivileges: true.",
	 .references = BWK_REFS(CIS("5.26"), PSS("restricted, Privilege Escalation"), PSS_URL)),
     .needs = WF_NNP,
     .check = ck_nnp},
    {.meta = BWK_RULE(
	 "runs-as-root", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM, .title = "Container runs as root",
	 .description = "Root in the container is root on the host for every kernel bug and every "
			"mounted path: most escapes need uid 0 inside first.",
	 .remediation = "Run as an unprivileged user: `--user 1000:1000` / `user: \"1000:1000\"` / "
			"`runAsNonRoot: true` with runAsUser > 0 / process.user.uid != 0.",
	 .references = BWK_REFS(CIS("4.1"), CIS("5.x (user namespaces)"),
				PSS("restricted, Running as Non-root"), PSS_URL)),
     .needs = WF_USER,
     .check = ck_root},
    {.meta = BWK_RULE(
	 "rootfs-writable", BWK_CAT_WORKLOAD, BWK_SEV_LOW, .title = "Root filesystem writable",
	 .description = "A writable root filesystem lets an intruder drop tools and persist "
			"changes to binaries and configuration for the container's lifetime.",
	 .remediation = "Use `--read-only` / `read_only: true` / `readOnlyRootFilesystem: true` / "
			"root.readonly and tmpfs or volumes for the paths that must be written.",
	 .references = BWK_REFS(CIS("5.13"))),
     .needs = WF_RO_ROOTFS,
     .check = ck_ro},
    {.meta =
	 BWK_RULE("no-memory-limit", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM, .title = "No memory limit",
		  .description = "Without a memory limit one container can exhaust host memory and "
				 "get other workloads (or the engine) killed by the OOM killer.",
		  .remediation = "Set `--memory` / `mem_limit` or deploy.resources.limits.memory / "
				 "resources.limits.memory / linux.resources.memory.limit.",
		  .references = BWK_REFS(CIS("5.11"))),
     .needs = WF_MEM_LIMIT,
     .check = ck_mem},
    {.meta = BWK_RULE(
	 "no-cpu-limit", BWK_CAT_WORKLOAD, BWK_SEV_LOW, .title = "No CPU limit",
	 .description =
	     "Without a CPU limit a busy or hijacked container (a miner) starves its neighbours.",
	 .remediation = "Set `--cpus` / `cpus` or deploy.resources.limits.cpus / "
			"resources.limits.cpu / linux.resources.cpu.quota.",
	 .references = BWK_REFS(CIS("5.12"))),
     .needs = WF_CPU_LIMIT,
     .check = ck_cpu},
    {.meta = BWK_RULE(
	 "no-pids-limit", BWK_CAT_WORKLOAD, BWK_SEV_MEDIUM, .title = "No process limit",
	 .description =
	     "Without a pids limit a fork bomb in one container exhausts the host's process table.",
	 .remediation = "Set `--pids-limit 256` / `pids_limit` / deploy.resources.limits.pids / "
			"linux.resources.pids.limit.",
	 .references = BWK_REFS(CIS("5.29"))),
     .needs = WF_PIDS_LIMIT,
     .check = ck_pids},
    {.meta = BWK_RULE(
	 "admin-port-exposed", BWK_CAT_WORKLOAD, BWK_SEV_HIGH,
	 .title = "Administrative service published on every host interface",
	 .description =
	     "A database, remote shell or control API published on 0.0.0.0 is reachable from any "
	     "network the host is on, past any firewall on the container network.",
	 .remediation =
	     "Bind the port to localhost or an internal interface (`-p 127.0.0.1:5432:5432`, "
	     "`hostIP`), or do not publish it and connect over a container network.",
	 .references = BWK_REFS(CIS("5.14"), CIS("5.8"))),
     .needs = WF_PORTS,
     .check = ck_port},
    {.meta = BWK_RULE(
	 "restart-unbounded", BWK_CAT_WORKLOAD, BWK_SEV_LOW, .title = "Restart policy unbounded",
	 .description = "A container that crashes in a loop (or is crashed on purpose) is "
			"restarted forever, which hides attacks and can exhaust the host.",
	 .remediation = "Use `--restart on-failure:5` (`restart: on-failure:5`).",
	 .references = BWK_REFS(CIS("5.15"))),
     .needs = WF_RESTART,
     .check = ck_restart},
    {.meta = BWK_RULE(
	 "secret-in-env", BWK_CAT_WORKLOAD, BWK_SEV_HIGH,
	 .title = "Secret in an environment variable",
	 .description =
	     "Environment variables are visible to `docker inspect`, /proc/PID/environ, crash "
	     "reports and child processes, and end up in version control with the manifest.",
	 .remediation = "Move the value to a secret store: Docker/Compose secrets, a Kubernetes "
			"Secret mounted as a file, or a vault; rotate the exposed credential.",
	 .references = BWK_REFS("CIS Docker Benchmark 4.10",
				"https://docs.docker.com/engine/swarm/secrets/")),
     .needs = WF_ENV,
     .check = ck_env},
    {.meta = BWK_RULE("image-mutable-tag", BWK_CAT_WORKLOAD, BWK_SEV_INFO,
		      .title = "Image referenced by mutable tag",
		      .description = "A tag can be moved to different content at any time; what "
				     "runs is not what was reviewed.",
		      .remediation = "Pin the image by digest: image@sha256:….",
		      .references = BWK_REFS(CIS("5.27 (image provenance)"),
					     "https://docs.docker.com/engine/reference/commandline/"
					     "pull/#pull-an-image-by-digest-immutable-identifier")),
     .needs = WF_IMAGE,
     .check = ck_tag},
    {.meta =
	 BWK_RULE("automount-service-account-token", BWK_CAT_WORKLOAD, BWK_SEV_INFO,
		  .title = "Service account token mounted",
		  .description = "The pod gets an API token; whoever takes over the container can "
				 "talk to the Kubernetes API with its permissions.",
		  .remediation =
		      "Set automountServiceAccountToken: false unless the workload calls the API.",
		  .references = BWK_REFS("https://kubernetes.io/docs/tasks/configure-pod-container/"
					 "configure-service-account/")),
     .needs = WF_SA_TOKEN,
     .check = ck_sa},
};

const bwk_rule *aud_wl_rule(size_t i)
{
	return i < sizeof(table) / sizeof(table[0]) ? &table[i].meta : NULL;
}

int aud_wl_check(wl_ctx *c, const workload *w, bwk_error **err)
{
	if (aud_wl_bounded(w, c->target, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if ((w->fields & table[i].needs) != table[i].needs) {
			/* a setting this input form cannot express (a compose file has no
			 * service-account token): skipped, unless another workload ran it */
			if (!bwk_findings_has_check(c->out, table[i].meta.id))
				bwk_findings_check(c->out, &table[i].meta, BWK_CHECK_SKIP,
						   "not expressible in %s",
						   bwk_workload_kind_name(w->kind));
			continue;
		}
		bwk_findings_check(c->out, &table[i].meta, BWK_CHECK_PASS, NULL);
		if (table[i].check(c, w, &table[i].meta, err) < 0)
			return -1;
	}
	return 0;
}
