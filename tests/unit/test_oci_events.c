/* Unit tests: `events --stats` in runc's types.Stats shape (sandbox/oci_events.c) from fake
 * cgroup directories (open fds, as a container's cgroup after create) and a fake /proc/PID:
 * blkio from v1's throttle files and v2's io.stat, hugetlb per page size (v1 and v2, and
 * nothing without the controller), network interfaces from net/dev of a namespace of the
 * container's own (none when it shares ours), and malformed lines skipped. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

static char base[] = "/tmp/bwk-events-XXXXXX";

/* A directory under base, made and opened. */
static int mkdir_open(const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", base, name);
	assert_int_equal(mkdir(p, 0700), 0);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void put(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The stats event's data for the fake cgroup `dirs` (names) with their fds, and piddir. */
static json_t *stats(bool v2, const char *const *names, const int *fds, size_t n, int piddir)
{
	ocirt_cgroup cg = {.v2 = v2, .n = n, .open = true};
	for (size_t i = 0; i < n; i++) {
		cg.dirs[i] = (char *)names[i];
		cg.fds[i] = fds[i];
	}
	char *text = ocirt_stats_event("c1", &cg, piddir);
	assert_non_null(text);
	json_t *ev = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "stats");
	json_t *data = json_incref(json_object_get(ev, "data"));
	json_decref(ev);
	return data;
}

static void entry(json_t *list, size_t i, json_int_t maj, json_int_t min, const char *op,
		  json_int_t v)
{
	json_t *e = json_array_get(list, i);
	assert_non_null(e);
	assert_int_equal(json_integer_value(json_object_get(e, "major")), maj);
	assert_int_equal(json_integer_value(json_object_get(e, "minor")), min);
	assert_string_equal(json_string_value(json_object_get(e, "op")), op);
	assert_int_equal(json_integer_value(json_object_get(e, "value")), v);
}

static json_int_t num(json_t *o, const char *path1, const char *path2)
{
	json_t *x = json_object_get(json_object_get(o, path1), path2);
	assert_non_null(x);
	return json_integer_value(x);
}

static void test_v1_blkio_and_hugetlb(void **state)
{
	(void)state;
	int blk = mkdir_open("v1blkio"), huge = mkdir_open("v1huge");
	put(blk, "blkio.throttle.io_service_bytes_recursive",
	    "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 8192\n8:0 Async 4096\n8:0 Total 12288\n"
	    "garbage line\n8:x Read 1\n8:0 Read12 5\n253:1 Write 18446744073709551615\n"
	    "Total 12288\n");
	put(blk, "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
	put(huge, "hugetlb.2MB.usage_in_bytes", "4194304\n");
	put(huge, "hugetlb.2MB.max_usage_in_bytes", "6291456\n");
	put(huge, "hugetlb.2MB.failcnt", "2\n");
	put(huge, "hugetlb.2MB.limit_in_bytes", "9223372036854771712\n");
	put(huge, "hugetlb.1GB.usage_in_bytes", "0\n");
	put(huge, "hugetlb.1GB.failcnt", "0\n");
	const char *names[] = {"/sys/fs/cgroup/blkio/c1", "/sys/fs/cgroup/hugetlb/c1"};
	int fds[] = {blk, huge};
	json_t *d = stats(false, names, fds, 2, -1);
	json_t *bytes = json_object_get(json_object_get(d, "blkio"), "ioServiceBytesRecursive");
	assert_int_equal(json_array_size(bytes), 6); /* the Total lines and the garbage out */
	entry(bytes, 0, 8, 0, "Read", 4096);
	entry(bytes, 1, 8, 0, "Write", 8192);
	entry(bytes, 4, 8, 0, "Total", 12288);
	entry(bytes, 5, 253, 1, "Write", INT64_MAX); /* clamped: jansson's are signed */
	json_t *ios = json_object_get(json_object_get(d, "blkio"), "ioServicedRecursive");
	assert_int_equal(json_array_size(ios), 2);
	entry(ios, 1, 8, 0, "Write", 2);
	json_t *h = json_object_get(d, "hugetlb");
	assert_int_equal(json_object_size(h), 2);
	assert_int_equal(num(h, "2MB", "usage"), 4194304);
	assert_int_equal(num(h, "2MB", "max"), 6291456);
	assert_int_equal(num(h, "2MB", "failcnt"), 2);
	assert_int_equal(num(h, "1GB", "usage"), 0);
	/* no /proc/PID: runc's null */
	assert_true(json_is_null(json_object_get(d, "network_interfaces")));
	json_decref(d);
	/* without the hugetlb controller (the host here may have none), and no blkio figures:
	 * an empty map, and blkio's lists left out as runc's omitempty does */
	const char *only[] = {"/sys/fs/cgroup/pids/c1"};
	int pids = mkdir_open("v1pids");
	d = stats(false, only, &pids, 1, -1);
	assert_int_equal(json_object_size(json_object_get(d, "hugetlb")), 0);
	assert_int_equal(json_object_size(json_object_get(d, "blkio")), 0);
	json_decref(d);
	close(blk);
	close(huge);
	close(pids);
}

/* With BFQ (or CFQ) the scheduler's lists, as runc prefers them, op-less ones included; the
 * throttle files then unread. */
static void test_v1_blkio_scheduler_files(void **state)
{
	(void)state;
	int blk = mkdir_open("v1bfq");
	put(blk, "blkio.io_serviced_recursive", "Total 0\n"); /* CFQ's, counting nothing */
	put(blk, "blkio.bfq.io_service_bytes_recursive", "8:0 Read 10\n8:0 Write 20\nTotal 30\n");
	put(blk, "blkio.bfq.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
	put(blk, "blkio.bfq.sectors_recursive", "8:0 40\n8:0 4x\n");
	put(blk, "blkio.bfq.time_recursive", "8:0 7\n");
	put(blk, "blkio.throttle.io_service_bytes_recursive", "9:9 Read 99\n");
	const char *names[] = {"/sys/fs/cgroup/blkio/c1"};
	json_t *d = stats(false, names, &blk, 1, -1);
	json_t *b = json_object_get(d, "blkio");
	json_t *bytes = json_object_get(b, "ioServiceBytesRecursive");
	assert_int_equal(json_array_size(bytes), 2);
	entry(bytes, 1, 8, 0, "Write", 20);
	json_t *sectors = json_object_get(b, "sectorsRecursive");
	assert_int_equal(json_array_size(sectors), 1);
	assert_null(json_object_get(json_array_get(sectors, 0), "op")); /* runc's omitempty */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sectors, 0), "value")),
			 40);
	assert_int_equal(json_array_size(json_object_get(b, "ioTimeRecursive")), 1);
	assert_null(json_object_get(b, "ioQueueRecursive")); /* no file: left out */
	assert_int_equal(json_object_size(b), 4);
	json_decref(d);
	close(blk);
}

