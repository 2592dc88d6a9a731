/* Unit tests: Podman's store read directly — tar-split lines and their reassembly into the
 * original tar (files read through the layer directory's fd, escapes refused), name
 * resolution as Podman does it, and finding the store from storage.conf. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include "core/util.h"
#include "image/image_private.h"
#include "image/podman_store.h"

static char tmpdir[] = "/tmp/bwk-pstore-XXXXXX";

static void put(const char *rel, const char *data)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static int memfd_of(const char *s)
{
	int fd = memfd_create("ts", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void test_parse_line(void **state)
{
	(void)state;
	ts_entry e;
	bwk_error *err = NULL;
	const char *seg = "{\"type\":2,\"payload\":\"aGVsbG8=\",\"position\":0}";
	assert_int_equal(ts_parse_line(seg, strlen(seg), &e, &err), 0);
	assert_int_equal(e.type, TS_SEGMENT);
	assert_int_equal(e.plen, 5);
	assert_memory_equal(e.payload, "hello", 5);
	ts_entry_free(&e);
	const char *file =
	    "{\"type\":1,\"name\":\"./etc/a\",\"size\":3,\"payload\":\"AAAAAAAAAAA=\"}";
	assert_int_equal(ts_parse_line(file, strlen(file), &e, &err), 0);
	assert_int_equal(e.type, TS_FILE);
	assert_string_equal(e.name, "./etc/a");
	assert_int_equal(e.size, 3);
	ts_entry_free(&e);
	/* name_raw: a name that is not UTF-8, base64 */
	const char *raw = "{\"type\":1,\"name_raw\":\"ZXRjL/8=\",\"size\":0}";
	assert_int_equal(ts_parse_line(raw, strlen(raw), &e, &err), 0);
	assert_memory_equal(e.name, "etc/\xff", 6);
	ts_entry_free(&e);
	const char *bad[] = {
	    "[]",
	    "{\"type\":3}",
	    "{\"type\":2,\"payload\":\"!!!\"}",
	    "{\"type\":1,\"name\":\"a\\u0000b\",\"size\":1}",
	    "{\"type\":1,\"size\":1}",
	    "{\"type\":1,\"name\":\"a\",\"size\":-1}",
	    "{\"type\":1,\"name\":\"a\",\"size\":\"1\"}",
	    "{\"type\":2,\"type\":2}",
	    "not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(ts_parse_line(bad[i], strlen(bad[i]), &e, &err), -1);
		assert_non_null(err);
		bwk_error_free(err);
		err = NULL;
	}
	/* too deep a name */
	char deep[TS_MAX_DEPTH * 2 + 64];
	size_t n = (size_t)snprintf(deep, sizeof(deep), "{\"type\":1,\"size\":1,\"name\":\"");
	for (int i = 0; i <= TS_MAX_DEPTH; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "a/");
	snprintf(deep + n, sizeof(deep) - n, "\"}");
	assert_int_equal(ts_parse_line(deep, strlen(deep), &e, &err), -1);
	bwk_error_free(err);
}

typedef struct opener {
	int dirfd;
	int opened;
} opener;

static int open_in(void *ctx, const char *name, bwk_error **err)
{
	opener *o = ctx;
	o->opened++;
	int fd = bwk_openat2(o->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, 0, "%s: cannot open", name);
	return fd;
}

static char *read_all(ts_reader *r, size_t *len, int *rc)
{
	bwk_strbuf b;
	bwk_strbuf_init(&b, 4096);
	char buf[3]; /* small reads: every boundary is crossed */
	ssize_t n;
	bwk_error *err = NULL;
	while ((n = ts_reader_read(r, buf, sizeof(buf), &err)) > 0)
		bwk_strbuf_appendn(&b, buf, (size_t)n);
	*rc = n < 0 ? -1 : 0;
	bwk_error_free(err);
	*len = b.len;
	return bwk_strbuf_steal(&b);
}

