/* `bulwark audit daemon`: the Docker daemon's configuration (daemon.json + dockerd flags), its
 * API socket and listeners, and the live engine's settings and component versions. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bulwark/log.h"
#include "audit/audit_private.h"
#include "audit/daemon_private.h"
#include "core/cleanup.h"

#define CIS(n)	"CIS Docker Benchmark " n
#define DDOC	"https://docs.docker.com/reference/cli/dockerd/"
#define DSEC(a) "https://docs.docker.com/engine/security/" a

typedef struct dctx {
	const bwk_audit_opts *o;
	bwk_findings *out;
	const char *target;
	const aud_engine *eng;
	json_t *cfg;		 /* daemon.json + flags */
	json_t *info;		 /* /info, NULL when the engine was not asked or did not answer */
	json_t *version;	 /* /version, likewise */
	const char *unreachable; /* why the engine did not answer, NULL if it did */
	const char *sock;	 /* the unix socket to judge */
	const char *etc_group;	 /* ROOT/etc/group, NULL if unreadable */
	int plain_tcp_reported;	 /* daemon-tcp-no-tls findings from the configured listeners */
} dctx;

/* A row: the rule and its check. Every check is listed as passed unless it adds a finding;
 * one that needs something absent (the socket, the engine) lists itself as skipped. */
typedef struct daemon_rule {
	bwk_rule meta;
	int (*check)(dctx *d, const bwk_rule *r, bwk_error **err);
} daemon_rule;

static int add(dctx *d, const bwk_rule *r, int sev, const char *key, const char *msg,
	       bwk_error **err)
{
	return aud_audit_add(d->out, r, sev, d->target, key, 0, msg, NULL, err);
}

/* A boolean setting from daemon.json with the dockerd flags applied (the engine's /info does
 * not report these; the callers prefer /info where it does). */
static tri setting(dctx *d, const char *key)
{
	return aud_js_tri(d->cfg, key);
}

/* "tcp://1.2.3.4:2375", "tcp://:2375", "tcp://[::1]:2376", "tcp://host" */
static void split_hostport(const char *hp, bool tls, char **host, int *port)
{
	const char *p = hp;
	const char *colon;
	if (*p == '[') {
		const char *close = strchr(p, ']');
		*host = xstrndup(p + 1, close ? (size_t)(close - p - 1) : strlen(p + 1));
		colon = close ? strchr(close, ':') : NULL;
	} else {
		colon = strrchr(p, ':');
		*host = xstrndup(p, colon ? (size_t)(colon - p) : strlen(p));
	}
	*port = colon ? (int)strtol(colon + 1, NULL, 10) : (tls ? 2376 : 2375);
	/* the probe goes only to the configured address; a wildcard is reached on loopback */
	if (!**host || !strcmp(*host, "0.0.0.0")) {
		free(*host);
		*host = xstrdup("127.0.0.1");
	} else if (!strcmp(*host, "::")) {
		free(*host);
		*host = xstrdup("::1");
	}
}

/* The configured tcp:// listeners; `tls`: they use TLS (but not client verification). */
static int listeners(dctx *d, const bwk_rule *r, bool tls, bwk_error **err)
{
	size_t i;
	const json_t *h;
	json_array_foreach(json_object_get(d->cfg, "hosts"), i, h)
	{
		const char *s = json_string_value(h);
		if (!s || strncmp(s, "tcp://", 6))
			continue;
		cleanup_free char *addr = NULL;
		int port = 0;
		cleanup_free char *hp = xstrndup(s + 6, strcspn(s + 6, "/"));
		split_hostport(hp, tls, &addr, &port);
		cleanup_free char *detail = NULL;
		int answered = -1;
		if (!d->o || !d->o->no_probe)
			answered = aud_engine_probe_tcp(addr, port, 1000, &detail);
		cleanup_free char *msg = xasprintf(
		    "%s listens %s%s%s", s,
		    tls ? "with TLS but without client-certificate verification" : "without TLS",
		    detail ? "; probe: " : "", detail ? detail : "");
		/* configured but not answering (yet): still wrong, less urgent */
		int sev = answered == 0 ? (int)BWK_SEV_HIGH : -1;
		cleanup_free char *key = xasprintf("hosts[%zu]", i);
		if (add(d, r, sev, key, msg, err) < 0)
			return -1;
		d->plain_tcp_reported += !tls;
	}
	return 0;
}

