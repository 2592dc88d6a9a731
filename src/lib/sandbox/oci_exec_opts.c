/* runc exec's process options (--cwd, --env, --user, --additional-gids, --cap,
 * --no-new-privs, --apparmor, --process-label) laid over the container's own process, with
 * runc's semantics (utils_linux.go getProcess): args, cwd, user, profile and label replace;
 * env and additional gids are appended; a capability is added to the bounding, effective and
 * permitted sets, and to the ambient set only when the config has inheritable ones (an
 * ambient capability needs an inheritable one). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/sandbox.h"
#include "core/cleanup.h"
#include "bulwark/log.h"
#include "core/util.h"
#include "sandbox/oci_rt_private.h"

#define EXEC_MAX_ITEMS 4096 /* env entries, capabilities or groups a command line adds */

/* `s` unless `v` has it already */
static int strv_add(bwk_strv *v, const char *s, bwk_error **err)
{
	return bwk_strv_has(v, s) ? 0 : bwk_strv_push(v, s, err);
}

/* a decimal id 0..UINT32_MAX-1 (the last is the kernel's "no id") */
static int parse_id(const char *s, size_t len, uint32_t *out)
{
	if (!len || len > 10)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int set_user(bwk_oci_user *u, const char *spec, bwk_error **err)
{
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	uint32_t uid, gid = u->gid;
	if (parse_id(spec, ulen, &uid) < 0 ||
	    (colon && parse_id(colon + 1, strlen(colon + 1), &gid) < 0))
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "%s '%s': UID[:GID], numbers (names are not looked up, "
				     "as in runc)",
				     bwk_setting("user", "the user"), spec);
	u->uid = uid;
	u->gid = gid;
	return 0;
}

static int add_caps(bwk_oci_caps *c, const char *const *caps, bwk_error **err)
{
	for (size_t i = 0; caps[i]; i++) {
		const char *name = caps[i];
		uint64_t mask = 0;
		if (!strncasecmp(name, "CAP_", 4))
			name += 4;
		if (!strcasecmp(name, "ALL") || bwk_cap_from_name(name, &mask) < 0 || !mask ||
		    (mask & (mask - 1)))
			return bwk_error_set(err, BWK_E_USAGE, 0,
					     "%s '%s': not a capability (CAP_NET_ADMIN, "
					     "NET_ADMIN …)",
					     bwk_setting("cap", "a capability"), caps[i]);
		const char *full = bwk_cap_name(__builtin_ctzll(mask));
		if (!full)
			return bwk_error_set(err, BWK_E_USAGE, 0, "%s '%s': unknown",
					     bwk_setting("cap", "a capability"), caps[i]);
		c->set = true;
		if (strv_add(&c->bounding, full, err) < 0 ||
		    strv_add(&c->effective, full, err) < 0 ||
		    strv_add(&c->permitted, full, err) < 0 ||
		    (c->inheritable.n && strv_add(&c->ambient, full, err) < 0))
			return -1;
	}
	return 0;
}

static void replace(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

int ocirt_exec_overrides(bwk_oci_process *p, const bwk_oci_exec_opts *o, bwk_error **err)
{
	size_t n = 0;
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return bwk_error_set(err, BWK_E_USAGE, 0,
					     "%s '%s': an absolute path in the container",
					     bwk_setting("cwd", "the working directory"), o->cwd);
		replace(&p->cwd, o->cwd);
	}
	for (n = 0; o->env && o->env[n]; n++) {
		const char *eq = strchr(o->env[n], '=');
		if (!eq || eq == o->env[n] || n >= EXEC_MAX_ITEMS)
			return bwk_error_set(err, BWK_E_USAGE, 0,
					     "%s '%s': NAME=VALUE (at most %d)",
					     bwk_setting("env", "an environment variable"),
					     o->env[n], EXEC_MAX_ITEMS);
		if (bwk_strv_push(&p->env, o->env[n], err) < 0)
			return -1;
	}
	if (o->user && set_user(&p->user, o->user, err) < 0)
		return -1;
	if (o->n_additional_gids > EXEC_MAX_ITEMS)
		return bwk_error_set(err, BWK_E_USAGE, 0, "%s: at most %d",
				     bwk_setting("additional-gids", "additional groups"),
				     EXEC_MAX_ITEMS);
	if (o->n_additional_gids) {
		bwk_oci_user *u = &p->user;
		u->additional_gids =
		    xrealloc(u->additional_gids, (u->n_additional_gids + o->n_additional_gids) *
						     sizeof *u->additional_gids);
		memcpy(u->additional_gids + u->n_additional_gids, o->additional_gids,
		       o->n_additional_gids * sizeof *o->additional_gids);
		u->n_additional_gids += o->n_additional_gids;
	}
	if (o->caps && add_caps(&p->caps, o->caps, err) < 0)
		return -1;
	if (o->no_new_privs)
		p->no_new_privileges = true;
	if (o->apparmor)
		replace(&p->apparmor_profile, o->apparmor);
	if (o->process_label) {
		/* runc sets no label where SELinux is off; bulwark never sets one, so a host
		 * that enforces labels gets an error rather than an unlabelled process */
		if (access("/sys/fs/selinux/enforce", F_OK) == 0)
			return bwk_error_set(
			    err, BWK_E_USAGE, 0,
			    "%s: SELinux labels are not supported by bulwark (this "
			    "host has SELinux)",
			    bwk_setting("process-label", "a process label"));
		replace(&p->selinux_label, o->process_label);
	}
	return 0;
}
