/* `bulwark events`: a container's cgroup statistics and OOM kills as runc's events JSON.
 *
 * Stats are read from the container's cgroup files (v1: cpuacct, cpu, memory, pids, blkio,
 * hugetlb; v2: the unified files) into runc's types.Stats shape, and its network interfaces
 * from /proc/PID/net/dev when it has a network namespace of its own; every file is opened
 * relative to a directory fd (the cgroup's, /proc/PID) and read up to STAT_FILE_MAX. OOM kills
 * come from the `oom_kill` counter of memory.oom_control (v1) or memory.events (v2), which the
 * stream polls every 100 ms and reports once per kill as {"type":"oom","id":ID}. The stream
 * ends when the container stops or is deleted. No container lock is held between polls. */
#define _GNU_SOURCE
#include <errno.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/oci_runtime.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "oci_rt_private.h"

#define STAT_FILE_MAX (64 * 1024) /* memory.stat and cpuacct.usage_percpu fit many times */
#define POLL_MS	      100
#define BLKIO_MAX     1024 /* entries of one blkio list */
#define HUGETLB_MAX   16   /* page sizes */
#define NETDEV_MAX    256  /* interfaces */

/* The text of the open file fd (closed by the caller), at most STAT_FILE_MAX bytes (caller
 * frees), or NULL; cg_file: `file` from the first of the container's cgroup directories that
 * has it. */
