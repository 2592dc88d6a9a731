/* The cgroup of an OCI container (linux.cgroupsPath and linux.resources), on cgroup v2 and on
 * v1 hierarchies: created by `create` before the init's first instruction, joined by create's
 * first child itself before it forks the init (ocirt_cgroup_join_self), removed by `delete`. Device
 * rules are written on v1 (devices.allow/deny); on v2 they are a device filter program
 * (oci_devfilter.c). No syscall takes a built path: the cgroup mounts are opened once and
 * everything below them is reached fd by fd (cg_walk, with the steps of cgroup_fd.c that `bulwark
 * run` uses too). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/oci_rt_private.h"
#include "sandbox/sandbox_private.h"

#define CG_MOUNT "/sys/fs/cgroup"

/* One open cgroup directory and its name (for messages and state.json only: every syscall
 * goes through fd). */
typedef struct cgdir {
	int fd;
	const char *name;
} cgdir;

static int cg_write(const cgdir *d, const char *file, const char *val, bwk_error **err)
{
	return sbx_cg_write(d->fd, d->name, file, val, err);
}

static int cg_writef(const cgdir *d, const char *file, bwk_error **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cg_writef(const cgdir *d, const char *file, bwk_error **err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	/* started above: clang 14's analyzer loses that on some paths into a variadic function */
	vsnprintf(buf, sizeof buf, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	return cg_write(d, file, buf, err);
}

static bool has_file(const cgdir *d, const char *file)
{
	return faccessat(d->fd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The first line of a small cgroup file, without its newline; -1 when unreadable. */
static int cg_read(int dirfd, const char *file, char *buf, size_t len)
{
	cleanup_close int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* What a walk does at each level, with the parent and the child open. */
typedef int (*cg_level_fn)(int parent, const cgdir *child, bwk_error **err);

/* The cgroup `rel` below the open hierarchy root `root` (named `base` in messages), one
 * component at a time: created first when `create`, none "." or "..", no symlink followed,
 * each directory on a cgroup file system. `level` (NULL: none) sees each parent and child on
 * the way. Returns the open leaf (O_RDONLY: bpf takes it), and when `parent` is not NULL its
 * parent in *parent (-1 when rel is empty). */
static int cg_walk(int root, const char *base, const char *rel, bool create, cg_level_fn level,
		   int *parent, bwk_error **err)
{
	char shown[PATH_MAX];
	size_t sn = (size_t)snprintf(shown, sizeof shown, "%s", base);
	cleanup_close int cur = fcntl(root, F_DUPFD_CLOEXEC, 3);
	cleanup_close int up = -1;
	if (cur < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: %s", base);
	for (const char *p = rel; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (!len)
			break;
		char name[NAME_MAX + 1];
		if (len > NAME_MAX)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "cgroup path %s: a name too long",
					     rel);
		memcpy(name, p, len);
		name[len] = 0;
		p += len;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "cgroup path %s: '.' and '..' are not cgroups (one "
					     "name after another below the mount)",
					     rel);
		if (sn < sizeof shown)
			sn += (size_t)snprintf(shown + sn, sizeof shown - sn, "/%s", name);
		int next = sbx_cg_open(cur, name, create ? SBX_CG_MKDIR : 0, shown, err);
		if (next < 0)
			return -1;
		if (level && level(cur, &(cgdir){next, shown}, err) < 0) {
			close(next);
			return -1;
		}
		if (up >= 0)
			close(up);
		up = cur;
		cur = next;
	}
	if (parent) {
		*parent = up;
		up = -1;
	}
	int leaf = cur;
	cur = -1;
	return leaf;
}

/* A cgroup directory from state.json (untrusted as any file): walked below /sys/fs/cgroup. */
static int cg_open_name(const char *dir, int *parent, bwk_error **err)
{
	size_t ml = strlen(CG_MOUNT);
	if (strncmp(dir, CG_MOUNT "/", ml + 1) != 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "cgroup %s: not below %s", dir, CG_MOUNT);
	cleanup_close int root = open(CG_MOUNT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: %s", CG_MOUNT);
	return cg_walk(root, CG_MOUNT, dir + ml, false, NULL, parent, err);
}

/* Directory i of the container's cgroup, open (the caller closes it). */
static int cg_fd(const ocirt_cgroup *cg, size_t i, bwk_error **err)
{
	if (cg->open) {
		int fd = fcntl(cg->fds[i], F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup %s", cg->dirs[i])
			      : fd;
	}
	return cg_open_name(cg->dirs[i], NULL, err);
}

/* v2: the controllers a container limits enabled in each parent on the way down (errors: a
 * controller the host lacks, a parent with processes). */
static int enable_level(int parent, const cgdir *child, bwk_error **err)
{
	(void)err;
	(void)child;
	cg_write(&(cgdir){parent, "the parent cgroup"}, "cgroup.subtree_control",
		 "+cpu +memory +pids +io", NULL);
	return 0;
}

/* the same, and the rdma controller where linux.resources.rdma asks for it (a write of its
 * own: a host without it refuses the whole line, and apply_rdma names what is missing) */
static int enable_level_rdma(int parent, const cgdir *child, bwk_error **err)
{
	cg_write(&(cgdir){parent, "the parent cgroup"}, "cgroup.subtree_control", "+rdma", NULL);
	return enable_level(parent, child, err);
}

/* linux.resources.rdma: one rdma.max line per device, "DEVICE hca_handle=N hca_object=M" (v1
 * and v2 alike), a limit the spec leaves out left as it is (runc's line); refused, naming the
 * property, where the directory has no rdma.max (the controller missing or not enabled). */
static int apply_rdma(const cgdir *dir, const bwk_oci_resources *r, bwk_error **err)
{
	if (r->n_rdma && !has_file(dir, "rdma.max"))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "linux.resources.rdma: the rdma cgroup controller is not "
				     "available (no %s/rdma.max)",
				     dir->name);
	for (size_t i = 0; i < r->n_rdma; i++) {
		const bwk_oci_rdma *e = &r->rdma[i];
		if (!e->hca_handles.set && !e->hca_objects.set)
			continue;
		char h[40] = "", o[40] = "";
		if (e->hca_handles.set)
			snprintf(h, sizeof h, " hca_handle=%" PRIu64, e->hca_handles.v);
		if (e->hca_objects.set)
			snprintf(o, sizeof o, " hca_object=%" PRIu64, e->hca_objects.v);
		if (cg_writef(dir, "rdma.max", err, "%s%s%s", e->device, h, o) < 0)
			return -1;
	}
	return 0;
}

/* v1 cpuset: a new cgroup starts with no cpus and no mems (unless its parent has
 * clone_children): each level that has none gets its parent's, as runc and crun do. */
static int cpuset_level(int parent, const cgdir *child, bwk_error **err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		char mine[4096] = "", theirs[4096] = "";
		if (cg_read(child->fd, files[i], mine, sizeof mine) == 0 && *mine)
			continue;
		if (cg_read(parent, files[i], theirs, sizeof theirs) < 0 || !*theirs)
			continue;
		if (cg_write(child, files[i], theirs, err) < 0)
			return -1;
	}
	return 0;
}

/* The device rules a container gets: the spec's, then (when it has any) what every runc
 * container may use whatever its spec says (engines rely on it: Docker's rules do not list
 * the pty devices): mknod of any node, the standard character devices, the ptys, /dev/ptmx
 * and /dev/net/tun. The same list for v1's devices.allow/deny and v2's device filter. */
static bwk_oci_dev_rule *device_rules(const bwk_oci_resources *r, size_t *n, bwk_error **err)
{
#define RULE(t, ma, mi, a)                                                                         \
	{                                                                                          \
		.allow = true, .type = (char *)(t), .access = (char *)(a),                         \
		.major = {.set = true, .v = (ma)}, .minor = {                                      \
			.set = true,                                                               \
			.v = (mi)                                                                  \
		}                                                                                  \
	}
	static const bwk_oci_dev_rule always[] = {
	    RULE("c", -1, -1, "m"), RULE("b", -1, -1, "m"),    RULE("c", 1, 3, "rwm"),
	    RULE("c", 1, 5, "rwm"), RULE("c", 1, 7, "rwm"),    RULE("c", 1, 8, "rwm"),
	    RULE("c", 1, 9, "rwm"), RULE("c", 5, 0, "rwm"),    RULE("c", 5, 1, "rwm"),
	    RULE("c", 5, 2, "rwm"), RULE("c", 136, -1, "rwm"), RULE("c", 10, 200, "rwm")};
#undef RULE
	size_t na = sizeof always / sizeof *always;
	*n = 0;
	if (!r->n_devices)
		return NULL;
	if (r->n_devices + na > OCIRT_DEV_RULES_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "linux.resources.devices: %zu rules (at most %zu)",
				     r->n_devices, OCIRT_DEV_RULES_MAX - na),
		       NULL;
	bwk_oci_dev_rule *v = xcalloc(r->n_devices + na, sizeof *v);
	memcpy(v, r->devices, r->n_devices * sizeof *v);
	memcpy(v + r->n_devices, always, sizeof always);
	*n = r->n_devices + na;
	return v;
}

/* linux.resources.blockIO on v1: the proportional weights need the CFQ or BFQ scheduler (the
 * file is then blkio.weight or blkio.bfq.weight); a weight the kernel cannot apply is an
 * error, as in crun, not a silently ignored limit. */
static int blkio_v1(const cgdir *dir, const bwk_oci_resources *r, bwk_error **err)
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
				     dir->name);
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

/* cpu.burst and cpu.idle (runtime-spec 1.1/1.2), v1 and v2 alike: a file the kernel lacks
 * for a non-zero value is a refusal naming the property, not a silently ignored limit. The
 * burst is bounded by the quota (burst <= quota): written before a new quota (a smaller one)
 * and, when the kernel refused it there, once more after (a larger one), as runc does.
 * cpu.idle: the kernel refuses a weight for an idle group, so an idle of 0 goes first and an
 * idle of 1 after the shares. `burst_file` is cpu.cfs_burst_us on v1 and cpu.max.burst on
 * v2; `phase` 0 is before the quota and shares, 1 after. */
static int cpu_burst_idle(const cgdir *dir, const bwk_oci_resources *r, const char *burst_file,
			  int phase, bool *burst_done, bwk_error **err)
{
	/* a 0 is the kernel's default: nothing lost where the file is missing */
	bool burst = r->cpu.burst.set && (r->cpu.burst.v || has_file(dir, burst_file)),
	     idle = r->cpu.idle.set && (r->cpu.idle.v || has_file(dir, "cpu.idle"));
	if (phase == 0) {
		*burst_done = false;
		if (burst && !has_file(dir, burst_file))
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "linux.resources.cpu.burst: %s has no %s (a kernel "
					     "before 5.14, or no CFS bandwidth control)",
					     dir->name, burst_file);
		if (idle && !has_file(dir, "cpu.idle"))
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "linux.resources.cpu.idle: %s has no cpu.idle (a "
					     "kernel before 5.15)",
					     dir->name);
		if (idle && r->cpu.idle.v == 0 && cg_write(dir, "cpu.idle", "0", err) < 0)
			return -1;
		/* with a new quota the first try may fail (the old quota is below it) */
		*burst_done = burst && cg_writef(dir, burst_file, r->cpu.quota.set ? NULL : err,
						 "%" PRIu64, r->cpu.burst.v) == 0;
		return burst && !*burst_done && !r->cpu.quota.set ? -1 : 0;
	}
	if (burst && !*burst_done &&
	    cg_writef(dir, burst_file, err, "%" PRIu64, r->cpu.burst.v) < 0)
		return -1;
	if (idle && r->cpu.idle.v != 0 &&
	    cg_writef(dir, "cpu.idle", err, "%" PRId64, r->cpu.idle.v) < 0)
		return -1;
	return 0;
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

static int apply_v1(const char *ctrl, const cgdir *dir, const bwk_oci_resources *in,
		    bwk_error **err)
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
	} else if (!strcmp(ctrl, "rdma")) {
		if (apply_rdma(dir, r, err) < 0)
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
						     r->hugepage_limits[i].page_size, dir->name, f);
		}
	} else if (!strcmp(ctrl, "cpuset")) {
		if (r->cpu.cpus && *r->cpu.cpus &&
		    cg_write(dir, "cpuset.cpus", r->cpu.cpus, err) < 0)
			return -1;
		if (r->cpu.mems && *r->cpu.mems &&
		    cg_write(dir, "cpuset.mems", r->cpu.mems, err) < 0)
			return -1;
	} else if (!strcmp(ctrl, "cpu")) {
		bool burst_done = false;
		if (cpu_burst_idle(dir, r, "cpu.cfs_burst_us", 0, &burst_done, err) < 0)
			return -1;
		if (r->cpu.shares.set &&
		    cg_writef(dir, "cpu.shares", err, "%" PRIu64, r->cpu.shares.v) < 0)
			return -1;
		if (r->cpu.period.set &&
		    cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu.period.v) < 0)
			return -1;
		if (r->cpu.quota.set &&
		    cg_writef(dir, "cpu.cfs_quota_us", err, "%" PRId64, r->cpu.quota.v) < 0)
			return -1;
		if (cpu_burst_idle(dir, r, "cpu.cfs_burst_us", 1, &burst_done, err) < 0)
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
		size_t n = 0;
		cleanup_free bwk_oci_dev_rule *rules = device_rules(r, &n, err);
		if (r->n_devices && !rules)
			return -1;
		for (size_t i = 0; i < n; i++) {
			const bwk_oci_dev_rule *d = &rules[i];
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
	}
	return 0;
}

