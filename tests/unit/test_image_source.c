/* Unit tests: the image source table — prefix parsing, detection of directories and archives
 * by their markers, prefixes that override detection, reserved prefixes, and a prefix that
 * does not fit the form of its input. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include "core/util.h"
#include "image/image_private.h"

static char tmpdir[] = "/tmp/bwk-src-XXXXXX";

static void touch(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static char *mkdir_in(const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
	assert_int_equal(mkdir(p, 0755), 0);
	return p;
}

static void expect_err(int r, bwk_error **err, bwk_code code, const char *needle)
{
	assert_true(r < 0);
	assert_non_null(*err);
	char *m = bwk_error_format(*err);
	if (bwk_error_code(*err) != code || !strstr(m, needle))
		fail_msg("wanted code %d with '%s', got %d: %s", code, needle, bwk_error_code(*err),
			 m);
	free(m);
	bwk_error_free(*err);
	*err = NULL;
}

static void test_prefix_parse(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	source_ref r;
	assert_int_equal(source_ref_parse("oci:some/dir", &r, &err), 0);
	assert_ptr_equal(r.prefix, &bwk_source_oci);
	assert_string_equal(r.arg, "some/dir");
	source_ref_free(&r);
	/* a name keeps its tag: no PATH:REF split for docker:NAME */
	assert_int_equal(source_ref_parse("docker:alpine:3.19", &r, &err), 0);
	assert_ptr_equal(r.prefix, &bwk_source_docker);
	assert_string_equal(r.arg, "alpine:3.19");
	assert_null(r.refname);
	source_ref_free(&r);
	/* not a row: the whole argument is a path */
	assert_int_equal(source_ref_parse("busybox:latest", &r, &err), 0);
	assert_null(r.prefix);
	assert_string_equal(r.arg, "busybox:latest");
	source_ref_free(&r);
	/* a prefix is a whole row name, not a prefix of one */
	assert_int_equal(source_ref_parse("oc:x", &r, &err), 0);
	assert_null(r.prefix);
	source_ref_free(&r);
	/* PATH:REF after a prefix: the shortest existing PATH */
	char *d = NULL;
	assert_true(asprintf(&d, "oci-archive:%s:demo:1.0", tmpdir) > 0);
	assert_int_equal(source_ref_parse(d, &r, &err), 0);
	assert_ptr_equal(r.prefix, &bwk_source_oci_archive);
	assert_string_equal(r.arg, tmpdir);
	assert_string_equal(r.refname, "demo:1.0");
	source_ref_free(&r);
	free(d);
	expect_err(source_ref_parse("oci:", &r, &err), &err, BWK_E_USAGE, "empty after the prefix");
}

static const char *detect_dir(const char *dir)
{
	blob_src s = {.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), .tarfd = -1};
	assert_true(s.dirfd >= 0);
	const image_source *src = source_detect(&s, true);
	close(s.dirfd);
	return src ? src->name : "(none)";
}

static void test_detect_directories(void **state)
{
	(void)state;
	char *d = mkdir_in("plain");
	assert_string_equal(detect_dir(d), "dir");
	/* index.json alone is a common file name, not a layout */
	touch("plain/index.json");
	assert_string_equal(detect_dir(d), "dir");
	/* index.json with blobs/: the layout's shape (scan and run used to disagree here) */
	free(mkdir_in("plain/blobs"));
	assert_string_equal(detect_dir(d), "oci");
	free(d);
	d = mkdir_in("marked");
	touch("marked/oci-layout");
	assert_string_equal(detect_dir(d), "oci");
	/* manifest.json: an extracted docker save, for every command */
	touch("marked/manifest.json");
	assert_string_equal(detect_dir(d), "docker-archive");
	free(d);
	d = mkdir_in("saved");
	touch("saved/manifest.json");
	assert_string_equal(detect_dir(d), "docker-archive");
	free(d);
}

static void header(unsigned char *h, const char *name, size_t size)
{
	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 8);
	snprintf((char *)h + 124, 12, "%011zo", size);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* A tar holding empty members named `names`, as an fd. */
static int tar_with(const char *const *names)
{
	unsigned char t[512 * 8] = {0};
	size_t n = 0;
	for (; names[n]; n++)
		header(t + 512 * n, names[n], 0);
	int fd = memfd_create("t", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t, sizeof(t)), (ssize_t)sizeof(t));
	return fd;
}