static int ck_tcp(dctx *d, const bwk_rule *r, bwk_error **err)
{
	bool tls = setting(d, "tls") == TRI_TRUE || setting(d, "tlsverify") == TRI_TRUE;
	if (!tls && listeners(d, r, false, err) < 0)
		return -1;
	/* The engine we talked to answered over tcp:// without TLS: that alone proves the
	 * exposure, also for a remote daemon whose configuration this host does not have. */
	const aud_engine *eng = d->eng;
	if (!d->info || !eng->ep.hostport || eng->ep.tls || d->plain_tcp_reported)
		return 0;
	cleanup_free char *msg = xasprintf("%s answered the Docker API over plain TCP, without TLS "
					   "or authentication",
					   eng->host);
	return add(d, r, -1, "endpoint", msg, err);
}

static int ck_tcp_verify(dctx *d, const bwk_rule *r, bwk_error **err)
{
	bool tls = setting(d, "tls") == TRI_TRUE || setting(d, "tlsverify") == TRI_TRUE;
	if (!tls || setting(d, "tlsverify") == TRI_TRUE)
		return 0;
	return listeners(d, r, true, err);
}

/* gid -> name and the docker group's members from ROOT/etc/group */
static char *group_name(const char *etc_group, gid_t gid, char **docker_members)
{
	char *name = NULL;
	if (!etc_group)
		return NULL;
	cleanup_free char *copy = xstrdup(etc_group);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = {0};
		char *p = line;
		for (int k = 0; k < 4; k++) {
			f[k] = p;
			char *c = p ? strchr(p, ':') : NULL;
			if (c)
				*c = 0;
			p = c ? c + 1 : NULL;
		}
		if (!f[2])
			continue;
		char *end = NULL;
		long g = strtol(f[2], &end, 10);
		if (end != f[2] && g == (long)gid && !name)
			name = xstrdup(f[0]);
		if (docker_members && !strcmp(f[0], "docker") && f[3] && !*docker_members)
			*docker_members = xstrdup(f[3]);
	}
	return name;
}

static int ck_socket(dctx *d, const bwk_rule *r, bwk_error **err)
{
	const char *sock = d->sock;
	struct stat st;
	if (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		bwk_findings_check(d->out, r, BWK_CHECK_SKIP, "no socket at %s", sock);
		return 0;
	}
	cleanup_free char *gname = group_name(d->etc_group, st.st_gid, NULL);
	cleanup_free char *msg = NULL;
	int sev = -1;
	if (st.st_mode & 0006) {
		msg = xasprintf("%s is mode %04o: every local user can use it", sock,
				st.st_mode & 07777);
		sev = BWK_SEV_CRITICAL;
	} else if (st.st_uid != 0) {
		msg = xasprintf("%s is owned by uid %u, not root", sock, (unsigned)st.st_uid);
	} else if ((st.st_mode & 0060) && st.st_gid != 0 && (!gname || strcmp(gname, "docker"))) {
		msg = xasprintf("%s is group-accessible to group %s (gid %u), not docker", sock,
				gname ? gname : "?", (unsigned)st.st_gid);
		sev = BWK_SEV_MEDIUM;
	}
	return msg ? add(d, r, sev, sock, msg, err) : 0;
}

static int ck_group(dctx *d, const bwk_rule *r, bwk_error **err)
{
	cleanup_free char *members = NULL;
	free(group_name(d->etc_group, (gid_t)-2, &members));
	if (!members || !*members)
		return 0;
	cleanup_free char *msg = xasprintf("docker group members: %s", members);
	return add(d, r, -1, "group docker", msg, err);
}

/* Whether the live engine lists a SecurityOptions entry that `match` accepts. */
static bool security_option(const dctx *d, bool (*match)(const char *s))
{
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(d->info, "SecurityOptions"), i, v)
	{
		const char *s = json_string_value(v);
		if (s && match(s))
			return true;
	}
	return false;
}

static bool is_userns(const char *s)
{
	return !strncmp(s, "name=userns", 11);
}

static bool is_seccomp_unconfined(const char *s)
{
	return strstr(s, "name=seccomp") && strstr(s, "profile=unconfined");
}

