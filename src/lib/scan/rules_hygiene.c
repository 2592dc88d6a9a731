/* Hygiene rules on file metadata: what an image gives a process that gets a foothold. */
#include <string.h>

#include "core/util.h"
#include "scan/scan_private.h"

static const char *const refs_setuid[] = {
    "CIS Docker Benchmark 4.8",
    "https://docs.docker.com/engine/security/#linux-kernel-capabilities", NULL};

static const bwk_rule rule_setuid = {
    .id = "setuid-file",
    .category = BWK_CAT_CONFIG,
    .severity = BWK_SEV_MEDIUM,
    .title = "Setuid or setgid executable",
    .description = "A setuid/setgid file runs with the privileges of its owner or group, "
		   "whatever user starts it. In a container any bug in such a binary (or a "
		   "writable library it loads) lets a process that broke in as an unprivileged "
		   "user become root inside the container, the first step of most escapes.",
    .remediation = "Remove the bit in the Dockerfile (`RUN find / -xdev -perm /6000 -type f "
		   "-exec chmod a-s {} +`), or run the container with no-new-privileges "
		   "(`--security-opt no-new-privileges`, bulwark run does by default).",
    .references = refs_setuid,
};

static int check_setuid(const bwk_entry *e, char **detail, bool *owned)
{
	if (e->type != BWK_ENTRY_FILE || !(e->mode & 06000))
		return 0;
	/* Setuid with no execute bit for anyone cannot be exercised. */
	if (!(e->mode & 0111))
		return 0;
	*detail = xasprintf("mode %04o%s%s owner %u:%u", e->mode, e->mode & 04000 ? " setuid" : "",
			    e->mode & 02000 ? " setgid" : "", e->uid, e->gid);
	*owned = true;
	return 1;
}

static const bwk_entry_rule setuid_rule = {&rule_setuid, check_setuid};

static const char *const refs_ww[] = {"CIS Docker Benchmark 4 (image hygiene)",
				      "https://man7.org/linux/man-pages/man1/chmod.1.html", NULL};

static const bwk_rule rule_world_writable = {
    .id = "world-writable-dir",
    .category = BWK_CAT_CONFIG,
    .severity = BWK_SEV_LOW,
    .title = "World-writable directory without the sticky bit",
    .description = "Any user in the container can create, replace or delete files in this "
		   "directory, including files owned by other users. Programs that load "
		   "scripts, libraries or configuration from it can be hijacked by any process "
		   "that runs as a different user.",
    .remediation = "Remove write permission for others (`chmod o-w DIR`) or set the sticky bit "
		   "(`chmod +t DIR`, as /tmp has) in the Dockerfile.",
    .references = refs_ww,
};

static int check_world_writable(const bwk_entry *e, char **detail, bool *owned)
{
	(void)owned;
	if (e->type != BWK_ENTRY_DIR || !(e->mode & 0002) || (e->mode & 01000))
		return 0;
	*detail = xasprintf("mode %04o", e->mode);
	*owned = true;
	return 1;
}

static const bwk_entry_rule world_writable_rule = {&rule_world_writable, check_world_writable};

const bwk_entry_rule *const bwk_hygiene_rules[] = {&setuid_rule, &world_writable_rule, NULL};
