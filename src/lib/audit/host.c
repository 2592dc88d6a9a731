/* `bulwark audit host`: what the shared kernel gives every container on this machine. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"

#define CIS(n) "CIS Docker Benchmark " n
#define KDOC   "https://docs.kernel.org/admin-guide/sysctl/kernel.html"

/* First line of a small kernel file, trimmed; NULL when absent. */
static char *read_small(const char *dir, const char *rel)
{
	cleanup_free char *path = xasprintf("%s/%s", dir, rel);
	cleanup_free char *data = NULL;
	size_t len = 0;
	bwk_error *e = NULL;
	if (bwk_read_file_at(AT_FDCWD, path, 64 * 1024, true, &data, &len, &e) < 0) {
		bwk_error_free(e);
		return NULL;
	}
	data[strcspn(data, "\n")] = 0;
	size_t n = strlen(data);
	while (n && (data[n - 1] == ' ' || data[n - 1] == '\t'))
		data[--n] = 0;
	return steal_pointer(&data);
}

static long read_long(const char *dir, const char *rel, long dflt)
{
	cleanup_free char *s = read_small(dir, rel);
	if (!s)
		return dflt;
	char *end = NULL;
	long v = strtol(s, &end, 10);
	return end != s ? v : dflt;
}

typedef struct host_ctx {
	const bwk_audit_opts *o;
	const char *proc, *sys;
	bwk_findings *out;
	char *osrel; /* /etc/os-release under --root, NULL if absent */
	/* kernel features whose absence defuses a CVE (cve.yaml `requires`) */
	const char *absent[8];
	size_t nabsent;
	/* the cgroup mounts, read once for the two cgroup checks */
	struct {
		bool read, have_mountinfo, v1, v2, v1_mem, v1_pids;
		char *v2_mnt;
	} cg;
} host_ctx;

static void host_ctx_clear(host_ctx *h)
{
	free(h->osrel);
	free(h->cg.v2_mnt);
}

/* A row: the rule and its check. The check records its status (it ran when every value it
 * needs was readable, and then fails exactly when it added a finding) and adds the findings. */
typedef struct host_rule {
	bwk_rule meta;
	int (*check)(host_ctx *h, const bwk_rule *r, bwk_error **err);
} host_rule;

static int add(host_ctx *h, const bwk_rule *r, const char *key, const char *msg, bwk_error **err)
{
	return aud_audit_add(h->out, r, -1, "host", key, 0, msg, NULL, err);
}

/* The check behind `r` ran when every value it needs was readable; otherwise it is listed as
 * skipped, naming what was missing. */
static void checked(host_ctx *h, const bwk_rule *r, bool readable, const char *what)
{
	if (readable)
		bwk_findings_check(h->out, r, BWK_CHECK_PASS, "%s", what);
	else
		bwk_findings_check(h->out, r, BWK_CHECK_SKIP, "%s not readable on this host", what);
}

/* A sysctl that must not be 0: `what` is its name, `key` the finding's key. */
static int sysctl_nonzero(host_ctx *h, const bwk_rule *r, const char *rel, const char *what,
			  const char *msg, bwk_error **err)
{
	long v = read_long(h->proc, rel, -1);
	checked(h, r, v >= 0, what);
	return v == 0 ? add(h, r, what, msg, err) : 0;
}