static void test_v2_io_stat_and_hugetlb(void **state)
{
	(void)state;
	int cg = mkdir_open("v2");
	put(cg, "io.stat",
	    "253:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
	    "8:16 rbytes=7 wbytes=9 rios=3 wios=4 dbytes=512 dios=1 extra=5\n"
	    "bad rbytes=1\n8:32 rbytes=x wbytes=1\n");
	put(cg, "hugetlb.2MB.current", "2097152\n");
	put(cg, "hugetlb.2MB.max", "max\n");
	put(cg, "hugetlb.2MB.events", "max 3\n");
	put(cg, "hugetlb.2MB.rsvd.current", "0\n");
	const char *names[] = {"/sys/fs/cgroup/c1"};
	json_t *d = stats(true, names, &cg, 1, -1);
	json_t *bytes = json_object_get(json_object_get(d, "blkio"), "ioServiceBytesRecursive");
	assert_int_equal(json_array_size(bytes), 6);
	entry(bytes, 0, 253, 0, "Read", 100);
	entry(bytes, 1, 253, 0, "Write", 200);
	entry(bytes, 2, 253, 0, "Discard", 0);
	entry(bytes, 5, 8, 16, "Discard", 512);
	json_t *ios = json_object_get(json_object_get(d, "blkio"), "ioServicedRecursive");
	assert_int_equal(json_array_size(ios), 6);
	entry(ios, 4, 8, 16, "Write", 4);
	json_t *h = json_object_get(d, "hugetlb");
	assert_int_equal(json_object_size(h), 1); /* not "2MB.rsvd" */
	assert_int_equal(num(h, "2MB", "usage"), 2097152);
	assert_int_equal(num(h, "2MB", "failcnt"), 3);
	assert_null(json_object_get(json_object_get(h, "2MB"), "max"));
	json_decref(d);
	close(cg);
}

static void test_network_interfaces(void **state)
{
	(void)state;
	int proc = mkdir_open("proc"), empty = mkdir_open("v2empty");
	int net = mkdir_open("proc/net");
	assert_int_equal(mkdirat(proc, "ns", 0700), 0);
	assert_int_equal(symlinkat("net:[1]", proc, "ns/net"), 0); /* not ours */
	put(net, "dev",
	    "Inter-|   Receive                                                |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
	    "errs drop fifo colls carrier compressed\n"
	    "    lo:     120       2    0    0    0     0          0         0      120       2    "
	    "0    0    0     0       0          0\n"
	    "  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n"
	    "  short: 1 2 3\n"
	    "nocolon 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
	const char *names[] = {"/sys/fs/cgroup/c1"};
	json_t *d = stats(true, names, &empty, 1, proc);
	json_t *n = json_object_get(d, "network_interfaces");
	assert_int_equal(json_array_size(n), 2);
	json_t *eth = json_array_get(n, 1);
	assert_string_equal(json_string_value(json_object_get(eth, "Name")), "eth0");
	const char *keys[] = {"RxBytes", "RxPackets", "RxErrors", "RxDropped",
			      "TxBytes", "TxPackets", "TxErrors", "TxDropped"};
	const json_int_t want[] = {1000, 10, 1, 2, 2000, 20, 3, 4};
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(json_integer_value(json_object_get(eth, keys[i])), want[i]);
	assert_int_equal(json_object_size(eth), 9);
	json_decref(d);
	/* in our namespace: the host's interfaces, not reported */
	char mine[64] = "";
	assert_true(readlink("/proc/self/ns/net", mine, sizeof mine - 1) > 0);
	assert_int_equal(unlinkat(proc, "ns/net", 0), 0);
	assert_int_equal(symlinkat(mine, proc, "ns/net"), 0);
	d = stats(true, names, &empty, 1, proc);
	assert_true(json_is_null(json_object_get(d, "network_interfaces")));
	json_decref(d);
	close(net);
	close(proc);
	close(empty);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_blkio_and_hugetlb),
	    cmocka_unit_test(test_v1_blkio_scheduler_files),
	    cmocka_unit_test(test_v2_io_stat_and_hugetlb),
	    cmocka_unit_test(test_network_interfaces),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