static const char *detect_tar(const char *const *names)
{
	blob_src s = {.dirfd = -1, .tarfd = tar_with(names)};
	bwk_error *err = NULL;
	assert_int_equal(tar_index_build(s.tarfd, "t", &s.idx, &err), 0);
	const image_source *src = source_detect(&s, false);
	tar_index_free(&s.idx);
	close(s.tarfd);
	return src ? src->name : "(none)";
}

static void test_detect_archives(void **state)
{
	(void)state;
	assert_string_equal(detect_tar((const char *const[]){"manifest.json", NULL}),
			    "docker-archive");
	assert_string_equal(detect_tar((const char *const[]){"index.json", NULL}), "oci-archive");
	assert_string_equal(detect_tar((const char *const[]){"oci-layout", "index.json", NULL}),
			    "oci-archive");
	/* Docker 25+ saves carry both: the docker view wins, as `docker load` reads it */
	assert_string_equal(
	    detect_tar((const char *const[]){"oci-layout", "index.json", "manifest.json", NULL}),
	    "docker-archive");
	/* "dir" never takes a file */
	assert_string_equal(detect_tar((const char *const[]){"etc/passwd", NULL}), "(none)");
}

static void test_open_prefixes(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	bwk_image *img = NULL;
	bwk_image_opts ro = {.accept_rootfs = true};
	char *d = mkdir_in("layout");
	touch("layout/oci-layout");
	/* dir: overrides detection */
	char *ref = NULL;
	assert_true(asprintf(&ref, "dir:%s", d) > 0);
	assert_int_equal(bwk_image_open(ref, &ro, &img, &err), 0);
	assert_string_equal(bwk_image_source(img), "dir");
	assert_true(bwk_image_rootfs_fd(img) >= 0);
	assert_null(bwk_image_get_config(img));
	bwk_image_close(img);
	/* … and a root filesystem is refused where an image is needed, saying what it is */
	expect_err(bwk_image_open(ref, NULL, &img, &err), &err, BWK_E_INPUT,
		   "a root filesystem directory (source dir)");
	assert_null(img);
	free(ref);
	/* oci: on a file, oci-archive: on a directory: the other row is named */
	assert_true(asprintf(&ref, "oci:%s/layout/oci-layout", tmpdir) > 0);
	expect_err(bwk_image_open(ref, &ro, &img, &err), &err, BWK_E_USAGE, "oci-archive:PATH");
	free(ref);
	assert_true(asprintf(&ref, "oci-archive:%s", d) > 0);
	expect_err(bwk_image_open(ref, &ro, &img, &err), &err, BWK_E_USAGE, "oci:PATH");
	free(ref);
	/* detection: the marked layout is OCI (and its empty oci-layout file is refused) */
	expect_err(bwk_image_open(d, &ro, &img, &err), &err, BWK_E_UNSUPPORTED,
		   "imageLayoutVersion");
	/* reserved prefixes say so instead of looking for a file */
	/* podman: without its API service says how to start one */
	setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock", 1);
	expect_err(bwk_image_open("podman:alpine", &ro, &img, &err), &err, BWK_E_NOTFOUND,
		   "podman system service");
	unsetenv("CONTAINER_HOST");
	/* containerd:NAME never reads as an option (no image name starts with '-') */
	expect_err(bwk_image_open("containerd:--all-platforms", &ro, &img, &err), &err, BWK_E_USAGE,
		   "not an image name");
	/* no containerd listening and no store where its root would be: said, with the root */
	setenv("CONTAINERD_ADDRESS", "/nonexistent/containerd.sock", 1);
	setenv("BULWARK_CONTAINERD_ROOT", "/nonexistent/containerd-root", 1);
	expect_err(bwk_image_open("containerd:alpine", &ro, &img, &err), &err, BWK_E_NOTFOUND,
		   "containerd's root /nonexistent/containerd-root (BULWARK_CONTAINERD_ROOT): "
		   "cannot open");
	unsetenv("BULWARK_CONTAINERD_ROOT");
	unsetenv("CONTAINERD_ADDRESS");
	/* the registry row parses its reference before any network access */
	expect_err(bwk_image_open("registry:Team/App", &ro, &img, &err), &err, BWK_E_INPUT,
		   "image reference");
	/* a REF on a root filesystem names nothing */
	assert_true(asprintf(&ref, "dir:%s:tag", d) > 0);
	expect_err(bwk_image_open(ref, &ro, &img, &err), &err, BWK_E_USAGE, "has no images");
	free(ref);
	free(d);
}