static int ck_userns(dctx *d, const bwk_rule *r, bwk_error **err)
{
	const char *remap = aud_js_str(d->cfg, "userns-remap");
	bool userns = (remap && *remap) || security_option(d, is_userns);
	return userns ? 0 : add(d, r, -1, "userns-remap", "userns-remap is not set", err);
}

static int ck_icc(dctx *d, const bwk_rule *r, bwk_error **err)
{
	/* icc governs the default bridge; a daemon without one has nothing to isolate */
	const char *bridge = aud_js_str(d->cfg, "bridge");
	if ((!bridge || strcmp(bridge, "none")) && setting(d, "icc") != TRI_FALSE)
		return add(d, r, -1, "icc", "icc is not false", err);
	return 0;
}

static int ck_nnp(dctx *d, const bwk_rule *r, bwk_error **err)
{
	if (setting(d, "no-new-privileges") != TRI_TRUE)
		return add(d, r, -1, "no-new-privileges", "no-new-privileges is not true", err);
	return 0;
}

static int ck_live(dctx *d, const bwk_rule *r, bwk_error **err)
{
	tri live = d->info ? aud_js_tri(d->info, "LiveRestoreEnabled") : TRI_UNSET;
	if (live == TRI_UNSET)
		live = setting(d, "live-restore");
	if (live != TRI_TRUE)
		return add(d, r, -1, "live-restore", "live-restore is not enabled", err);
	return 0;
}

static int ck_proxy(dctx *d, const bwk_rule *r, bwk_error **err)
{
	if (setting(d, "userland-proxy") != TRI_FALSE)
		return add(d, r, -1, "userland-proxy", "userland-proxy is not false", err);
	return 0;
}

/* insecure registries: configured ones, and what the live engine treats as insecure */
static int ck_insecure(dctx *d, const bwk_rule *r, bwk_error **err)
{
	json_auto_t *seen = json_object();
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(d->cfg, "insecure-registries"), i, v)
	{
		if (json_is_string(v))
			json_object_set_new(seen, json_string_value(v), json_true());
	}
	const char *name;
	json_t *ic;
	json_object_foreach(
	    json_object_get(json_object_get(d->info, "RegistryConfig"), "IndexConfigs"), name, ic)
	{
		if (aud_js_tri(ic, "Secure") == TRI_FALSE)
			json_object_set_new(seen, name, json_true());
	}
	json_object_foreach(seen, name, ic)
	{
		cleanup_free char *msg = xasprintf("insecure registry %s", name);
		cleanup_free char *key = xasprintf("insecure-registries %s", name);
		if (add(d, r, -1, key, msg, err) < 0)
			return -1;
	}
	return 0;
}

static int ck_ulimits(dctx *d, const bwk_rule *r, bwk_error **err)
{
	const json_t *ul = json_object_get(d->cfg, "default-ulimits");
	if ((!json_is_object(ul) || !json_object_size(ul)) &&
	    (!json_is_array(ul) || !json_array_size(ul)))
		return add(d, r, -1, "default-ulimits", "no default-ulimits", err);
	return 0;
}

static int ck_log(dctx *d, const bwk_rule *r, bwk_error **err)
{
	const char *drv = aud_js_str(d->info, "LoggingDriver");
	if (!drv)
		drv = aud_js_str(d->cfg, "log-driver");
	if (!drv)
		drv = "json-file";
	const json_t *lo = json_object_get(d->cfg, "log-opts");
	if (!strcmp(drv, "none"))
		return add(d, r, BWK_SEV_MEDIUM, "log-driver", "log-driver none: no container logs",
			   err);
	if (!strcmp(drv, "json-file") && !aud_js_str(lo, "max-size"))
		return add(d, r, -1, "log-opts",
			   "json-file logging without max-size: logs grow without bound", err);
	return 0;
}

static int ck_experimental(dctx *d, const bwk_rule *r, bwk_error **err)
{
	tri exp = d->info ? aud_js_tri(d->info, "ExperimentalBuild") : TRI_UNSET;
	if (exp == TRI_UNSET)
		exp = setting(d, "experimental");
	if (exp == TRI_TRUE)
		return add(d, r, -1, "experimental", "experimental features enabled", err);
	return 0;
}

