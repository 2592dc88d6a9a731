/* The cgroup of an OCI container (linux.cgroupsPath and linux.resources), on cgroup v2 and on
 * v1 hierarchies: created by `create` before the init's first instruction, the init attached
 * to it, removed by `delete`. Device rules are written on v1 (devices.allow/deny); on v2 the
 * device filter would be an eBPF program, which is not done yet (docs/oci-runtime.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/oci_rt_private.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_MOUNT "/sys/fs/cgroup"

static int cg_write(const char *dir, const char *file, const char *val, bwk_error **err)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = strlen(val);
	if (fd < 0 || write(fd, val, n) != (ssize_t)n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: writing '%s' to %s", val,
				     path);
	return 0;
}

static int cg_writef(const char *dir, const char *file, bwk_error **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cg_writef(const char *dir, const char *file, bwk_error **err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return cg_write(dir, file, buf, err);
}

static bool has_file(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* The first line of a small cgroup file, without its newline; -1 when unreadable. */
static int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* mkdir -p of `rel` (no "..", checked by the caller) below `base`. */
static int mkdir_below(const char *base, const char *rel, char *out, size_t outlen, bwk_error **err)
{
	int n = snprintf(out, outlen, "%s", base);
	const char *p = rel;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, "/");
		n += snprintf(out + n, outlen - (size_t)n, "/%.*s", (int)len, p);
		if ((size_t)n >= outlen)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "cgroup path too long: %s", rel);
		if (mkdir(out, 0755) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: mkdir %s", out);
		p += len;
	}
	return 0;
}

/* A new cpuset cgroup starts with no cpus and no mems (unless its parent has clone_children):
 * each level of `dir` below `base` that has none gets its parent's, as runc and crun do. */
static int cpuset_inherit(const char *base, const char *dir, bwk_error **err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char parent[PATH_MAX], cur[PATH_MAX];
	size_t blen = strlen(base);
	snprintf(parent, sizeof parent, "%s", base);
	const char *p = dir + blen;
	while (*p) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (!len)
			break;
		snprintf(cur, sizeof cur, "%.*s", (int)(p + len - dir), dir);
		for (size_t i = 0; i < 2; i++) {
			char mine[4096] = "", theirs[4096] = "";
			if (cg_read(cur, files[i], mine, sizeof mine) == 0 && *mine)
				continue;
			if (cg_read(parent, files[i], theirs, sizeof theirs) < 0 || !*theirs)
				continue;
			if (cg_write(cur, files[i], theirs, err) < 0)
				return -1;
		}
		snprintf(parent, sizeof parent, "%s", cur);
		p += len;
	}
	return 0;
}

/* linux.resources.blockIO on v1: the proportional weights need the CFQ or BFQ scheduler (the
 * file is then blkio.weight or blkio.bfq.weight); a weight the kernel cannot apply is an
 * error, as in crun, not a silently ignored limit. */
static int blkio_v1(const char *dir, const bwk_oci_resources *r, bwk_error **err)
{
	static const char *const tfile[4] = {
	    "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	    "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
	const char *wfile = has_file(dir, "blkio.weight")	? "blkio.weight"
			    : has_file(dir, "blkio.bfq.weight") ? "blkio.bfq.weight"
								: NULL;
	const char *wdev = !wfile			    ? NULL
			   : !strcmp(wfile, "blkio.weight") ? "blkio.weight_device"
							    : "blkio.bfq.weight_device";
	bool weights = r->block_io.weight.set || r->block_io.leaf_weight.set;
	for (size_t i = 0; i < r->block_io.n_weight_device; i++)
		weights |= r->block_io.weight_device[i].weight.set ||
			   r->block_io.weight_device[i].leaf_weight.set;
	if (weights && !wfile)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "linux.resources.blockIO: %s has neither blkio.weight nor "
				     "blkio.bfq.weight (no CFQ or BFQ I/O scheduler): the weights "
				     "cannot be applied",
				     dir);
	if (r->block_io.weight.set &&
	    cg_writef(dir, wfile, err, "%" PRIu64, r->block_io.weight.v) < 0)
		return -1;
	if (r->block_io.leaf_weight.set &&
	    cg_writef(dir, "blkio.leaf_weight", err, "%" PRIu64, r->block_io.leaf_weight.v) < 0)
		return -1;
	for (size_t i = 0; i < r->block_io.n_weight_device; i++) {
		const bwk_oci_weight_dev *w = &r->block_io.weight_device[i];
		if (w->weight.set && cg_writef(dir, wdev, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
					       w->major, w->minor, w->weight.v) < 0)
			return -1;
		if (w->leaf_weight.set && cg_writef(dir, "blkio.leaf_weight_device", err,
						    "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
						    w->minor, w->leaf_weight.v) < 0)
			return -1;
	}
	for (int k = 0; k < 4; k++)
		for (size_t i = 0; i < r->block_io.n_throttle[k]; i++) {
			const bwk_oci_throttle *t = &r->block_io.throttle[k][i];
			if (cg_writef(dir, tfile[k], err, "%" PRId64 ":%" PRId64 " %" PRIu64,
				      t->major, t->minor, t->rate) < 0)
				return -1;
		}
	return 0;
}

