/* Hardening as a policy (docs/oci-runtime.md): a bundle's spec → the same spec with what the
 * engine left out added. Without the policy bulwark runs exactly what the bundle asks; with
 * it (--harden, `harden = true` in the runtime configuration, or the annotation
 * org.bulwark.harden=true) each change below is made where the bundle did not already do it,
 * and named in one line of `changes` (the CLI writes them to the runtime log). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "oci/oci_private.h"

#define MAX_CONF_BYTES ((size_t)64 << 10)

/* Masked paths beyond Docker's (oci_docker_masked): kernel address and page-state leaks, the
 * kernel's debug and security interfaces; what `bulwark run` masks (src/lib/sandbox/mounts.c). */
static const char *const extra_masked[] = {
    "/proc/interrupts",	    "/proc/kpagecount",	   "/proc/kpageflags", "/proc/kpagecgroup",
    "/proc/vmallocinfo",    "/proc/config.gz",	   "/proc/kmsg",       "/sys/kernel/debug",
    "/sys/kernel/security", "/sys/kernel/tracing", "/sys/fs/bpf",      NULL};

int bwk_oci_runtime_conf_parse(const char *text, size_t len, bwk_oci_runtime_conf *out,
			       bwk_error **err)
{
	*out = (bwk_oci_runtime_conf){0};
	if (len > MAX_CONF_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "runtime.conf: more than %zu bytes",
				     MAX_CONF_BYTES);
	size_t lineno = 0;
	for (size_t i = 0; i < len;) {
		size_t end = i;
		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		/* trim; '#' starts a comment */
		size_t a = i, b = end;
		for (size_t k = a; k < b; k++)
			if (text[k] == '#') {
				b = k;
				break;
			}
		while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		i = end + 1;
		if (a == b)
			continue;
		const char *eq = memchr(text + a, '=', b - a);
		if (!eq)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "runtime.conf line %zu: expected KEY = VALUE", lineno);
		size_t ke = (size_t)(eq - text), vs = ke + 1;
		while (ke > a && (text[ke - 1] == ' ' || text[ke - 1] == '\t'))
			ke--;
		while (vs < b && (text[vs] == ' ' || text[vs] == '\t'))
			vs++;
		size_t kl = ke - a, vl = b - vs;
		if (kl == 6 && !memcmp(text + a, "harden", 6)) {
			if (vl == 4 && !memcmp(text + vs, "true", 4))
				out->harden = true;
			else if (vl == 5 && !memcmp(text + vs, "false", 5))
				out->harden = false;
			else
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "runtime.conf line %zu: harden is true or "
						     "false",
						     lineno);
		} else
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "runtime.conf line %zu: unknown key '%.*s' (known: "
					     "harden)",
					     lineno, (int)(kl > 64 ? 64 : kl), text + a);
	}
	return 0;
}

int bwk_oci_harden_wanted(const bwk_oci_spec *s, bool flag, const char *conf_path, bwk_error **err)
{
	if (flag)
		return 1;
	const char *path = conf_path ? conf_path : BWK_OCI_RUNTIME_CONF;
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, MAX_CONF_BYTES, true, &data, &len, err) < 0) {
		if (bwk_error_code(*err) == BWK_E_NOTFOUND) {
			bwk_error_free(*err);
			*err = NULL;
		} else
			return bwk_error_wrap(err, "runtime configuration %s", path);
	} else {
		bwk_oci_runtime_conf conf;
		if (bwk_oci_runtime_conf_parse(data, len, &conf, err) < 0)
			return bwk_error_wrap(err, "%s", path);
		if (conf.harden)
			return 1;
	}
	/* a bundle can ask for more protection, never turn the administrator's policy off */
	const char *ann = bwk_oci_spec_annotation(s, BWK_OCI_ANN_HARDEN);
	return ann && !strcmp(ann, "true");
}

