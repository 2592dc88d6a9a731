/* Unit tests: the bbolt reader (bolt.c) and the containerd source's lookups, on databases
 * written by tests/fixtures/gen_bolt.py (a writer of bbolt's format, run here): multi-level
 * trees, inline buckets, overflow pages, 64 KiB pages, the newer of two meta pages and a torn
 * one, a snapshot that moved on, and hostile files (a loop, a page past the high-water mark,
 * an element past its page) that must be errors, not reads out of bounds (the fuzz target
 * tests/fuzz/fuzz_bolt.c takes it further). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include "core/util.h"
#include "image/bolt.h"
#include "image/image_private.h"

extern char **environ;
static char tmpdir[] = "/tmp/bwk-bolt-XXXXXX";

static void gen(const char *what, const char *out)
{
	char script[1024];
	snprintf(script, sizeof(script), "%s/tests/fixtures/gen_bolt.py", BWK_SOURCE_DIR);
	const char *argv[] = {"/usr/bin/python3", script, what, out, NULL};
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ), 0);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int open_case(const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	gen(name, p);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void expect_err(int r, bwk_error **err, const char *needle)
{
	assert_true(r < 0);
	assert_non_null(*err);
	char *m = bwk_error_format(*err);
	if (!strstr(m, needle))
		fail_msg("wanted '%s', got: %s", needle, m);
	free(m);
	bwk_error_free(*err);
	*err = NULL;
}

/* v1/NS/images/NAME/target/digest, or NULL (absent). */
static char *target_digest(bolt_db *db, const char *ns, const char *name)
{
	const char *path[] = {"v1", ns, "images", name, "target"};
	bolt_bucket b, next;
	bolt_root(db, &b);
	bwk_error *err = NULL;
	for (size_t i = 0; i < 5; i++) {
		int r = bolt_bucket_get(db, &b, path[i], &next, &err);
		assert_null(err);
		bolt_bucket_free(&b);
		if (r == 0)
			return NULL;
		b = next;
	}
	char *v = NULL;
	size_t vl = 0;
	bool isb = true;
	int r = bolt_get(db, &b, "digest", 6, &v, &vl, &isb, &err);
	bolt_bucket_free(&b);
	assert_int_equal(r, 1);
	assert_false(isb);
	assert_int_equal(strlen(v), vl);
	return v;
}

static int count_cb(void *ctx, const unsigned char *key, size_t klen, bool is_bucket)
{
	(void)key;
	(void)klen;
	if (is_bucket)
		(*(size_t *)ctx)++;
	return 0;
}

static void check_tree(const char *name)
{
	int fd = open_case(name);
	bolt_db *db = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bolt_open(fd, name, &db, &err), 0);
	assert_int_equal(bolt_txid(db), 7);
	char *d = target_digest(db, "default", "docker.io/library/app:1");
	assert_non_null(d);
	assert_string_equal(d + 7,
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	free(d);
	/* every one of the 40 fillers, through the branch levels */
	for (int i = 0; i < 40; i++) {
		char n[64];
		snprintf(n, sizeof(n), "docker.io/library/filler%03d:1", i);
		d = target_digest(db, "default", n);
		assert_non_null(d);
		free(d);
	}
	d = target_digest(db, "k8s.io", "registry.k8s.io/pause:3.9");
	assert_non_null(d);
	assert_int_equal(d[7], 'c');
	free(d);
	assert_null(target_digest(db, "default", "docker.io/library/app:2"));
	assert_null(target_digest(db, "nosuch", "docker.io/library/app:1"));
	assert_null(target_digest(db, "default", "docker.io/library/filler040:1"));
	/* the large label: a value on overflow pages */
	const char *lp[] = {"v1", "default", "images", "docker.io/library/big:1", "labels"};
	bolt_bucket b, nb;
	bolt_root(db, &b);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(bolt_bucket_get(db, &b, lp[i], &nb, &err), 1);
		bolt_bucket_free(&b);
		b = nb;
	}
	char *v = NULL;
	size_t vl = 0;
	bool isb = false;
	assert_int_equal(bolt_get(db, &b, "huge", 4, &v, &vl, &isb, &err), 1);
	assert_int_equal(vl, 10000);
	assert_true(v[0] == 'x' && v[9999] == 'x');
	free(v);
	bolt_bucket_free(&b);
	/* the images of "default", in order */
	bolt_root(db, &b);
	assert_int_equal(bolt_bucket_get(db, &b, "v1", &nb, &err), 1);
	size_t nns = 0;
	assert_int_equal(bolt_each(db, &nb, 100, count_cb, &nns, &err), 0);
	assert_int_equal(nns, 2);
	/* a bound on the keys listed */
	expect_err(bolt_each(db, &nb, 1, count_cb, &nns, &err), &err, "more than 1 keys");
	bolt_bucket_free(&nb);
	assert_true(bolt_snapshot_current(db));
	bolt_close(db);
	close(fd);
}

