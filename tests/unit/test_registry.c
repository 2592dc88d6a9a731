/* Unit tests of the registry client's parsers: references (docker CLI semantics), the
 * WWW-Authenticate challenge, token answers, manifests and indexes, platform selection and
 * credentials from a docker config. Inputs are copied into exactly-sized buffers so that ASan
 * sees any overread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_REGISTRY
#include "core/cleanup.h"
#include "registry/registry_private.h"

static char *exact(const char *s)
{
	size_t n = strlen(s);
	char *b = malloc(n ? n : 1);
	memcpy(b, s, n);
	return b;
}

static void check_ref(const char *in, const char *reg, const char *repo, const char *tag,
		      const char *digest)
{
	bwk_registry_ref r;
	bwk_error *err = NULL;
	if (bwk_registry_ref_parse(in, &r, &err) < 0)
		fail_msg("%s: %s", in, err->msg);
	assert_string_equal(r.registry, reg);
	assert_string_equal(r.repository, repo);
	if (tag)
		assert_string_equal(r.tag, tag);
	else
		assert_null(r.tag);
	if (digest)
		assert_string_equal(r.digest, digest);
	else
		assert_null(r.digest);
	bwk_registry_ref_free(&r);
}

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_refs(void **state)
{
	(void)state;
	check_ref("alpine:3.19", "docker.io", "library/alpine", "3.19", NULL);
	check_ref("alpine", "docker.io", "library/alpine", "latest", NULL);
	check_ref("bitnami/redis", "docker.io", "bitnami/redis", "latest", NULL);
	check_ref("index.docker.io/library/busybox:1", "docker.io", "library/busybox", "1", NULL);
	check_ref("localhost:5000/team/app:1.2", "localhost:5000", "team/app", "1.2", NULL);
	check_ref("localhost/app", "localhost", "app", "latest", NULL);
	check_ref("127.0.0.1:5000/a/b/c", "127.0.0.1:5000", "a/b/c", "latest", NULL);
	check_ref("[::1]:5000/app:v1", "[::1]:5000", "app", "v1", NULL);
	check_ref("ghcr.io/o/r@" D64, "ghcr.io", "o/r", NULL, D64);
	check_ref("ghcr.io/o/r:t@" D64, "ghcr.io", "o/r", "t", D64);
	check_ref("reg.example.com/a__b/c-d.e:Tag_1.x", "reg.example.com", "a__b/c-d.e", "Tag_1.x",
		  NULL);
	check_ref("Registry.Example.com/app", "Registry.Example.com", "app", "latest", NULL);
	const char *bad[] = {
	    "",
	    "app/UPPER",
	    "app:",
	    "app:-x",
	    "a..b",
	    "a/",
	    "/a",
	    "a//b",
	    "app@sha256:12",
	    "app@md5:" D64 + 7,
	    "app:tag:x",
	    "reg.io:abc/app",
	    "reg.io:123456/app",
	    "a b",
	    "a-/b",
	    "app\n",
	    "host.io/app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef"
	    "0123456789abcdef",
	    "a._b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bwk_registry_ref r;
		bwk_error *err = NULL;
		if (bwk_registry_ref_parse(bad[i], &r, &err) == 0)
			fail_msg("'%s' accepted as %s/%s", bad[i], r.registry, r.repository);
		assert_int_equal(bwk_error_code(err), BWK_E_INPUT);
		assert_non_null(strstr(err->msg, "image reference"));
		bwk_error_free(err);
	}
	/* bounds: 256 characters of name */
	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	bwk_registry_ref r;
	bwk_error *err = NULL;
	assert_int_equal(bwk_registry_ref_parse(longname, &r, &err), -1);
	bwk_error_free(err);
	/* the string form round-trips */
	err = NULL;
	assert_int_equal(bwk_registry_ref_parse("busybox", &r, &err), 0);
	char *s = bwk_registry_ref_string(&r);
	assert_string_equal(s, "docker.io/library/busybox:latest");
	free(s);
	bwk_registry_ref_free(&r);
}