static int apply_v2(const cgdir *dir, const bwk_oci_resources *in, bwk_error **err)
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
	bool burst_done = false;
	if ((r->cpu.burst.set || r->cpu.idle.set) &&
	    cpu_burst_idle(dir, r, "cpu.max.burst", 0, &burst_done, err) < 0)
		return -1;
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
	if ((r->cpu.burst.set || r->cpu.idle.set) &&
	    cpu_burst_idle(dir, r, "cpu.max.burst", 1, &burst_done, err) < 0)
		return -1;
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
					     r->hugepage_limits[i].page_size, dir->name, f);
	}
	if (apply_rdma(dir, r, err) < 0)
		return -1;
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

/* "/a//./b/" → "/a/b": the name state.json keeps, one '/' before each component ("." ones
 * dropped, as runc cleans the path; ".." is refused by the caller and by the walk). */
static int normalise(char *rel, size_t cap, const char *given, bwk_error **err)
{
	char out[PATH_MAX];
	size_t o = 0;
	for (const char *p = rel; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len && !(len == 1 && *p == '.') && o + 1 + len < sizeof out) {
			out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	out[o] = 0;
	if (!o)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.cgroupsPath '%s': the root cgroup cannot be a "
				     "container's",
				     given ? given : "");
	snprintf(rel, cap, "%s", out); /* never longer than rel was */
	return 0;
}