static int ck_userns(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	const char *p = h->proc;
	long maxns = read_long(p, "sys/user/max_user_namespaces", -1);
	long clone = read_long(p, "sys/kernel/unprivileged_userns_clone", -1);
	long aa_userns = read_long(p, "sys/kernel/apparmor_restrict_unprivileged_userns", -1);
	/* the three switches that stop unprivileged user namespaces (rootless containers,
	 * bubblewrap and `bulwark run` as a normal user depend on them); -1: not on this kernel */
	{
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 512);
		const char *names[] = {"user.max_user_namespaces",
				       "kernel.unprivileged_userns_clone",
				       "kernel.apparmor_restrict_unprivileged_userns"};
		long vals[] = {maxns, clone, aa_userns};
		for (int i = 0; i < 3; i++)
			if (vals[i] >= 0)
				bwk_strbuf_printf(&sb, "%s%s=%ld", sb.len ? " " : "", names[i],
						  vals[i]);
			else
				bwk_strbuf_printf(&sb, "%s%s absent", sb.len ? ", " : "", names[i]);
		char *v = bwk_strbuf_steal(&sb);
		bwk_findings_fact(h->out, "host.userns", "%s", v);
		free(v);
	}
	checked(h, r, maxns >= 0, "user.max_user_namespaces");
	if (maxns == 0 || clone == 0 || aa_userns == 1) {
		h->absent[h->nabsent++] = "unprivileged_userns";
		return 0;
	}
	if (maxns <= 0)
		return 0;
	cleanup_free char *m = xasprintf("user.max_user_namespaces=%ld%s", maxns,
					 clone > 0 ? ", kernel.unprivileged_userns_clone=1" : "");
	return add(h, r, "user.max_user_namespaces", m, err);
}

static int ck_bpf(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	long bpf = read_long(h->proc, "sys/kernel/unprivileged_bpf_disabled", -1);
	checked(h, r, bpf >= 0, "kernel.unprivileged_bpf_disabled");
	if (bpf >= 1)
		h->absent[h->nabsent++] = "unprivileged_bpf";
	return bpf == 0 ? add(h, r, "kernel.unprivileged_bpf_disabled",
			      "unprivileged_bpf_disabled=0", err)
			: 0;
}

static int ck_kptr(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	return sysctl_nonzero(h, r, "sys/kernel/kptr_restrict", "kernel.kptr_restrict",
			      "kptr_restrict=0", err);
}

static int ck_dmesg(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	return sysctl_nonzero(h, r, "sys/kernel/dmesg_restrict", "kernel.dmesg_restrict",
			      "dmesg_restrict=0", err);
}

/* Two fs.protected_* switches of which neither may be 0. */
static int sysctl_pair(host_ctx *h, const bwk_rule *r, const char *a, const char *b,
		       bwk_error **err)
{
	cleanup_free char *ra = xasprintf("sys/fs/protected_%s", a);
	cleanup_free char *rb = xasprintf("sys/fs/protected_%s", b);
	long va = read_long(h->proc, ra, -1), vb = read_long(h->proc, rb, -1);
	cleanup_free char *what = xasprintf("fs.protected_%s/protected_%s", a, b);
	checked(h, r, va >= 0 && vb >= 0, what);
	if (va && vb)
		return 0;
	cleanup_free char *key = xasprintf("fs.protected_%s", a);
	cleanup_free char *m = xasprintf("protected_%s=%ld protected_%s=%ld", a, va, b, vb);
	return add(h, r, key, m, err);
}

static int ck_links(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	return sysctl_pair(h, r, "symlinks", "hardlinks", err);
}

static int ck_fifos(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	return sysctl_pair(h, r, "fifos", "regular", err);
}

static int ck_ptrace(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	long ys = read_long(h->proc, "sys/kernel/yama/ptrace_scope", -1);
	checked(h, r, true, ys < 0 ? "Yama LSM absent" : "kernel.yama.ptrace_scope");
	return ys <= 0 ? add(h, r, "kernel.yama.ptrace_scope",
			     ys < 0 ? "Yama LSM not enabled" : "ptrace_scope=0", err)
		       : 0;
}

static int ck_seccomp(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	cleanup_free char *status = NULL;
	{
		cleanup_free char *path = xasprintf("%s/self/status", h->proc);
		size_t len;
		bwk_error *e = NULL;
		if (bwk_read_file_at(AT_FDCWD, path, 1 << 20, true, &status, &len, &e) < 0)
			bwk_error_free(e);
	}
	cleanup_free char *actions = read_small(h->proc, "sys/kernel/seccomp/actions_avail");
	checked(h, r, status || actions, "/proc/self/status");
	if (actions)
		bwk_findings_fact(h->out, "host.seccomp", "%s", actions);
	if (status && !strstr(status, "\nSeccomp:") && !actions)
		return add(h, r, "seccomp", "no Seccomp field in /proc/self/status", err);
	return 0;
}