static void test_tree(void **state)
{
	(void)state;
	check_tree("tree");
	check_tree("noinline");
	check_tree("page64k");
}

static void test_meta_choice(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	bolt_db *db = NULL;
	/* both valid: the higher txid */
	int fd = open_case("newer");
	assert_int_equal(bolt_open(fd, "newer", &db, &err), 0);
	assert_int_equal(bolt_txid(db), 9);
	char *d = target_digest(db, "default", "docker.io/library/app:1");
	assert_int_equal(d[7], 'd');
	free(d);
	bolt_close(db);
	close(fd);
	/* the newer one torn (checksum): the older one */
	fd = open_case("torn");
	assert_int_equal(bolt_open(fd, "torn", &db, &err), 0);
	assert_int_equal(bolt_txid(db), 8);
	d = target_digest(db, "default", "docker.io/library/app:1");
	assert_int_equal(d[7], 'a');
	free(d);
	bolt_close(db);
	close(fd);
}

/* A write that commits while we read: the meta page moves on and the snapshot is stale. */
static void test_snapshot_moves(void **state)
{
	(void)state;
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/moving", tmpdir);
	snprintf(q, sizeof(q), "%s/moving-newer", tmpdir);
	gen("torn", p);
	gen("newer", q);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	bolt_db *db = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bolt_open(fd, "moving", &db, &err), 0);
	assert_true(bolt_snapshot_current(db));
	/* meta page 1 repaired: as if txid 9 had just committed */
	int nfd = open(q, O_RDONLY | O_CLOEXEC);
	char page[4096];
	assert_int_equal(pread(nfd, page, sizeof(page), 4096), 4096);
	assert_int_equal(pwrite(fd, page, sizeof(page), 4096), 4096);
	assert_false(bolt_snapshot_current(db));
	bolt_close(db);
	close(nfd);
	close(fd);
}

static void test_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *name, *needle;
	} cases[] = {
	    {"loop", "deeper than the limit"},
	    {"past-hwm", "outside the file's pages"},
	    {"bad-elem", "points past the page"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = open_case(cases[i].name);
		bolt_db *db = NULL;
		bwk_error *err = NULL;
		assert_int_equal(bolt_open(fd, cases[i].name, &db, &err), 0);
		bolt_bucket root, out;
		bolt_root(db, &root);
		expect_err(bolt_bucket_get(db, &root, "v1", &out, &err), &err, cases[i].needle);
		bolt_close(db);
		close(fd);
	}
	/* not a bbolt file at all, and a truncated one */
	int fd = open_case("tree");
	char head[100];
	assert_int_equal(pread(fd, head, sizeof(head), 0), sizeof(head));
	close(fd);
	for (size_t n = 0; n <= sizeof(head); n += 20) {
		char p[512];
		snprintf(p, sizeof(p), "%s/trunc", tmpdir);
		int t = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_int_equal(write(t, head, n), (ssize_t)n);
		bolt_db *db = NULL;
		bwk_error *err = NULL;
		if (n < 80) { /* meta page 0 is 16 + 64 bytes */
			expect_err(bolt_open(t, "trunc", &db, &err), &err, "not a bbolt database");
		} else {
			assert_int_equal(bolt_open(t, "trunc", &db, &err), 0);
			bolt_bucket root, out;
			bolt_root(db, &root);
			expect_err(bolt_bucket_get(db, &root, "v1", &out, &err), &err,
				   "beyond the end of the file");
			bolt_close(db);
		}
		close(t);
	}
}

