/* rtnetlink for the bridge network (net_bridge.c): the few requests `ip link/addr/route` would
 * send, over a raw NETLINK_ROUTE socket, each acknowledged before the next. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

typedef struct nl_req {
	struct nlmsghdr h;
	char buf[1024];
} nl_req;

static struct rtattr *nl_tail(nl_req *r)
{
	return (struct rtattr *)((char *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len));
}

static int nl_put(nl_req *r, unsigned short type, const void *data, size_t len)
{
	size_t alen = RTA_LENGTH(len);
	if (NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(alen) > sizeof *r)
		return -1;
	struct rtattr *a = nl_tail(r);
	a->rta_type = type;
	a->rta_len = (unsigned short)alen;
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = (uint32_t)(NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(alen));
	return 0;
}

static struct rtattr *nl_nest(nl_req *r, unsigned short type)
{
	struct rtattr *a = nl_tail(r);
	return nl_put(r, type, NULL, 0) < 0 ? NULL : a;
}

static void nl_end(nl_req *r, struct rtattr *a)
{
	a->rta_len = (unsigned short)((char *)nl_tail(r) - (char *)a);
}

static void nl_init(nl_req *r, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
	memset(r, 0, sizeof *r);
	r->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hlen);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	memcpy(NLMSG_DATA(&r->h), hdr, hlen);
}

int sbx_nl_open(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -1;
	struct sockaddr_nl a = {.nl_family = AF_NETLINK};
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static uint32_t nl_seq; /* this process's requests, matched to their answers */

/* Numbers the request and sends it to the kernel: 0, or -1 with errno. */
static int nl_send(int s, nl_req *r)
{
	r->h.nlmsg_seq = ++nl_seq;
	struct sockaddr_nl k = {.nl_family = AF_NETLINK};
	return sendto(s, &r->h, r->h.nlmsg_len, 0, (struct sockaddr *)&k, sizeof k) < 0 ? -1 : 0;
}

