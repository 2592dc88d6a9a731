/* Unit tests: path normalisation, whiteouts, visibility resolution, document parsers and their
 * limits, the outer tar index, sparse members in layer streams, OCI layout parts. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include <zlib.h>

#include "core/lazy_isal.h"
#include "image/image_private.h"

static void check_norm(const char *in, bwk_path_status want, const char *out)
{
	char buf[BWK_MAX_PATH + 1];
	assert_int_equal(bwk_path_normalise(in, buf), want);
	if (out)
		assert_string_equal(buf, out);
}

static void test_path_normalise(void **state)
{
	(void)state;
	check_norm("etc/passwd", BWK_PATH_OK, "etc/passwd");
	check_norm("./etc//passwd/", BWK_PATH_OK, "etc/passwd");
	check_norm("/etc/./passwd", BWK_PATH_OK, "etc/passwd");
	check_norm("", BWK_PATH_ROOT, "");
	check_norm("./", BWK_PATH_ROOT, "");
	check_norm("/", BWK_PATH_ROOT, "");
	check_norm("../etc/passwd", BWK_PATH_DOTDOT, "etc/passwd");
	check_norm("a/b/../../../x", BWK_PATH_DOTDOT, "x");
	check_norm("a/../b", BWK_PATH_DOTDOT, "b");
	check_norm("..", BWK_PATH_DOTDOT, "");
	check_norm("...", BWK_PATH_OK, "...");
	check_norm("a/..b", BWK_PATH_OK, "a/..b");
	char *big = malloc(BWK_MAX_PATH + 10);
	memset(big, 'a', BWK_MAX_PATH + 9);
	big[BWK_MAX_PATH + 9] = '\0';
	check_norm(big, BWK_PATH_TOOLONG, NULL);
	free(big);
}

static void test_whiteouts(void **state)
{
	(void)state;
	char out[BWK_MAX_PATH + 1];
	assert_int_equal(bwk_whiteout_split("etc/.wh.passwd", out), BWK_ENTRY_WHITEOUT);
	assert_string_equal(out, "etc/passwd");
	assert_int_equal(bwk_whiteout_split(".wh.top", out), BWK_ENTRY_WHITEOUT);
	assert_string_equal(out, "top");
	assert_int_equal(bwk_whiteout_split("var/cache/.wh..wh..opq", out), BWK_ENTRY_OPAQUE);
	assert_string_equal(out, "var/cache");
	assert_int_equal(bwk_whiteout_split(".wh..wh..opq", out), BWK_ENTRY_OPAQUE);
	assert_string_equal(out, "");
	assert_int_equal(bwk_whiteout_split("etc/passwd", out), -1);
	assert_int_equal(bwk_whiteout_split("etc/x.wh.y", out), -1);
	assert_int_equal(bwk_whiteout_split("a/.wh...", out), -2);
	assert_int_equal(bwk_whiteout_split("a/.wh..", out), -2);
	assert_int_equal(bwk_whiteout_split("a/.wh.", out), -2);
	assert_int_equal(bwk_whiteout_split("a/.wh..wh.plnk", out), -2);
}

static void test_visibility(void **state)
{
	(void)state;
	vis_table t[4];
	bool rep = true;
	for (int i = 0; i < 4; i++)
		vis_table_init(&t[i]);
	/* layer 0 */
	vis_table_add(&t[0], "a/deleted", VIS_PRESENT | VIS_NONDIR);
	vis_table_add(&t[0], "b/dir/f", VIS_PRESENT | VIS_NONDIR);
	vis_table_add(&t[0], "c/f", VIS_PRESENT | VIS_NONDIR);
	vis_table_add(&t[0], "e/dir/f", VIS_PRESENT | VIS_NONDIR);
	vis_table_add(&t[0], "g/merged/f", VIS_PRESENT | VIS_NONDIR);
	/* layer 1: whiteout, ancestor whiteout, opaque, merged dir */
	vis_table_add(&t[1], "a/deleted", VIS_WHITEOUT);
	vis_table_add(&t[1], "b/dir", VIS_WHITEOUT);
	vis_table_add(&t[1], "c", VIS_OPAQUE | VIS_PRESENT);
	vis_table_add(&t[1], "c/new", VIS_PRESENT | VIS_NONDIR);
	vis_table_add(&t[1], "g/merged", VIS_PRESENT);
	/* layer 2: a file replaces directory e/dir; layer 3 overwrites c/new */
	vis_table_add(&t[2], "e/dir", VIS_PRESENT | VIS_NONDIR);
	vis_table_add(&t[3], "c/new", VIS_PRESENT | VIS_NONDIR);
	assert_int_equal(vis_resolve(t, 4, 0, "a/deleted", &rep), 1);
	assert_false(rep); /* deleted, not replaced */
	assert_int_equal(vis_resolve(t, 4, 0, "b/dir/f", &rep), 1);
	assert_int_equal(vis_resolve(t, 4, 0, "c/f", &rep), 1);
	assert_int_equal(vis_resolve(t, 4, 0, "e/dir/f", &rep), 2);
	assert_false(rep); /* its parent became a file: gone with it */
	assert_int_equal(vis_resolve(t, 4, 0, "g/merged/f", &rep), -1);
	assert_int_equal(vis_resolve(t, 4, 1, "c/new", &rep), 3);
	assert_true(rep); /* layer 3 has c/new itself */
	/* a directory present again above: its own metadata is replaced */
	vis_table_add(&t[0], "g/merged", VIS_PRESENT);
	assert_int_equal(vis_resolve(t, 4, 0, "g/merged", &rep), 1);
	assert_true(rep);
	assert_int_equal(vis_resolve(t, 4, 3, "c/new", &rep), -1);
	/* the opaque dir itself is replaced by layer 1's, its new child stays */
	assert_int_equal(vis_resolve(t, 4, 1, "c", &rep), -1);
	/* prefixes are components, not strings: "a/deletedX" is not under the whiteout */
	vis_table_add(&t[0], "a/deletedX", VIS_PRESENT | VIS_NONDIR);
	assert_int_equal(vis_resolve(t, 4, 0, "a/deletedX", &rep), -1);
	/* growth keeps every key */
	for (int i = 0; i < 5000; i++) {
		char p[32];
		snprintf(p, sizeof(p), "x/%d", i);
		vis_table_add(&t[2], p, VIS_PRESENT);
	}
	assert_true(vis_table_get(&t[2], "x/4999", 6) & VIS_PRESENT);
	assert_true(vis_table_get(&t[2], "e/dir", 5) & VIS_NONDIR);
	for (int i = 0; i < 4; i++)
		vis_table_free(&t[i]);
}