static void test_reassemble(void **state)
{
	(void)state;
	char p[512];
	snprintf(p, sizeof(p), "%s/layer", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/layer/etc", tmpdir);
	assert_int_equal(mkdir(p, 0755), 0);
	put("layer/etc/a", "ABCDEFG");
	put("secret", "outside");
	snprintf(p, sizeof(p), "%s/layer", tmpdir);
	opener o = {.dirfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
	/* HDR + 5 bytes of etc/a + PAD: the file's bytes come from the directory, its size from
	 * the tar-split (the file has 7: only 5 are the layer's) */
	const char *ts = "{\"type\":2,\"payload\":\"SERS\"}\n"
			 "{\"type\":1,\"name\":\"./etc/\",\"size\":0}\n"
			 "{\"type\":1,\"name\":\"./etc/a\",\"size\":5}\n"
			 "\n"
			 "{\"type\":2,\"payload\":\"UEFE\"}\n";
	ts_reader *r = ts_reader_new(memfd_of(ts), BWK_COMP_NONE, open_in, &o, "layer 1");
	size_t len;
	int rc;
	char *out = read_all(r, &len, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(len, 11);
	assert_memory_equal(out, "HDRABCDEPAD", 11);
	assert_int_equal(o.opened, 1);
	free(out);
	ts_reader_free(r);
	/* a file shorter than its size: an error, not a short tar */
	const char *shortf = "{\"type\":1,\"name\":\"etc/a\",\"size\":99}\n";
	r = ts_reader_new(memfd_of(shortf), BWK_COMP_NONE, open_in, &o, "layer 1");
	out = read_all(r, &len, &rc);
	assert_int_equal(rc, -1);
	free(out);
	ts_reader_free(r);
	/* "../secret" stays inside the layer (RESOLVE_IN_ROOT): there is no /secret there */
	const char *esc = "{\"type\":1,\"name\":\"../secret\",\"size\":7}\n";
	r = ts_reader_new(memfd_of(esc), BWK_COMP_NONE, open_in, &o, "layer 1");
	out = read_all(r, &len, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(len, 0);
	free(out);
	ts_reader_free(r);
	/* a broken line in the middle ends the stream with an error */
	const char *broken = "{\"type\":2,\"payload\":\"SERS\"}\n{\"type\":\n";
	r = ts_reader_new(memfd_of(broken), BWK_COMP_NONE, open_in, &o, "layer 1");
	out = read_all(r, &len, &rc);
	assert_int_equal(rc, -1);
	free(out);
	ts_reader_free(r);
	/* gzip that ends early: truncated */
	const unsigned char gz_trunc[] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xab};
	int gfd = memfd_create("gz", MFD_CLOEXEC);
	assert_int_equal(write(gfd, gz_trunc, sizeof(gz_trunc)), (ssize_t)sizeof(gz_trunc));
	lseek(gfd, 0, SEEK_SET);
	r = ts_reader_new(gfd, BWK_COMP_GZIP, open_in, &o, "layer 1");
	out = read_all(r, &len, &rc);
	assert_int_equal(rc, -1);
	free(out);
	ts_reader_free(r);
	close(o.dirfd);
}

static const char IMAGES[] =
    "[{\"id\":\"1111111111111111111111111111111111111111111111111111111111111111\","
    "\"names\":[\"localhost/demo:1\",\"localhost/demo:latest\"],\"layer\":"
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
    "{\"id\":\"2222222222222222222222222222222222222222222222222222222222222222\","
    "\"names\":[\"docker.io/library/alpine:latest\",\"quay.io/x/tool:2\"],"
    "\"digest\":\"sha256:3333333333333333333333333333333333333333333333333333333333333333\","
    "\"layer\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
    "{\"id\":\"1112222222222222222222222222222222222222222222222222222222222222\","
    "\"names\":[\"quay.io/a/tool:2\"]}]";

static char resolved(const char *name)
{
	char *id = NULL, *top = NULL;
	bwk_error *err = NULL;
	int r = pstore_resolve(IMAGES, strlen(IMAGES), name, &id, &top, &err);
	char c = r == 0 ? id[0] : err && bwk_error_code(err) == BWK_E_NOTFOUND ? '-' : '!';
	if (r == 0 && !strncmp(id, "1112", 4))
		c = 'x';
	free(id);
	free(top);
	bwk_error_free(err);
	return c;
}

static void test_resolve(void **state)
{
	(void)state;
	assert_int_equal(resolved("localhost/demo:1"), '1');
	assert_int_equal(resolved("demo:1"), '1');
	assert_int_equal(resolved("demo"), '1'); /* :latest */
	assert_int_equal(resolved("demo:2"), '-');
	assert_int_equal(resolved("alpine"), '2'); /* docker.io/library */
	assert_int_equal(resolved("library/alpine"), '2');
	assert_int_equal(resolved("docker.io/library/alpine:latest"), '2');
	assert_int_equal(resolved("docker.io/alpine"), '2'); /* docker.io's library/ */
	assert_int_equal(resolved("x/tool:2"), '2');	     /* a short name, any registry */
	assert_int_equal(resolved("tool:2"), '-');
	assert_int_equal(resolved("quay.io/a/tool:2"), 'x');
	assert_int_equal(resolved("2222"), '2'); /* an ID prefix */
	assert_int_equal(resolved("sha256:2222"), '2');
	assert_int_equal(resolved("11"), '-');	       /* too short to be an ID */
	assert_int_equal(resolved("1112"), 'x');       /* unique */
	assert_int_equal(resolved("111"), '!');	       /* ambiguous */
	assert_int_equal(resolved("sha256:111"), '!'); /* ambiguous */
	assert_int_equal(
	    resolved(
		"alpine@sha256:3333333333333333333333333333333333333333333333333333333333333333"),
	    '2');
	assert_int_equal(
	    resolved(
		"alpine@sha256:4444444444444444444444444444444444444444444444444444444444444444"),
	    '-');
	assert_int_equal(resolved("alpine@sha256:12"), '!'); /* not a digest */
	char *id = NULL, *top = NULL;
	bwk_error *err = NULL;
	const char *bad[] = {
	    "{}", "[{\"id\":\"xyz\",\"names\":[\"a:latest\"]}]",
	    "[{\"id\":\"1111111111111111111111111111111111111111111111111111111111111111\","
	    "\"names\":[\"a:latest\"],\"layer\":\"../x\"}]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(pstore_resolve(bad[i], strlen(bad[i]), "a", &id, &top, &err), -1);
		bwk_error_free(err);
		err = NULL;
	}
}

static void test_locate(void **state)
{
	(void)state;
	char conf[512], p[512];
	snprintf(conf, sizeof(conf), "%s/storage.conf", tmpdir);
	char text[1024];
	snprintf(text, sizeof(text),
		 "# comment\n[engine]\ngraphroot = \"/nowhere\"\n[storage]\n  driver = \"vfs\"\n"
		 "graphroot=\"%s/gr\" # the store\nrunroot = \"/run/x\"\n",
		 tmpdir);
	put("storage.conf", text);
	setenv("CONTAINERS_STORAGE_CONF", conf, 1);
	unsetenv("STORAGE_DRIVER");
	char *root = NULL, *drv = NULL, *why = NULL;
	bwk_error *err = NULL;
	/* no images.json yet: not readable, said why */
	assert_int_equal(pstore_locate(&root, &drv, &why, &err), 0);
	assert_non_null(why);
	assert_non_null(strstr(why, "vfs-images/images.json"));
	free(why);
	snprintf(p, sizeof(p), "%s/gr", tmpdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/gr/vfs-images", tmpdir);
	mkdir(p, 0755);
	put("gr/vfs-images/images.json", "[]");
	if (geteuid() == 0) { /* rootless reads rootless_storage_path instead */
		assert_int_equal(pstore_locate(&root, &drv, &why, &err), 1);
		snprintf(p, sizeof(p), "%s/gr", tmpdir);
		assert_string_equal(root, p);
		assert_string_equal(drv, "vfs");
		free(root);
		free(drv);
	}
	/* a driver we do not read: said, with what to do instead */
	setenv("STORAGE_DRIVER", "btrfs", 1);
	assert_int_equal(pstore_locate(&root, &drv, &why, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_UNSUPPORTED);
	bwk_error_free(err);
	err = NULL;
	unsetenv("STORAGE_DRIVER");
	/* a named storage.conf that is not there is an error, not the defaults */
	snprintf(p, sizeof(p), "%s/absent.conf", tmpdir);
	setenv("CONTAINERS_STORAGE_CONF", p, 1);
	assert_int_equal(pstore_locate(&root, &drv, &why, &err), -1);
	bwk_error_free(err);
	unsetenv("CONTAINERS_STORAGE_CONF");
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
	    cmocka_unit_test(test_parse_line),
	    cmocka_unit_test(test_reassemble),
	    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_locate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