static void note(bwk_strv *changes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(bwk_strv *changes, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	/* a handful of notes per spec, far below BWK_STRV_MAX: the push cannot fail */
	if (vasprintf(&m, fmt, ap) >= 0 && changes)
		(void)bwk_strv_take(changes, steal_pointer(&m), NULL);
	va_end(ap);
	free(m);
}

/* Keep only the names of `v` within `keep`; the removed ones are appended to `dropped`. */
static void caps_filter(bwk_strv *v, uint64_t keep, bwk_strbuf *dropped)
{
	size_t j = 0;
	for (size_t i = 0; i < v->n; i++) {
		uint64_t m = 0;
		if (bwk_cap_from_name(v->v[i], &m) == 0 && (m & ~keep) == 0) {
			v->v[j++] = v->v[i];
			continue;
		}
		if (dropped && !strstr(dropped->s ? dropped->s : "", v->v[i]))
			bwk_strbuf_printf(dropped, "%s%s", dropped->len ? " " : "", v->v[i]);
		free(v->v[i]);
	}
	v->n = j;
	if (v->v)
		v->v[j] = NULL;
}

void bwk_oci_harden_process(bwk_oci_process *p, bwk_strv *changes)
{
	if (!p->no_new_privileges) {
		p->no_new_privileges = true;
		note(changes, "harden: process.noNewPrivileges set");
	}
	/* the dangerous capabilities: all but `bulwark run`'s default set */
	uint64_t keep = bwk_sandbox_default_caps();
	bwk_strbuf dropped;
	bwk_strbuf_init(&dropped, 4096);
	caps_filter(&p->caps.bounding, keep, &dropped);
	caps_filter(&p->caps.effective, keep, &dropped);
	caps_filter(&p->caps.inheritable, keep, &dropped);
	caps_filter(&p->caps.permitted, keep, &dropped);
	caps_filter(&p->caps.ambient, keep, &dropped);
	if (dropped.len)
		note(changes, "harden: capabilities dropped: %s", dropped.s);
	bwk_strbuf_free(&dropped);
}

static bool has_mount(const bwk_oci_spec *s, const char *dst)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].destination, dst))
			return true;
	return false;
}

static void add_tmpfs(bwk_oci_spec *s, const char *dst, const char *mode)
{
	s->mounts = xrealloc(s->mounts, (s->n_mounts + 1) * sizeof *s->mounts);
	bwk_oci_mount *m = &s->mounts[s->n_mounts++];
	*m = (bwk_oci_mount){
	    .destination = xstrdup(dst), .type = xstrdup("tmpfs"), .source = xstrdup("tmpfs")};
	char size[32];
	snprintf(size, sizeof size, "size=%llu", (unsigned long long)BWK_DEFAULT_TMPFS_SIZE);
	const char *opts[] = {"nosuid", "nodev", mode, size};
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
		(void)bwk_strv_push(&m->options, opts[i], NULL); /* 4 of BWK_STRV_MAX */
}