static int ck_lsm(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	cleanup_free char *aa = read_small(h->sys, "module/apparmor/parameters/enabled");
	cleanup_free char *se = read_small(h->sys, "fs/selinux/enforce");
	bool apparmor = aa && aa[0] == 'Y';
	bool selinux = se && se[0] == '1';
	cleanup_free char *lsms = read_small(h->sys, "kernel/security/lsm");
	bwk_findings_fact(h->out, "host.lsm", "%s (AppArmor %s, SELinux %s)",
			  lsms ? lsms : "list not readable",
			  apparmor ? "enabled"
			  : aa	   ? "disabled"
				   : "absent",
			  selinux ? "enforcing"
			  : se	  ? "permissive"
				  : "absent");
	checked(h, r, true, "AppArmor and SELinux state");
	if (apparmor || selinux)
		return 0;
	cleanup_free char *m =
	    xasprintf("AppArmor %s, SELinux %s", aa ? "disabled" : "not available",
		      se ? "permissive" : "not available");
	return add(h, r, "lsm", m, err);
}

/* The cgroup mounts from mountinfo (read on the first call). False with the check recorded as
 * skipped when there is nothing to judge. */
static bool cgroups_mounted(host_ctx *h, const bwk_rule *r)
{
	if (!h->cg.read) {
		h->cg.read = true;
		cleanup_free char *mi = NULL;
		size_t len;
		const char *cands[] = {"1/mountinfo", "self/mountinfo"};
		for (int i = 0; i < 2 && !mi; i++) {
			cleanup_free char *path = xasprintf("%s/%s", h->proc, cands[i]);
			bwk_error *e = NULL;
			if (bwk_read_file_at(AT_FDCWD, path, 4 << 20, true, &mi, &len, &e) < 0)
				bwk_error_free(e);
		}
		h->cg.have_mountinfo = mi != NULL;
		char *save = NULL;
		for (char *line = mi ? strtok_r(mi, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE SOURCE SUPEROPTS"
			 */
			char *dash = strstr(line, " - ");
			if (!dash)
				continue;
			char fstype[32] = "", superopts[512] = "";
			if (sscanf(dash + 3, "%31s %*s %511s", fstype, superopts) < 1)
				continue;
			if (!strcmp(fstype, "cgroup")) {
				h->cg.v1 = true;
				for (char *o = superopts; *o;) {
					size_t n = strcspn(o, ",");
					if (n == 6 && !strncmp(o, "memory", 6))
						h->cg.v1_mem = true;
					if (n == 4 && !strncmp(o, "pids", 4))
						h->cg.v1_pids = true;
					o += n + (o[n] == ',');
				}
			} else if (!strcmp(fstype, "cgroup2")) {
				h->cg.v2 = true;
				char mnt[512];
				if (!h->cg.v2_mnt &&
				    sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1)
					h->cg.v2_mnt = xstrdup(mnt);
			}
		}
		if (mi && !h->cg.v1 && !h->cg.v2)
			bwk_findings_fact(h->out, "host.cgroup", "none mounted");
	}
	if (!h->cg.have_mountinfo) {
		checked(h, r, false, "mountinfo");
		return false;
	}
	if (!h->cg.v1 && !h->cg.v2) {
		bwk_findings_check(h->out, r, BWK_CHECK_SKIP, "no cgroup filesystem mounted");
		return false;
	}
	return true;
}

static int ck_cgv1(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	if (!cgroups_mounted(h, r))
		return 0;
	checked(h, r, true, "cgroup mounts");
	if (!h->cg.v1)
		h->absent[h->nabsent++] = "cgroup_v1";
	else if (add(h, r, "cgroup",
		     h->cg.v2 ? "hybrid hierarchy: cgroup v1 controllers with a cgroup2 mount"
			      : "legacy cgroup v1 hierarchy",
		     err) < 0)
		return -1;
	bwk_findings_fact(h->out, "host.cgroup", "%s",
			  h->cg.v1 && h->cg.v2 ? "hybrid (v1 controllers and a cgroup2 mount)"
			  : h->cg.v1	       ? "v1 (legacy)"
					       : "v2 (unified)");
	return 0;
}

static int ck_cgctl(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	if (!cgroups_mounted(h, r))
		return 0;
	checked(h, r, true, "cgroup controllers");
	cleanup_free char *missing = NULL;
	if (h->cg.v1) {
		if (!h->cg.v1_mem || !h->cg.v1_pids)
			missing =
			    xasprintf("cgroup v1 hierarchies missing:%s%s",
				      h->cg.v1_mem ? "" : " memory", h->cg.v1_pids ? "" : " pids");
	} else if (h->cg.v2_mnt) {
		/* the mount point is a host path; map it under --sys-root for fixtures */
		const char *v2_mnt = h->cg.v2_mnt;
		const char *rel = !strncmp(v2_mnt, "/sys/", 5) ? v2_mnt + 5 : NULL;
		cleanup_free char *ctlpath =
		    rel ? xasprintf("%s/cgroup.subtree_control", rel) : NULL;
		cleanup_free char *ctl = rel ? read_small(h->sys, ctlpath) : NULL;
		if (rel && ctl) {
			const char *need[] = {"memory", "pids", "cpu"};
			bwk_strbuf sb;
			bwk_strbuf_init(&sb, 256);
			for (int i = 0; i < 3; i++) {
				bool found = false;
				cleanup_free char *copy = xstrdup(ctl);
				char *s2 = NULL;
				for (char *t = strtok_r(copy, " ", &s2); t;
				     t = strtok_r(NULL, " ", &s2))
					found |= !strcmp(t, need[i]);
				if (!found)
					bwk_strbuf_printf(&sb, " %s", need[i]);
			}
			bwk_findings_fact(h->out, "host.cgroup", "v2 (unified), controllers: %s",
					  ctl);
			char *m = bwk_strbuf_steal(&sb);
			if (*m)
				missing = xasprintf("not enabled in the root "
						    "cgroup.subtree_control:%s",
						    m);
			free(m);
		}
	}
	return missing ? add(h, r, "cgroup", missing, err) : 0;
}

static int ck_varlib(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	cleanup_free char *dr = aud_opt_rooted(h->o, "/var/lib/docker");
	cleanup_free char *parent = aud_opt_rooted(h->o, "/var/lib");
	struct stat a, b;
	if (stat(dr, &a) < 0 || stat(parent, &b) < 0) {
		bwk_findings_check(h->out, r, BWK_CHECK_SKIP, "no /var/lib/docker");
		return 0;
	}
	bwk_findings_check(h->out, r, BWK_CHECK_PASS, NULL);
	if (a.st_dev != b.st_dev)
		return 0;
	return add(h, r, "/var/lib/docker", "/var/lib/docker is on the same filesystem as /var/lib",
		   err);
}

/* The upstream version behind a distribution kernel's release string (docs/data.md). */
static char *kernel_version(host_ctx *h, bool *ubuntu, const char **source)
{
	*ubuntu = false;
	cleanup_free char *sig = read_small(h->proc, "version_signature");
	if (sig) {
		*ubuntu = true;
		const char *last = strrchr(sig, ' ');
		if (last && last[1]) {
			*source = "/proc/version_signature";
			return xstrdup(last + 1);
		}
	}
	const char *osrel = h->osrel;
	if (osrel && (strstr(osrel, "\nID=ubuntu") || !strncmp(osrel, "ID=ubuntu", 9)))
		*ubuntu = true;
	cleanup_free char *ver = read_small(h->proc, "version");
	const char *deb = ver ? strstr(ver, " Debian ") : NULL;
	if (deb) {
		*source = "the Debian version in /proc/version";
		return xstrndup(deb + 8, strcspn(deb + 8, " "));
	}
	char *rel = read_small(h->proc, "sys/kernel/osrelease");
	if (rel) {
		*source = "/proc/sys/kernel/osrelease";
		return rel;
	}
	struct utsname u;
	if (uname(&u) == 0) {
		*source = "uname";
		return xstrdup(u.release);
	}
	return NULL;
}

/* The kernel's version against the CVE table; a CVE whose precondition the checks above found
 * disabled is reported as such (they ran first: the table is in that order). */
static int ck_kcves(host_ctx *h, const bwk_rule *r, bwk_error **err)
{
	if (read_long(h->proc, "sys/kernel/io_uring_disabled", -1) == 2)
		h->absent[h->nabsent++] = "io_uring";
	h->absent[h->nabsent] = NULL;
	cve_table t;
	if (aud_cve_table_load("kernel-cves.yaml", aud_opt_data_dir(h->o), &t, err) < 0)
		return -1;
	bool ubuntu;
	const char *source = NULL;
	cleanup_free char *kv = kernel_version(h, &ubuntu, &source);
	int rc = 0;
	if (kv) {
		/* Ubuntu-only entries (docs/data.md) are dropped on other distributions */
		cve_table view = t;
		cleanup_free cve_entry *keep = xcalloc(t.n + 1, sizeof(*keep));
		view.e = keep;
		view.n = 0;
		for (size_t i = 0; i < t.n; i++)
			if (ubuntu || !t.e[i].note || strncmp(t.e[i].note, "Ubuntu-specific:", 16))
				keep[view.n++] = t.e[i];
		cleanup_free char *key = xasprintf("kernel %s (from %s)", kv, source);
		bwk_findings_fact(h->out, "host.kernel.upstream", "%s (from %s)", kv, source);
		size_t before = bwk_findings_count(h->out);
		rc = aud_cve_report(&view, NULL, kv, h->absent, BWK_CAT_HOST, "host", key, h->out,
				    err);
		bwk_findings_check(h->out, r,
				   bwk_findings_count(h->out) > before ? BWK_CHECK_FAIL
								       : BWK_CHECK_PASS,
				   "%zu CVEs checked against %s", view.n, kv);
	} else {
		bwk_findings_check(h->out, r, BWK_CHECK_SKIP, "kernel version unknown");
	}
	aud_cve_table_free(&t);
	return rc;
}

/* The host rules. */
static const host_rule table[] = {
    {.meta = BWK_RULE(
	 "host-unprivileged-userns", BWK_CAT_HOST, BWK_SEV_LOW,
	 .title = "Unprivileged user namespaces enabled",
	 .description =
	     "Any local user (and any container whose seccomp profile allows unshare) can create "
	     "user namespaces and reach kernel code normally reserved for root: many recent kernel "
	     "privilege escalations (nf_tables, overlayfs) start there.",
	 .remediation =
	     "If nothing needs them (rootless containers, browsers' sandboxes do), set "
	     "user.max_user_namespaces=0 (or kernel.unprivileged_userns_clone=0 on Debian/Ubuntu).",
	 .references = BWK_REFS(KDOC)),
     .check = ck_userns},
    {.meta = BWK_RULE(
	 "host-unprivileged-bpf", BWK_CAT_HOST, BWK_SEV_MEDIUM,
	 .title = "Unprivileged eBPF allowed",
	 .description = "Unprivileged users can load eBPF programs; verifier bugs (CVE-2020-8835, "
			"CVE-2021-3490 …) turn that into kernel read/write.",
	 .remediation = "Set kernel.unprivileged_bpf_disabled=1 (or 2).",
	 .references = BWK_REFS(KDOC)),
     .check = ck_bpf},
    {.meta = BWK_RULE("host-kptr-restrict", BWK_CAT_HOST, BWK_SEV_LOW,
		      .title = "Kernel pointers visible (kptr_restrict=0)",
		      .description = "Kernel addresses in /proc leak to unprivileged processes, "
				     "defeating KASLR for exploits.",
		      .remediation = "Set kernel.kptr_restrict=1 (or 2).",
		      .references = BWK_REFS(KDOC)),
     .check = ck_kptr},
    {.meta = BWK_RULE("host-dmesg-restrict", BWK_CAT_HOST, BWK_SEV_LOW,
		      .title = "Kernel log readable (dmesg_restrict=0)",
		      .description = "Unprivileged processes can read the kernel log, which leaks "
				     "addresses and hardware details useful to exploits.",
		      .remediation = "Set kernel.dmesg_restrict=1.", .references = BWK_REFS(KDOC)),
     .check = ck_dmesg},
    {.meta = BWK_RULE(
	 "host-protected-links", BWK_CAT_HOST, BWK_SEV_MEDIUM,
	 .title = "Symlink/hardlink protection off",
	 .description =
	     "Without fs.protected_symlinks/protected_hardlinks, link races in world-writable "
	     "directories let users redirect privileged processes' file operations.",
	 .remediation = "Set fs.protected_symlinks=1 and fs.protected_hardlinks=1.",
	 .references = BWK_REFS("https://docs.kernel.org/admin-guide/sysctl/fs.html")),
     .check = ck_links},
    {.meta = BWK_RULE(
	 "host-protected-fifos", BWK_CAT_HOST, BWK_SEV_LOW,
	 .title = "FIFO/regular-file protection off",
	 .description = "Without fs.protected_fifos/protected_regular, O_CREAT opens in sticky "
			"world-writable directories can be hijacked by other users' files.",
	 .remediation = "Set fs.protected_fifos=1 (or 2) and fs.protected_regular=1 (or 2).",
	 .references = BWK_REFS("https://docs.kernel.org/admin-guide/sysctl/fs.html")),
     .check = ck_fifos},
    {.meta = BWK_RULE(
	 "host-ptrace-scope", BWK_CAT_HOST, BWK_SEV_LOW, .title = "ptrace unrestricted (Yama)",
	 .description = "Any process can trace any other process of the same user: one compromised "
			"process reads the memory (keys, tokens) of all the others.",
	 .remediation = "Enable the Yama LSM and set kernel.yama.ptrace_scope=1 (or higher).",
	 .references = BWK_REFS("https://docs.kernel.org/admin-guide/LSM/Yama.html")),
     .check = ck_ptrace},
    {.meta = BWK_RULE(
	 "host-seccomp-unavailable", BWK_CAT_HOST, BWK_SEV_HIGH, .title = "Kernel without seccomp",
	 .description = "Container runtimes cannot filter system calls: every container can reach "
			"every syscall of the host kernel.",
	 .remediation = "Use a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER.",
	 .references = BWK_REFS("https://docs.docker.com/engine/security/seccomp/")),
     .check = ck_seccomp},
    {.meta = BWK_RULE(
	 "host-no-lsm", BWK_CAT_HOST, BWK_SEV_MEDIUM, .title = "No AppArmor or SELinux enforcement",
	 .description =
	     "Neither AppArmor nor an enforcing SELinux is active, so container runtimes "
	     "apply no mandatory access control profile; /proc and /sys writes and "
	     "mounts that the default profiles block stay possible.",
	 .remediation =
	     "Enable AppArmor (Debian/Ubuntu) or SELinux in enforcing mode (Fedora/RHEL).",
	 .references = BWK_REFS(CIS("5.1"), CIS("5.2"))),
     .check = ck_lsm},
    {.meta = BWK_RULE(
	 "host-cgroup-v1", BWK_CAT_HOST, BWK_SEV_LOW, .title = "cgroup v1 in use",
	 .description =
	     "cgroup v1 hierarchies carry the release_agent escape (CVE-2022-0492) and cannot be "
	     "delegated safely to rootless containers; v2 is the maintained interface.",
	 .remediation = "Boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2 only).",
	 .references = BWK_REFS("https://docs.kernel.org/admin-guide/cgroup-v2.html")),
     .check = ck_cgv1},
    {.meta = BWK_RULE(
	 "host-cgroup-controllers", BWK_CAT_HOST, BWK_SEV_MEDIUM,
	 .title = "cgroup controllers not available",
	 .description = "Without the memory, pids and cpu controllers available for delegation, "
			"container limits cannot be enforced: one container can exhaust the host.",
	 .remediation = "Enable the controllers (cgroup v2: echo +memory +pids +cpu > "
			"/sys/fs/cgroup/cgroup.subtree_control; v1: mount the hierarchies).",
	 .references = BWK_REFS(CIS("5.11"), CIS("5.29"))),
     .check = ck_cgctl},
    {.meta = BWK_RULE(
	 "host-docker-root-shared-fs", BWK_CAT_HOST, BWK_SEV_LOW,
	 .title = "/var/lib/docker on the root filesystem",
	 .description = "Images, container layers and logs share the root filesystem: a container "
			"that fills its writable layer or log fills the host's disk.",
	 .remediation = "Put /var/lib/docker on its own filesystem (partition or LVM volume).",
	 .references = BWK_REFS(CIS("1.1.1"))),
     .check = ck_varlib},
    /* The check behind the kernel CVE findings (they carry the CVE ids): listed so that
     * `bulwark rules host-kernel-cves` explains the check a report shows. */
    {.meta = BWK_RULE(
	 "host-kernel-cves", BWK_CAT_HOST, BWK_SEV_HIGH,
	 .title = "Kernel affected by known container-escape CVEs",
	 .description = "The host kernel's upstream version is matched against a table of kernel "
			"vulnerabilities that containers have used to escape (Dirty COW, Dirty "
			"Pipe, nf_tables, overlayfs …); each match is reported under its CVE id.",
	 .remediation = "Update the kernel to a release with the fix (the finding names the fixed "
			"version) and reboot.",
	 .references = BWK_REFS("https://www.cve.org")),
     .check = ck_kcves},
};

const bwk_rule *aud_host_rule(size_t i)
{
	return i < sizeof(table) / sizeof(table[0]) ? &table[i].meta : NULL;
}

/* The host's /etc/os-release (under --root), NULL if absent: read once, for the distribution
 * fact and the Ubuntu-only CVE entries. */
static char *read_os_release(const bwk_audit_opts *o)
{
	cleanup_free char *osr = aud_opt_rooted(o, "/etc/os-release");
	char *data = NULL;
	size_t len;
	bwk_error *e = NULL;
	if (bwk_read_file_at(AT_FDCWD, osr, 64 * 1024, true, &data, &len, &e) < 0) {
		bwk_error_free(e);
		return NULL;
	}
	return data;
}

/* PRETTY_NAME of os-release, unquoted; NULL if absent. */
static char *os_name(const char *data)
{
	for (const char *line = data; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "PRETTY_NAME=", 12))
			continue;
		const char *v = line + 12;
		size_t n = strcspn(v, "\n");
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		return xstrndup(v, n);
	}
	return NULL;
}

int bwk_audit_host(const bwk_audit_opts *o, bwk_findings *out, bwk_error **err)
{
	cleanup_with(host_ctx_clear) host_ctx h = {.o = o,
						   .proc = aud_opt_proc_root(o),
						   .sys = aud_opt_sys_root(o),
						   .out = out,
						   .osrel = read_os_release(o)};
	{
		cleanup_free char *rel = read_small(h.proc, "sys/kernel/osrelease");
		struct utsname u;
		bwk_findings_fact(out, "host.kernel", "%s",
				  rel		   ? rel
				  : uname(&u) == 0 ? u.release
						   : "unknown");
		cleanup_free char *os = os_name(h.osrel);
		bwk_findings_fact(out, "host.os", "%s", os ? os : "unknown (no /etc/os-release)");
	}
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].check(&h, &table[i].meta, err) < 0)
			return -1;
	return 0;
}