static int cgroup_rel(const bwk_oci_spec *s, const char *id, bool systemd, char *rel, size_t len,
		      bwk_error **err)
{
	const char *p = s->linux_.cgroups_path;
	rel[0] = 0;
	if (systemd)
		return ocirt_systemd_scope(p, id, rel, len, err) < 0 ? -1
								     : normalise(rel, len, p, err);
	if (!p || !*p)
		snprintf(rel, len, "/bulwark/%s", id);
	else if (snprintf(rel, len, "%s%s", p[0] == '/' ? "" : "/", p) >= (int)len)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "linux.cgroupsPath is too long");
	if (strstr(rel, "/../") || bwk_str_endswith(rel, "/..") || strchr(rel, ':'))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.cgroupsPath '%s': not a cgroupfs path (no '..'; "
				     "'slice:prefix:name' needs %s)",
				     p, bwk_setting("systemd-cgroup", "the systemd cgroup driver"));
	return normalise(rel, len, p, err);
}

/* Keep directory `fd` (named base + rel) as the next of the container's cgroup. */
static void cg_keep(ocirt_cgroup *cg, int fd, const char *base, const char *rel)
{
	cg->fds[cg->n] = fd;
	cg->dirs[cg->n++] = xasprintf("%s%s", base, rel);
	cg->open = true;
}