static int ck_seccomp(dctx *d, const bwk_rule *r, bwk_error **err)
{
	const char *sp = aud_js_str(d->cfg, "seccomp-profile");
	if ((sp && !strcmp(sp, "unconfined")) || security_option(d, is_seccomp_unconfined))
		return add(d, r, -1, "seccomp-profile", "seccomp-profile is unconfined", err);
	return 0;
}

static int ck_debug(dctx *d, const bwk_rule *r, bwk_error **err)
{
	const char *ll = aud_js_str(d->cfg, "log-level");
	if (setting(d, "debug") == TRI_TRUE || (ll && !strcmp(ll, "debug")))
		return add(d, r, -1, "log-level", "debug logging enabled", err);
	return 0;
}

static int ck_unreachable(dctx *d, const bwk_rule *r, bwk_error **err)
{
	if (d->o && d->o->no_engine)
		bwk_findings_check(d->out, r, BWK_CHECK_SKIP, "%s",
				   bwk_setting("no-engine", "engine not asked"));
	return d->unreachable ? add(d, r, -1, "engine", d->unreachable, err) : 0;
}

/* The component versions of /version against the engine CVE table (the findings carry the CVE
 * ids), and the versions as facts. */
static int ck_cves(dctx *d, const bwk_rule *r, bwk_error **err)
{
	if (!d->version) {
		bool no_engine = d->o && d->o->no_engine;
		bwk_findings_check(d->out, r, BWK_CHECK_SKIP, "%s: versions unknown",
				   no_engine ? bwk_setting("no-engine", "engine not asked")
					     : "engine not reachable");
		return 0;
	}
	cve_table t;
	if (aud_cve_table_load("engine-cves.yaml", aud_opt_data_dir(d->o), &t, err) < 0)
		return -1;
	int rc = 0;
	size_t i;
	const json_t *c;
	json_array_foreach(json_object_get(d->version, "Components"), i, c)
	{
		const char *name = aud_js_str(c, "Name");
		const char *ver = aud_js_str(c, "Version");
		if (!name || !ver)
			continue;
		const char *comp = !strcmp(name, "Engine")	     ? "docker"
				   : !strcasecmp(name, "containerd") ? "containerd"
				   : !strcasecmp(name, "runc")	     ? "runc"
								     : NULL;
		if (!comp)
			continue;
		cleanup_free char *key = xasprintf("Components.%s %s", name, ver);
		if ((rc = aud_cve_report(&t, comp, ver, NULL, BWK_CAT_DAEMON, d->target, key,
					 d->out, err)) < 0)
			break;
	}
	aud_cve_table_free(&t);
	if (rc < 0)
		return rc;
	size_t n = 0;
	bool hit = false;
	for (i = 0; i < bwk_findings_count(d->out); i++)
		hit |= !strncmp(bwk_findings_get(d->out, i)->rule->id, "CVE-", 4);
	json_array_foreach(json_object_get(d->version, "Components"), i, c)
	{
		const char *name = aud_js_str(c, "Name"), *ver = aud_js_str(c, "Version");
		if (!name || !ver)
			continue;
		cleanup_free char *key = xasprintf("daemon.version.%s", name);
		bwk_findings_fact(d->out, key, "%s", ver);
		n++;
	}
	bwk_findings_check(d->out, r, hit ? BWK_CHECK_FAIL : BWK_CHECK_PASS,
			   "%zu component versions checked", n);
	return 0;
}