int bwk_oci_harden(bwk_oci_spec *s, bwk_strv *changes, bwk_error **err)
{
	if (s->has_process)
		bwk_oci_harden_process(&s->process, changes);
	/* bulwark's seccomp allowlist on top of the bundle's filter: both are loaded, so a
	 * system call passes only when both allow it (their intersection) */
	const char *sc = bwk_oci_spec_annotation(s, BWK_OCI_ANN_SECCOMP);
	if (!sc || strcmp(sc, "default")) {
		oci_map_set(&s->annotations, BWK_OCI_ANN_SECCOMP, "default");
		note(changes, "harden: seccomp: bulwark's allowlist added%s",
		     s->linux_.seccomp.set ? " (stacked on the bundle's profile: both apply)"
					   : " (the bundle had no profile)");
	}
	bwk_strbuf added;
	bwk_strbuf_init(&added, 4096);
	for (int list = 0; list < 2; list++)
		for (const char *const *m = list ? extra_masked : oci_docker_masked; *m; m++)
			if (!bwk_strv_has(&s->linux_.masked_paths, *m)) {
				if (bwk_strv_push(&s->linux_.masked_paths, *m, err) < 0) {
					bwk_strbuf_free(&added);
					return -1;
				}
				bwk_strbuf_printf(&added, "%s%s", added.len ? " " : "", *m);
			}
	for (const char *const *m = oci_docker_readonly; *m; m++)
		if (!bwk_strv_has(&s->linux_.readonly_paths, *m)) {
			if (bwk_strv_push(&s->linux_.readonly_paths, *m, err) < 0) {
				bwk_strbuf_free(&added);
				return -1;
			}
			bwk_strbuf_printf(&added, "%s%s (read-only)", added.len ? " " : "", *m);
		}
	if (added.len)
		note(changes, "harden: masked paths added: %s", added.s);
	bwk_strbuf_free(&added);
	bwk_oci_resources *r = &s->linux_.resources;
	if (!r->memory.limit.set || r->memory.limit.v <= 0) {
		r->set = s->linux_.set = true;
		r->memory.limit = (bwk_oci_i64){true, (int64_t)BWK_DEFAULT_MEMORY};
		note(changes, "harden: memory limit %llu MiB (none was set)",
		     (unsigned long long)(BWK_DEFAULT_MEMORY >> 20));
	}
	if (!r->pids_limit.set || r->pids_limit.v <= 0) {
		r->set = s->linux_.set = true;
		r->pids_limit = (bwk_oci_i64){true, BWK_DEFAULT_PIDS};
		note(changes, "harden: pids limit %d (none was set)", BWK_DEFAULT_PIDS);
	}
	if (s->has_root && !s->root_readonly) {
		s->root_readonly = true;
		bool tmp = !has_mount(s, "/tmp"), run = !has_mount(s, "/run");
		if (tmp)
			add_tmpfs(s, "/tmp", "mode=1777");
		if (run)
			add_tmpfs(s, "/run", "mode=755");
		note(changes, "harden: read-only root filesystem%s%s%s",
		     tmp || run ? ", with a tmpfs of " : "", tmp ? "/tmp" : "",
		     run ? (tmp ? " and /run" : "/run") : "");
	}
	if (!bwk_oci_spec_namespace(s, "mount")) {
		/* the spec allows none (the host's mounts), the policy does not */
		s->linux_.namespaces =
		    xrealloc(s->linux_.namespaces,
			     (s->linux_.n_namespaces + 1) * sizeof *s->linux_.namespaces);
		s->linux_.namespaces[s->linux_.n_namespaces++] =
		    (bwk_oci_namespace){.type = xstrdup("mount")};
		s->linux_.set = true;
		note(changes, "harden: mount namespace added (the bundle shared the host's)");
	}
	oci_map_set(&s->annotations, BWK_OCI_ANN_HARDENED, "true");
	return 0;
}

/* Capabilities the kernel honours only in the host's user namespace: a bundle granting one
 * wants the host (a privileged container), which a user namespace would silently take away. */
static const char *const host_only_caps[] = {"CAP_SYS_MODULE",
					     "CAP_SYS_RAWIO",
					     "CAP_SYS_BOOT",
					     "CAP_SYS_TIME",
					     "CAP_MAC_ADMIN",
					     "CAP_MAC_OVERRIDE",
					     "CAP_SYSLOG",
					     "CAP_AUDIT_CONTROL",
					     "CAP_BPF",
					     "CAP_PERFMON",
					     "CAP_WAKE_ALARM",
					     "CAP_BLOCK_SUSPEND",
					     NULL};

/* The devices of every container, runc's default set: the same nodes bound from the host
 * work in a user namespace. */