/* linux.resources.unified holds cgroup v2 files: v1 hierarchies cannot apply it, and dropping
 * it would drop limits (runc: "cannot use unified on cgroup v1"). */
static int refuse_unified_v1(const bwk_oci_resources *r, bwk_error **err)
{
	if (!r->unified.n)
		return 0;
	return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
			     "linux.resources.unified ('%s' …): invalid configuration: cannot "
			     "use unified on cgroup v1 (its keys are cgroup v2 files; this host's "
			     "controllers are v1 hierarchies: give the limits as linux.resources' "
			     "other properties)",
			     r->unified.v[0].key);
}

static int create_v2(int mnt, const char *base, const char *rel, const bwk_oci_resources *r,
		     ocirt_cgroup *cg, bwk_error **err)
{
	cg->v2 = true;
	int fd =
	    cg_walk(mnt, base, rel, true, r->n_rdma ? enable_level_rdma : enable_level, NULL, err);
	if (fd < 0)
		return -1;
	cg_keep(cg, fd, base, rel);
	const cgdir d = {fd, cg->dirs[0]};
	if (apply_v2(&d, r, err) < 0)
		return -1;
	size_t n = 0;
	cleanup_free bwk_oci_dev_rule *rules = r->set ? device_rules(r, &n, err) : NULL;
	if (r->set && r->n_devices && !rules)
		return -1;
	return n ? ocirt_devfilter_attach(fd, d.name, rules, n, err) : 0;
}

