/* Unit tests: the Engine API endpoint (core/engine_client): choosing it like the docker CLI,
 * and the TLS files as untrusted input. The TLS conversations themselves are tested against
 * a real dockerd in tests/integration/test_audit_tls.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/engine_client.h"

static void clear_env(void)
{
	unsetenv("DOCKER_HOST");
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
}

static void test_default_and_unix(void **state)
{
	(void)state;
	clear_env();
	bwk_endpoint ep;
	assert_int_equal(bwk_endpoint_open(NULL, &ep, NULL), 0);
	assert_string_equal(ep.socket_path, "/var/run/docker.sock");
	assert_false(ep.tls);
	bwk_endpoint_close(&ep);
	setenv("DOCKER_HOST", "unix:///run/x.sock", 1);
	setenv("DOCKER_TLS_VERIFY", "1", 1); /* meaningless for a socket */
	assert_int_equal(bwk_endpoint_open("", &ep, NULL), 0);
	assert_string_equal(ep.socket_path, "/run/x.sock");
	assert_string_equal(ep.base_url, "http://localhost");
	assert_false(ep.tls);
	bwk_endpoint_close(&ep);
	/* --host wins over DOCKER_HOST */
	assert_int_equal(bwk_endpoint_open("unix:///a.sock", &ep, NULL), 0);
	assert_string_equal(ep.socket_path, "/a.sock");
	bwk_endpoint_close(&ep);
	clear_env();
}

static void test_tcp_like_the_cli(void **state)
{
	(void)state;
	clear_env();
	bwk_endpoint ep;
	assert_int_equal(bwk_endpoint_open("tcp://10.0.0.1", &ep, NULL), 0);
	assert_string_equal(ep.base_url, "http://10.0.0.1:2375");
	assert_null(ep.socket_path);
	bwk_endpoint_close(&ep);
	/* any non-empty DOCKER_TLS_VERIFY means TLS, as in the docker CLI: "0" too */
	setenv("DOCKER_TLS_VERIFY", "0", 1);
	setenv("DOCKER_CERT_PATH", "/certs", 1);
	assert_int_equal(bwk_endpoint_open("tcp://[::1]/", &ep, NULL), 0);
	assert_true(ep.tls);
	assert_string_equal(ep.base_url, "https://[::1]:2376");
	assert_string_equal(ep.cert_dir, "/certs");
	bwk_endpoint_close(&ep);
	unsetenv("DOCKER_CERT_PATH");
	setenv("HOME", "/home/u", 1);
	assert_int_equal(bwk_endpoint_open("tcp://h:1234", &ep, NULL), 0);
	assert_string_equal(ep.base_url, "https://h:1234");
	assert_string_equal(ep.cert_dir, "/home/u/.docker");
	bwk_endpoint_close(&ep);
	clear_env();
}

static void test_unsupported(void **state)
{
	(void)state;
	clear_env();
	const char *bad[] = {"ssh://u@h", "unix://",	   "tcp://",
			     "tcp:///x",  "http://h:2375", "fd://"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		bwk_endpoint ep;
		bwk_error *err = NULL;
		assert_int_equal(bwk_endpoint_open(bad[i], &ep, &err), -1);
		assert_int_equal(bwk_error_code(err), BWK_E_UNSUPPORTED);
		bwk_error_free(err);
		bwk_endpoint_close(&ep);
	}
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* bwk_endpoint_curl's verdict on a DOCKER_CERT_PATH; 0 or the error code */
static int try_certs(const char *dir, bool *fatal)
{
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	setenv("DOCKER_CERT_PATH", dir, 1);
	bwk_endpoint ep;
	assert_int_equal(bwk_endpoint_open("tcp://127.0.0.1:1", &ep, NULL), 0);
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = NULL;
	bwk_error *err = NULL;
	int r = bwk_endpoint_curl(&ep, "/_ping", errbuf, &c, &err);
	int code = r < 0 ? (int)bwk_error_code(err) : 0;
	if (r < 0) {
		char *s = bwk_error_format(err);
		/* the message names the file and never carries its content */
		assert_non_null(strstr(s, dir));
		assert_null(strstr(s, "SECRET"));
		free(s);
		assert_null(c);
	} else {
		assert_non_null(c);
		curl_easy_cleanup(c);
	}
	*fatal = ep.fatal;
	bwk_error_free(err);
	bwk_endpoint_close(&ep);
	clear_env();
	return code;
}

static void test_cert_files_untrusted(void **state)
{
	(void)state;
	char dir[] = "/tmp/bwk-ec-XXXXXX";
	assert_non_null(mkdtemp(dir));
	bool fatal = false;
	put(dir, "ca.pem", "ca SECRET");
	put(dir, "cert.pem", "cert SECRET");
	assert_int_equal(try_certs(dir, &fatal), BWK_E_NOTFOUND); /* key.pem missing */
	assert_true(fatal);
	char p[4200];
	snprintf(p, sizeof(p), "%s/key.pem", dir);
	assert_int_equal(mkfifo(p, 0600), 0); /* must not block */
	assert_int_equal(try_certs(dir, &fatal), BWK_E_INPUT);
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(try_certs(dir, &fatal), BWK_E_INPUT);
	rmdir(p);
	put(dir, "key.pem", "");
	assert_int_equal(try_certs(dir, &fatal), BWK_E_INPUT); /* empty */
	assert_int_equal(truncate(p, (2 << 20)), 0);
	assert_int_equal(try_certs(dir, &fatal), BWK_E_LIMIT);
	put(dir, "key.pem", "key SECRET");
	/* content is libcurl's and OpenSSL's to judge, at connection time */
	assert_int_equal(try_certs(dir, &fatal), 0);
	assert_false(fatal);
	const char *names[] = {"ca.pem", "cert.pem", "key.pem"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_and_unix),
	    cmocka_unit_test(test_tcp_like_the_cli),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_cert_files_untrusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
