/* Rules on the image config: how the image asks to be run (Dockle's CIS-DI checkpoints). */
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/scan_private.h"

/* ---- image-user-root ------------------------------------------------------------------------ */
static bool user_is_root(const char *u)
{
	if (!u || !*u)
		return true;
	/* "root", "0", "root:root", "0:0", "root:1000" … the part before ':' decides */
	size_t n = strcspn(u, ":");
	return (n == 4 && !strncmp(u, "root", 4)) || (n == 1 && u[0] == '0');
}

static int check_user(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx, bwk_error **err)
{
	if (!user_is_root(c->user))
		return 0;
	cleanup_free char *msg =
	    c->user && *c->user ? xasprintf("USER is '%s'", c->user) : xstrdup("no USER is set");
	return hit(hctx, "config.User", msg, -1, err);
}

const bwk_config_rule bwk_rule_row_user_root = {
    .rule = BWK_RULE(
	"image-user-root", BWK_CAT_CONFIG, BWK_SEV_MEDIUM, .title = "Image runs as root",
	.description = "The image sets no USER, or USER root/0, so its processes run as uid 0 "
		       "unless every caller remembers --user. Root in the container owns every "
		       "file in it, can use any capability the runtime left, and is root on the "
		       "host if the process escapes or a host path is mounted in.",
	.remediation = "Create an unprivileged user in the Dockerfile and switch to it: `RUN "
		       "useradd -r -u 10001 app` then `USER 10001`.",
	.references = BWK_REFS("CIS Docker Benchmark 4.1", "Dockle CIS-DI-0001",
			       "https://docs.docker.com/reference/dockerfile/#user")),
    .config = check_user,
};

/* ---- image-exposed-admin-port ---------------------------------------------------------------- */
static const struct {
	unsigned port;
	const char *what;
	int severity; /* -1: the rule's */
} admin_ports[] = {
    {22, "SSH", -1},
    {23, "telnet", -1},
    {2375, "Docker API (plain HTTP)", -1},
    {2376, "Docker API", -1},
    {2379, "etcd client", -1},
    {2380, "etcd peer", -1},
    {3389, "RDP", -1},
    {5900, "VNC", -1},
    {5901, "VNC", -1},
    {6443, "Kubernetes API", -1},
    {10250, "kubelet API", -1},
    {10255, "kubelet read-only API", -1},
    {5985, "WinRM", -1},
    {5986, "WinRM", -1},
    {1433, "Microsoft SQL Server", BWK_SEV_LOW},
    {1521, "Oracle database", BWK_SEV_LOW},
    {3306, "MySQL", BWK_SEV_LOW},
    {5432, "PostgreSQL", BWK_SEV_LOW},
    {5984, "CouchDB", BWK_SEV_LOW},
    {6379, "Redis", BWK_SEV_LOW},
    {9042, "Cassandra", BWK_SEV_LOW},
    {9200, "Elasticsearch", BWK_SEV_LOW},
    {11211, "memcached", BWK_SEV_LOW},
    {27017, "MongoDB", BWK_SEV_LOW},
};

static int check_ports(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
		       bwk_error **err)
{
	for (const char *const *p = c->exposed_ports; p && *p; p++) {
		char *end = NULL;
		unsigned long port = strtoul(*p, &end, 10);
		if (end == *p || (*end && *end != '/'))
			continue;
		for (size_t i = 0; i < sizeof(admin_ports) / sizeof(admin_ports[0]); i++) {
			if (admin_ports[i].port != port)
				continue;
			cleanup_free char *key = xasprintf("config.ExposedPorts.%s", *p);
			cleanup_free char *msg =
			    xasprintf("port %s (%s) is exposed", *p, admin_ports[i].what);
			if (hit(hctx, key, msg, admin_ports[i].severity, err) < 0)
				return -1;
		}
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_admin_port = {
    .rule = BWK_RULE(
	"image-exposed-admin-port", BWK_CAT_CONFIG, BWK_SEV_MEDIUM,
	.title = "Image exposes a remote administration port",
	.description =
	    "The image declares a port used for remote administration (SSH, telnet, the Docker or "
	    "Kubernetes APIs, etcd, RDP, VNC). A container should not be administered from inside: "
	    "such a service is a standing way in, often with default or baked-in credentials, and "
	    "the Docker, kubelet and etcd APIs hand out control of the whole host or cluster. "
	    "Database ports (low severity) are expected of a database image, but say that the "
	    "service must only ever be published on a private network.",
	.remediation = "Remove the EXPOSE line and the daemon behind it; use `docker exec` or "
		       "`kubectl exec` for interactive access. For a database, publish the port "
		       "only on an internal network and require authentication.",
	.references = BWK_REFS("CIS Docker Benchmark 5.7, 5.8, 5.9",
			       "https://docs.docker.com/engine/security/protect-access/")),
    .config = check_ports,
};

/* ---- image-no-healthcheck ----------------------------------------------------------------------
 */
static int check_healthcheck(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			     bwk_error **err)
{
	if (c->has_healthcheck)
		return 0;
	return hit(hctx, "config.Healthcheck",
		   c->healthcheck && c->healthcheck[0] ? "HEALTHCHECK NONE" : NULL, -1, err);
}

const bwk_config_rule bwk_rule_row_no_healthcheck = {
    .rule = BWK_RULE(
	"image-no-healthcheck", BWK_CAT_CONFIG, BWK_SEV_INFO, .title = "Image has no HEALTHCHECK",
	.description = "Without a health check the engine and orchestrators only know whether the "
		       "process is alive, not whether it works: a hung or compromised service "
		       "keeps receiving traffic and is never restarted.",
	.remediation = "Add a HEALTHCHECK to the Dockerfile (`HEALTHCHECK CMD wget -q -O- "
		       "http://localhost:8080/health || exit 1`), or define one in the deployment.",
	.references = BWK_REFS("CIS Docker Benchmark 4.6", "Dockle CIS-DI-0006",
			       "https://docs.docker.com/reference/dockerfile/#healthcheck")),
    .config = check_healthcheck,
};

/* ---- integrity ---------------------------------------------------------------------------------
 */
const bwk_rule bwk_rule_layer_digest = BWK_RULE(
    "layer-digest-mismatch", BWK_CAT_INTEGRITY, BWK_SEV_CRITICAL,
    .title = "Image content does not match its digest",
    .description =
	"A blob of the image (a layer, its uncompressed content, the manifest or the config) does "
	"not hash to the digest that names it. The image was corrupted or altered after it was "
	"built: what you scan and run is not what was signed, pushed or reviewed.",
    .remediation = "Do not run the image. Pull or export it again from a trusted source and "
		   "compare digests (`docker image inspect --format '{{.Id}}'`).",
    .references =
	BWK_REFS("https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests"));

const bwk_rule bwk_rule_scan_incomplete = BWK_RULE(
    "scan-incomplete", BWK_CAT_INTEGRITY, BWK_SEV_INFO,
    .title = "Part of the image was not scanned in depth",
    .description = "The scan stopped opening nested archives (jars, zips, tarballs inside the "
		   "image) once it had read its budget from them, so that a small image full of "
		   "archives cannot make a scan cost hundreds of times its size. Files inside the "
		   "archives after that point were not searched for secrets.",
    .remediation =
	"Look at the archives the image ships (a build cache or vendored bundles left in a "
	"layer?), remove what the image does not need, or scan the unpacked archives on their own.",
    .references = BWK_REFS("https://en.wikipedia.org/wiki/Zip_bomb"));