/* Every row is well formed: a unique name, and either functions or a reservation. */
static void test_table(void **state)
{
	(void)state;
	size_t n = 0;
	for (const image_source *const *s = bwk_image_sources; *s; s++, n++) {
		assert_non_null((*s)->name);
		assert_non_null((*s)->what);
		assert_true(((*s)->open != NULL) != ((*s)->reserved != NULL));
		if ((*s)->forms & SRC_NAME)
			assert_null((*s)->bid);
		for (const image_source *const *t = s + 1; *t; t++)
			assert_string_not_equal((*s)->name, (*t)->name);
	}
	assert_true(n >= 5);
}

/* ---- a source outside the module: an in-memory blob store (the registry's interface) ---- */
typedef struct mem_blob {
	char digest[72];
	char *data;
	size_t len;
} mem_blob;

typedef struct mem_store {
	mem_blob b[8];
	size_t n;
	const char *root; /* digest of the root document */
	bool state_digest;
	int open, closed, freed;
} mem_store;

static const char *mem_add(mem_store *m, const char *data, size_t len)
{
	mem_blob *b = &m->b[m->n++];
	char hex[65];
	bwk_sha256_hex(data, len, hex);
	snprintf(b->digest, sizeof(b->digest), "sha256:%s", hex);
	b->data = malloc(len);
	memcpy(b->data, data, len);
	b->len = len;
	return b->digest;
}

static mem_blob *mem_find(mem_store *m, const char *digest)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->b[i].digest, digest))
			return &m->b[i];
	return NULL;
}

static int mem_read(void *ctx, const char *digest, size_t max, char **data, size_t *len,
		    bwk_error **err)
{
	mem_blob *b = mem_find(ctx, digest);
	if (!b)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0, "%s: no such blob", digest);
	(void)max;
	*data = malloc(b->len + 1);
	memcpy(*data, b->data, b->len);
	*len = b->len;
	return 0;
}

static int mem_root(void *ctx, size_t max, char **doc, size_t *len, char **digest, bwk_error **err)
{
	mem_store *m = ctx;
	*digest = m->state_digest ? strdup(m->root) : NULL;
	return mem_read(ctx, m->root, max, doc, len, err);
}

typedef struct mem_stream {
	mem_blob *b;
	size_t pos;
} mem_stream;

static int mem_open(void *ctx, const char *digest, uint64_t size, void **stream, bwk_error **err)
{
	mem_store *m = ctx;
	mem_blob *b = mem_find(m, digest);
	if (!b)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0, "%s: no such blob", digest);
	assert_int_equal(size, b->len);
	mem_stream *s = calloc(1, sizeof(*s));
	s->b = b;
	*stream = s;
	__atomic_add_fetch(&m->open, 1, __ATOMIC_RELAXED);
	return 0;
}

static ssize_t mem_pull(void *stream, void *buf, size_t len, bwk_error **err)
{
	(void)err;
	mem_stream *s = stream;
	size_t n = s->b->len - s->pos < len ? s->b->len - s->pos : len;
	memcpy(buf, s->b->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static mem_store *closing_store;
static void mem_close(void *stream)
{
	free(stream);
	__atomic_add_fetch(&closing_store->closed, 1, __ATOMIC_RELAXED);
}

static void mem_free(void *ctx)
{
	mem_store *m = ctx;
	m->freed++;
}

/* One layer (hello = "world"), its config, manifest, and an index naming the manifest. */
static void mem_image(mem_store *m, bool tamper)
{
	unsigned char t[512 * 4] = {0};
	header(t, "hello", 5);
	memcpy(t + 512, "world", 5);
	char *tar = (char *)t;
	const char *layer = mem_add(m, tar, sizeof(t));
	char *cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
			      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
			      layer);
	const char *cd = mem_add(m, cfg, strlen(cfg));
	char *man = xasprintf(
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	    "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
	    cd, strlen(cfg), layer, sizeof(t));
	const char *md = mem_add(m, man, strlen(man));
	char *idx = xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
			      "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
			      "\"size\":%zu}]}",
			      md, strlen(man));
	m->root = mem_add(m, idx, strlen(idx));
	if (tamper) /* the store serves other bytes under the layer's digest */
		m->b[0].data[512] = 'W';
	free(cfg);
	free(man);
	free(idx);
}

