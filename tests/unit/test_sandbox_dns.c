/* Unit tests: the resolv.conf of a root bridge container (sandbox/net_dns.c), by Docker's
 * rules: loopback and IPv6 servers dropped, systemd-resolved's stub replaced by its upstream
 * file, Google's servers when none is left, every other line kept. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BWK_IN_SANDBOX
#include "sandbox/sandbox_private.h"

static char dir[] = "/tmp/bwk-dns-XXXXXX";
static char etc[64], resolved[64];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *conf(const char *etc_text, const char *resolved_text)
{
	static char out[4096];
	put(etc, etc_text);
	if (resolved_text)
		put(resolved, resolved_text);
	else
		unlink(resolved);
	size_t n = sbx_dns_resolv_conf(etc, resolved, out, sizeof out);
	assert_int_equal(n, strlen(out));
	return out;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(etc, sizeof etc, "%s/etc", dir);
	snprintf(resolved, sizeof resolved, "%s/resolved", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(etc);
	unlink(resolved);
	rmdir(dir);
	return 0;
}

static void test_docker_rules(void **state)
{
	(void)state;
	/* plain servers and the other lines pass */
	assert_string_equal(
	    conf("search example.org\nnameserver 10.1.2.3\noptions ndots:2\n", NULL),
	    "search example.org\nnameserver 10.1.2.3\noptions ndots:2\n");
	/* loopback and IPv6 servers go, the rest stays in order */
	assert_string_equal(conf("nameserver 127.0.0.1\nnameserver 192.0.2.1\nnameserver ::1\n"
				 "nameserver 2001:db8::1\nnameserver\t198.51.100.7\n",
				 NULL),
			    "nameserver 192.0.2.1\nnameserver\t198.51.100.7\n");
	/* systemd-resolved's stub alone: its upstream file instead */
	assert_string_equal(conf("# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\n",
				 "nameserver 203.0.113.5\nsearch lan\n"),
			    "nameserver 203.0.113.5\nsearch lan\n");
	/* the stub with another server: not replaced, the loopback one dropped */
	assert_string_equal(
	    conf("nameserver 127.0.0.53\nnameserver 192.0.2.9\n", "nameserver 1.1.1.1\n"),
	    "nameserver 192.0.2.9\n");
	/* nothing usable left (only loopback, or no file at all): Docker's defaults */
	assert_string_equal(conf("search lan\nnameserver 127.0.1.1\n", NULL),
			    "search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	assert_string_equal(conf("nameserver 127.0.0.53\n", "nameserver 127.0.0.1\n"),
			    "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	unlink(etc);
	static char out[64];
	sbx_dns_resolv_conf(etc, resolved, out, sizeof out);
	assert_string_equal(out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	/* "nameservers" is not a nameserver line; an overlong line is dropped */
	char big[3000];
	memset(big, 'x', sizeof big);
	static const char search[] = "search ";
	for (size_t i = 0; i + 1 < sizeof search; i++)
		big[i] = search[i];
	snprintf(big + 2000, sizeof big - 2000, "\nnameservers 1.2.3.4\nnameserver 192.0.2.4\n");
	assert_string_equal(conf(big, NULL), "nameservers 1.2.3.4\nnameserver 192.0.2.4\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docker_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