static void expect_err(int r, bwk_error **err, bwk_code code, const char *needle)
{
	assert_int_equal(r, -1);
	assert_non_null(*err);
	assert_int_equal(bwk_error_code(*err), code);
	char *m = bwk_error_format(*err);
	if (!strstr(m, needle))
		fail_msg("'%s' not in '%s'", needle, m);
	free(m);
	bwk_error_free(*err);
	*err = NULL;
}

#define DG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_docker_manifest(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	docker_manifest *m = NULL;
	size_t n = 0;
	const char *ok =
	    "[{\"Config\":\"c.json\",\"RepoTags\":[\"a:1\"],\"Layers\":[\"l/layer.tar\"]}]";
	assert_int_equal(bwk_parse_docker_manifest(ok, strlen(ok), &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].config, "c.json");
	assert_string_equal(m[0].layers[0], "l/layer.tar");
	assert_null(m[0].layers[1]);
	assert_string_equal(m[0].tags[0], "a:1");
	docker_manifests_free(m, n);
	const char *bad1 = "{}", *bad2 = "[{\"Layers\":[]}]", *bad3 = "[{\"Config\":1}]",
		   *bad4 = "[{\"Config\":\"c\",\"Layers\":[1]}]", *bad5 = "[",
		   *bad6 = "[{\"Config\":\"a\",\"Config\":\"b\"}]";
	expect_err(bwk_parse_docker_manifest(bad1, strlen(bad1), &m, &n, &err), &err, BWK_E_INPUT,
		   "non-empty array");
	expect_err(bwk_parse_docker_manifest(bad2, strlen(bad2), &m, &n, &err), &err, BWK_E_INPUT,
		   "no \"Config\"");
	expect_err(bwk_parse_docker_manifest(bad3, strlen(bad3), &m, &n, &err), &err, BWK_E_INPUT,
		   "must be a string");
	expect_err(bwk_parse_docker_manifest(bad4, strlen(bad4), &m, &n, &err), &err, BWK_E_INPUT,
		   "\"Layers\"[0]");
	expect_err(bwk_parse_docker_manifest(bad5, strlen(bad5), &m, &n, &err), &err, BWK_E_INPUT,
		   "invalid JSON");
	expect_err(bwk_parse_docker_manifest(bad6, strlen(bad6), &m, &n, &err), &err, BWK_E_INPUT,
		   "duplicate");
	/* the size cap comes before parsing */
	size_t big = BWK_MAX_JSON_SMALL + 1;
	char *b = malloc(big);
	memset(b, ' ', big);
	expect_err(bwk_parse_docker_manifest(b, big, &m, &n, &err), &err, BWK_E_LIMIT,
		   "over the 1048576-byte limit");
	free(b);
}