static char *read_fd(int fd)
{
	if (fd < 0)
		return NULL;
	char *buf = xmalloc(STAT_FILE_MAX + 1);
	size_t n = 0;
	ssize_t r;
	while (n < STAT_FILE_MAX && (r = read(fd, buf + n, STAT_FILE_MAX - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	return buf;
}

static char *cg_file(const ocirt_cgroup *cg, const char *file)
{
	cleanup_close int fd = ocirt_cgroup_open_file(cg, file);
	return read_fd(fd);
}

/* A number from a cgroup file ("max" and values above INT64_MAX as INT64_MAX: jansson's
 * integers are signed); `dflt` when the file is missing or unreadable. */
static json_int_t clamp(unsigned long long v)
{
	return v > (unsigned long long)INT64_MAX ? INT64_MAX : (json_int_t)v;
}

static json_int_t cg_num(const ocirt_cgroup *cg, const char *file, json_int_t dflt)
{
	cleanup_free char *t = cg_file(cg, file);
	if (!t)
		return dflt;
	if (!strncmp(t, "max", 3))
		return INT64_MAX;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(t, &end, 10);
	return end == t || errno ? dflt : clamp(v);
}

/* "KEY VALUE" lines (memory.stat, cpu.stat, memory.events) as an object of numbers. */
static json_t *cg_keyed(const ocirt_cgroup *cg, const char *file)
{
	json_t *o = json_object();
	cleanup_free char *t = cg_file(cg, file);
	for (char *line = t, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = 0;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(sp + 1, &end, 10);
		if (end != sp + 1 && !errno && *line)
			json_object_set_new(o, line, json_integer(clamp(v)));
	}
	return o;
}

static json_int_t key_num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static json_t *cpu_stats(const ocirt_cgroup *cg)
{
	json_t *usage, *thr;
	if (cg->v2) {
		json_t *st = cg_keyed(cg, "cpu.stat");
		usage =
		    json_pack("{s:I, s:[], s:I, s:I}", "total", key_num(st, "usage_usec") * 1000,
			      "percpu", "kernel", key_num(st, "system_usec") * 1000, "user",
			      key_num(st, "user_usec") * 1000);
		thr = json_pack("{s:I, s:I, s:I}", "periods", key_num(st, "nr_periods"),
				"throttledPeriods", key_num(st, "nr_throttled"), "throttledTime",
				key_num(st, "throttled_usec") * 1000);
		json_decref(st);
		return json_pack("{s:o, s:o}", "usage", usage, "throttling", thr);
	}
	json_t *percpu = json_array();
	cleanup_free char *pc = cg_file(cg, "cpuacct.usage_percpu");
	for (char *p = pc, *end; p && *p; p = end) {
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p || errno)
			break;
		json_array_append_new(percpu, json_integer(clamp(v)));
	}
	/* cpuacct.stat counts clock ticks (USER_HZ) */
	json_t *st = cg_keyed(cg, "cpuacct.stat");
	long hz = sysconf(_SC_CLK_TCK);
	json_int_t ns_per_tick = hz > 0 ? 1000000000 / hz : 10000000;
	usage = json_pack("{s:I, s:o, s:I, s:I}", "total", cg_num(cg, "cpuacct.usage", 0), "percpu",
			  percpu, "kernel", key_num(st, "system") * ns_per_tick, "user",
			  key_num(st, "user") * ns_per_tick);
	json_decref(st);
	json_t *cs = cg_keyed(cg, "cpu.stat");
	thr =
	    json_pack("{s:I, s:I, s:I}", "periods", key_num(cs, "nr_periods"), "throttledPeriods",
		      key_num(cs, "nr_throttled"), "throttledTime", key_num(cs, "throttled_time"));
	json_decref(cs);
	return json_pack("{s:o, s:o}", "usage", usage, "throttling", thr);
}

static json_t *mem_entry(const ocirt_cgroup *cg, const char *usage, const char *limit,
			 const char *max, const char *failcnt)
{
	return json_pack("{s:I, s:I, s:I, s:I}", "limit", cg_num(cg, limit, 0), "usage",
			 cg_num(cg, usage, 0), "max", max ? cg_num(cg, max, 0) : 0, "failcnt",
			 failcnt ? cg_num(cg, failcnt, 0) : 0);
}

static json_t *memory_stats(const ocirt_cgroup *cg)
{
	json_t *m = json_object();
	if (cg->v2) {
		json_t *ev = cg_keyed(cg, "memory.events");
		json_t *u = mem_entry(cg, "memory.current", "memory.max", "memory.peak", NULL);
		json_object_set_new(u, "failcnt", json_integer(key_num(ev, "max")));
		json_decref(ev);
		json_object_set_new(m, "usage", u);
		json_object_set_new(
		    m, "swap", mem_entry(cg, "memory.swap.current", "memory.swap.max", NULL, NULL));
	} else {
		json_object_set_new(m, "usage",
				    mem_entry(cg, "memory.usage_in_bytes", "memory.limit_in_bytes",
					      "memory.max_usage_in_bytes", "memory.failcnt"));
		json_object_set_new(
		    m, "swap",
		    mem_entry(cg, "memory.memsw.usage_in_bytes", "memory.memsw.limit_in_bytes",
			      "memory.memsw.max_usage_in_bytes", "memory.memsw.failcnt"));
	}
	json_object_set_new(m, "raw", cg_keyed(cg, "memory.stat"));
	return m;
}

/* How many processes the kernel's OOM killer has killed in the cgroup (0 if it cannot say). */
static json_int_t oom_kills(const ocirt_cgroup *cg)
{
	json_t *o = cg_keyed(cg, cg->v2 ? "memory.events" : "memory.oom_control");
	json_int_t n = key_num(o, "oom_kill");
	json_decref(o);
	return n;
}

/* An unsigned decimal at *p, *p moved past it; false when there is none. */
static bool num_at(char **p, unsigned long long *v)
{
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)**p))
		return false;
	*v = strtoull(*p, &end, 10);
	if (errno)
		return false;
	*p = end;
	return true;
}

/* "MAJ:MIN" at *p, *p moved past it. */
static bool dev_at(char **p, unsigned long long *maj, unsigned long long *min)
{
	if (!num_at(p, maj) || **p != ':')
		return false;
	(*p)++;
	return num_at(p, min);
}

/* One BlkioEntry; op NULL for the lists without one (sectors, time), as runc's omitempty. */
static void blkio_add(json_t *list, unsigned long long maj, unsigned long long min, const char *op,
		      unsigned long long v)
{
	if (json_array_size(list) >= BLKIO_MAX)
		return;
	json_t *e = json_pack("{s:I, s:I, s:I}", "major", clamp(maj), "minor", clamp(min), "value",
			      clamp(v));
	if (op)
		json_object_set_new(e, "op", json_string(op));
	json_array_append_new(list, e);
}

/* A v1 blkio file: "MAJ:MIN OP VALUE" lines, or "MAJ:MIN VALUE" (sectors, time), as runc's
 * BlkioEntry list (the closing "Total N" left out, as runc does). */
