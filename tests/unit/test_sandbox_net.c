/* Unit tests: the bridge network's pieces (sandbox/net_link.c, net_bridge.c): network names,
 * the host-port reservation and its one-line "address already in use", and the rtnetlink
 * requests, run in a network namespace of the test's own when it may make one (root). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BWK_IN_SANDBOX
#include "sandbox/sandbox_private.h"

static void test_network_names(void **state)
{
	(void)state;
	const char *good[] = {"a", "web", "my-net_2", "abcdefghijk"};
	const char *bad[] = {"", "-a", "_a", "Web", "a/b", "a.b", "abcdefghijkl", "a b", "..", "ä"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(bwk_sandbox_network_name_ok(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(bwk_sandbox_network_name_ok(bad[i]));
}

static void test_busy_port_one_line(void **state)
{
	(void)state;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s, 1), 0);
	socklen_t l = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &l);
	bwk_port p = {.host_port = ntohs(a.sin_port), .container_port = 80};
	bwk_container_spec spec = {.ports = &p, .nports = 1};
	int holds[1];
	bwk_error *err = NULL;
	assert_int_equal(sbx_ports_reserve(&spec, holds, &err), -1);
	char want[96];
	snprintf(want, sizeof want, "cannot publish 127.0.0.1:%u/tcp: address already in use",
		 p.host_port);
	assert_string_equal(err->msg, want);
	bwk_error_free(err);
	err = NULL;
	sbx_ports_release(holds, 1);
	close(s);
	/* free now: reserved, and held (a second reservation fails) until released */
	assert_int_equal(sbx_ports_reserve(&spec, holds, &err), 0);
	int again[1];
	assert_int_equal(sbx_ports_reserve(&spec, again, &err), -1);
	bwk_error_free(err);
	sbx_ports_release(again, 1);
	sbx_ports_release(holds, 1);
	assert_int_equal(holds[0], -1);
	/* a bad address is a usage error, not a crash */
	snprintf(p.host_addr, sizeof p.host_addr, "1.2.3");
	err = NULL;
	assert_int_equal(sbx_ports_reserve(&spec, holds, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_USAGE);
	bwk_error_free(err);
	sbx_ports_release(holds, 1);
}

static void test_netlink_in_own_netns(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	int nl = sbx_nl_open();
	assert_true(nl >= 0);
	assert_int_equal(sbx_nl_bridge_add(nl, "tbr0"), 0);
	assert_int_equal(sbx_nl_bridge_add(nl, "tbr0"), -1);
	assert_int_equal(errno, EEXIST);
	int br = (int)if_nametoindex("tbr0");
	assert_true(br > 0);
	uint32_t gw = htonl(0x0AD5FE01), ip = htonl(0x0AD5FE02);
	assert_int_equal(sbx_nl_addr_add(nl, br, gw, 24), 0);
	assert_int_equal(sbx_nl_addr_add(nl, br, gw, 24), 0); /* already there: fine */
	assert_int_equal(sbx_nl_link_up(nl, br, 0), 0);
	/* a veth whose peer stays here (our own pid's namespace), enslaved and up */
	assert_int_equal(sbx_nl_veth_add(nl, "tv0", "tv1", getpid()), 0);
	int v0 = (int)if_nametoindex("tv0"), v1 = (int)if_nametoindex("tv1");
	assert_true(v0 > 0 && v1 > 0);
	assert_int_equal(sbx_nl_link_up(nl, v0, br), 0);
	assert_int_equal(sbx_nl_addr_add(nl, v1, ip, 24), 0);
	assert_int_equal(sbx_nl_link_up(nl, v1, 0), 0);
	assert_int_equal(sbx_nl_default_route(nl, gw), 0);
	assert_int_equal(sbx_nl_default_route(nl, gw), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(sbx_nl_link_del(nl, v0), 0);
	assert_int_equal(if_nametoindex("tv1"), 0); /* the pair goes together */
	assert_int_equal(sbx_nl_link_del(nl, br), 0);
	assert_int_equal(sbx_nl_link_del(nl, br), -1);
	close(nl);
}

/* Which 10.213.N.0/24 the host routes through another device: /24 and longer routes count,
 * a shorter one (a VPN's /16) does not, nor one through the device named as the exception. */
static void test_routed_24s_in_own_netns(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip();
	int nl = sbx_nl_open();
	assert_true(nl >= 0);
	assert_int_equal(sbx_nl_bridge_add(nl, "ra0"), 0);
	assert_int_equal(sbx_nl_bridge_add(nl, "rb0"), 0);
	int a = (int)if_nametoindex("ra0"), b = (int)if_nametoindex("rb0");
	assert_true(a > 0 && b > 0);
	assert_int_equal(sbx_nl_addr_add(nl, a, htonl(0x0AD50101), 24), 0); /* 10.213.1.1/24 */
	assert_int_equal(sbx_nl_addr_add(nl, b, htonl(0x0AD50911), 28), 0); /* 10.213.9.17/28 */
	assert_int_equal(sbx_nl_addr_add(nl, b, htonl(0x0AD60001), 24), 0); /* 10.214.0.1/24 */
	assert_int_equal(sbx_nl_addr_add(nl, a, htonl(0x0AD5C801), 16), 0); /* 10.213.200.1/16 */
	assert_int_equal(sbx_nl_link_up(nl, a, 0), 0);
	assert_int_equal(sbx_nl_link_up(nl, b, 0), 0);
	int f[256];
	memset(f, 0x55, sizeof f);
	assert_int_equal(sbx_nl_routed_24s(nl, htonl(0x0AD50000), 0, f), 0);
	for (int n = 0; n < 256; n++)
		assert_int_equal(f[n], n == 1 ? a : n == 9 ? b : 0);
	assert_int_equal(sbx_nl_routed_24s(nl, htonl(0x0AD50000), a, f), 0);
	for (int n = 0; n < 256; n++)
		assert_int_equal(f[n], n == 9 ? b : 0);
	/* the socket still serves requests after the dump */
	assert_int_equal(sbx_nl_link_del(nl, a), 0);
	assert_int_equal(sbx_nl_routed_24s(nl, htonl(0x0AD50000), 0, f), 0);
	assert_int_equal(f[1], 0);
	assert_int_equal(sbx_nl_link_del(nl, b), 0);
	close(nl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_network_names),
	    cmocka_unit_test(test_busy_port_one_line),
	    cmocka_unit_test(test_netlink_in_own_netns),
	    cmocka_unit_test(test_routed_24s_in_own_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