static void test_oci_index_and_manifest(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	img_desc *d = NULL;
	size_t n = 0;
	const char *idx =
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" DG
	    "\",\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\","
	    "\"variant\":\"v8\"},\"annotations\":{\"org.opencontainers.image.ref."
	    "name\":\"v1\"}}]}";
	assert_int_equal(bwk_parse_oci_index(idx, strlen(idx), &d, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].arch, "arm64");
	assert_string_equal(d[0].variant, "v8");
	assert_string_equal(d[0].ref_name, "v1");
	assert_int_equal(d[0].size, 5);
	img_descs_free(d, n);
	const char *bad_digest =
	    "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:xyz\"}]}";
	expect_err(bwk_parse_oci_index(bad_digest, strlen(bad_digest), &d, &n, &err), &err,
		   BWK_E_INPUT, "not sha256:<64 hex>");
	const char *v1 = "{\"schemaVersion\":1,\"manifests\":[]}";
	expect_err(bwk_parse_oci_index(v1, strlen(v1), &d, &n, &err), &err, BWK_E_INPUT,
		   "schemaVersion 2");
	const char *neg =
	    "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" DG "\",\"size\":-1}]}";
	expect_err(bwk_parse_oci_index(neg, strlen(neg), &d, &n, &err), &err, BWK_E_INPUT,
		   "negative");
	img_desc cfg;
	img_desc *layers = NULL;
	size_t nl = 0;
	const char *man = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG
			  "\"},\"layers\":[{\"mediaType\":\"application/"
			  "vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" DG "\"}]}";
	assert_int_equal(bwk_parse_oci_manifest(man, strlen(man), &cfg, &layers, &nl, &err), 0);
	assert_int_equal(nl, 1);
	img_desc_free(&cfg);
	img_descs_free(layers, nl);
	const char *foreign =
	    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG
	    "\"},\"layers\":[{\"mediaType\":\"application/x-evil\",\"digest\":\"" DG "\"}]}";
	expect_err(bwk_parse_oci_manifest(foreign, strlen(foreign), &cfg, &layers, &nl, &err), &err,
		   BWK_E_UNSUPPORTED, "not a tar layer");
}

static void test_config(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	img_config c;
	const char *cfg =
	    "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"User\":\"app\","
	    "\"Env\":[\"A=1\"],\"Cmd\":null,\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
	    "\"ExposedPorts\":{\"22/tcp\":{}},\"Labels\":{\"k\":\"v\"},"
	    "\"Healthcheck\":{\"Test\":[\"NONE\"]}},\"rootfs\":{\"type\":\"layers\","
	    "\"diff_ids\":[\"" DG "\"]},\"history\":[{\"created_by\":\"x\","
	    "\"empty_layer\":true}]}";
	assert_int_equal(bwk_parse_config(cfg, strlen(cfg), &c, &err), 0);
	assert_string_equal(c.pub.user, "app");
	assert_string_equal(c.pub.env[0], "A=1");
	assert_null(c.pub.cmd[0]);
	assert_string_equal(c.pub.entrypoint[1], "-c");
	assert_string_equal(c.pub.exposed_ports[0], "22/tcp");
	assert_string_equal(c.pub.label_keys[0], "k");
	assert_string_equal(c.pub.label_values[0], "v");
	assert_false(c.pub.has_healthcheck);
	assert_string_equal(c.pub.diff_ids[0], DG);
	assert_int_equal(c.pub.nhistory, 1);
	assert_true(c.pub.history[0].empty_layer);
	img_config_free(&c);
	const char *bads[][2] = {
	    {"{\"config\":{\"Env\":\"x\"},\"rootfs\":{}}", "\"Env\""},
	    {"{\"config\":{\"Env\":[1]},\"rootfs\":{}}", "\"Env\"[0]"},
	    {"{\"config\":{}}", "missing \"rootfs\""},
	    {"{\"rootfs\":{\"diff_ids\":[\"md5:x\"]}}", "diff_ids[0]"},
	    {"{\"rootfs\":{},\"history\":[{\"empty_layer\":1}]}", "empty_layer"},
	    {"{\"config\":{\"Labels\":{\"a\":1}},\"rootfs\":{}}", "\"Labels\".\"a\""},
	    {"[]", "not an image config"},
	};
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		int r = bwk_parse_config(bads[i][0], strlen(bads[i][0]), &c, &err);
		img_config_free(&c);
		expect_err(r, &err, BWK_E_INPUT, bads[i][1]);
	}
}

