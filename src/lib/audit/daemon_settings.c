/* The daemon's effective settings: daemon.json, overridden by the dockerd command line found in
 * /proc (the flags a systemd unit or an init script passes). Flags are mapped onto daemon.json
 * keys so that the checks read one object. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_private.h"
#include "audit/daemon_private.h"
#include "core/cleanup.h"

#define MAX_CMDLINE (256 * 1024)
#define MAX_CONFIG  (4 << 20)

/* dockerd flag -> daemon.json key; kind: 'b' bool, 's' string, 'l' list append, 'm' k=v map */
static const struct {
	const char *flag, *key;
	char kind;
} flag_map[] = {
    {"host", "hosts", 'l'},
    {"H", "hosts", 'l'},
    {"tls", "tls", 'b'},
    {"tlsverify", "tlsverify", 'b'},
    {"icc", "icc", 'b'},
    {"userns-remap", "userns-remap", 's'},
    {"no-new-privileges", "no-new-privileges", 'b'},
    {"live-restore", "live-restore", 'b'},
    {"userland-proxy", "userland-proxy", 'b'},
    {"insecure-registry", "insecure-registries", 'l'},
    {"default-ulimit", "default-ulimits", 'l'},
    {"log-driver", "log-driver", 's'},
    {"log-opt", "log-opts", 'm'},
    {"experimental", "experimental", 'b'},
    {"seccomp-profile", "seccomp-profile", 's'},
    {"log-level", "log-level", 's'},
    {"l", "log-level", 's'},
    {"D", "debug", 'b'},
    {"debug", "debug", 'b'},
    {"config-file", "config-file", 's'},
    {"data-root", "data-root", 's'},
    {"group", "group", 's'},
    {"bridge", "bridge", 's'},
    {"b", "bridge", 's'},
    {"G", "group", 's'},
};

static void apply_flag(json_t *cfg, const char *val, char kind, const char *key)
{
	switch (kind) {
	case 'b':
		json_object_set_new(
		    cfg, key, json_boolean(!val || !strcmp(val, "true") || !strcmp(val, "1")));
		break;
	case 's':
		json_object_set_new(cfg, key, json_string(val ? val : ""));
		break;
	case 'l': {
		json_t *arr = json_object_get(cfg, key);
		if (!json_is_array(arr)) {
			json_object_set_new(cfg, key, json_array());
			arr = json_object_get(cfg, key);
		}
		json_array_append_new(arr, json_string(val ? val : ""));
		break;
	}
	case 'm': {
		json_t *m = json_object_get(cfg, key);
		if (!json_is_object(m)) {
			json_object_set_new(cfg, key, json_object());
			m = json_object_get(cfg, key);
		}
		if (val) {
			const char *eq = strchr(val, '=');
			if (eq) {
				cleanup_free char *k = xstrndup(val, (size_t)(eq - val));
				json_object_set_new(m, k, json_string(eq + 1));
			}
		}
		break;
	}
	}
}

void aud_daemon_apply_cmdline(json_t *cfg, char *const *argv, size_t argc)
{
	json_t *seen_lists = json_object();
	for (size_t i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !a[1])
			continue;
		const char *name = a + 1 + (a[1] == '-');
		size_t nlen = strcspn(name, "=");
		const char *val = name[nlen] ? name + nlen + 1 : NULL;
		for (size_t j = 0; j < sizeof(flag_map) / sizeof(flag_map[0]); j++) {
			if (strlen(flag_map[j].flag) != nlen ||
			    strncmp(flag_map[j].flag, name, nlen))
				continue;
			if (!val && flag_map[j].kind != 'b' && i + 1 < argc)
				val = argv[++i];
			else if (!val && flag_map[j].kind == 'b' && i + 1 < argc &&
				 (!strcmp(argv[i + 1], "true") || !strcmp(argv[i + 1], "false")))
				val = argv[++i]; /* "--icc false" is not how pflag works, but be
						    kind */
			/* flags replace what the file says for list settings */
			if (flag_map[j].kind == 'l' &&
			    !json_object_get(seen_lists, flag_map[j].key)) {
				json_object_set_new(cfg, flag_map[j].key, json_array());
				json_object_set_new(seen_lists, flag_map[j].key, json_true());
			}
			apply_flag(cfg, val, flag_map[j].kind, flag_map[j].key);
			break;
		}
	}
	json_decref(seen_lists);
}