/* The daemon rules. */
static const daemon_rule table[] = {
    {.meta = BWK_RULE(
	 "daemon-tcp-no-tls", BWK_CAT_DAEMON, BWK_SEV_CRITICAL,
	 .title = "Docker API on TCP without TLS",
	 .description =
	     "Anyone who can reach the port controls the engine without credentials: they can "
	     "start "
	     "a privileged container with the host's / mounted, i.e. they are root on the host.",
	 .remediation =
	     "Remove the tcp:// listener (use the unix socket, or SSH: DOCKER_HOST=ssh://host), or "
	     "protect it with --tlsverify and client certificates.",
	 .references = BWK_REFS(CIS("2.7"), DSEC("protect-access/"))),
     .check = ck_tcp},
    {.meta =
	 BWK_RULE("daemon-tcp-no-client-auth", BWK_CAT_DAEMON, BWK_SEV_HIGH,
		  .title = "Docker API on TCP with TLS but no client verification",
		  .description = "--tls without --tlsverify encrypts the connection but accepts "
				 "every client: anyone who can reach the port is root on the host.",
		  .remediation = "Set tlsverify: true and tlscacert so that only clients with a "
				 "certificate signed by your CA are accepted.",
		  .references = BWK_REFS(CIS("2.7"), DSEC("protect-access/"))),
     .check = ck_tcp_verify},
    {.meta =
	 BWK_RULE("daemon-socket-permissions", BWK_CAT_DAEMON, BWK_SEV_HIGH,
		  .title = "Docker socket too permissive",
		  .description = "Write access to the engine socket is root on the host; it must "
				 "belong to root and only the docker group may use it.",
		  .remediation = "chown root:docker /var/run/docker.sock && chmod 660 "
				 "/var/run/docker.sock (set the socket unit's SocketMode=0660).",
		  .references = BWK_REFS(CIS("3.15"), CIS("3.16"))),
     .check = ck_socket},
    {.meta = BWK_RULE("daemon-docker-group-members", BWK_CAT_DAEMON, BWK_SEV_INFO,
		      .title = "Members of the docker group",
		      .description =
			  "Every member of the docker group can use the engine socket and is "
			  "therefore root on the host.",
		      .remediation = "Keep the group to administrators who would have root anyway; "
				     "consider rootless Docker for the others.",
		      .references = BWK_REFS(CIS("1.1.2"), DSEC("#docker-daemon-attack-surface"))),
     .check = ck_group},
    {.meta = BWK_RULE(
	 "daemon-userns-remap-off", BWK_CAT_DAEMON, BWK_SEV_LOW,
	 .title = "User namespace remapping off",
	 .description = "Without userns-remap, uid 0 in a container is uid 0 on the host: any "
			"escape or writable host mount is root-owned.",
	 .remediation =
	     "Set \"userns-remap\": \"default\" in daemon.json (or run Docker rootless).",
	 .references = BWK_REFS(CIS("2.9"), DSEC("userns-remap/"))),
     .check = ck_userns},
    {.meta = BWK_RULE(
	 "daemon-icc-enabled", BWK_CAT_DAEMON, BWK_SEV_MEDIUM,
	 .title = "Inter-container communication on the default bridge",
	 .description = "Every container on the default bridge can reach every other one on all "
			"ports: one compromised container can attack the rest.",
	 .remediation = "Set \"icc\": false and link containers through user-defined networks.",
	 .references = BWK_REFS(CIS("2.2"), DDOC)),
     .check = ck_icc},
    {.meta = BWK_RULE("daemon-no-new-privileges-off", BWK_CAT_DAEMON, BWK_SEV_LOW,
		      .title = "no-new-privileges not the default",
		      .description = "Containers started without --security-opt no-new-privileges "
				     "can gain privileges through setuid binaries in their image.",
		      .remediation = "Set \"no-new-privileges\": true in daemon.json.",
		      .references = BWK_REFS(CIS("2.14"), DDOC)),
     .check = ck_nnp},
    {.meta = BWK_RULE(
	 "daemon-live-restore-off", BWK_CAT_DAEMON, BWK_SEV_LOW, .title = "live-restore off",
	 .description = "Containers stop whenever the daemon restarts, which discourages prompt "
			"engine upgrades.",
	 .remediation = "Set \"live-restore\": true.",
	 .references =
	     BWK_REFS(CIS("2.15"), "https://docs.docker.com/engine/daemon/live-restore/")),
     .check = ck_live},
    {.meta = BWK_RULE(
	 "daemon-userland-proxy-on", BWK_CAT_DAEMON, BWK_SEV_LOW, .title = "userland-proxy on",
	 .description = "docker-proxy processes forward published ports in user space: more code "
			"exposed to the network and hairpin traffic that bypasses iptables rules.",
	 .remediation = "Set \"userland-proxy\": false.",
	 .references = BWK_REFS(CIS("2.16"), DDOC)),
     .check = ck_proxy},
    {.meta = BWK_RULE(
	 "daemon-insecure-registry", BWK_CAT_DAEMON, BWK_SEV_HIGH,
	 .title = "Insecure registry allowed",
	 .description = "Images from this registry are pulled over plain HTTP or unverified TLS: "
			"anyone on the path can replace them with their own.",
	 .remediation =
	     "Remove it from insecure-registries and give the registry a valid certificate.",
	 .references = BWK_REFS(CIS("2.5"), "https://docs.docker.com/registry/insecure/")),
     .check = ck_insecure},
    {.meta = BWK_RULE("daemon-default-ulimits-unset", BWK_CAT_DAEMON, BWK_SEV_LOW,
		      .title = "No default ulimits",
		      .description = "Containers inherit the daemon's (usually very high) "
				     "limits on open files and processes.",
		      .remediation = "Set \"default-ulimits\" (nofile, nproc) in daemon.json.",
		      .references = BWK_REFS(CIS("2.8"), DDOC)),
     .check = ck_ulimits},
    {.meta = BWK_RULE(
	 "daemon-log-driver", BWK_CAT_DAEMON, BWK_SEV_LOW, .title = "Container logging unsafe",
	 .description = "With log-driver none there is no record of what containers did; json-file "
			"without max-size lets one chatty container fill the disk.",
	 .remediation = "Use a remote log driver (syslog, journald, fluentd …) or json-file/local "
			"with log-opts max-size and max-file.",
	 .references = BWK_REFS(CIS("2.13"), "https://docs.docker.com/engine/logging/configure/")),
     .check = ck_log},
    {.meta = BWK_RULE(
	 "daemon-experimental", BWK_CAT_DAEMON, BWK_SEV_LOW,
	 .title = "Experimental features enabled",
	 .description =
	     "Experimental engine features are not covered by the usual security maintenance.",
	 .remediation = "Set \"experimental\": false on production hosts.",
	 .references = BWK_REFS(CIS("2.18"), DDOC)),
     .check = ck_experimental},
    {.meta =
	 BWK_RULE("daemon-seccomp-unconfined", BWK_CAT_DAEMON, BWK_SEV_HIGH,
		  .title = "Daemon-wide seccomp profile disabled",
		  .description = "seccomp-profile unconfined removes the system call filter from "
				 "every container that does not bring its own.",
		  .remediation = "Remove \"seccomp-profile\": \"unconfined\" (keep the built-in "
				 "default or a stricter profile).",
		  .references = BWK_REFS(CIS("2.17"), DSEC("seccomp/"))),
     .check = ck_seccomp},
    {.meta = BWK_RULE(
	 "daemon-debug-logging", BWK_CAT_DAEMON, BWK_SEV_LOW, .title = "Daemon debug logging",
	 .description =
	     "Debug logs record request details (including parts of configuration) and grow fast.",
	 .remediation = "Use log-level info and debug only while troubleshooting.",
	 .references = BWK_REFS(CIS("2.3"), DDOC)),
     .check = ck_debug},
    {.meta = BWK_RULE(
	 "daemon-engine-unreachable", BWK_CAT_DAEMON, BWK_SEV_INFO, .title = "Engine not reachable",
	 .description =
	     "The live engine could not be asked for its settings and versions; only the "
	     "configuration files were audited.",
	 .remediation = "Run bulwark with access to the socket (root or the docker group), or give "
			"it the engine's address.",
	 .references = BWK_REFS(DDOC)),
     .check = ck_unreachable},
    /* The check behind the engine CVE findings (they carry the CVE ids). */
    {.meta = BWK_RULE(
	 "daemon-engine-cves", BWK_CAT_DAEMON, BWK_SEV_HIGH,
	 .title = "Engine, containerd or runc affected by known CVEs",
	 .description =
	     "The versions the live engine reports for Docker Engine, containerd and "
	     "runc are matched against a table of their vulnerabilities (runc's "
	     "CVE-2019-5736 and CVE-2024-21626 let a container take over the host); each "
	     "match is reported under its CVE id.",
	 .remediation = "Upgrade the named component to the fixed version the finding gives.",
	 .references = BWK_REFS(DDOC)),
     .check = ck_cves},
};