/* v1: the controllers bulwark limits or tracks through (pids first: kill --all reads it). */
static const char *const v1_ctrls[] = {"pids",	  "memory",   "cpu",	 "cpuacct",
				       "cpuset",  "devices",  "freezer", "blkio",
				       "net_cls", "net_prio", "hugetlb", "rdma"};

static int create_v1(int mnt, const char *rel, const bwk_oci_resources *r, ocirt_cgroup *cg,
		     bwk_error **err)
{
	if (refuse_unified_v1(r, err) < 0)
		return -1;
	/* what the spec asks of a controller the host may not have mounted */
	bool need[sizeof v1_ctrls / sizeof *v1_ctrls] = {0};
	need[8] = r->network.class_id.set;
	need[9] = r->network.n_priorities > 0;
	need[10] = r->n_hugepage_limits > 0;
	need[11] = r->n_rdma > 0;
	struct stat seen[OCIRT_MAX_CGROUPS];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < sizeof v1_ctrls / sizeof *v1_ctrls; i++) {
		/* /sys/fs/cgroup/cpu may be a link to the co-mounted cpu,cpuacct */
		char real[NAME_MAX + 1];
		cleanup_close int h = sbx_cg_open_hierarchy(mnt, v1_ctrls[i], real, sizeof real);
		struct stat st;
		if (h < 0 || fstat(h, &st) < 0) {
			if (!need[i])
				continue;
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "linux.resources.%s: the %s cgroup controller is not "
					     "mounted (%s/%s)",
					     i == 11   ? "rdma"
					     : i == 10 ? "hugepageLimits"
						       : "network",
					     v1_ctrls[i], CG_MOUNT, v1_ctrls[i]);
		}
		size_t dup = cg->n;
		for (size_t j = 0; j < cg->n; j++)
			if (seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino)
				dup = j;
		if (dup < cg->n) { /* co-mounted (cpu,cpuacct; net_cls,net_prio): same directory */
			if (apply_v1(v1_ctrls[i], &(cgdir){cg->fds[dup], cg->dirs[dup]}, r, err) <
			    0)
				return -1;
			continue;
		}
		if (cg->n >= OCIRT_MAX_CGROUPS)
			continue;
		char base[PATH_MAX];
		snprintf(base, sizeof base, "%s/%s", CG_MOUNT, real);
		int fd = cg_walk(h, base, rel, true,
				 strcmp(v1_ctrls[i], "cpuset") ? NULL : cpuset_level, NULL, err);
		if (fd < 0)
			return -1;
		seen[cg->n] = st;
		cg_keep(cg, fd, base, rel);
		if (apply_v1(v1_ctrls[i], &(cgdir){fd, cg->dirs[cg->n - 1]}, r, err) < 0)
			return -1;
	}
	if (!cg->n)
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "cgroup: no controller under %s",
				     CG_MOUNT);
	return 0;
}

static int create(const bwk_oci_spec *s, const char *id, bool systemd, bool unified,
		  ocirt_cgroup *cg, bwk_error **err)
{
	memset(cg, 0, sizeof *cg);
	char rel[PATH_MAX / 2];
	if (cgroup_rel(s, id, systemd, rel, sizeof rel, err) < 0)
		return -1;
	bool v2 = false;
	cleanup_close int mnt = sbx_cg_open_mount(CG_MOUNT, &v2, err);
	if (mnt < 0)
		return -1;
	const bwk_oci_resources *r = &s->linux_.resources;
	int rc;
	if (unified) {
		cleanup_close int u = cg_walk(mnt, CG_MOUNT, "/unified", false, NULL, NULL, err);
		rc = u < 0 ? -1 : create_v2(u, CG_MOUNT "/unified", rel, r, cg, err);
	} else {
		rc = v2 ? create_v2(mnt, CG_MOUNT, rel, r, cg, err)
			: create_v1(mnt, rel, r, cg, err);
	}
	if (rc < 0)
		ocirt_cgroup_destroy(cg);
	return rc;
}

int ocirt_cgroup_create(const bwk_oci_spec *s, const char *id, bool systemd, ocirt_cgroup *cg,
			bwk_error **err)
{
	return create(s, id, systemd, false, cg, err);
}

int ocirt_cgroup_create_unified(const bwk_oci_spec *s, const char *id, ocirt_cgroup *cg,
				bwk_error **err)
{
	return create(s, id, false, true, cg, err);
}