static json_t *blkio_v1(const ocirt_cgroup *cg, const char *file)
{
	json_t *list = json_array();
	cleanup_free char *t = cg_file(cg, file);
	for (char *line = t, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		unsigned long long maj, min, v;
		char *p = line, *op;
		if (!dev_at(&p, &maj, &min) || *p++ != ' ')
			continue;
		op = p;
		while (isalpha((unsigned char)*p))
			p++;
		if (p == op) /* no op: the value follows the device */
			op = NULL;
		else if (p - op > 16 || *p != ' ')
			continue;
		else
			*p++ = 0;
		if (num_at(&p, &v) && !*p)
			blkio_add(list, maj, min, op, v);
	}
	return list;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" lines, as runc maps
 * them: bytes into ioServiceBytesRecursive, operations into ioServicedRecursive, each with the
 * op Read, Write or Discard. */
static void blkio_v2(const ocirt_cgroup *cg, json_t *bytes, json_t *ios)
{
	static const struct {
		const char *key, *op;
		bool bytes;
	} keys[] = {{"rbytes", "Read", true},	 {"wbytes", "Write", true},
		    {"dbytes", "Discard", true}, {"rios", "Read", false},
		    {"wios", "Write", false},	 {"dios", "Discard", false}};
	cleanup_free char *t = cg_file(cg, "io.stat");
	for (char *line = t, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		unsigned long long maj, min, v;
		char *p = line;
		if (!dev_at(&p, &maj, &min))
			continue;
		while (*p == ' ') {
			char *key = ++p, *eq = strchr(p, '=');
			if (!eq)
				break;
			p = eq + 1;
			if (!num_at(&p, &v))
				break;
			for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
				if ((size_t)(eq - key) == strlen(keys[k].key) &&
				    !strncmp(key, keys[k].key, (size_t)(eq - key)))
					blkio_add(keys[k].bytes ? bytes : ios, maj, min, keys[k].op,
						  v);
		}
	}
}

static void set_list(json_t *o, const char *key, json_t *list)
{
	if (json_array_size(list)) /* runc's Blkio fields are omitempty */
		json_object_set(o, key, list);
	json_decref(list);
}

/* runc's Blkio. v1 as runc reads it: the CFQ scheduler's files (blkio.*) when they count
 * anything, else BFQ's (blkio.bfq.*), else the throttle files, which count under any scheduler
 * but have only bytes and operations. */
static json_t *blkio_stats(const ocirt_cgroup *cg)
{
	static const struct {
		const char *file, *key;
	} sched[] = {{"io_service_bytes_recursive", "ioServiceBytesRecursive"},
		     {"io_serviced_recursive", "ioServicedRecursive"},
		     {"io_queued_recursive", "ioQueueRecursive"},
		     {"io_service_time_recursive", "ioServiceTimeRecursive"},
		     {"io_wait_time_recursive", "ioWaitTimeRecursive"},
		     {"io_merged_recursive", "ioMergedRecursive"},
		     {"time_recursive", "ioTimeRecursive"},
		     {"sectors_recursive", "sectorsRecursive"}};
	static const char *const prefixes[] = {"blkio.", "blkio.bfq."};
	json_t *o = json_object();
	if (cg->v2) {
		json_t *bytes = json_array(), *ios = json_array();
		blkio_v2(cg, bytes, ios);
		set_list(o, "ioServiceBytesRecursive", bytes);
		set_list(o, "ioServicedRecursive", ios);
		return o;
	}
	char f[64];
	for (size_t k = 0; k < sizeof prefixes / sizeof *prefixes; k++) {
		snprintf(f, sizeof f, "%sio_serviced_recursive", prefixes[k]);
		json_t *probe = blkio_v1(cg, f);
		size_t n = json_array_size(probe);
		json_decref(probe);
		if (!n)
			continue;
		for (size_t i = 0; i < sizeof sched / sizeof *sched; i++) {
			snprintf(f, sizeof f, "%s%s", prefixes[k], sched[i].file);
			set_list(o, sched[i].key, blkio_v1(cg, f));
		}
		return o;
	}
	set_list(o, "ioServiceBytesRecursive",
		 blkio_v1(cg, "blkio.throttle.io_service_bytes_recursive"));
	set_list(o, "ioServicedRecursive", blkio_v1(cg, "blkio.throttle.io_serviced_recursive"));
	return o;
}

/* One page size's figures, keyed by the size as the files name it ("2MB", "1GB"): v1 usage,
 * max usage and failcnt; v2 usage (current) and failcnt (the `max` count of hugetlb.SIZE.events),
 * as runc has them. */
static json_t *hugetlb_size(const ocirt_cgroup *one, const char *size)
{
	char f[NAME_MAX + 64]; /* size comes from a file name */
	if (one->v2) {
		snprintf(f, sizeof f, "hugetlb.%s.current", size);
		json_int_t usage = cg_num(one, f, 0);
		snprintf(f, sizeof f, "hugetlb.%s.events", size);
		json_t *ev = cg_keyed(one, f);
		json_t *o = json_pack("{s:I, s:I}", "usage", usage, "failcnt", key_num(ev, "max"));
		json_decref(ev);
		return o;
	}
	snprintf(f, sizeof f, "hugetlb.%s.usage_in_bytes", size);
	json_int_t usage = cg_num(one, f, 0);
	snprintf(f, sizeof f, "hugetlb.%s.max_usage_in_bytes", size);
	json_int_t max = cg_num(one, f, 0);
	snprintf(f, sizeof f, "hugetlb.%s.failcnt", size);
	return json_pack("{s:I, s:I, s:I}", "usage", usage, "max", max, "failcnt",
			 cg_num(one, f, 0));
}

/* runc's Hugetlb map: the page sizes of the hugetlb files in the container's hugetlb cgroup
 * (v1: the directory under a hugetlb mount; v2: the one directory), found by listing it; empty
 * without the controller. */
static json_t *hugetlb_stats(const ocirt_cgroup *cg)
{
	json_t *m = json_object();
	for (size_t i = 0; i < cg->n; i++) {
		if (!cg->v2 && !strstr(cg->dirs[i], "/hugetlb/"))
			continue;
		/* this directory alone, through the cgroup's own fd-relative open */
		ocirt_cgroup one = *cg;
		one.n = 1;
		one.dirs[0] = cg->dirs[i];
		one.fds[0] = cg->fds[i];
		int fd = ocirt_cgroup_open_file(&one, ".");
		cleanup_dir DIR *d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		const char *suffix = cg->v2 ? ".current" : ".usage_in_bytes";
		for (struct dirent *e; (e = readdir(d)) && json_object_size(m) < HUGETLB_MAX;) {
			size_t len = strlen(e->d_name), sl = strlen(suffix);
			if (strncmp(e->d_name, "hugetlb.", 8) || len <= 8 + sl || len >= 40 ||
			    strcmp(e->d_name + len - sl, suffix))
				continue;
			char size[40];
			snprintf(size, sizeof size, "%.*s", (int)(len - 8 - sl), e->d_name + 8);
			if (!strchr(size, '.')) /* not v2's hugetlb.SIZE.rsvd.current */
				json_object_set_new(m, size, hugetlb_size(&one, size));
		}
		break;
	}
	return m;
}

/* The interfaces of the container's network namespace (piddir: its /proc/PID) from net/dev,
 * as runc's NetworkInterface list; null when it shares this process's namespace (then they are
 * the host's) or /proc cannot say. */
static json_t *net_stats(int piddir)
{
	char mine[64] = "", its[64] = "";
	ssize_t a = readlink("/proc/self/ns/net", mine, sizeof mine - 1);
	ssize_t b = piddir < 0 ? -1 : readlinkat(piddir, "ns/net", its, sizeof its - 1);
	if (a <= 0 || b <= 0 || !strcmp(mine, its))
		return json_null();
	cleanup_close int fd = openat(piddir, "net/dev", O_RDONLY | O_CLOEXEC);
	cleanup_free char *t = read_fd(fd);
	if (!t)
		return json_null();
	static const char *const names[] = {"RxBytes", "RxPackets", "RxErrors", "RxDropped",
					    "TxBytes", "TxPackets", "TxErrors", "TxDropped"};
	/* receive: bytes packets errs drop fifo frame compressed multicast; transmit: the same four
	 * first */
	static const int col[] = {0, 1, 2, 3, 8, 9, 10, 11};
	json_t *list = json_array();
	for (char *line = t, *next; line && *line && json_array_size(list) < NETDEV_MAX;
	     line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char *colon = strchr(line, ':');
		if (!colon || strchr(line, '|'))
			continue; /* the two header lines */
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		unsigned long long v[16];
		char *p = colon + 1;
		int n = 0;
		for (; n < 16; n++) {
			while (*p == ' ')
				p++;
			if (!num_at(&p, &v[n]))
				break;
		}
		if (n < 16 || !*name || strlen(name) >= 16)
			continue;
		json_t *o = json_pack("{s:s}", "Name", name);
		for (size_t k = 0; k < 8; k++)
			json_object_set_new(o, names[k], json_integer(clamp(v[col[k]])));
		json_array_append_new(list, o);
	}
	return list;
}

char *ocirt_stats_event(const char *id, const ocirt_cgroup *cg, int piddir)
{
	json_int_t pmax = cg_num(cg, "pids.max", 0);
	json_t *data =
	    json_pack("{s:o, s:o, s:{s:I, s:I}, s:o, s:o, s:o}", "cpu", cpu_stats(cg), "memory",
		      memory_stats(cg), "pids", "current", cg_num(cg, "pids.current", 0), "limit",
		      pmax == INT64_MAX ? 0 : pmax, /* runc: 0 for "max" */
		      "blkio", blkio_stats(cg), "hugetlb", hugetlb_stats(cg), "network_interfaces",
		      net_stats(piddir));
	json_object_set_new(json_object_get(data, "memory"), "oomKills",
			    json_integer(oom_kills(cg)));
	json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "stats", "id", id, "data", data);
	char *text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	return text;
}