static int64_t swap_total(const bwk_oci_resources *r)
{
	return r->memory.swap.set ? r->memory.swap.v : 0;
}

/* As runc: a zero limit, share, period or quota means "not set" (engines send every field,
 * docker update included). */
static bwk_oci_resources nonzero(const bwk_oci_resources *in)
{
	bwk_oci_resources r = *in;
	r.memory.limit.set &= r.memory.limit.v != 0;
	r.memory.swap.set &= r.memory.swap.v != 0;
	r.memory.reservation.set &= r.memory.reservation.v != 0;
	r.pids_limit.set &= r.pids_limit.v != 0;
	r.cpu.shares.set &= r.cpu.shares.v != 0;
	r.cpu.period.set &= r.cpu.period.v != 0;
	r.cpu.quota.set &= r.cpu.quota.v != 0;
	r.block_io.weight.set &= r.block_io.weight.v != 0;
	r.block_io.leaf_weight.set &= r.block_io.leaf_weight.v != 0;
	return r;
}

static int apply_v1(const char *ctrl, const char *dir, const bwk_oci_resources *in, bwk_error **err)
{
	bwk_oci_resources nz = nonzero(in);
	const bwk_oci_resources *r = &nz;
	if (!r->set)
		return 0;
	if (!strcmp(ctrl, "memory")) {
		if (r->memory.limit.set &&
		    cg_writef(dir, "memory.limit_in_bytes", err, "%" PRId64, r->memory.limit.v) < 0)
			return -1;
		if (r->memory.swap.set && has_file(dir, "memory.memsw.limit_in_bytes") &&
		    cg_writef(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, swap_total(r)) <
			0)
			return -1;
		if (r->memory.reservation.set && cg_writef(dir, "memory.soft_limit_in_bytes", err,
							   "%" PRId64, r->memory.reservation.v) < 0)
			return -1;
		/* kernel memory: deprecated, and refused (EOPNOTSUPP) by kernels since 5.16, where
		 * runc and crun ignore it too; the TCP buffer limit still exists */
		if (r->memory.kernel.set && r->memory.kernel.v)
			cg_writef(dir, "memory.kmem.limit_in_bytes", NULL, "%" PRId64,
				  r->memory.kernel.v);
		if (r->memory.kernel_tcp.set && r->memory.kernel_tcp.v &&
		    cg_writef(dir, "memory.kmem.tcp.limit_in_bytes", err, "%" PRId64,
			      r->memory.kernel_tcp.v) < 0)
			return -1;
		if (r->memory.swappiness.set && r->memory.swappiness.v <= 100 &&
		    cg_writef(dir, "memory.swappiness", err, "%" PRIu64, r->memory.swappiness.v) <
			0)
			return -1;
		if (r->memory.disable_oom_killer &&
		    cg_write(dir, "memory.oom_control", "1", err) < 0)
			return -1;
	} else if (!strcmp(ctrl, "pids")) {
		if (r->pids_limit.set) {
			int rc = r->pids_limit.v > 0
				     ? cg_writef(dir, "pids.max", err, "%" PRId64, r->pids_limit.v)
				     : cg_write(dir, "pids.max", "max", err);
			if (rc < 0)
				return -1;
		}
	} else if (!strcmp(ctrl, "blkio")) {
		if (blkio_v1(dir, r, err) < 0)
			return -1;
	} else if (!strcmp(ctrl, "net_cls")) {
		if (r->network.class_id.set &&
		    cg_writef(dir, "net_cls.classid", err, "%" PRIu64, r->network.class_id.v) < 0)
			return -1;
	} else if (!strcmp(ctrl, "net_prio")) {
		for (size_t i = 0; i < r->network.n_priorities; i++)
			if (cg_writef(dir, "net_prio.ifpriomap", err, "%s %" PRIu32,
				      r->network.priorities[i].name,
				      r->network.priorities[i].priority) < 0)
				return -1;
	} else if (!strcmp(ctrl, "hugetlb")) {
		for (size_t i = 0; i < r->n_hugepage_limits; i++) {
			char f[128];
			snprintf(f, sizeof f, "hugetlb.%s.limit_in_bytes",
				 r->hugepage_limits[i].page_size);
			if (strchr(r->hugepage_limits[i].page_size, '/') ||
			    cg_writef(dir, f, NULL, "%" PRIu64, r->hugepage_limits[i].limit) < 0)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "linux.resources.hugepageLimits: page size "
						     "'%s': no %s/%s",
						     r->hugepage_limits[i].page_size, dir, f);
		}
	} else if (!strcmp(ctrl, "cpuset")) {
		if (r->cpu.cpus && *r->cpu.cpus &&
		    cg_write(dir, "cpuset.cpus", r->cpu.cpus, err) < 0)
			return -1;
		if (r->cpu.mems && *r->cpu.mems &&
		    cg_write(dir, "cpuset.mems", r->cpu.mems, err) < 0)
			return -1;
	} else if (!strcmp(ctrl, "cpu")) {
		if (r->cpu.shares.set &&
		    cg_writef(dir, "cpu.shares", err, "%" PRIu64, r->cpu.shares.v) < 0)
			return -1;
		if (r->cpu.period.set &&
		    cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu.period.v) < 0)
			return -1;
		if (r->cpu.quota.set &&
		    cg_writef(dir, "cpu.cfs_quota_us", err, "%" PRId64, r->cpu.quota.v) < 0)
			return -1;
		/* the real-time budget: the period first, which bounds the runtime */
		if (r->cpu.realtime_period.set && r->cpu.realtime_period.v &&
		    cg_writef(dir, "cpu.rt_period_us", err, "%" PRIu64, r->cpu.realtime_period.v) <
			0)
			return -1;
		if (r->cpu.realtime_runtime.set && r->cpu.realtime_runtime.v &&
		    cg_writef(dir, "cpu.rt_runtime_us", err, "%" PRId64,
			      r->cpu.realtime_runtime.v) < 0)
			return -1;
	} else if (!strcmp(ctrl, "devices")) {
		for (size_t i = 0; i < r->n_devices; i++) {
			const bwk_oci_dev_rule *d = &r->devices[i];
			char rule[96], maj[24] = "*", min[24] = "*";
			if (d->major.set && d->major.v >= 0)
				snprintf(maj, sizeof maj, "%" PRId64, d->major.v);
			if (d->minor.set && d->minor.v >= 0)
				snprintf(min, sizeof min, "%" PRId64, d->minor.v);
			const char *type = d->type && *d->type ? d->type : "a";
			const char *acc = d->access && *d->access ? d->access : "rwm";
			if (!strcmp(type, "a"))
				snprintf(rule, sizeof rule, "a");
			else
				snprintf(rule, sizeof rule, "%s %s:%s %s", type, maj, min, acc);
			if (cg_write(dir, d->allow ? "devices.allow" : "devices.deny", rule, err) <
			    0)
				return -1;
		}
		/* what every runc container may use whatever its spec says (engines rely on it:
		 * Docker's rules do not list the pty devices): mknod of any node, the standard
		 * character devices, the ptys, /dev/ptmx and /dev/net/tun */
		static const char *const always[] = {"c *:* m",	  "b *:* m",	 "c 1:3 rwm",
						     "c 1:5 rwm", "c 1:7 rwm",	 "c 1:8 rwm",
						     "c 1:9 rwm", "c 5:0 rwm",	 "c 5:1 rwm",
						     "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"};
		for (size_t i = 0; r->n_devices && i < sizeof always / sizeof *always; i++)
			if (cg_write(dir, "devices.allow", always[i], err) < 0)
				return -1;
	}
	return 0;
}