static int memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("t", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	return fd;
}

static void header(unsigned char *h, const char *name, size_t size, char type)
{
	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 8);
	snprintf((char *)h + 124, 12, "%011zo", size);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static void test_tar_index(void **state)
{
	(void)state;
	unsigned char t[512 * 8] = {0};
	header(t, "./manifest.json", 2, '0');
	memcpy(t + 512, "[]", 2);
	/* GNU long name for the next member */
	const char *ln =
	    "blobs/sha256/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	header(t + 1024, "././@LongLink", strlen(ln), 'L');
	memcpy(t + 1536, ln, strlen(ln));
	header(t + 2048, "short", 3, '0');
	memcpy(t + 2560, "abc", 3);
	int fd = memfd_with(t, sizeof(t));
	tar_index idx;
	bwk_error *err = NULL;
	assert_int_equal(tar_index_build(fd, "t", &idx, &err), 0);
	assert_int_equal(idx.n, 2);
	const tar_member *m = tar_index_find(&idx, "manifest.json");
	assert_non_null(m);
	assert_int_equal(m->off, 512);
	assert_int_equal(m->size, 2);
	m = tar_index_find(&idx, ln);
	assert_non_null(m);
	assert_int_equal(m->size, 3);
	tar_index_free(&idx);
	close(fd);
	/* a member that runs past the end of the file */
	fd = memfd_with(t, 512 + 1);
	expect_err(tar_index_build(fd, "t", &idx, &err), &err, BWK_E_INPUT, "truncated");
	close(fd);
	/* a bad checksum is not a tar */
	t[0] ^= 1;
	fd = memfd_with(t, sizeof(t));
	expect_err(tar_index_build(fd, "t", &idx, &err), &err, BWK_E_INPUT, "not a tar archive");
	close(fd);
}

static void test_decomp_multimember_and_truncation(void **state)
{
	(void)state;
	/* "hello" gzip'd twice, concatenated: gzip -d gives "hellohello" */
	static const unsigned char one[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					    0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x86,
					    0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00};
	unsigned char two[sizeof(one) * 2];
	memcpy(two, one, sizeof(one));
	memcpy(two + sizeof(one), one, sizeof(one));
	assert_int_equal(bwk_sniff_comp(two, sizeof(two)), BWK_COMP_GZIP);
	decomp *d = decomp_new(BWK_COMP_GZIP);
	char out[64];
	size_t c, p, total = 0, used = 0;
	bwk_error *err = NULL;
	while (used < sizeof(two) || !decomp_at_boundary(d)) {
		assert_int_equal(decomp_run(d, two + used, sizeof(two) - used, &c, out + total,
					    64 - total, &p, &err),
				 0);
		used += c;
		total += p;
		if (!c && !p)
			break;
	}
	assert_int_equal(total, 10);
	assert_memory_equal(out, "hellohello", 10);
	assert_true(decomp_at_boundary(d));
	decomp_free(d);
	/* cut in the middle: never at a boundary */
	d = decomp_new(BWK_COMP_GZIP);
	decomp_run(d, one, 12, &c, out, 64, &p, &err);
	assert_false(decomp_at_boundary(d));
	decomp_free(d);
	bwk_error_free(err);
}