static int collect(void *ctx, const bwk_entry *e, bwk_error **err)
{
	(void)err;
	if (!strcmp(e->path, "hello"))
		(*(int *)ctx)++;
	return 0;
}

static const image_source test_store_row = {.name = "test-store", .what = "a test store"};

static int open_store_image(mem_store *m, bool manifest_root, bwk_image **out, bwk_error **err)
{
	bwk_blob_store st = {.ctx = m,
			     .root = mem_root,
			     .read_blob = mem_read,
			     .open_blob = mem_open,
			     .pull = mem_pull,
			     .close_blob = mem_close,
			     .free = mem_free};
	if (manifest_root)
		m->root = m->b[2].digest;
	closing_store = m;
	bwk_image *img = xcalloc(1, sizeof(*img));
	img->ref = xstrdup("test");
	img->opts.verify = BWK_VERIFY_STRICT;
	img->opts.threads = 2;
	img->src.dirfd = img->src.tarfd = img->rootfs_fd = -1;
	img->source = &test_store_row;
	*out = img;
	return image_open_store(img, &st, err);
}

static void mem_store_free(mem_store *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->b[i].data);
}

static void test_blob_store_source(void **state)
{
	(void)state;
	for (int root_is_manifest = 0; root_is_manifest < 2; root_is_manifest++) {
		mem_store m = {.state_digest = true};
		mem_image(&m, false);
		bwk_image *img = NULL;
		bwk_error *err = NULL;
		assert_int_equal(open_store_image(&m, root_is_manifest, &img, &err), 0);
		assert_int_equal(bwk_image_layer_count(img), 1);
		assert_string_equal(bwk_image_get_config(img)->architecture, "amd64");
		int hello = 0;
		bwk_visitor v = {.ctx = &hello, .entry = collect};
		assert_int_equal(bwk_image_walk(img, &v, &err), 0);
		assert_int_equal(hello, 1);
		bwk_image_close(img);
		assert_int_equal(m.open, 1);
		assert_int_equal(m.closed, 1);
		assert_int_equal(m.freed, 1);
		mem_store_free(&m);
	}
	/* a store that serves other bytes for a layer's digest is caught by the walk */
	mem_store m = {0};
	mem_image(&m, true);
	bwk_image *img = NULL;
	bwk_error *err = NULL;
	assert_int_equal(open_store_image(&m, false, &img, &err), 0);
	bwk_visitor v = {.ctx = &(int){0}, .entry = collect};
	expect_err(bwk_image_walk(img, &v, &err), &err, BWK_E_INTEGRITY, "digest mismatch");
	bwk_image_close(img);
	assert_int_equal(m.open, m.closed);
	mem_store_free(&m);
	/* … and a root document that is not what its stated digest says, at open */
	m = (mem_store){.state_digest = true};
	mem_image(&m, false);
	m.b[3].data[0] = ' ';
	expect_err(open_store_image(&m, false, &img, &err), &err, BWK_E_INTEGRITY,
		   "digest mismatch");
	bwk_image_close(img);
	assert_int_equal(m.freed, 1);
	mem_store_free(&m);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = NULL;
	if (asprintf(&cmd, "rm -rf '%s'", tmpdir) > 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
	return 0;
}

/* What a target weighs for scheduling (bwk_image_size_hint): a file's size, else 0 without
 * error (a directory, a missing path, an engine's image: their scan says what is wrong). */
static void test_size_hint(void **state)
{
	(void)state;
	char p[512];
	snprintf(p, sizeof(p), "%s/hint.tar", tmpdir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	char buf[3000] = {0};
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	assert_int_equal(bwk_image_size_hint(p, NULL), 3000);
	char *q = NULL;
	assert_true(asprintf(&q, "oci-archive:%s", p) > 0);
	assert_int_equal(bwk_image_size_hint(q, NULL), 3000);
	free(q);
	unlink(p);
	assert_int_equal(bwk_image_size_hint(p, NULL), 0);
	assert_int_equal(bwk_image_size_hint(tmpdir, NULL), 0);
	assert_int_equal(bwk_image_size_hint("oci:", NULL), 0);
	assert_int_equal(bwk_image_size_hint("docker:alpine", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_parse),    cmocka_unit_test(test_detect_directories),
	    cmocka_unit_test(test_detect_archives), cmocka_unit_test(test_open_prefixes),
	    cmocka_unit_test(test_table),	    cmocka_unit_test(test_blob_store_source),
	    cmocka_unit_test(test_size_hint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