static int apply_v2(const char *dir, const bwk_oci_resources *in, bwk_error **err)
{
	bwk_oci_resources nz = nonzero(in);
	const bwk_oci_resources *r = &nz;
	if (!r->set)
		return 0;
	if (r->memory.limit.set) {
		int rc = r->memory.limit.v > 0
			     ? cg_writef(dir, "memory.max", err, "%" PRId64, r->memory.limit.v)
			     : cg_write(dir, "memory.max", "max", err);
		if (rc < 0)
			return -1;
		if (r->memory.swap.set && r->memory.swap.v > 0 &&
		    has_file(dir, "memory.swap.max") &&
		    cg_writef(dir, "memory.swap.max", err, "%" PRId64,
			      swap_total(r) > r->memory.limit.v ? swap_total(r) - r->memory.limit.v
								: 0) < 0)
			return -1;
	}
	if (r->memory.reservation.set &&
	    cg_writef(dir, "memory.low", err, "%" PRId64, r->memory.reservation.v) < 0)
		return -1;
	if (r->pids_limit.set) {
		int rc = r->pids_limit.v > 0
			     ? cg_writef(dir, "pids.max", err, "%" PRId64, r->pids_limit.v)
			     : cg_write(dir, "pids.max", "max", err);
		if (rc < 0)
			return -1;
	}
	if (r->cpu.shares.set && r->cpu.shares.v >= 2) {
		/* runc's conversion of v1 shares [2, 262144] to a v2 weight [1, 10000] */
		uint64_t w = 1 + ((r->cpu.shares.v - 2) * 9999) / 262142;
		if (cg_writef(dir, "cpu.weight", err, "%" PRIu64, w > 10000 ? 10000 : w) < 0)
			return -1;
	}
	if (r->cpu.quota.set || r->cpu.period.set) {
		uint64_t period = r->cpu.period.set ? r->cpu.period.v : 100000;
		int rc = r->cpu.quota.set && r->cpu.quota.v > 0
			     ? cg_writef(dir, "cpu.max", err, "%" PRId64 " %" PRIu64,
					 r->cpu.quota.v, period)
			     : cg_writef(dir, "cpu.max", err, "max %" PRIu64, period);
		if (rc < 0)
			return -1;
	}
	if (r->network.class_id.set || r->network.n_priorities)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "linux.resources.network: cgroup v2 has no net_cls/net_prio "
				     "controller");
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		char f[128];
		snprintf(f, sizeof f, "hugetlb.%s.max", r->hugepage_limits[i].page_size);
		if (strchr(r->hugepage_limits[i].page_size, '/') ||
		    cg_writef(dir, f, NULL, "%" PRIu64, r->hugepage_limits[i].limit) < 0)
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "linux.resources.hugepageLimits: page size '%s': "
					     "no %s/%s (hugetlb controller enabled?)",
					     r->hugepage_limits[i].page_size, dir, f);
	}
	for (size_t i = 0; i < r->unified.n; i++) {
		const char *k = r->unified.v[i].key;
		if (strchr(k, '/') || !strcmp(k, ".") || !strcmp(k, "..") || !strchr(k, '.'))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "linux.resources.unified: '%s' is not a cgroup file",
					     k);
		if (cg_write(dir, k, r->unified.v[i].value, err) < 0)
			return -1;
	}
	return 0;
}