/* gzip of n bytes of src as one member (zlib's deflate, gzip wrapper) appended at out+*len. */
static void gz_member(const unsigned char *src, size_t n, unsigned char *out, size_t cap,
		      size_t *len)
{
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)src;
	z.avail_in = (uInt)n;
	z.next_out = out + *len;
	z.avail_out = (uInt)(cap - *len);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*len = cap - z.avail_out;
	deflateEnd(&z);
}

/* Run d over in[0..n) in steps of at most `step` bytes in and out; returns the status and the
 * bytes produced. */
static int gz_drain(decomp *d, const unsigned char *in, size_t n, size_t step, unsigned char *out,
		    size_t cap, size_t *total, bwk_error **err)
{
	size_t used = 0;
	*total = 0;
	for (;;) {
		size_t ai = n - used < step ? n - used : step;
		size_t ao = cap - *total < step ? cap - *total : step;
		size_t c, p;
		if (decomp_run(d, in + used, ai, &c, out + *total, ao, &p, err) < 0)
			return -1;
		used += c;
		*total += p;
		if (!c && !p && (used == n || *total == cap))
			return 0;
	}
}

/* ISA-L (when installed: decomp_new takes it) and zlib must agree byte for byte, member for
 * member, and both must refuse a bad CRC and trailing garbage, whatever the buffer sizes. */
static void test_decomp_isal_matches_zlib(void **state)
{
	(void)state;
	assert_non_null(
	    bwk_isal_get()); /* a build dependency: the fast path must be the one taken */
	size_t n = 3u << 20;
	unsigned char *src = malloc(n), *gz = malloc(2 * n), *out = malloc(2 * n);
	assert_non_null(src);
	uint32_t x = 12345;
	for (size_t i = 0; i < n;
	     i++) { /* compressible but not trivial: words of a small alphabet */
		x = x * 1103515245u + 12345u;
		src[i] = (x >> 16) % 7 ? (unsigned char)('a' + (x >> 20) % 16) : ' ';
	}
	size_t len = 0;
	gz_member(src, n / 3, gz, 2 * n, &len);
	gz_member(src + n / 3, n - n / 3, gz, 2 * n, &len);
	static const size_t steps[] = {7, 4096, 1u << 20};
	for (int fast = 0; fast < 2; fast++) {
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			decomp *d = decomp_new_with(BWK_COMP_GZIP, fast);
			size_t total;
			bwk_error *err = NULL;
			assert_int_equal(gz_drain(d, gz, len, steps[s], out, 2 * n, &total, &err),
					 0);
			assert_int_equal(total, n);
			assert_memory_equal(out, src, n);
			assert_true(decomp_at_boundary(d));
			decomp_free(d);
		}
		/* a flipped bit in the second member's CRC */
		gz[len - 8] ^= 1;
		decomp *d = decomp_new_with(BWK_COMP_GZIP, fast);
		size_t total;
		bwk_error *err = NULL;
		expect_err(gz_drain(d, gz, len, 1u << 20, out, 2 * n, &total, &err), &err,
			   BWK_E_INPUT, "gzip: incorrect data check");
		decomp_free(d);
		gz[len - 8] ^= 1;
		/* garbage after the last member */
		memcpy(gz + len, "\x1f\x8bgarbage!", 10);
		d = decomp_new_with(BWK_COMP_GZIP, fast);
		err = NULL;
		assert_int_equal(gz_drain(d, gz, len + 10, 1u << 20, out, 2 * n, &total, &err), -1);
		assert_non_null(err);
		bwk_error_free(err);
		decomp_free(d);
	}
	free(src);
	free(gz);
	free(out);
}

/* ---- sparse members: charged at what they expand to, read without their holes -------------- */

/* An old-style GNU sparse member ('S'): one data run of `len` bytes at `off` of a file of
 * `realsize` bytes, then its data block and the end-of-archive blocks. */