static bool is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* NUL-separated /proc/PID/cmdline -> argv (NULL-terminated). */
/* /proc/PID/cmdline's NUL-separated arguments (bounded: the push stops at BWK_STRV_MAX) */
static bwk_strv split_cmdline(const char *data, size_t len)
{
	bwk_strv v = {0};
	for (size_t i = 0; i < len;) {
		size_t l = strnlen(data + i, len - i);
		if (bwk_strv_take(&v, xstrndup(data + i, l), NULL) < 0)
			break;
		i += l + 1;
	}
	return v;
}

/* "h:p", "[v6]:p", "h", ":p" -> host (brackets removed) and port (0: none given) */
static void tcp_split(const char *hp, char **host, int *port)
{
	const char *colon;
	if (*hp == '[') {
		const char *close = strchr(hp, ']');
		*host = xstrndup(hp + 1, close ? (size_t)(close - hp - 1) : strlen(hp + 1));
		colon = close ? strchr(close, ':') : NULL;
	} else {
		colon = strrchr(hp, ':');
		*host = xstrndup(hp, colon ? (size_t)(colon - hp) : strlen(hp));
	}
	*port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
}

static bool is_loopback(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "::1");
}

/* Does dockerd's listener tcp://L serve the endpoint tcp://E? Same port, and the same
 * address, or a wildcard listener, or both on loopback. */
static bool tcp_serves(const char *listener, const char *endpoint)
{
	cleanup_free char *lh = NULL, *eh = NULL;
	int lp, epo;
	cleanup_free char *l = xstrndup(listener, strcspn(listener, "/"));
	cleanup_free char *e = xstrndup(endpoint, strcspn(endpoint, "/"));
	tcp_split(l, &lh, &lp);
	tcp_split(e, &eh, &epo);
	/* a missing port is dockerd's and the CLI's default: 2375, or 2376 with TLS */
	int given = lp ? lp : epo;
	bool port_ok = lp && epo ? lp == epo : !given || given == 2375 || given == 2376;
	if (!port_ok)
		return false;
	return !strcmp(lh, eh) || !*lh || !strcmp(lh, "0.0.0.0") || !strcmp(lh, "::") ||
	       (is_loopback(lh) && is_loopback(eh));
}

static bool hosts_match(char *const *argv, size_t argc, const char *want)
{
	bool unix_sock = !strncmp(want, "unix://", 7);
	const char *want_sock = unix_sock ? want + 7 : "";
	bool any_host = false;
	for (size_t i = 1; i < argc && argv[i]; i++) {
		const char *a = argv[i], *val = NULL;
		if (!strcmp(a, "-H") || !strcmp(a, "--host"))
			val = i + 1 < argc ? argv[i + 1] : NULL;
		else if (!strncmp(a, "-H=", 3))
			val = a + 3;
		else if (!strncmp(a, "--host=", 7))
			val = a + 7;
		else if (!strncmp(a, "-H", 2) && a[2])
			val = a + 2;
		if (!val)
			continue;
		any_host = true;
		if (!unix_sock) {
			if (!strncmp(want, "tcp://", 6) && !strncmp(val, "tcp://", 6) &&
			    tcp_serves(val + 6, want + 6))
				return true;
			continue;
		}
		if (!strncmp(val, "unix://", 7) && !strcmp(val + 7, want_sock))
			return true;
		/* systemd socket activation: docker.socket listens on the default path */
		if (!strncmp(val, "fd://", 5) && (!strcmp(want_sock, "/var/run/docker.sock") ||
						  !strcmp(want_sock, "/run/docker.sock")))
			return true;
	}
	/* no -H at all: the default socket */
	return unix_sock && !any_host &&
	       (!strcmp(want_sock, "/var/run/docker.sock") ||
		!strcmp(want_sock, "/run/docker.sock"));
}

int aud_daemon_find_process(const char *proc, const char *want, daemon_proc *out)
{
	memset(out, 0, sizeof(*out));
	cleanup_dir DIR *d = opendir(proc);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_digits(de->d_name))
			continue;
		cleanup_free char *comm_path = xasprintf("%s/%s/comm", proc, de->d_name);
		cleanup_free char *comm = NULL;
		size_t len = 0;
		bwk_error *e = NULL;
		if (bwk_read_file_at(AT_FDCWD, comm_path, 4096, true, &comm, &len, &e) < 0) {
			bwk_error_free(e);
			continue;
		}
		if (strcmp(comm, "dockerd\n") && strcmp(comm, "dockerd"))
			continue;
		cleanup_free char *cl_path = xasprintf("%s/%s/cmdline", proc, de->d_name);
		cleanup_free char *cl = NULL;
		if (bwk_read_file_at(AT_FDCWD, cl_path, MAX_CMDLINE, true, &cl, &len, &e) < 0) {
			bwk_error_free(e);
			continue;
		}
		bwk_strv argv = split_cmdline(cl, len);
		if (want && !hosts_match(argv.v, argv.n, want)) {
			bwk_strv_clear(&argv);
			continue;
		}
		out->pid = strtol(de->d_name, NULL, 10);
		out->argv = argv;
		return 1;
	}
	return 0;
}