static int cgroup_rel(const bwk_oci_spec *s, const char *id, bool systemd, char *rel, size_t len,
		      bwk_error **err)
{
	const char *p = s->linux_.cgroups_path;
	rel[0] = 0;
	if (systemd)
		return ocirt_systemd_scope(p, id, rel, len, err);
	if (!p || !*p)
		snprintf(rel, len, "/bulwark/%s", id);
	else if (snprintf(rel, len, "%s%s", p[0] == '/' ? "" : "/", p) >= (int)len)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "linux.cgroupsPath is too long");
	if (strstr(rel, "/../") || bwk_str_endswith(rel, "/..") || strchr(rel, ':'))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.cgroupsPath '%s': not a cgroupfs path (no '..'; "
				     "'slice:prefix:name' needs %s)",
				     p, bwk_setting("systemd-cgroup", "the systemd cgroup driver"));
	return 0;
}

int ocirt_cgroup_create(const bwk_oci_spec *s, const char *id, bool systemd, ocirt_cgroup *cg,
			bwk_error **err)
{
	memset(cg, 0, sizeof *cg);
	char rel[PATH_MAX / 2];
	if (cgroup_rel(s, id, systemd, rel, sizeof rel, err) < 0)
		return -1;
	struct statfs sf;
	if (statfs(CG_MOUNT, &sf) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: %s", CG_MOUNT);
	char dir[PATH_MAX];
	const bwk_oci_resources *r = &s->linux_.resources;
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		cg->v2 = true;
		/* enable the controllers along the way (errors: a controller the host lacks) */
		int n = snprintf(dir, sizeof dir, "%s", CG_MOUNT);
		const char *p = rel;
		while (*p) {
			while (*p == '/')
				p++;
			size_t len = strcspn(p, "/");
			if (!len)
				break;
			cg_write(dir, "cgroup.subtree_control", "+cpu +memory +pids +io", NULL);
			n += snprintf(dir + n, sizeof dir - (size_t)n, "/%.*s", (int)len, p);
			if (mkdir(dir, 0755) < 0 && errno != EEXIST)
				return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: mkdir %s",
						     dir);
			p += len;
		}
		cg->dirs[cg->n++] = xstrdup(dir);
		return apply_v2(dir, r, err) < 0 ? (ocirt_cgroup_destroy(cg), -1) : 0;
	}
	/* v1: the controllers bulwark limits or tracks through (pids first: kill --all reads it) */
	static const char *const ctrls[] = {"pids",    "memory",   "cpu",     "cpuacct",
					    "cpuset",  "devices",  "freezer", "blkio",
					    "net_cls", "net_prio", "hugetlb"};
	/* what the spec asks of a controller the host may not have mounted */
	bool need[sizeof ctrls / sizeof *ctrls] = {0};
	need[8] = r->network.class_id.set;
	need[9] = r->network.n_priorities > 0;
	need[10] = r->n_hugepage_limits > 0;
	char seen[OCIRT_MAX_CGROUPS][PATH_MAX];
	size_t nseen = 0;
	for (size_t i = 0; i < sizeof ctrls / sizeof *ctrls; i++) {
		char mnt[PATH_MAX], real[PATH_MAX];
		snprintf(mnt, sizeof mnt, "%s/%s", CG_MOUNT, ctrls[i]);
		if (!realpath(mnt, real)) {
			if (!need[i])
				continue;
			ocirt_cgroup_destroy(cg);
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "linux.resources.%s: the %s cgroup controller is not "
					     "mounted (%s)",
					     i == 10 ? "hugepageLimits" : "network", ctrls[i], mnt);
		}
		size_t dup = nseen;
		for (size_t j = 0; j < nseen; j++)
			if (!strcmp(seen[j], real))
				dup = j;
		if (dup < nseen) { /* co-mounted (cpu,cpuacct; net_cls,net_prio): same directory */
			if (apply_v1(ctrls[i], cg->dirs[dup], r, err) < 0) {
				ocirt_cgroup_destroy(cg);
				return -1;
			}
			continue;
		}
		snprintf(seen[nseen++], PATH_MAX, "%s", real);
		if (mkdir_below(real, rel, dir, sizeof dir, err) < 0 ||
		    (!strcmp(ctrls[i], "cpuset") && cpuset_inherit(real, dir, err) < 0) ||
		    apply_v1(ctrls[i], dir, r, err) < 0) {
			ocirt_cgroup_destroy(cg);
			return -1;
		}
		cg->dirs[cg->n++] = xstrdup(dir);
	}
	if (!cg->n)
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "cgroup: no controller under %s",
				     CG_MOUNT);
	return 0;
}