int ocirt_cgroup_plan(const bwk_oci_spec *s, const char *id, bool systemd, ocirt_cgroup *cg,
		      bwk_error **err)
{
	memset(cg, 0, sizeof *cg);
	char rel[PATH_MAX / 2];
	if (cgroup_rel(s, id, systemd, rel, sizeof rel, err) < 0)
		return -1;
	cleanup_close int mnt = sbx_cg_open_mount(CG_MOUNT, &cg->v2, err);
	if (mnt < 0)
		return -1;
	if (cg->v2) {
		cg->dirs[cg->n++] = xasprintf("%s%s", CG_MOUNT, rel);
		return 0;
	}
	struct stat seen[OCIRT_MAX_CGROUPS];
	memset(seen, 0, sizeof seen);
	for (size_t i = 0; i < sizeof v1_ctrls / sizeof *v1_ctrls && cg->n < OCIRT_MAX_CGROUPS;
	     i++) { /* create_v1's directories: one per mounted hierarchy */
		char real[NAME_MAX + 1];
		cleanup_close int h = sbx_cg_open_hierarchy(mnt, v1_ctrls[i], real, sizeof real);
		struct stat st;
		bool dup = false;
		if (h < 0 || fstat(h, &st) < 0)
			continue;
		for (size_t j = 0; j < cg->n; j++)
			dup |= seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino;
		if (dup)
			continue;
		seen[cg->n] = st;
		cg->dirs[cg->n++] = xasprintf("%s/%s%s", CG_MOUNT, real, rel);
	}
	return 0;
}

int ocirt_cgroup_open(ocirt_cgroup *cg, bwk_error **err)
{
	for (size_t i = 0; !cg->open && i < cg->n; i++) {
		int fd = cg_open_name(cg->dirs[i], NULL, err);
		if (fd < 0) {
			while (i)
				close(cg->fds[--i]);
			return -1;
		}
		cg->fds[i] = fd;
	}
	cg->open = true;
	return 0;
}

pid_t ocirt_cgroup_fork(const ocirt_cgroup *cg, bool *in_cgroup)
{
	*in_cgroup = false;
	if (cg->v2 && cg->open && cg->n == 1) {
		struct clone_args a = {.flags = CLONE_INTO_CGROUP,
				       .exit_signal = SIGCHLD,
				       .cgroup = (uint64_t)cg->fds[0]};
		pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof a);
		if (pid >= 0) {
			*in_cgroup = true;
			return pid;
		}
		/* refused (an old kernel, an outer seccomp filter): the child joins itself */
	}
	return fork();
}

int ocirt_cgroup_join_self(const ocirt_cgroup *cg, bwk_error **err)
{
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_close int fd = cg_fd(cg, i, err);
		if (fd < 0 || cg_write(&(cgdir){fd, cg->dirs[i]}, cg->v2 ? "cgroup.procs" : "tasks",
				       "0", err) < 0)
			return -1;
	}
	return 0;
}

/* cgroup.procs of the open cgroup fd, or NULL. */
static FILE *procs_of(int fd)
{
	int pfd = openat(fd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *f = pfd < 0 ? NULL : fdopen(pfd, "re");
	if (pfd >= 0 && !f)
		close(pfd);
	return f;
}

int ocirt_cgroup_signal(const ocirt_cgroup *cg, int sig)
{
	if (!cg->n)
		return 0;
	cleanup_close int fd = cg_fd(cg, 0, NULL);
	return fd < 0 ? 0 : sbx_cg_kill(fd, sig);
}

size_t ocirt_cgroup_pids(const ocirt_cgroup *cg, pid_t *pids, size_t max)
{
	if (!cg->n)
		return 0;
	cleanup_close int fd = cg_fd(cg, 0, NULL);
	cleanup_file FILE *f = fd < 0 ? NULL : procs_of(fd);
	size_t n = 0;
	int pid;
	while (f && n < max && fscanf(f, "%d", &pid) == 1)
		if (pid > 0)
			pids[n++] = pid;
	return n;
}

int ocirt_cgroup_remove(ocirt_cgroup *cg, bool kill_left, bwk_error **err)
{
	int rc = 0;
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_close int parent = -1;
		bwk_error *e = NULL;
		cleanup_close int fd = cg_open_name(cg->dirs[i], &parent, &e);
		int why = fd < 0 ? (e ? e->errnum : 0) : 0;
		bwk_error_free(e);
		const char *leaf = strrchr(cg->dirs[i], '/');
		if (fd < 0 && why == ENOENT)
			continue; /* gone already (or never made) */
		if (fd >= 0 && parent >= 0 && leaf && kill_left) {
			if (sbx_cg_remove(parent, leaf + 1, true))
				continue;
			why = errno;
		} else if (fd >= 0 && parent >= 0 && leaf) {
			if (unlinkat(parent, leaf + 1, AT_REMOVEDIR) == 0 || errno == ENOENT ||
			    errno ==
				EBUSY) /* EBUSY: processes or cgroups below, not the caller's */
				continue;
			why = errno;
		}
		if (rc == 0) /* the first one left names the problem */
			rc = bwk_error_set(err, BWK_E_RUNTIME, why, "cgroup %s cannot be removed",
					   cg->dirs[i]);
	}
	ocirt_cgroup_free(cg);
	return rc;
}