static const struct {
	const char *path;
	int64_t major, minor;
} default_devices[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
		       {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
		       {"/dev/console", 5, 1}, {"/dev/ptmx", 5, 2}};

/* A sysctl a container's own namespaces own: IPC ones, and the network's when that namespace
 * is created with (so owned by) the container's user namespace. */
static bool sysctl_namespaced(const bwk_oci_spec *s, const char *k)
{
	static const char *const ipc[] = {"kernel.shm", "kernel.msg", "kernel.sem", "fs.mqueue.",
					  NULL};
	for (const char *const *p = ipc; *p; p++)
		if (!strncmp(k, *p, strlen(*p)))
			return true;
	const bwk_oci_namespace *net = bwk_oci_spec_namespace(s, "network");
	return !strncmp(k, "net.", 4) && net && !net->path;
}

const char *bwk_oci_harden_userns_refusal(const bwk_oci_spec *s, char *buf, size_t len)
{
	for (size_t i = 0; i < s->linux_.n_namespaces; i++) {
		const bwk_oci_namespace *ns = &s->linux_.namespaces[i];
		/* a joined network namespace stays the host's to configure (its sysfs is bound) */
		if (ns->path && strcmp(ns->type, "network")) {
			snprintf(buf, len, "the bundle joins the %s namespace %s", ns->type,
				 ns->path);
			return buf;
		}
	}
	/* a mount the kernel allows only to its namespace's owner: /proc of the host's pid
	 * namespace, the hostname of the host's uts namespace */
	bool proc = false;
	for (size_t i = 0; i < s->n_mounts; i++)
		proc |= s->mounts[i].type && !strcmp(s->mounts[i].type, "proc");
	if (proc && !bwk_oci_spec_namespace(s, "pid")) {
		snprintf(buf, len, "the bundle shares the host's pid namespace (its /proc)");
		return buf;
	}
	if (s->hostname && *s->hostname && !bwk_oci_spec_namespace(s, "uts")) {
		snprintf(buf, len, "the bundle sets the hostname of the host's uts namespace");
		return buf;
	}
	const bwk_strv *caps[] = {&s->process.caps.bounding, &s->process.caps.effective,
				  &s->process.caps.permitted, &s->process.caps.ambient};
	for (size_t c = 0; s->has_process && c < sizeof caps / sizeof *caps; c++)
		for (const char *const *h = host_only_caps; *h; h++)
			if (bwk_strv_has(caps[c], *h)) {
				snprintf(buf, len,
					 "the bundle grants %s, which acts only in the host's user "
					 "namespace (a privileged container)",
					 *h);
				return buf;
			}
	for (size_t i = 0; i < s->linux_.n_devices; i++) {
		const bwk_oci_device *d = &s->linux_.devices[i];
		bool dflt = false;
		for (size_t k = 0; k < sizeof default_devices / sizeof *default_devices; k++)
			dflt |= !strcmp(d->path, default_devices[k].path) &&
				d->major == default_devices[k].major &&
				d->minor == default_devices[k].minor;
		if (!dflt) {
			snprintf(buf, len, "the bundle asks for the host device %s (%lld:%lld)",
				 d->path, (long long)d->major, (long long)d->minor);
			return buf;
		}
	}
	for (size_t i = 0; i < s->linux_.sysctl.n; i++)
		if (!sysctl_namespaced(s, s->linux_.sysctl.v[i].key)) {
			snprintf(buf, len,
				 "the bundle sets the sysctl %s, which its namespaces do not own",
				 s->linux_.sysctl.v[i].key);
			return buf;
		}
	const bwk_oci_user *u = &s->process.user;
	bool big = s->has_process && (u->uid > 65535 || u->gid > 65535);
	for (size_t i = 0; s->has_process && i < u->n_additional_gids; i++)
		big |= u->additional_gids[i] > 65535;
	if (big) {
		snprintf(buf, len,
			 "the process runs with ids beyond 65535 (the namespace maps 0-65535)");
		return buf;
	}
	return NULL;
}