static void test_explicit(void **state)
{
	(void)state;
	const char *yes[] = {
	    "localhost:5000/app:1", "reg.example.com/a/b",	  "localhost/app",
	    "[::1]:5000/x",	    "docker.io/library/alpine:3", "127.0.0.1:5000/a@" D64};
	const char *no[] = {"alpine:3.19",	  "bitnami/redis", "./img.tar",	  "img.tar",
			    "/abs/path",	  "dir/sub",	   "out/oci:ref", "reg.example.com",
			    "reg.example.com/UP", "a.tar.gz"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!bwk_registry_ref_is_explicit(yes[i]))
			fail_msg("not explicit: %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (bwk_registry_ref_is_explicit(no[i]))
			fail_msg("explicit: %s", no[i]);
}

static void test_challenge(void **state)
{
	(void)state;
	const char *hub = "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker."
			  "io\",scope=\"repository:library/alpine:pull\"";
	char *b = exact(hub);
	reg_challenge c;
	bwk_error *err = NULL;
	assert_int_equal(reg_challenge_parse(b, strlen(hub), &c, &err), 0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/alpine:pull");
	reg_challenge_free(&c);
	free(b);

	const char *basic = "Basic realm=\"basic-realm\"";
	assert_int_equal(reg_challenge_parse(basic, strlen(basic), &c, &err), 0);
	assert_int_equal(c.scheme, REG_AUTH_BASIC);
	assert_string_equal(c.realm, "basic-realm");
	reg_challenge_free(&c);

	/* an unknown scheme first, escapes, tokens without quotes, case */
	const char *mixed = "Negotiate abc==, bearer Realm=\"https://t/x\\\"y\" , service=svc";
	assert_int_equal(reg_challenge_parse(mixed, strlen(mixed), &c, &err), 0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://t/x\"y");
	assert_string_equal(c.service, "svc");
	reg_challenge_free(&c);

	const char *bad[] = {"Bearer realm=\"unterminated", "Bearer service=\"x\"",
			     "Bearer realm=\"a\" junk", "Bearer realm=\"a\x01\"", "\"x\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (reg_challenge_parse(bad[i], strlen(bad[i]), &c, &err) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err->msg, "WWW-Authenticate"));
		bwk_error_free(err);
	}
	char *big = malloc(BWK_REG_MAX_CHALLENGE + 2);
	memset(big, 'a', BWK_REG_MAX_CHALLENGE + 1);
	err = NULL;
	assert_int_equal(reg_challenge_parse(big, BWK_REG_MAX_CHALLENGE + 1, &c, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	free(big);
}

static void test_token(void **state)
{
	(void)state;
	char *t = NULL;
	bwk_error *err = NULL;
	const char *a = "{\"token\":\"abc.def\",\"expires_in\":300}";
	assert_int_equal(reg_token_parse(a, strlen(a), &t, &err), 0);
	assert_string_equal(t, "abc.def");
	free(t);
	const char *b = "{\"access_token\":\"xyz\"}";
	assert_int_equal(reg_token_parse(b, strlen(b), &t, &err), 0);
	assert_string_equal(t, "xyz");
	free(t);
	const char *bad[] = {"[]", "{}", "{\"token\":\"a b\"}", "{\"token\":\"a\\r\\nX: y\"}", "{"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(reg_token_parse(bad[i], strlen(bad[i]), &t, &err), -1);
		assert_null(t);
		bwk_error_free(err);
	}
}

#define CFG                                                                                        \
	"{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D64            \
	"\",\"size\":10}"
#define LAY                                                                                        \
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D64         \
	"\",\"size\":20}"

static void test_manifest(void **state)
{
	(void)state;
	reg_manifest m;
	bwk_error *err = NULL;
	const char *oci = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
			  "\",\"config\":" CFG ",\"layers\":[" LAY "," LAY "]}";
	char *b = exact(oci);
	assert_int_equal(reg_manifest_parse(b, strlen(oci), NULL, &m, &err), 0);
	free(b);
	assert_false(m.is_index);
	assert_int_equal(m.ndescs, 2);
	assert_int_equal(m.config.size, 10);
	assert_int_equal(m.descs[1].size, 20);
	reg_manifest_free(&m);

	/* no mediaType: the Content-Type decides */
	const char *docker = "{\"schemaVersion\":2,\"config\":" CFG ",\"layers\":[]}";
	assert_int_equal(
	    reg_manifest_parse(docker, strlen(docker), MT_DOCKER_MANIFEST "; x=y", &m, &err), 0);
	assert_string_equal(m.media_type, MT_DOCKER_MANIFEST);
	reg_manifest_free(&m);

	const char *idx =
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_LIST "\",\"manifests\":["
	    "{\"digest\":\"" D64 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
	    "\"arm\",\"variant\":\"v6\"}},"
	    "{\"digest\":\"sha256:"
	    "1111111111111111111111111111111111111111111111111111111111111111\","
	    "\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}"
	    "},"
	    "{\"digest\":\"sha256:"
	    "2222222222222222222222222222222222222222222222222222222222222222\","
	    "\"size\":3,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	assert_int_equal(reg_manifest_parse(idx, strlen(idx), NULL, &m, &err), 0);
	assert_true(m.is_index);
	assert_int_equal(reg_index_select(&m, "linux/arm/v7")->size, 2);
	assert_int_equal(reg_index_select(&m, "linux/arm")->size, 1);
	assert_int_equal(reg_index_select(&m, "linux/amd64")->size, 3);
	assert_int_equal(reg_index_select(&m, "linux/amd64/v3")->size, 3);
	assert_null(reg_index_select(&m, "linux/s390x"));
	assert_null(reg_index_select(&m, "windows"));
	reg_manifest_free(&m);

	struct {
		const char *json;
		bwk_code code;
	} bad[] = {
	    {"{\"schemaVersion\":1,\"fsLayers\":[]}", BWK_E_UNSUPPORTED},
	    {"[1]", BWK_E_INPUT},
	    {"{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", BWK_E_UNSUPPORTED},
	    {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"layers\":[]}",
	     BWK_E_INPUT},
	    {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":" CFG
	     ",\"layers\":[{\"digest\":\"sha512:ab\",\"size\":1}]}",
	     BWK_E_UNSUPPORTED},
	    {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\",\"config\":" CFG
	     ",\"layers\":[{\"digest\":\"" D64 "\",\"size\":-1}]}",
	     BWK_E_INPUT},
	    {"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":{}}",
	     BWK_E_INPUT},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		if (reg_manifest_parse(bad[i].json, strlen(bad[i].json), NULL, &m, &err) == 0)
			fail_msg("accepted: %s", bad[i].json);
		if (bwk_error_code(err) != bad[i].code)
			fail_msg("%s: code %d (%s)", bad[i].json, bwk_error_code(err), err->msg);
		bwk_error_free(err);
	}
	/* more layers than allowed */
	size_t n = REG_MAX_DESCS + 1;
	size_t cap = n * (strlen(LAY) + 1) + 300, off = 0;
	char *big = malloc(cap);
	off += (size_t)snprintf(big, cap, "%s",
				"{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST
				"\",\"config\":" CFG ",\"layers\":[");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(big + off, cap - off, "%s%s", LAY, i + 1 < n ? "," : "]}");
	err = NULL;
	assert_int_equal(reg_manifest_parse(big, strlen(big), NULL, &m, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	free(big);
}

static void test_creds(void **state)
{
	(void)state;
	reg_creds c;
	char *helper = NULL;
	bwk_error *err = NULL;
	/* "alice:s3cr:et" */
	const char *cfg = "{\"auths\":{\"reg.example.com\":{\"auth\":\"YWxpY2U6czNjcjpldA==\"},"
			  "\"https://index.docker.io/v1/\":{\"auth\":\"Ym9iOmh1Yg==\"}},"
			  "\"credHelpers\":{\"ecr.example.com\":\"ecr-login\"}}";
	assert_int_equal(
	    reg_creds_from_config(cfg, strlen(cfg), "reg.example.com", &c, &helper, &err), 0);
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.secret, "s3cr:et");
	assert_null(helper);
	reg_creds_free(&c);
	assert_int_equal(reg_creds_from_config(cfg, strlen(cfg), "docker.io", &c, &helper, &err),
			 0);
	assert_string_equal(c.username, "bob");
	reg_creds_free(&c);
	assert_int_equal(
	    reg_creds_from_config(cfg, strlen(cfg), "ecr.example.com", &c, &helper, &err), 0);
	assert_null(c.username);
	assert_string_equal(helper, "ecr-login");
	free(helper);
	helper = NULL;
	assert_int_equal(reg_creds_from_config(cfg, strlen(cfg), "other.io", &c, &helper, &err), 0);
	assert_null(c.username);
	assert_null(helper);
	/* a global store applies to every host; a helper name is never a path */
	const char *store = "{\"credsStore\":\"../../bin/sh\"}";
	assert_int_equal(reg_creds_from_config(store, strlen(store), "x.io", &c, &helper, &err),
			 -1);
	assert_null(strstr(err->msg, "s3cr"));
	bwk_error_free(err);
	err = NULL;
	const char *badauth = "{\"auths\":{\"x.io\":{\"auth\":\"bm9jb2xvbg==\"}}}"; /* "nocolon" */
	assert_int_equal(reg_creds_from_config(badauth, strlen(badauth), "x.io", &c, &helper, &err),
			 -1);
	assert_null(strstr(err->msg, "nocolon"));
	bwk_error_free(err);
}

/* ---- the blob cache's size bound ---------------------------------------------------------- */
static void put_file(int dfd, const char *name, size_t size, time_t mtime)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	char buf[100];
	memset(buf, 'x', sizeof(buf));
	for (size_t n = 0; n < size; n += sizeof(buf))
		assert_int_equal(write(fd, buf, size - n < sizeof(buf) ? size - n : sizeof(buf)),
				 (ssize_t)(size - n < sizeof(buf) ? size - n : sizeof(buf)));
	close(fd);
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	assert_int_equal(utimensat(dfd, name, ts, 0), 0);
}

static bool exists_at(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_cache_bound(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-blobcache-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[4][65];
	for (int i = 0; i < 4; i++) {
		memset(name[i], 'a' + i, 64);
		name[i][64] = 0;
		put_file(dfd, name[i], 100, 1000000 + i * 10); /* a the oldest, d the newest */
	}
	put_file(dfd, "eeee.partial", 50, 900000); /* counted, never evicted */
	put_file(dfd, "aaaa.lock", 0, 900000);
	reg_cache *c = NULL;
	bwk_error *err = NULL;
	assert_int_equal(reg_cache_open(dir, 260, &c, &err), 0);
	/* the image in use holds a: kept even though it is the least recently used */
	cleanup_free char *da = xasprintf("sha256:%s", name[0]);
	int fd = reg_cache_open_blob(c, da);
	assert_true(fd >= 0);
	close(fd);
	put_file(dfd, name[0], 100, 1000000);
	/* 450 bytes, bound 260: b and c go (least recently used first), a and d stay */
	assert_int_equal(reg_cache_trim(c), 250);
	assert_true(exists_at(dfd, name[0]));
	assert_false(exists_at(dfd, name[1]));
	assert_false(exists_at(dfd, name[2]));
	assert_true(exists_at(dfd, name[3]));
	assert_true(exists_at(dfd, "eeee.partial"));
	/* documents round-trip under the digest of their bytes */
	const char *doc = "{\"schemaVersion\":2}";
	reg_cache_put(c, doc, strlen(doc));
	char hex[65];
	bwk_sha256_hex(doc, strlen(doc), hex);
	cleanup_free char *dd = xasprintf("sha256:%s", hex);
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(reg_cache_read(c, dd, 1024, &data, &len), 1);
	assert_int_equal(len, strlen(doc));
	assert_memory_equal(data, doc, len);
	free(data);
	assert_int_equal(reg_cache_read(c, dd, 4, &data, &len), 0); /* over the bound */
	cleanup_free char *absent = xasprintf("sha256:%064d", 0);
	assert_int_equal(reg_cache_read(c, absent, 1024, &data, &len), 0);
	reg_cache_free(c);
	/* a second bound: the blobs the image does not hold are evicted down to it */
	assert_int_equal(reg_cache_open(dir, 1, &c, &err), 0);
	assert_int_equal(reg_cache_trim(c), 50); /* only the partial download is left */
	reg_cache_free(c);
	assert_false(exists_at(dfd, name[0]));
	close(dfd);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refs),	cmocka_unit_test(test_explicit),
	    cmocka_unit_test(test_challenge),	cmocka_unit_test(test_token),
	    cmocka_unit_test(test_manifest),	cmocka_unit_test(test_creds),
	    cmocka_unit_test(test_cache_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
