/* Hygiene rules on file metadata: what an image gives a process that gets a foothold, and
 * what its build left behind (package caches, sudo, an SSH server). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "scan/scan_private.h"

static int check_setuid(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h)
{
	(void)cs;
	if (e->type != BWK_ENTRY_FILE || !(e->mode & 06000))
		return 0;
	/* Setuid with no execute bit for anyone cannot be exercised. */
	if (!(e->mode & 0111))
		return 0;
	bool known = bwk_setuid_known(e->path);
	h->detail = xasprintf("mode %04o%s%s owner %u:%u%s", e->mode,
			      e->mode & 04000 ? " setuid" : "", e->mode & 02000 ? " setgid" : "",
			      e->uid, e->gid, known ? " (a program that needs the bit)" : "");
	h->owned = true;
	if (known)
		h->severity = BWK_SEV_LOW;
	return 1;
}

const bwk_config_rule bwk_rule_row_setuid = {
    .rule = BWK_RULE(
	"setuid-file", BWK_CAT_CONFIG, BWK_SEV_MEDIUM, .title = "Setuid or setgid executable",
	.description = "A setuid/setgid file runs with the privileges of its owner or group, "
		       "whatever user starts it. In a container any bug in such a binary (or a "
		       "writable library it loads) lets a process that broke in as an unprivileged "
		       "user become root inside the container, the first step of most escapes.",
	.remediation =
	    "Remove the bit in the Dockerfile (`RUN find / -xdev -perm /6000 -type f -exec chmod "
	    "a-s {} +`), or run the container with no-new-privileges (`--security-opt "
	    "no-new-privileges`, bulwark run does by default). Programs distributions need the bit "
	    "for (passwd, su, mount, ping: data/setuid-known.json) are reported at low severity.",
	.references =
	    BWK_REFS("CIS Docker Benchmark 4.8", "Dockle CIS-DI-0008",
		     "https://docs.docker.com/engine/security/#linux-kernel-capabilities")),
    .entry = check_setuid,
};

static int check_world_writable(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h)
{
	(void)cs;
	if (e->type != BWK_ENTRY_DIR || !(e->mode & 0002) || (e->mode & 01000))
		return 0;
	h->detail = xasprintf("mode %04o", e->mode);
	h->owned = true;
	return 1;
}

const bwk_config_rule bwk_rule_row_world_writable = {
    .rule = BWK_RULE(
	"world-writable-dir", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "World-writable directory without the sticky bit",
	.description =
	    "Any user in the container can create, replace or delete files in this directory, "
	    "including files owned by other users. Programs that load scripts, libraries or "
	    "configuration from it can be hijacked by any process that runs as a different user.",
	.remediation = "Remove write permission for others (`chmod o-w DIR`) or set the sticky bit "
		       "(`chmod +t DIR`, as /tmp has) in the Dockerfile.",
	.references = BWK_REFS("CIS Docker Benchmark 4 (image hygiene)",
			       "https://man7.org/linux/man-pages/man1/chmod.1.html")),
    .entry = check_world_writable,
};

/* ---- world-writable-file ----------------------------------------------------------------- */
static int check_world_writable_file(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h)
{
	(void)cs;
	/* symlinks are always 0777 and mean nothing; device nodes are the runtime's */
	if (e->type != BWK_ENTRY_FILE || !(e->mode & 0002))
		return 0;
	h->detail = xasprintf("mode %04o owner %u:%u", e->mode, e->uid, e->gid);
	h->owned = true;
	return 1;
}

const bwk_config_rule bwk_rule_row_world_writable_file = {
    .rule = BWK_RULE(
	"world-writable-file", BWK_CAT_CONFIG, BWK_SEV_LOW, .title = "World-writable file",
	.description = "Any user in the container can change this file. When it is a program, a "
		       "script, a library or configuration that a more privileged process reads, "
		       "that is a way from any foothold to that process's privileges.",
	.remediation = "Remove write permission for others in the step that creates it (`chmod o-w "
		       "FILE`, or `COPY --chmod=644`).",
	.references = BWK_REFS("CIS Docker Benchmark 4 (image hygiene)",
			       "https://man7.org/linux/man-pages/man1/chmod.1.html")),
    .entry = check_world_writable_file,
};

/* ---- package-cache-left ------------------------------------------------------------------ */
static const struct {
	const char *prefix; /* a directory, with its trailing '/' */
	const char *what;
} caches[] = {
    {"var/lib/apt/lists/", "apt package lists"},
    {"var/cache/apt/archives/", "apt downloaded packages"},
    {"var/cache/apk/", "apk cache"},
    {"var/cache/yum/", "yum cache"},
    {"var/cache/dnf/", "dnf cache"},
    {"root/.cache/pip/", "pip cache"},
    {"root/.npm/", "npm cache"},
    {"root/.cache/yarn/", "yarn cache"},
    {"usr/local/share/.cache/yarn/", "yarn cache"},
};

