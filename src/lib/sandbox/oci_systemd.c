/* --systemd-cgroup: the container's cgroup as a transient systemd scope, as runc's systemd
 * driver makes it. cgroupsPath is "slice:prefix:name"; systemd is asked over D-Bus (sd-bus
 * from libsystemd, loaded on first use) for the scope "prefix-name.scope" in the slice with
 * Delegate=yes and the create process in it; once systemd has moved that process, the scope's
 * cgroup path is what the cgroupfs code (oci_cgroup.c) fills with the spec's limits and joins
 * the init to. Without systemd running as init (no /run/systemd/system, sd_booted's test) or
 * without its bus, one error line says so, naming the cgroupfs alternative. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "bulwark/log.h"
#include "core/util.h"
#include "oci_rt_private.h"

#define SYSTEMD_RUNNING "/run/systemd/system"
#define SCOPE_WAIT_MS	5000

/* the engine's own settings are named; ours comes from bwk_setting() */
static const char cgroupfs_hint[] =
    "use the cgroupfs driver instead (dockerd --exec-opt native.cgroupdriver=cgroupfs, "
    "containerd SystemdCgroup = false)";

#define SYSTEMD_SETTING bwk_setting("systemd-cgroup", "the systemd cgroup driver")

/* A unit name's characters (systemd's unit_name_is_valid, the part we make). */
static bool unit_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
			    s[i]))
			return false;
	return n > 0;
}

int ocirt_systemd_unit(const char *p, const char *id, char *slice, char *unit, bwk_error **err)
{
	if (!p || !*p) {
		snprintf(slice, OCIRT_UNIT_MAX, "system.slice");
		if (snprintf(unit, OCIRT_UNIT_MAX, "bulwark-%s.scope", id) >= OCIRT_UNIT_MAX)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "container id %s is too long",
					     id);
		return 0;
	}
	const char *c1 = strchr(p, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || !c2 || strchr(c2 + 1, ':'))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.cgroupsPath '%s': with %s it is slice:prefix:name", p,
				     SYSTEMD_SETTING);
	size_t ls = (size_t)(c1 - p), lp = (size_t)(c2 - c1 - 1);
	const char *name = c2 + 1;
	if (ls >= OCIRT_UNIT_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "linux.cgroupsPath '%.64s…' is too long",
				     p);
	if (ls && (!unit_chars(p, ls) || ls < 6 || strncmp(p + ls - 6, ".slice", 6)))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.cgroupsPath '%s': '%.*s' is not a slice name", p,
				     (int)ls, p);
	if ((lp && !unit_chars(c1 + 1, lp)) || !unit_chars(name, strlen(name)) ||
	    bwk_str_endswith(name, ".slice"))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.cgroupsPath '%s': the prefix and name make a scope's "
				     "unit name ([A-Za-z0-9_.-]; a name ending in .slice is not "
				     "supported)",
				     p);
	snprintf(slice, OCIRT_UNIT_MAX, "%.*s", (int)(ls ? ls : 12), ls ? p : "system.slice");
	if (snprintf(unit, OCIRT_UNIT_MAX, "%.*s%s%s.scope", (int)lp, c1 + 1, lp ? "-" : "",
		     name) >= OCIRT_UNIT_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "linux.cgroupsPath '%s' is too long", p);
	return 0;
}

/* One (sv) property: key and a variant of basic type `t` holding *v. */
static int prop(sd_bus_message *m, const char *key, char t, const void *v)
{
	char sig[2] = {t, 0};
	int r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 's', key);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', sig);
	if (r >= 0)
		r = sd_bus_message_append_basic(m, t, v);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static int pids_prop(sd_bus_message *m, uint32_t pid)
{
	int r = sd_bus_message_open_container(m, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 's', "PIDs");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "au");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "u");
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 'u', &pid);
	for (int i = 0; i < 3 && r >= 0; i++)
		r = sd_bus_message_close_container(m);
	return r;
}

/* StartTransientUnit(name, "fail", properties, no auxiliary units) */
static int start_scope(sd_bus *bus, const char *unit, const char *slice, const char *id,
		       bwk_error **err)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_message_new_method_call(
	    bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
	    "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	cleanup_free char *desc = xasprintf("bulwark container %s", id);
	int yes = 1;
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 's', unit);
	if (r >= 0)
		r = sd_bus_message_append_basic(m, 's', "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = prop(m, "Description", 's', desc);
	if (r >= 0)
		r = prop(m, "Slice", 's', slice);
	if (r >= 0)
		r = prop(m, "Delegate", 'b', &yes);
	if (r >= 0)
		r = pids_prop(m, (uint32_t)getpid());
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0) {
		sd_bus_message_unref(m);
		return bwk_error_set(err, BWK_E_RUNTIME, -r, "systemd: building the request");
	}
	r = sd_bus_call(bus, m, 0, &e, &reply);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	if (r < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, -r, "systemd: StartTransientUnit %s: %s", unit,
			      e.message ? e.message : "failed");
		sd_bus_error_free(&e);
		return -1;
	}
	sd_bus_error_free(&e);
	return 0;
}

/* The path of this process's cgroup once it is in `unit` (systemd moves it when the start
 * job runs): 1 found, 0 not yet. */
static int own_cgroup_in(const char *unit, char *rel, size_t len)
{
	cleanup_free char *data = NULL;
	size_t n = 0;
	if (bwk_read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, false, &data, &n, NULL) < 0)
		return 0;
	size_t ul = strlen(unit);
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *path = strchr(line, ':');
		path = path ? strchr(path + 1, ':') : NULL;
		if (!path)
			continue;
		path++;
		size_t pl = strlen(path);
		if (pl > ul && path[pl - ul - 1] == '/' && !strcmp(path + pl - ul, unit)) {
			snprintf(rel, len, "%s", path);
			return 1;
		}
	}
	return 0;
}

int ocirt_systemd_scope(const char *cgroups_path, const char *id, char *rel, size_t len,
			bwk_error **err)
{
	if (access(SYSTEMD_RUNNING, F_OK) < 0)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "%s: systemd is not running on this host (no %s): %s",
				     SYSTEMD_SETTING, SYSTEMD_RUNNING, cgroupfs_hint);
	char slice[OCIRT_UNIT_MAX], unit[OCIRT_UNIT_MAX];
	if (ocirt_systemd_unit(cgroups_path, id, slice, unit, err) < 0)
		return -1;
	sd_bus *bus = NULL;
	int r = sd_bus_open_system(&bus);
	if (r < 0)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, -r,
				     "%s: cannot reach systemd over D-Bus: %s", SYSTEMD_SETTING,
				     cgroupfs_hint);
	r = start_scope(bus, unit, slice, id, err);
	sd_bus_flush_close_unref(bus);
	if (r < 0)
		return -1;
	for (int waited = 0; waited < SCOPE_WAIT_MS; waited += 10) {
		if (own_cgroup_in(unit, rel, len))
			return 0;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	return bwk_error_set(err, BWK_E_RUNTIME, ETIMEDOUT,
			     "systemd: scope %s: this process was not moved into it", unit);
}