void ocirt_cgroup_destroy(ocirt_cgroup *cg)
{
	(void)ocirt_cgroup_remove(cg, true, NULL);
}

void ocirt_cgroup_free(ocirt_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i]);
		if (cg->open)
			close(cg->fds[i]);
	}
	cg->n = 0;
	cg->open = false;
}

int ocirt_cgroup_open_file(const ocirt_cgroup *cg, const char *file)
{
	if (strchr(file, '/'))
		return -1;
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_close int d = cg_fd(cg, i, NULL);
		int fd = d < 0 ? -1 : openat(d, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* The freezer of the container: v1 freezer.state, v2 cgroup.freeze; -1 when none. */
static int freezer_dir(const ocirt_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->v2 || strstr(cg->dirs[i], "/freezer/"))
			return (int)i;
	return -1;
}

static int frozen_file(int fd, bool v2)
{
	return openat(fd, v2 ? "cgroup.events" : "freezer.state",
		      O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/* Whether cgroup.events or freezer.state, open at f, says frozen (a read from offset 0 also
 * re-arms the v2 POLLPRI notification). */
static bool frozen_read(int f, bool v2)
{
	char big[512];
	ssize_t n = f < 0 ? -1 : pread(f, big, sizeof big - 1, 0);
	if (n <= 0)
		return false;
	big[n] = 0;
	return v2 ? strstr(big, "frozen 1") != NULL : !strncmp(big, "FROZEN", 6);
}

static bool frozen_fd(int fd, bool v2)
{
	cleanup_close int f = frozen_file(fd, v2);
	return frozen_read(f, v2);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The kernel freezes task by task. v2 says when it is done (a change of cgroup.events raises
 * POLLPRI): an event; v1 has none, so a back-off from 100 µs to 10 ms. 5 s at most. */
static bool wait_frozen(int fd, bool v2, bool freeze)
{
	cleanup_close int f = frozen_file(fd, v2);
	int64_t end = now_ms() + 5000;
	long ns = 100 * 1000;
	while (frozen_read(f, v2) != freeze) {
		int64_t left = end - now_ms();
		if (left <= 0)
			return false;
		if (!v2 || f < 0 || poll(&(struct pollfd){f, POLLPRI, 0}, 1, (int)left) < 0) {
			nanosleep(&(struct timespec){0, ns}, NULL);
			ns = ns * 2 > 10 * 1000 * 1000 ? 10 * 1000 * 1000 : ns * 2;
		}
	}
	return true;
}

int ocirt_cgroup_freeze(const ocirt_cgroup *cg, bool freeze, bwk_error **err)
{
	int i = freezer_dir(cg);
	if (i < 0)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "pause: the container has no freezer cgroup");
	cleanup_close int fd = cg_fd(cg, (size_t)i, err);
	if (fd < 0)
		return -1;
	const cgdir d = {fd, cg->dirs[i]};
	if (cg->v2 ? cg_write(&d, "cgroup.freeze", freeze ? "1" : "0", err) < 0
		   : cg_write(&d, "freezer.state", freeze ? "FROZEN" : "THAWED", err) < 0)
		return -1;
	if (wait_frozen(fd, cg->v2, freeze))
		return 0;
	return bwk_error_set(err, BWK_E_RUNTIME, ETIMEDOUT, "cgroup %s: %s did not finish", d.name,
			     freeze ? "freezing" : "thawing");
}

bool ocirt_cgroup_frozen(const ocirt_cgroup *cg)
{
	int i = freezer_dir(cg);
	if (i < 0)
		return false;
	cleanup_close int fd = cg_fd(cg, (size_t)i, NULL);
	return fd >= 0 && frozen_fd(fd, cg->v2);
}

/* A number from the first line of cgroup file `file` of d: -1 when unreadable. */
static int cg_read_u64(const cgdir *d, const char *file, uint64_t *v)
{
	char buf[64];
	char *end = NULL;
	if (cg_read(d->fd, file, buf, sizeof buf) < 0)
		return -1;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || end == buf ? -1 : 0;
}

/* memory.checkBeforeUpdate (runtime-spec 1.2), as runc: a new memory (or memory+swap) limit at
 * or below what the container uses now is refused instead of handed to the kernel, which would
 * reclaim, swap, or OOM-kill to meet it. Best effort, as runc's: usage that cannot be read is
 * no refusal; a limit that does not change is not checked. `d` is the memory cgroup (v1) or
 * the container's (v2). */
static int check_before_update(const cgdir *d, bool v2, const bwk_oci_resources *in,
			       bwk_error **err)
{
	bwk_oci_resources nz = nonzero(in);
	const bwk_oci_resources *r = &nz;
	if (!r->memory.check_before_update)
		return 0;
	uint64_t mem = 0, swap = 0, cur = 0;
	if (cg_read_u64(d, v2 ? "memory.current" : "memory.usage_in_bytes", &mem) < 0)
		return 0;
	bool has_swap = v2 ? cg_read_u64(d, "memory.swap.current", &swap) == 0
			   : cg_read_u64(d, "memory.memsw.usage_in_bytes", &swap) == 0;
	uint64_t total = v2 ? mem + swap : swap; /* v1's memsw usage includes the memory */
	const struct {
		const bwk_oci_i64 *lim;
		const char *what, *file;
		uint64_t usage;
		bool known;
	} t[] = {
	    {&r->memory.limit, "memory", v2 ? "memory.max" : "memory.limit_in_bytes", mem, true},
	    {&r->memory.swap, "memory+swap", v2 ? NULL : "memory.memsw.limit_in_bytes", total,
	     has_swap},
	};
	for (size_t i = 0; i < 2; i++) {
		if (!t[i].lim->set || t[i].lim->v <= 0 || !t[i].known)
			continue;
		uint64_t want = (uint64_t)t[i].lim->v;
		if (t[i].file && cg_read_u64(d, t[i].file, &cur) == 0 && cur == want)
			continue;
		if (want <= t[i].usage)
			return bwk_error_set(err, BWK_E_USAGE, 0,
					     "%s: %s limit %" PRIu64 " is at or below the "
					     "container's usage %" PRIu64
					     " (memory.checkBeforeUpdate): a higher limit, or "
					     "less memory in use first",
					     d->name, t[i].what, want, t[i].usage);
	}
	return 0;
}

int ocirt_cgroup_update(const ocirt_cgroup *cg, const bwk_oci_resources *r, bwk_error **err)
{
	if (!cg->v2 && refuse_unified_v1(r, err) < 0)
		return -1;
	bwk_oci_resources nodev = *r;
	nodev.n_devices = 0; /* device rules are the container's for its life, as with runc */
	bool rdma = cg->v2;  /* v1: the container joined the rdma hierarchy where mounted */
	for (size_t i = 0; i < cg->n && !rdma; i++)
		rdma = strstr(cg->dirs[i], CG_MOUNT "/rdma/") != NULL;
	if (r->n_rdma && !rdma)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "linux.resources.rdma: the rdma cgroup controller is not "
				     "mounted (%s/rdma)",
				     CG_MOUNT);
	for (size_t i = 0; i < cg->n; i++) {
		cleanup_close int fd = cg_fd(cg, i, err);
		if (fd < 0)
			return -1;
		const cgdir d = {fd, cg->dirs[i]};
		if (cg->v2) {
			if (check_before_update(&d, true, r, err) < 0 ||
			    apply_v2(&d, &nodev, err) < 0)
				return -1;
			continue;
		}
		/* /sys/fs/cgroup/CTRL[,CTRL…]/…: the controllers of the directory, by its name */
		const char *c = cg->dirs[i] + strlen(CG_MOUNT "/");
		char ctrls[128];
		snprintf(ctrls, sizeof ctrls, "%.*s", (int)strcspn(c, "/"), c);
		char *save = NULL;
		for (char *t = strtok_r(ctrls, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (!strcmp(t, "memory") && check_before_update(&d, false, r, err) < 0)
				return -1;
			if (apply_v1(t, &d, &nodev, err) == 0)
				continue;
			/* v1 memory: memsw may have to move before the limit can */
			if (strcmp(t, "memory") || !r->memory.swap.set)
				return -1;
			bwk_error_free(*err);
			*err = NULL;
			if (cg_writef(&d, "memory.memsw.limit_in_bytes", err, "%" PRId64,
				      swap_total(r)) < 0 ||
			    apply_v1(t, &d, &nodev, err) < 0)
				return -1;
		}
	}
	return 0;
}