static void test_fnv(void **state)
{
	(void)state;
	/* FNV-64a test vectors */
	assert_true(bolt_fnv64a("", 0) == 0xcbf29ce484222325ULL);
	assert_true(bolt_fnv64a("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(bolt_fnv64a("foobar", 6) == 0x85944171f73967e8ULL);
}

/* The containerd source end to end over a generated root (BULWARK_CONTAINERD_ROOT). */
static void test_source(void **state)
{
	(void)state;
	char root[512];
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	gen("store", root);
	setenv("BULWARK_CONTAINERD_ROOT", root, 1);
	unsetenv("CONTAINERD_NAMESPACE");
	bwk_image_opts opts = {.platform = "linux/amd64"};
	bwk_image *img = NULL;
	bwk_error *err = NULL;
	/* full name, short name, NS/NAME; an index in another namespace */
	const char *ok[] = {"containerd:docker.io/library/app:1", "containerd:app:1",
			    "containerd:app", "containerd:default/app:1", "containerd:bwk/multi:1"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (i == 2)
			continue; /* app means app:latest: not there */
		int r = bwk_image_open(ok[i], &opts, &img, &err);
		if (r < 0)
			fail_msg("%s: %s", ok[i], bwk_error_format(err));
		assert_string_equal(bwk_image_source(img), "containerd");
		assert_int_equal(bwk_image_layer_count(img), 1);
		bwk_image_close(img);
	}
	expect_err(bwk_image_open("containerd:app", &opts, &img, &err), &err,
		   "image 'app' not found in containerd namespace 'default'");
	expect_err(bwk_image_open("containerd:multi:1", &opts, &img, &err), &err,
		   "namespaces in this store: bwk, default");
	setenv("CONTAINERD_NAMESPACE", "bwk", 1);
	assert_int_equal(bwk_image_open("containerd:multi:1", &opts, &img, &err), 0);
	bwk_image_close(img);
	unsetenv("CONTAINERD_NAMESPACE");
	/* named in the metadata, blob gone */
	expect_err(bwk_image_open("containerd:nomanifest:1", &opts, &img, &err), &err,
		   "the target of 'docker.io/library/nomanifest:1' in containerd's content store");
	/* a store nothing was written to: no namespace at all */
	char empty[600];
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	assert_int_equal(mkdir(empty, 0755), 0);
	snprintf(empty, sizeof(empty), "%s/empty/io.containerd.metadata.v1.bolt", tmpdir);
	assert_int_equal(mkdir(empty, 0755), 0);
	snprintf(empty, sizeof(empty), "%s/empty/io.containerd.metadata.v1.bolt/meta.db", tmpdir);
	gen("empty", empty);
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	setenv("BULWARK_CONTAINERD_ROOT", empty, 1);
	expect_err(bwk_image_open("containerd:app:1", &opts, &img, &err), &err,
		   "namespaces in this store: none");
	/* a wrong root */
	setenv("BULWARK_CONTAINERD_ROOT", tmpdir, 1);
	expect_err(bwk_image_open("containerd:app:1", &opts, &img, &err), &err,
		   "no containerd metadata at");
	unsetenv("BULWARK_CONTAINERD_ROOT");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	const char *argv[] = {"/bin/rm", "-rf", tmpdir, NULL};
	pid_t pid;
	if (posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) == 0)
		waitpid(pid, NULL, 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fnv),		cmocka_unit_test(test_tree),
	    cmocka_unit_test(test_meta_choice), cmocka_unit_test(test_snapshot_moves),
	    cmocka_unit_test(test_hostile),	cmocka_unit_test(test_source),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