/* A file in a cache directory, not its lock or the empty directories packages ship. */
static int check_pkg_cache(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h)
{
	if (e->type != BWK_ENTRY_FILE || e->size == 0)
		return 0;
	const char *base = strrchr(e->path, '/');
	if (base && !strcmp(base + 1, "lock"))
		return 0;
	const char *path = e->path, *home = NULL;
	/* ~/.cache/pip and ~/.npm of any account under /home */
	if (!strncmp(path, "home/", 5) && (home = strchr(path + 5, '/')))
		path = home + 1;
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		const char *p = caches[i].prefix;
		bool in_home = home && !strncmp(p, "root/", 5);
		const char *pre = in_home ? p + 5 : p;
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a prefix test */
		if (strncmp(pre, path, strlen(pre)) != 0)
			continue;
		/* one finding per cache and layer, at its first file */
		if (!bwk_cfgscan_once(cs, caches[i].prefix, e->layer_index))
			return 0;
		h->detail = xasprintf("%s (the first file found: /%s)", caches[i].what, e->path);
		h->owned = true;
		return 1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_pkg_cache = {
    .rule = BWK_RULE(
	"package-cache-left", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "Package manager cache left in the image",
	.description =
	    "The build left a package manager's index or download cache in a layer. It adds size "
	    "to every pull, pins stale package lists that a later `install` in a derived image "
	    "trusts without updating, and can hold private index URLs or tokens of the build "
	    "machine. Deleting it in a later step does not help: the layer still ships it.",
	.remediation = "Clean up in the same RUN step that installs: `apt-get install … && rm -rf "
		       "/var/lib/apt/lists/*`, `apk add --no-cache`, `pip install --no-cache-dir`, "
		       "`npm ci && npm cache clean --force`, or a cache mount (`RUN "
		       "--mount=type=cache,target=/root/.cache/pip`).",
	.references = BWK_REFS("Dockle DKL-DI-0004, DKL-DI-0005",
			       "https://docs.docker.com/build/building/best-practices/#apt-get")),
    .entry = check_pkg_cache,
};

/* ---- sudo-installed, ssh-server-installed -------------------------------------------------- */
static bool is_program(const bwk_entry *e, const char *const *paths)
{
	if (e->type != BWK_ENTRY_FILE && e->type != BWK_ENTRY_HARDLINK)
		return false;
	for (; *paths; paths++)
		if (!strcmp(e->path, *paths))
			return true;
	return false;
}

static int check_sudo(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h)
{
	(void)cs;
	static const char *const paths[] = {"usr/bin/sudo", "bin/sudo", NULL};
	if (!is_program(e, paths) || !(e->mode & 0111))
		return 0;
	if (e->mode & 04000) {
		h->detail = xstrdup("setuid root");
		h->owned = true;
	}
	return 1;
}

const bwk_config_rule bwk_rule_row_sudo = {
    .rule = BWK_RULE(
	"sudo-installed", BWK_CAT_CONFIG, BWK_SEV_LOW, .title = "sudo is installed",
	.description =
	    "sudo in a container means an unprivileged user is meant to become root: any process "
	    "of that user (a compromised app) can, and sudo's own bugs (CVE-2021-3156) are a way "
	    "up for the others. Containers switch users at build time, not at run time.",
	.remediation = "Remove sudo; do the privileged work in RUN steps before `USER`, and use "
		       "`docker exec -u 0` for maintenance.",
	.references = BWK_REFS("CIS Docker Benchmark 4.3", "Dockle DKL-DI-0001",
			       "https://docs.docker.com/reference/dockerfile/#user")),
    .entry = check_sudo,
};

static int check_sshd(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h)
{
	(void)cs;
	(void)h;
	static const char *const paths[] = {"usr/sbin/sshd", "sbin/sshd", "usr/sbin/dropbear",
					    "usr/bin/dropbear", NULL};
	return is_program(e, paths) && (e->mode & 0111);
}

const bwk_config_rule bwk_rule_row_sshd = {
    .rule = BWK_RULE(
	"ssh-server-installed", BWK_CAT_CONFIG, BWK_SEV_MEDIUM,
	.title = "An SSH server is installed",
	.description =
	    "The image ships sshd (or dropbear). A container is administered through the engine, "
	    "not logged into: an SSH server is a second way in with its own keys and passwords to "
	    "manage, often host keys baked into the image and shared by every container.",
	.remediation = "Remove the SSH server package (`apt-get purge openssh-server`); use "
		       "`docker exec` or `kubectl exec`.",
	.references = BWK_REFS("CIS Docker Benchmark 5.6",
			       "https://docs.docker.com/reference/cli/docker/container/exec/")),
    .entry = check_sshd,
};