void aud_daemon_proc_free(daemon_proc *p)
{
	bwk_strv_clear(&p->argv);
	memset(p, 0, sizeof(*p));
}

int aud_daemon_load_config(const char *path, bool required, json_t **out, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	bwk_error *e = NULL;
	if (bwk_read_file_at(AT_FDCWD, path, MAX_CONFIG, true, &data, &len, &e) < 0) {
		if (!required && bwk_error_code(e) == BWK_E_NOTFOUND) {
			bwk_error_free(e);
			*out = json_object();
			return 0;
		}
		*err = e;
		return bwk_error_wrap(err, "reading the daemon configuration");
	}
	json_error_t je;
	*out = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!*out)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%d: invalid JSON: %s", path, je.line,
				     je.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a JSON object", path);
	}
	return 0;
}

/* ExecStart= of the docker.service unit, for hosts where dockerd is not running (or not
 * visible): the unit file, then its drop-ins in name order; an empty ExecStart= resets. */
static void unit_exec_start(const char *text, char **exec)
{
	cleanup_free char *copy = xstrdup(text);
	/* join backslash-newline continuations */
	char *w = copy;
	for (const char *r = copy; *r; r++) {
		if (r[0] == '\\' && r[1] == '\n') {
			r++;
			*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	*w = 0;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncmp(line, "ExecStart=", 10))
			continue;
		const char *v = line + 10;
		while (*v == '-' || *v == '@' || *v == '+' || *v == '!' || *v == ':')
			v++;
		free(*exec);
		*exec = *v ? xstrdup(v) : NULL;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int aud_daemon_from_unit(const bwk_audit_opts *o, daemon_proc *out)
{
	memset(out, 0, sizeof(*out));
	static const char *const units[] = {"/etc/systemd/system/docker.service",
					    "/lib/systemd/system/docker.service",
					    "/usr/lib/systemd/system/docker.service", NULL};
	cleanup_free char *exec = NULL;
	for (int i = 0; units[i] && !exec; i++) {
		cleanup_free char *p = aud_opt_rooted(o, units[i]);
		cleanup_free char *data = NULL;
		size_t len;
		bwk_error *e = NULL;
		if (bwk_read_file_at(AT_FDCWD, p, 1 << 20, true, &data, &len, &e) < 0) {
			bwk_error_free(e);
			continue;
		}
		unit_exec_start(data, &exec);
	}
	cleanup_free char *dropdir = aud_opt_rooted(o, "/etc/systemd/system/docker.service.d");
	cleanup_dir DIR *d = opendir(dropdir);
	if (d) {
		char *names[64];
		size_t n = 0;
		struct dirent *de;
		while ((de = readdir(d)) && n < 64)
			if (bwk_str_endswith(de->d_name, ".conf"))
				names[n++] = xstrdup(de->d_name);
		qsort(names, n, sizeof(names[0]), cmp_str);
		for (size_t i = 0; i < n; i++) {
			cleanup_free char *p = xasprintf("%s/%s", dropdir, names[i]);
			cleanup_free char *data = NULL;
			size_t len;
			bwk_error *e = NULL;
			if (bwk_read_file_at(AT_FDCWD, p, 1 << 20, true, &data, &len, &e) == 0)
				unit_exec_start(data, &exec);
			else
				bwk_error_free(e);
			free(names[i]);
		}
	}
	if (!exec)
		return 0;
	/* split on blanks; systemd quoting beyond plain quotes is rare in docker units */
	bwk_strv argv = {0};
	for (char *p = exec; *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		char q = (*p == '"' || *p == '\'') ? *p++ : 0;
		char *start = p;
		while (*p && (q ? *p != q : (*p != ' ' && *p != '\t')))
			p++;
		if (bwk_strv_take(&argv, xstrndup(start, (size_t)(p - start)), NULL) < 0)
			break; /* bounded: the rest of the line is not read */
		if (*p)
			p++;
	}
	out->argv = argv;
	return 1;
}
