/* `bulwark events`: a container's cgroup statistics and OOM kills as runc's events JSON.
 *
 * Stats are read from the container's cgroup files (v1: cpuacct, cpu, memory, pids; v2: the
 * unified files) into runc's types.Stats shape; OOM kills from the `oom_kill` counter of
 * memory.oom_control (v1) or memory.events (v2), which the stream polls every 100 ms and
 * reports once per kill as {"type":"oom","id":ID}. The stream ends when the container stops
 * or is deleted. No container lock is held between polls. */
#define _GNU_SOURCE
#include <errno.h>
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

/* `file` from the first of the container's cgroup directories that has it: its text (caller
 * frees) or NULL. */
static char *cg_file(const ocirt_cgroup *cg, const char *file)
{
	cleanup_close int fd = ocirt_cgroup_open_file(cg, file);
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

static char *stats_event(const char *id, const ocirt_cgroup *cg)
{
	json_int_t pmax = cg_num(cg, "pids.max", 0);
	json_t *data =
	    json_pack("{s:o, s:o, s:{s:I, s:I}, s:{}, s:{}}", "cpu", cpu_stats(cg), "memory",
		      memory_stats(cg), "pids", "current", cg_num(cg, "pids.current", 0), "limit",
		      pmax == INT64_MAX ? 0 : pmax, /* runc: 0 for "max" */
		      "blkio", "hugetlb");
	json_object_set_new(json_object_get(data, "memory"), "oomKills",
			    json_integer(oom_kills(cg)));
	json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "stats", "id", id, "data", data);
	char *text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	return text;
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
	char *text = stats_event(id, &st.cg);
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
			cleanup_free char *ev = stats_event(id, &st.cg);
			rc = fn(ev, ctx);
			next += interval_ms;
		}
		ocirt_state_free(&st);
		if (rc < 0 || stopped)
			return 0;
	}
}
