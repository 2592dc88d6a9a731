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
	expect_err(bwk_image_open("podman:alpine", &ro, &img, &err), &err, BWK_E_UNSUPPORTED,
		   "not supported yet");
	expect_err(bwk_image_open("containerd:alpine", &ro, &img, &err), &err, BWK_E_UNSUPPORTED,
		   "not supported yet");
	expect_err(bwk_image_open("registry:alpine", &ro, &img, &err), &err, BWK_E_UNSUPPORTED,
		   "not supported yet");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_parse),    cmocka_unit_test(test_detect_directories),
	    cmocka_unit_test(test_detect_archives), cmocka_unit_test(test_open_prefixes),
	    cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