int ocirt_cgroup_attach(const ocirt_cgroup *cg, pid_t pid, bwk_error **err)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg_writef(cg->dirs[i], "cgroup.procs", err, "%d", (int)pid) < 0)
			return -1;
	return 0;
}

int ocirt_cgroup_signal(const ocirt_cgroup *cg, int sig)
{
	if (!cg->n)
		return 0;
	if (cg->v2 && sig == SIGKILL && has_file(cg->dirs[0], "cgroup.kill"))
		if (cg_write(cg->dirs[0], "cgroup.kill", "1", NULL) == 0)
			return 1;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/cgroup.procs", cg->dirs[0]);
	cleanup_file FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int n = 0, pid;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0 && kill(pid, sig) == 0)
			n++;
	return n;
}

size_t ocirt_cgroup_pids(const ocirt_cgroup *cg, pid_t *pids, size_t max)
{
	if (!cg->n)
		return 0;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/cgroup.procs", cg->dirs[0]);
	cleanup_file FILE *f = fopen(path, "re");
	size_t n = 0;
	int pid;
	while (f && n < max && fscanf(f, "%d", &pid) == 1)
		if (pid > 0)
			pids[n++] = pid;
	return n;
}

void ocirt_cgroup_destroy(ocirt_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		/* the last processes may still be exiting */
		for (int t = 0; t < 200 && rmdir(cg->dirs[i]) < 0 && errno == EBUSY; t++) {
			ocirt_cgroup_signal(
			    &(ocirt_cgroup){.v2 = cg->v2, .dirs = {cg->dirs[i]}, .n = 1}, SIGKILL);
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		}
	}
	ocirt_cgroup_free(cg);
}