/* One read of the kernel's answers into buf: its length, or -1 with errno (EINTR retried). */
static ssize_t nl_recv(int s, char *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(s, buf, len, 0);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

/* An NLMSG_ERROR message's errno: 0 for an acknowledgement, EPROTO when it is cut short. */
static int nl_errno(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	return h->nlmsg_len < NLMSG_LENGTH(sizeof *e) ? EPROTO : -e->error;
}

/* Sends one request and reads its acknowledgement: 0, or -1 with errno the kernel's answer. */
static int nl_talk(int s, nl_req *r)
{
	if (nl_send(s, r) < 0)
		return -1;
	char buf[4096] __attribute__((aligned(4)));
	for (;;) {
		ssize_t n = nl_recv(s, buf, sizeof buf);
		if (n < 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			errno = nl_errno(h);
			return errno ? -1 : 0;
		}
	}
}

int sbx_nl_bridge_add(int s, const char *name)
{
	nl_req r;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	nl_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	struct rtattr *li;
	if (nl_put(&r, IFLA_IFNAME, name, strlen(name) + 1) < 0 ||
	    !(li = nl_nest(&r, IFLA_LINKINFO)) || nl_put(&r, IFLA_INFO_KIND, "bridge", 6) < 0)
		return errno = E2BIG, -1;
	nl_end(&r, li);
	return nl_talk(s, &r);
}

/* A veth pair: `host` here, `peer` created directly in the network namespace of `pid`. */
int sbx_nl_veth_add(int s, const char *host, const char *peer, pid_t pid)
{
	nl_req r;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	nl_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
	struct rtattr *li, *data, *pe;
	uint32_t p = (uint32_t)pid;
	if (nl_put(&r, IFLA_IFNAME, host, strlen(host) + 1) < 0 ||
	    !(li = nl_nest(&r, IFLA_LINKINFO)) || nl_put(&r, IFLA_INFO_KIND, "veth", 4) < 0 ||
	    !(data = nl_nest(&r, IFLA_INFO_DATA)) || !(pe = nl_nest(&r, VETH_INFO_PEER)))
		return errno = E2BIG, -1;
	/* the peer's own ifinfomsg, then its attributes */
	if (NLMSG_ALIGN(r.h.nlmsg_len) + sizeof ifi > sizeof r)
		return errno = E2BIG, -1;
	memcpy(nl_tail(&r), &ifi, sizeof ifi);
	r.h.nlmsg_len = (uint32_t)(NLMSG_ALIGN(r.h.nlmsg_len) + NLMSG_ALIGN(sizeof ifi));
	if (nl_put(&r, IFLA_IFNAME, peer, strlen(peer) + 1) < 0 ||
	    nl_put(&r, IFLA_NET_NS_PID, &p, sizeof p) < 0)
		return errno = E2BIG, -1;
	nl_end(&r, pe);
	nl_end(&r, data);
	nl_end(&r, li);
	return nl_talk(s, &r);
}

/* Up, and (master > 0) enslaved to the bridge with that index. */
int sbx_nl_link_up(int s, int index, int master)
{
	nl_req r;
	struct ifinfomsg ifi = {
	    .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	nl_init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
	uint32_t m = (uint32_t)master;
	if (master > 0 && nl_put(&r, IFLA_MASTER, &m, sizeof m) < 0)
		return errno = E2BIG, -1;
	return nl_talk(s, &r);
}

int sbx_nl_link_del(int s, int index)
{
	nl_req r;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
	nl_init(&r, RTM_DELLINK, 0, &ifi, sizeof ifi);
	return nl_talk(s, &r);
}

/* addr (network byte order)/prefix on the link; an address already there is fine. */
int sbx_nl_addr_add(int s, int index, uint32_t addr, int prefix)
{
	nl_req r;
	struct ifaddrmsg ifa = {.ifa_family = AF_INET,
				.ifa_prefixlen = (unsigned char)prefix,
				.ifa_scope = RT_SCOPE_UNIVERSE,
				.ifa_index = (unsigned)index};
	nl_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
	if (nl_put(&r, IFA_LOCAL, &addr, 4) < 0 || nl_put(&r, IFA_ADDRESS, &addr, 4) < 0)
		return errno = E2BIG, -1;
	if (nl_talk(s, &r) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The default route through gw (network byte order). */
int sbx_nl_default_route(int s, uint32_t gw)
{
	nl_req r;
	struct rtmsg rt = {.rtm_family = AF_INET,
			   .rtm_table = RT_TABLE_MAIN,
			   .rtm_protocol = RTPROT_BOOT,
			   .rtm_scope = RT_SCOPE_UNIVERSE,
			   .rtm_type = RTN_UNICAST};
	nl_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
	if (nl_put(&r, RTA_GATEWAY, &gw, 4) < 0)
		return errno = E2BIG, -1;
	return nl_talk(s, &r);
}

/* The main table's IPv4 routes as `ip route` lists them: for each N, whether a route of prefix
 * /24 or longer inside net16.N.0/24 (net16: the first two bytes of an address in network byte
 * order) goes through a device other than `except` (0: none); such a route is the host's use
 * of that subnet (another bridge, a VPN, a left-over interface) and a bridge of ours on the
 * same /24 would lose its replies to it. foreign[N] is that device's index, -1 for a route with
 * none (blackhole, unreachable), 0 when there is no such route. Shorter routes (a VPN's /8)
 * are not counted: the bridge's /24 is the longer match. */
int sbx_nl_routed_24s(int s, uint32_t net16, int except, int foreign[256])
{
	memset(foreign, 0, 256 * sizeof *foreign);
	nl_req r;
	struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN};
	nl_init(&r, RTM_GETROUTE, NLM_F_DUMP, &rt, sizeof rt);
	r.h.nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	if (nl_send(s, &r) < 0)
		return -1;
	const unsigned char *n16 = (const unsigned char *)&net16;
	char buf[32768] __attribute__((aligned(4))); /* the kernel sizes a dump's batches to it */
	for (;;) { /* the kernel ends every dump with NLMSG_DONE */
		ssize_t n = nl_recv(s, buf, sizeof buf);
		if (n < 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r.h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type ==
			    NLMSG_ERROR) { /* a dump is answered, never acknowledged */
				int e = nl_errno(h);
				errno = e ? e : EPROTO;
				return -1;
			}
			if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof rt))
				continue;
			const struct rtmsg *m = NLMSG_DATA(h);
			if (m->rtm_family != AF_INET || m->rtm_table != RT_TABLE_MAIN ||
			    m->rtm_dst_len < 24)
				continue;
			unsigned char dst[4] = {0};
			int oif = -1, table = m->rtm_table;
			int alen = (int)RTM_PAYLOAD(h);
			for (const struct rtattr *a = RTM_RTA(m); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == 4)
					memcpy(dst, RTA_DATA(a), 4);
				else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == 4)
					memcpy(&oif, RTA_DATA(a), 4);
				else if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) == 4)
					memcpy(&table, RTA_DATA(a), 4);
			}
			if (table != RT_TABLE_MAIN || dst[0] != n16[0] || dst[1] != n16[1] ||
			    (except > 0 && oif == except))
				continue;
			if (!foreign[dst[2]])
				foreign[dst[2]] = oif;
		}
	}
}