const bwk_rule *aud_daemon_rule(size_t i)
{
	return i < sizeof(table) / sizeof(table[0]) ? &table[i].meta : NULL;
}

int bwk_audit_daemon(const bwk_audit_opts *o, bwk_findings *out, bwk_error **err)
{
	cleanup_with(aud_engine_close) aud_engine eng = {0};
	if (aud_engine_open(o, &eng, err) < 0)
		return -1;
	daemon_proc proc = {0};
	/* the running dockerd's flags, else the ones its systemd unit would pass */
	bwk_findings_fact(out, "daemon.endpoint", "%s", eng.host);
	if (aud_daemon_find_process(aud_opt_proc_root(o), eng.host, &proc))
		bwk_findings_fact(out, "daemon.process", "dockerd pid %ld (%zu arguments)",
				  proc.pid, proc.argv.n);
	else if (aud_daemon_from_unit(o, &proc))
		bwk_findings_fact(out, "daemon.process",
				  "none running; flags from its systemd unit (%zu arguments)",
				  proc.argv.n);
	else
		bwk_findings_fact(out, "daemon.process", "none running, no systemd unit found");
	json_auto_t *cfg = NULL;
	const char *cfg_path = o ? o->daemon_config : NULL;
	bool required = cfg_path != NULL;
	cleanup_free char *from_cmdline = NULL;
	if (!cfg_path && proc.argv.v) {
		json_t *tmp = json_object();
		aud_daemon_apply_cmdline(tmp, proc.argv.v, proc.argv.n);
		const char *cf = aud_js_str(tmp, "config-file");
		if (cf)
			from_cmdline = aud_opt_rooted(o, cf);
		json_decref(tmp);
	}
	cleanup_free char *dflt = aud_opt_rooted(o, "/etc/docker/daemon.json");
	if (!cfg_path)
		cfg_path = from_cmdline ? from_cmdline : dflt;
	if (aud_daemon_load_config(cfg_path, required, &cfg, err) < 0) {
		aud_daemon_proc_free(&proc);
		return -1;
	}
	if (proc.argv.v)
		aud_daemon_apply_cmdline(cfg, proc.argv.v, proc.argv.n);
	aud_daemon_proc_free(&proc);
	bwk_findings_fact(out, "daemon.config", "%s%s", cfg_path,
			  access(cfg_path, F_OK) == 0 ? "" : " (absent: defaults apply)");

	dctx d = {.o = o, .out = out, .target = eng.host, .eng = &eng, .cfg = cfg};
	json_auto_t *info = NULL;
	json_auto_t *version = NULL;
	cleanup_free char *unreachable = NULL;
	if (!o || !o->no_engine) {
		bwk_error *e = NULL;
		if (aud_engine_get_json(&eng, "/version", &version, &e) < 0 ||
		    aud_engine_get_json(&eng, "/info", &info, &e) < 0) {
			/* an absent engine leaves the files to audit; TLS set up wrong is the
			 * user's to fix, and auditing on would hide it */
			if (eng.ep.fatal) {
				*err = e;
				return -1;
			}
			unreachable = bwk_error_format(e);
			bwk_error_free(e);
		}
		d.info = info;
		d.version = version;
		d.unreachable = unreachable;
	}
	/* the unix socket: the one we talk to, else the configured one, else the default */
	cleanup_free char *sock = NULL;
	if (eng.socket_path) {
		sock = xstrdup(eng.socket_path);
	} else {
		size_t i;
		const json_t *h;
		json_array_foreach(json_object_get(cfg, "hosts"), i, h)
		{
			const char *s = json_string_value(h);
			if (s && !strncmp(s, "unix://", 7) && !sock)
				sock = xstrdup(s + 7);
		}
		if (!sock)
			sock = aud_opt_rooted(o, "/var/run/docker.sock");
	}
	d.sock = sock;
	cleanup_free char *etc_group = NULL;
	{
		cleanup_free char *gpath = aud_opt_rooted(o, "/etc/group");
		size_t len;
		bwk_error *e = NULL;
		if (bwk_read_file_at(AT_FDCWD, gpath, 4 << 20, true, &etc_group, &len, &e) < 0)
			bwk_error_free(e);
		d.etc_group = etc_group;
	}
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		bwk_findings_check(out, &table[i].meta, BWK_CHECK_PASS, NULL);
		if (table[i].check(&d, &table[i].meta, err) < 0)
			return -1;
	}
	return 0;
}