void ocirt_cgroup_free(ocirt_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		free(cg->dirs[i]);
	cg->n = 0;
}

/* The freezer of the container: v1 freezer.state, v2 cgroup.freeze; NULL dir when none. */
static const char *freezer_dir(const ocirt_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->v2 || strstr(cg->dirs[i], "/freezer/"))
			return cg->dirs[i];
	return NULL;
}

int ocirt_cgroup_freeze(const ocirt_cgroup *cg, bool freeze, bwk_error **err)
{
	const char *d = freezer_dir(cg);
	if (!d)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "pause: the container has no freezer cgroup");
	if (cg->v2 ? cg_write(d, "cgroup.freeze", freeze ? "1" : "0", err) < 0
		   : cg_write(d, "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
		return -1;
	for (int t = 0; t < 1000; t++) { /* the kernel freezes task by task */
		if (ocirt_cgroup_frozen(cg) == freeze)
			return 0;
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
	return bwk_error_set(err, BWK_E_RUNTIME, ETIMEDOUT, "cgroup %s: %s did not finish", d,
			     freeze ? "freezing" : "thawing");
}

bool ocirt_cgroup_frozen(const ocirt_cgroup *cg)
{
	const char *d = freezer_dir(cg);
	if (!d)
		return false;
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s", d, cg->v2 ? "cgroup.events" : "freezer.state");
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char big[512];
	ssize_t n = read(fd, big, sizeof big - 1);
	if (n <= 0)
		return false;
	big[n] = 0;
	if (cg->v2)
		return strstr(big, "frozen 1") != NULL;
	return !strncmp(big, "FROZEN", 6);
}

int ocirt_cgroup_update(const ocirt_cgroup *cg, const bwk_oci_resources *r, bwk_error **err)
{
	bwk_oci_resources nodev = *r;
	nodev.n_devices = 0; /* device rules are the container's for its life, as with runc */
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->v2) {
			if (apply_v2(cg->dirs[i], &nodev, err) < 0)
				return -1;
			continue;
		}
		/* /sys/fs/cgroup/CTRL[,CTRL…]/… */
		const char *d = cg->dirs[i] + strlen(CG_MOUNT "/");
		char ctrls[128];
		snprintf(ctrls, sizeof ctrls, "%.*s", (int)strcspn(d, "/"), d);
		char *save = NULL;
		for (char *c = strtok_r(ctrls, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			if (apply_v1(c, cg->dirs[i], &nodev, err) == 0)
				continue;
			/* v1 memory: memsw may have to move before the limit can */
			if (strcmp(c, "memory") || !r->memory.swap.set)
				return -1;
			bwk_error_free(*err);
			*err = NULL;
			if (cg_writef(cg->dirs[i], "memory.memsw.limit_in_bytes", err, "%" PRId64,
				      swap_total(r)) < 0 ||
			    apply_v1(c, cg->dirs[i], &nodev, err) < 0)
				return -1;
		}
	}
	return 0;
}