static void octal(unsigned char *f, size_t width, uint64_t v)
{
	f[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		f[i] = (unsigned char)('0' + (v & 7));
}

static void gnu_sparse_tar(unsigned char *t, uint64_t realsize, uint64_t off, const char *data)
{
	size_t len = strlen(data);
	memset(t, 0, 512 * 4);
	memcpy(t, "big", 3);
	memcpy(t + 100, "0000644", 8);
	memcpy(t + 108, "0000000", 8);
	memcpy(t + 116, "0000000", 8);
	octal(t + 124, 12, len);
	memcpy(t + 136, "00000000000", 11);
	t[156] = 'S';
	memcpy(t + 257, "ustar  ", 8); /* GNU magic and version */
	octal(t + 386, 12, off);
	octal(t + 398, 12, len);
	octal(t + 483, 12, realsize);
	memset(t + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += t[i];
	snprintf((char *)t + 148, 8, "%06o", sum);
	memcpy(t + 512, data, len);
}

typedef struct mem_src {
	const unsigned char *p;
	size_t n, off;
} mem_src;

static ssize_t mem_pull(void *ctx, void *buf, size_t len, bwk_error **err)
{
	(void)err;
	mem_src *m = ctx;
	size_t k = m->n - m->off < len ? m->n - m->off : len;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

typedef struct sparse_fixture {
	unsigned char tar[512 * 4];
	mem_src src;
	img_layer layer;
	bwk_image img;
	layer_budget budget;
	layer_stream *ls;
	layer_entry le;
} sparse_fixture;

static int sparse_open(sparse_fixture *f, uint64_t realsize, uint64_t off, const char *data,
		       uint64_t max_total, bwk_error **err)
{
	memset(f, 0, sizeof(*f));
	gnu_sparse_tar(f->tar, realsize, off, data);
	f->src = (mem_src){f->tar, sizeof(f->tar), 0};
	f->layer.blob = (char *)"mem";
	f->img.ref = (char *)"mem";
	f->img.layers = &f->layer;
	f->img.nlayers = 1;
	f->img.opts.max_total_bytes = max_total;
	f->img.opts.verify = BWK_VERIFY_REPORT;
	f->img.src.dirfd = f->img.src.tarfd = -1;
	assert_int_equal(layer_stream_open(&f->img, 0, mem_pull, &f->src, &f->ls, err), 0);
	layer_stream_set_budget(f->ls, &f->budget);
	return layer_stream_next(f->ls, &f->le, err);
}

static void test_sparse_reads_and_blocks(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	sparse_fixture *f = malloc(sizeof(*f));
	/* 1 MiB with "hello" at 4096: under every limit */
	assert_int_equal(sparse_open(f, 1 << 20, 4096, "hello", 0, &err), 1);
	assert_int_equal(f->le.e.size, 1 << 20);
	assert_string_equal(f->le.path, "big");
	/* the holes were charged: the budget holds the file's logical size, not 5 bytes */
	assert_true(f->budget.bytes >= (1 << 20) - 5);
	char buf[64];
	size_t got = 0;
	ssize_t r;
	while ((r = layer_stream_read(f->ls, buf + got, sizeof(buf) - got, &err)) > 0)
		got += (size_t)r;
	assert_int_equal(r, 0);
	/* a hole reads as one NUL, before and after the data */
	assert_int_equal(got, 7);
	assert_memory_equal(buf, "\0hello\0", 7);
	assert_int_equal(layer_stream_next(f->ls, &f->le, &err), 0);
	layer_stream_close(f->ls);
	/* the same member block by block: data at its offset, the trailing hole left out */
	assert_int_equal(sparse_open(f, 1 << 20, 4096, "hello", 0, &err), 1);
	const void *b;
	size_t n;
	uint64_t off;
	assert_int_equal(layer_stream_read_block(f->ls, &b, &n, &off, &err), 1);
	assert_int_equal(off, 4096);
	assert_int_equal(n, 5);
	assert_memory_equal(b, "hello", 5);
	while ((r = layer_stream_read_block(f->ls, &b, &n, &off, &err)) == 1)
		assert_int_equal(n, 0); /* at most an empty marker at the end */
	assert_int_equal(r, 0);
	layer_stream_close(f->ls);
	assert_null(err);
	free(f);
}

static void test_sparse_limits(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	sparse_fixture *f = malloc(sizeof(*f));
	/* over the size limit by its holes alone: refused at the header, before any data */
	expect_err(sparse_open(f, 1 << 20, 0, "x", 512 << 10, &err), &err, BWK_E_LIMIT,
		   "'big' expands to 1048576 bytes (a sparse file)");
	layer_stream_close(f->ls);
	/* near miss: the same file with room for it */
	assert_int_equal(sparse_open(f, 1 << 20, 0, "x", 2 << 20, &err), 1);
	layer_stream_close(f->ls);
	/* 1 GiB of holes from 2 KiB: a bomb by the ratio guard, whatever the size limit */
	expect_err(sparse_open(f, 1ULL << 30, 0, "x", 0, &err), &err, BWK_E_LIMIT,
		   "decompression bomb");
	layer_stream_close(f->ls);
	/* the ratio starts above its floor: 16 MiB of holes are fine */
	assert_int_equal(sparse_open(f, 16 << 20, 0, "x", 0, &err), 1);
	layer_stream_close(f->ls);
	free(f);
}

static void test_sparse_map_outside_the_file(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	sparse_fixture *f = malloc(sizeof(*f));
	/* a data run at 2 MiB of a file said to be 1 MiB (libarchive hands it over as is): never
	 * written past the size that was charged */
	assert_int_equal(sparse_open(f, 1 << 20, 2 << 20, "evil", 0, &err), 1);
	const void *b;
	size_t n;
	uint64_t off;
	expect_err(layer_stream_read_block(f->ls, &b, &n, &off, &err), &err, BWK_E_INPUT,
		   "malformed sparse map");
	layer_stream_close(f->ls);
	/* and through the scanner's reader */
	assert_int_equal(sparse_open(f, 1 << 20, 2 << 20, "evil", 0, &err), 1);
	char buf[16];
	assert_int_equal(layer_stream_read(f->ls, buf, sizeof(buf), &err), -1);
	bwk_error_free(err);
	layer_stream_close(f->ls);
	free(f);
}

/* OCI layout parts are opened beneath the layout, never through a symlink, never waited on. */
/* The run's layer memo (layer_memo.c): keyed by both digests, bounded per layer and in all,
 * a second put of the same layer ignored. */
static void test_layer_memo(void **state)
{
	(void)state;
	bwk_layer_memo *m = bwk_layer_memo_new(100, 60);
	const unsigned char *tar;
	size_t len;
	uint64_t bsize;
	assert_false(layer_memo_get(m, "sha256:b1", "sha256:d1", &tar, &len, &bsize));
	assert_true(layer_memo_wants(m, "sha256:b1", "sha256:d1", 60));
	assert_false(
	    layer_memo_wants(m, "sha256:b1", "sha256:d1", 61));	 /* larger than a layer kept */
	assert_false(layer_memo_wants(m, "sha256:b1", NULL, 1)); /* no diff_id: nothing to key by */
	layer_memo_put(m, "sha256:b1", "sha256:d1", (unsigned char *)strdup("tar one"), 7, 30);
	assert_true(layer_memo_get(m, "sha256:b1", "sha256:d1", &tar, &len, &bsize));
	assert_int_equal(len, 7);
	assert_memory_equal(tar, "tar one", 7);
	assert_int_equal(bsize, 30);
	/* both digests are the key: the same diff_id under another blob digest is not it */
	assert_false(layer_memo_get(m, "sha256:b2", "sha256:d1", &tar, &len, &bsize));
	assert_false(layer_memo_get(m, NULL, "sha256:d1", &tar, &len, &bsize));
	/* the same layer again is ignored (another worker kept it first) */
	layer_memo_put(m, "sha256:b1", "sha256:d1", (unsigned char *)strdup("tar two"), 7, 30);
	assert_true(layer_memo_get(m, "sha256:b1", "sha256:d1", &tar, &len, &bsize));
	assert_memory_equal(tar, "tar one", 7);
	/* past the total, nothing more is kept */
	unsigned char *big = calloc(1, 60);
	assert_non_null(big);
	layer_memo_put(m, NULL, "sha256:d2", big, 60, 60); /* 7 + 60 <= 100 */
	assert_true(layer_memo_get(m, NULL, "sha256:d2", &tar, &len, &bsize));
	assert_false(layer_memo_wants(m, NULL, "sha256:d3", 40));
	layer_memo_put(m, NULL, "sha256:d3", calloc(1, 40), 40, 40);
	assert_false(layer_memo_get(m, NULL, "sha256:d3", &tar, &len, &bsize));
	assert_int_equal(bwk_layer_memo_hits(m), 3);
	bwk_layer_memo_free(m);
	/* layers announced by the size lookup: only those of more than one image are kept */
	m = bwk_layer_memo_new(100, 60);
	bwk_layer_memo_expect(m, "sha256:b2");
	bwk_layer_memo_expect(m, "sha256:b1");
	bwk_layer_memo_expect(m, "sha256:b3");
	bwk_layer_memo_expect(m, "sha256:b1");
	assert_true(layer_memo_wants(m, "sha256:b1", "sha256:d1", 10));
	assert_false(layer_memo_wants(m, "sha256:b2", "sha256:d2", 10)); /* one image */
	assert_false(layer_memo_wants(m, "sha256:b4", "sha256:d4", 10)); /* not announced */
	assert_false(layer_memo_wants(m, NULL, "sha256:d4", 10));
	layer_memo_put(m, "sha256:b2", "sha256:d2", (unsigned char *)strdup("x"), 1, 1);
	assert_false(layer_memo_get(m, "sha256:b2", "sha256:d2", &tar, &len, &bsize));
	layer_memo_put(m, "sha256:b1", "sha256:d1", (unsigned char *)strdup("y"), 1, 1);
	assert_true(layer_memo_get(m, "sha256:b1", "sha256:d1", &tar, &len, &bsize));
	bwk_layer_memo_free(m);
}

static void test_blob_src_layout_parts(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-layout-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(mkdirat(dfd, "blobs", 0755), 0);
	assert_int_equal(mkdirat(dfd, "real", 0755), 0);
	int fd = openat(dfd, "real/b", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0 && write(fd, "{}", 2) == 2);
	close(fd);
	fd = openat(dfd, "index.json", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0 && write(fd, "{}", 2) == 2);
	close(fd);
	assert_int_equal(symlinkat("../real", dfd, "blobs/sha256"), 0);
	assert_int_equal(symlinkat("index.json", dfd, "link.json"), 0);
	assert_int_equal(mkfifoat(dfd, "fifo.json", 0644), 0);
	blob_src src = {.dirfd = dfd, .tarfd = -1};
	blob_window w;
	bwk_error *err = NULL;
	assert_int_equal(blob_src_open(&src, "index.json", &w, &err), 0);
	assert_int_equal(w.len, 2);
	close(w.fd);
	/* a FIFO: refused at once, not opened for a read that never ends */
	expect_err(blob_src_open(&src, "fifo.json", &w, &err), &err, BWK_E_INPUT, "a FIFO");
	/* a symlink, last component or parent, even one that stays inside */
	expect_err(blob_src_open(&src, "link.json", &w, &err), &err, BWK_E_UNSAFE, "symlink");
	expect_err(blob_src_open(&src, "blobs/sha256/b", &w, &err), &err, BWK_E_UNSAFE, "symlink");
	expect_err(blob_src_open(&src, "blobs", &w, &err), &err, BWK_E_INPUT, "a directory");
	expect_err(blob_src_open(&src, "../x", &w, &err), &err, BWK_E_UNSAFE, "inside the layout");
	/* present, whatever they are: the reader bids, the open says what is wrong */
	assert_true(blob_src_exists(&src, "fifo.json"));
	assert_false(blob_src_exists(&src, "missing.json"));
	unlinkat(dfd, "fifo.json", 0);
	unlinkat(dfd, "link.json", 0);
	unlinkat(dfd, "index.json", 0);
	unlinkat(dfd, "blobs/sha256", 0);
	unlinkat(dfd, "blobs", AT_REMOVEDIR);
	unlinkat(dfd, "real/b", 0);
	unlinkat(dfd, "real", AT_REMOVEDIR);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_normalise),
	    cmocka_unit_test(test_layer_memo),
	    cmocka_unit_test(test_whiteouts),
	    cmocka_unit_test(test_visibility),
	    cmocka_unit_test(test_docker_manifest),
	    cmocka_unit_test(test_oci_index_and_manifest),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_tar_index),
	    cmocka_unit_test(test_decomp_multimember_and_truncation),
	    cmocka_unit_test(test_decomp_isal_matches_zlib),
	    cmocka_unit_test(test_sparse_reads_and_blocks),
	    cmocka_unit_test(test_sparse_limits),
	    cmocka_unit_test(test_sparse_map_outside_the_file),
	    cmocka_unit_test(test_blob_src_layout_parts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