/* The container's init's /proc directory, if it is still the process state.json names. */
static int open_piddir(const ocirt_state *st)
{
	if (st->pid <= 0)
		return -1;
	char path[32];
	snprintf(path, sizeof path, "/proc/%d", (int)st->pid);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned long long t = 0;
	if (fd >= 0 && (ocirt_proc_start_time(st->pid, &t, NULL) < 0 || t != st->start_time)) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *stats_event(const char *id, const ocirt_state *st)
{
	cleanup_close int piddir = open_piddir(st);
	return ocirt_stats_event(id, &st->cg, piddir);
}

/* The container's state if it runs (created, running or paused); else an error as runc's. */
static int live_state(const char *root, const char *id, ocirt_state *st, bwk_error **err)
{
	const char *status = NULL;
	if (ocirt_read_container(root, id, st, &status, err) < 0)
		return -1;
	if (!strcmp(status, "stopped")) {
		ocirt_state_free(st);
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s is not running", id);
	}
	return 0;
}

char *bwk_oci_stats(const char *root, const char *id, bwk_error **err)
{
	ocirt_state st = {0};
	if (live_state(root, id, &st, err) < 0)
		return NULL;
	char *text = stats_event(id, &st);
	ocirt_state_free(&st);
	return text;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bwk_oci_events(const char *root, const char *id, unsigned interval_ms, bwk_oci_event_fn fn,
		   void *ctx, bwk_error **err)
{
	ocirt_state st = {0};
	if (live_state(root, id, &st, err) < 0)
		return -1;
	json_int_t ooms = oom_kills(&st.cg);
	ocirt_state_free(&st);
	long long next = now_ms() + interval_ms;
	for (;;) {
		nanosleep(&(struct timespec){0, POLL_MS * 1000000L}, NULL);
		const char *status = NULL;
		bwk_error *gone = NULL;
		if (ocirt_read_container(root, id, &st, &status, &gone) < 0) {
			bwk_error_free(gone); /* deleted: the stream ends */
			return 0;
		}
		json_int_t n = oom_kills(&st.cg);
		int rc = 0;
		if (n > ooms) { /* one event per kill, as the kernel counted them */
			cleanup_free char *ev = NULL;
			json_t *o = json_pack("{s:s, s:s}", "type", "oom", "id", id);
			ev = json_dumps(o, JSON_COMPACT);
			json_decref(o);
			for (json_int_t k = ooms; k < n && rc == 0; k++)
				rc = fn(ev, ctx);
			ooms = n;
		}
		bool stopped = !strcmp(status, "stopped");
		if (rc == 0 && !stopped && now_ms() >= next) {
			cleanup_free char *ev = stats_event(id, &st);
			rc = fn(ev, ctx);
			next += interval_ms;
		}
		ocirt_state_free(&st);
		if (rc < 0 || stopped)
			return 0;
	}
}
