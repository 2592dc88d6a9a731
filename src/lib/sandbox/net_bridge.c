/* --net bridge (and --network NAME) as root: the container's network namespace gets one end
 * of a veth pair whose other end is on a Linux bridge of the host, and published ports go
 * through the kernel's NAT (nftables), as Docker and rootful Podman do. Nothing stays in user
 * space on the data path.
 *
 *   network "bulwark" (the default)  bridge bulwark0, 10.213.0.0/24, gateway 10.213.0.1
 *   network NAME                     bridge bwk-NAME, 10.213.N.0/24 (N from 1, the first
 *                                    neither taken nor routed on the host through another
 *                                    device: a VPN's, a bridge left by another root's bulwark)
 *
 * State is in /run/bulwark/net (root only, gone at reboot), changed under an flock of its
 * `lock` file: NAME.net holds a network's N; leases/10.213.N.H is a container's address and
 * says who holds it (bulwark's pid and start time) and the nftables table made for it. A
 * bulwark killed with SIGKILL leaves its lease and table: the next start on any network
 * removes both (the veth disappears with the container's namespace), any bulwark_ table
 * left with no lease (reap_orphan_tables), and a named network left with no lease (its bridge,
 * FORWARD rules and number: reap_unused_networks). An address whose veth exists is in use
 * even with no lease here (another root's bulwark on this network namespace, with its own
 * /run): it is neither taken nor its table reaped.
 *
 * Each container has its own table `ip bulwark_10_213_N_H`:
 *   - DNAT of each published port (nat prerouting and output), to the container's address;
 *   - masquerade of the container's outbound traffic, and of connections from the host's
 *     127.0.0.1 to a port published there: the kernel routes those out of the bridge only with
 *     route_localnet set on it (no userland proxy);
 *   - a drop, before conntrack, of anything arriving from the bridge for 127.0.0.0/8: with
 *     route_localnet the bridge would otherwise accept it, and the host's loopback services
 *     stay unreachable from containers.
 * The host port itself is bound (a listening socket held while the container runs, like
 * docker-proxy's): a port in use is "address already in use", and nothing else takes it
 * while it is published. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define NET_DIR	     "/run/bulwark/net"
#define SUBNET_A     10
#define SUBNET_B     213
#define MAX_NETWORKS 255
#define RULES_MAX    16384

static int read_small(int dir, const char *name, char *buf, size_t size)
{
	cleanup_close int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* A directory stream of its own on dirfd's directory: not fdopendir(dup(dirfd)), whose offset
 * is dirfd's, at the end once a first walk has read it. */
static DIR *opendir_at(int dirfd)
{
	int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = d >= 0 ? fdopendir(d) : NULL;
	if (!dir && d >= 0)
		close(d);
	return dir;
}

/* A process's start time (field 22 of /proc/PID/stat), 0 when it is gone. */
static unsigned long long start_time(pid_t pid)
{
	char path[32], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (read_small(AT_FDCWD, path, buf, sizeof buf) < 0)
		return 0;
	const char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	int field = 2;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

static int nft_run(const char *cmd, bwk_error **err)
{
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n)
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "nftables: cannot start libnftables");
	nft_ctx_buffer_error(n);
	nft_ctx_buffer_output(n);
	int rc = nft_run_cmd_from_buffer(n, cmd);
	if (rc != 0) {
		const char *e = nft_ctx_get_error_buffer(n);
		char first[256] = "";
		if (e) {
			size_t l = strcspn(e, "\n");
			snprintf(first, sizeof first, "%.*s", (int)(l < 255 ? l : 255), e);
		}
		bwk_error_set(err, BWK_E_RUNTIME, 0,
			      "nftables refused the container's rules: %s (is the nf_tables "
			      "kernel module available?)",
			      first);
	}
	nft_ctx_free(n);
	return rc != 0 ? -1 : 0;
}

/* The host end of the veth pair of the container at 10.213.C.D: bwkvC_D. While it exists, the
 * container's network namespace does (the pair goes with it): the address is in use, whether
 * this state knows it or not (a bulwark of another root on the same network namespace, with
 * its own /run; a container that outlived its bulwark). */
static void veth_name(unsigned c, unsigned d, char *out, size_t size)
{
	snprintf(out, size, "bwkv%u_%u", c, d);
}

static bool veth_exists(unsigned c, unsigned d)
{
	char veth[IFNAMSIZ];
	veth_name(c, d, veth, sizeof veth);
	return if_nametoindex(veth) != 0;
}

static void table_name(uint32_t ip, char *out, size_t size)
{
	unsigned char *b = (unsigned char *)&ip;
	snprintf(out, size, "bulwark_%u_%u_%u_%u", b[0], b[1], b[2], b[3]);
}

/* Tables `ip bulwark_A_B_C_D` with no lease leases/A.B.C.D: their owner is gone (a bulwark
 * writes its lease before adding its table and deletes the table before the lease, both
 * under the lock for a start), e.g. /run/bulwark/net was wiped while a table stayed. A table
 * whose name is not exactly ours is never touched. */
static void reap_orphan_tables(int leases)
{
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n)
		return;
	nft_ctx_buffer_error(n);
	nft_ctx_buffer_output(n);
	const char *out =
	    nft_run_cmd_from_buffer(n, "list tables ip") == 0 ? nft_ctx_get_output_buffer(n) : NULL;
	char gone[64][48];
	size_t ngone = 0;
	for (const char *p = out; p && *p && ngone < 64;) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		unsigned a[4];
		char name[48], tail[2];
		if (l < sizeof name + 9 && sscanf(p, "table ip %47s", name) == 1 &&
		    sscanf(name, "bulwark_%3u_%3u_%3u_%3u%1s", &a[0], &a[1], &a[2], &a[3], tail) ==
			4 &&
		    a[0] == SUBNET_A && a[1] == SUBNET_B && a[2] < 256 && a[3] < 256) {
			char lease[INET_ADDRSTRLEN];
			snprintf(lease, sizeof lease, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
			struct stat st;
			if (fstatat(leases, lease, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
			    errno == ENOENT && !veth_exists(a[2], a[3]))
				snprintf(gone[ngone++], sizeof gone[0], "%s", name);
		}
		p = eol ? eol + 1 : NULL;
	}
	nft_ctx_free(n);
	for (size_t i = 0; i < ngone; i++) {
		char cmd[96];
		snprintf(cmd, sizeof cmd, "delete table ip %.47s", gone[i]);
		cleanup_error bwk_error *ignored = NULL;
		(void)nft_run(cmd, &ignored);
	}
}

/* Does a lease on network N exist (a container on it, or one starting)? */
static bool network_in_use(int leases, unsigned idx)
{
	cleanup_dir DIR *dir = opendir_at(leases);
	if (!dir)
		return true; /* unknown: kept */
	char prefix[24];
	int pl = snprintf(prefix, sizeof prefix, "%d.%d.%u.", SUBNET_A, SUBNET_B, idx);
	struct dirent *e;
	while ((e = readdir(dir)))
		if (!strncmp(e->d_name, prefix, (size_t)pl))
			return true;
	return false;
}

/* A named network's bridge, its FORWARD rules and its number (under the lock). */
static void remove_network(int dir, const char *name)
{
	char br[IFNAMSIZ], file[32];
	snprintf(br, sizeof br, "bwk-%.11s", name);
	snprintf(file, sizeof file, "%.11s.net", name);
	cleanup_close int nl = sbx_nl_open();
	int i = (int)if_nametoindex(br);
	if (nl >= 0 && i)
		(void)sbx_nl_link_del(nl, i);
	sbx_forward_forget(br);
	(void)unlinkat(dir, file, 0);
}

/* Named networks with no lease left: their last container's bulwark was killed before it
 * could remove them (a SIGKILL, a crash). Left, the bridge would keep its 10.213.N.0/24
 * routed on the host for good, and a bulwark that does not know N (its /run/bulwark/net
 * wiped, or another root's on the same network namespace) could not use that subnet. */
static void reap_unused_networks(int dir, int leases)
{
	cleanup_dir DIR *dd = opendir_at(dir);
	if (!dd)
		return;
	char gone[MAX_NETWORKS][12];
	size_t ngone = 0;
	struct dirent *e;
	while ((e = readdir(dd)) && ngone < MAX_NETWORKS) {
		size_t l = strlen(e->d_name);
		char buf[32], name[12];
		if (l <= 4 || l - 4 >= sizeof name || strcmp(e->d_name + l - 4, ".net"))
			continue;
		memcpy(name, e->d_name, l - 4);
		name[l - 4] = 0;
		unsigned long v = 0;
		if (!bwk_sandbox_network_name_ok(name) ||
		    read_small(dir, e->d_name, buf, sizeof buf) < 0 ||
		    (v = strtoul(buf, NULL, 10)) < 1 || v >= MAX_NETWORKS ||
		    network_in_use(leases, (unsigned)v))
			continue;
		memcpy(gone[ngone++], name, sizeof name);
	}
	for (size_t i = 0; i < ngone; i++)
		remove_network(dir, gone[i]);
}

/* Leases whose holder is gone: their table and file go (under the lock); then tables left
 * with no lease at all, and named networks with none. */
static void reap_stale(int netdir, int leases)
{
	DIR *dir = opendir_at(leases);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		char buf[128];
		int pid = 0;
		unsigned long long st = 0;
		char table[48] = "";
		if (read_small(leases, e->d_name, buf, sizeof buf) == 0 &&
		    sscanf(buf, "%d %llu %47s", &pid, &st, table) == 3 && pid > 0 &&
		    start_time(pid) == st)
			continue; /* still running */
		if (table[0] && !strncmp(table, "bulwark_", 8)) {
			char cmd[96];
			snprintf(cmd, sizeof cmd, "delete table ip %s", table);
			cleanup_error bwk_error *ignored = NULL;
			(void)nft_run(cmd, &ignored);
		}
		(void)unlinkat(leases, e->d_name, 0);
	}
	closedir(dir);
	reap_orphan_tables(leases);
	reap_unused_networks(netdir, leases);
}

static int write_sysctl(const char *path, const char *value)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(value);
	return fd >= 0 && write(fd, value, n) == (ssize_t)n ? 0 : -1;
}

/* The network's number: 0 for "bulwark", else from NAME.net, else the first one neither
 * another network's nor routed on the host through a device not the network's own bridge
 * (foreign, from sbx_nl_routed_24s): as Docker skips a pool that overlaps a host route, a
 * bridge on such a /24 would have its replies routed to that device. */
static int network_index(int dir, const char *name, const int foreign[256], unsigned *idx,
			 bwk_error **err)
{
	if (!strcmp(name, "bulwark")) {
		if (foreign[0]) {
			char dev[IF_NAMESIZE] = "";
			if (foreign[0] < 0 || !if_indextoname((unsigned)foreign[0], dev))
				snprintf(dev, sizeof dev, "%s", "no device");
			return bwk_error_set(err, BWK_E_RUNTIME, 0,
					     "the default network's %d.%d.0.0/24 is routed through "
					     "%s on this host: remove that route, or use a named "
					     "network (%s)",
					     SUBNET_A, SUBNET_B, dev,
					     bwk_setting("network", "the network setting"));
		}
		*idx = 0;
		return 0;
	}
	char file[64], buf[32];
	snprintf(file, sizeof file, "%s.net", name);
	if (read_small(dir, file, buf, sizeof buf) == 0) {
		unsigned long v = strtoul(buf, NULL, 10);
		if (v >= 1 && v < MAX_NETWORKS) {
			*idx = (unsigned)v;
			return 0;
		}
	}
	bool used[MAX_NETWORKS] = {true};
	DIR *dd = opendir_at(dir);
	if (!dd)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "reading %s", NET_DIR);
	struct dirent *e;
	while ((e = readdir(dd))) {
		size_t l = strlen(e->d_name);
		if (l > 4 && !strcmp(e->d_name + l - 4, ".net") &&
		    read_small(dir, e->d_name, buf, sizeof buf) == 0) {
			unsigned long v = strtoul(buf, NULL, 10);
			if (v < MAX_NETWORKS)
				used[v] = true;
		}
	}
	closedir(dd);
	unsigned v = 1;
	while (v < MAX_NETWORKS && (used[v] || foreign[v]))
		v++;
	if (v >= MAX_NETWORKS)
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "no free subnet for network '%s' (%d.%d.1-254.0/24 are all "
				     "other networks' or routed on this host)",
				     name, SUBNET_A, SUBNET_B);
	cleanup_close int fd =
	    openat(dir, file, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	int n = snprintf(buf, sizeof buf, "%u\n", v);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "%s/%s", NET_DIR, file);
	*idx = v;
	return 0;
}

static int ensure_bridge(int nl, const char *br, uint32_t gw, int *index, bwk_error **err)
{
	int i = (int)if_nametoindex(br);
	if (!i) {
		if (sbx_nl_bridge_add(nl, br) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "creating bridge %s", br);
		i = (int)if_nametoindex(br);
	}
	if (!i || sbx_nl_addr_add(nl, i, gw, 24) < 0 || sbx_nl_link_up(nl, i, 0) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "configuring bridge %s", br);
	char path[96];
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", br);
	if (write_sysctl(path, "1") < 0 || write_sysctl("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "setting %s's sysctls", br);
	*index = i;
	return 0;
}

/* Inside the container's network namespace (a child that joins it): eth0's address, up,
 * and the default route. Returns 0 or the errno it failed with. */
static int configure_inside(pid_t pid, uint32_t ip, uint32_t gw)
{
	pid_t c = fork();
	if (c < 0)
		return errno;
	if (c == 0) {
		char path[40];
		snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
		int ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			_exit(errno & 0xff);
		int nl = sbx_nl_open();
		int eth = (int)if_nametoindex("eth0");
		if (nl < 0 || !eth || sbx_nl_addr_add(nl, eth, ip, 24) < 0 ||
		    sbx_nl_link_up(nl, eth, 0) < 0 || sbx_nl_link_up(nl, 1, 0) < 0 ||
		    sbx_nl_default_route(nl, gw) < 0)
			_exit((errno ? errno : EIO) & 0xff);
		_exit(0);
	}
	int ws = 0;
	while (waitpid(c, &ws, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : EIO;
}

static const char *port_match(const bwk_port *p, char *buf, size_t size)
{
	const char *a = p->host_addr[0] ? p->host_addr : "127.0.0.1";
	if (!strcmp(a, "0.0.0.0"))
		return "fib daddr type local";
	snprintf(buf, size, "ip daddr %s", a);
	return buf;
}

static int add_rules(const sbx_bridge *b, const char *br, const bwk_container_spec *spec,
		     bwk_error **err)
{
	/* xmalloc: clang 14's analyzer does not run cleanup attributes, and reads every early
	 * return after a malloc as a leak */
	cleanup_free char *r = xmalloc(RULES_MAX);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &b->ip, ip, sizeof ip);
	size_t n = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		int k_ = snprintf(r + n, RULES_MAX - n, __VA_ARGS__);                              \
		if (k_ < 0 || (size_t)k_ >= RULES_MAX - n)                                         \
			return bwk_error_set(err, BWK_E_RUNTIME, E2BIG, "nftables rules");         \
		n += (size_t)k_;                                                                   \
	} while (0)
	ADD("table ip %s {\n"
	    " chain guard { type filter hook prerouting priority -300; policy accept;\n"
	    "  iifname \"%s\" ip daddr 127.0.0.0/8 drop; }\n",
	    b->table, br);
	static const char *const hooks[2][2] = {{"pre", "prerouting"}, {"out", "output"}};
	for (int h = 0; h < 2; h++) {
		ADD(" chain %s { type nat hook %s priority -100; policy accept;\n", hooks[h][0],
		    hooks[h][1]);
		for (size_t i = 0; i < spec->nports; i++) {
			char m[96];
			const bwk_port *p = &spec->ports[i];
			const char *proto = p->udp ? "udp" : "tcp";
			ADD("  %s %s dport %u dnat to %s:%u;\n", port_match(p, m, sizeof m), proto,
			    p->host_port, ip, p->container_port);
		}
		ADD(" }\n");
	}
	ADD(" chain post { type nat hook postrouting priority 100; policy accept;\n"
	    "  ip saddr %s oifname != \"%s\" masquerade;\n"
	    "  ip saddr 127.0.0.0/8 ip daddr %s oifname \"%s\" masquerade; }\n"
	    "}\n",
	    ip, br, ip, br);
#undef ADD
	return nft_run(r, err);
}

/* Binds (and listens on, for TCP) every published host port: EADDRINUSE is said in one line. */
int sbx_ports_reserve(const bwk_container_spec *spec, int *holds, bwk_error **err)
{
	for (size_t i = 0; i < spec->nports; i++)
		holds[i] = -1;
	for (size_t i = 0; i < spec->nports; i++) {
		const bwk_port *p = &spec->ports[i];
		const char *a = p->host_addr[0] ? p->host_addr : "127.0.0.1";
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
		if (inet_pton(AF_INET, a, &sa.sin_addr) != 1)
			return bwk_error_set(err, BWK_E_USAGE, 0, "publish: bad address %s", a);
		int s = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
		int one = 1;
		if (s < 0)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "socket");
		holds[i] = s;
		(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    (!p->udp && listen(s, 1) < 0)) {
			int e = errno;
			return bwk_error_set(err, BWK_E_RUNTIME, 0, "cannot publish %s:%u/%s: %s",
					     a, p->host_port, p->udp ? "udp" : "tcp",
					     e == EADDRINUSE ? "address already in use"
							     : strerror(e));
		}
	}
	return 0;
}

void sbx_ports_release(int *holds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (holds[i] >= 0) {
			close(holds[i]);
			holds[i] = -1;
		}
}

bool bwk_sandbox_network_name_ok(const char *name)
{
	size_t l = strlen(name);
	return l >= 1 && l <= 11 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == l &&
	       name[0] != '-' && name[0] != '_';
}

int sbx_bridge_start(sbx_bridge *b, const bwk_container_spec *spec, pid_t pid, bwk_error **err)
{
	const char *name = spec->network && spec->network[0] ? spec->network : "bulwark";
	if (!bwk_sandbox_network_name_ok(name))
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "bad network name '%.32s' (1-11 of a-z 0-9 _ -)", name);
	(void)mkdir("/run/bulwark", 0711);
	(void)mkdir(NET_DIR, 0700);
	cleanup_close int dir = open(NET_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir >= 0)
		(void)mkdirat(dir, "leases", 0700);
	cleanup_close int leases =
	    dir < 0 ? -1 : openat(dir, "leases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int lock =
	    dir < 0 ? -1 : openat(dir, "lock", O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (leases < 0 || lock < 0 || flock(lock, LOCK_EX) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "%s (the networks' state)",
				     NET_DIR);
	reap_stale(dir, leases);
	char br[IFNAMSIZ];
	if (!strcmp(name, "bulwark"))
		snprintf(br, sizeof br, "bulwark0");
	else
		snprintf(br, sizeof br, "bwk-%s", name);
	cleanup_close int nl = sbx_nl_open();
	int foreign[256];
	if (nl < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "netlink socket");
	if (sbx_nl_routed_24s(nl, htonl((uint32_t)SUBNET_A << 24 | (uint32_t)SUBNET_B << 16),
			      (int)if_nametoindex(br), foreign) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "listing the host's routes");
	unsigned idx = 0;
	if (network_index(dir, name, foreign, &idx, err) < 0)
		return -1;
	b->index = idx;
	if (idx)
		snprintf(b->network, sizeof b->network, "%s", name);
	uint32_t gw = htonl((uint32_t)SUBNET_A << 24 | (uint32_t)SUBNET_B << 16 | idx << 8 | 1);
	int bri = 0;
	if (ensure_bridge(nl, br, gw, &bri, err) < 0)
		return -1;
	sbx_forward_allow(br); /* a FORWARD policy DROP (Docker's) would stop its traffic */
	/* the first free address */
	unsigned host = 2;
	char lname[INET_ADDRSTRLEN];
	cleanup_close int lf = -1;
	for (; host < 255; host++) {
		b->ip = htonl(ntohl(gw) - 1 + host);
		inet_ntop(AF_INET, &b->ip, lname, sizeof lname);
		lf = openat(leases, lname, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (lf < 0 && errno != EEXIST)
			break;
		if (lf < 0)
			continue;
		if (!veth_exists(idx, host))
			break;
		close(lf); /* in use, unknown to this state: not taken over */
		lf = -1;
		(void)unlinkat(leases, lname, 0);
	}
	if (lf < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, host >= 255 ? 0 : errno,
				     "no free address on network '%s'", name);
	table_name(b->ip, b->table, sizeof b->table);
	char line[128];
	int ln = snprintf(line, sizeof line, "%d %llu %s\n", (int)getpid(), start_time(getpid()),
			  b->table);
	snprintf(b->lease, sizeof b->lease, "%s", lname);
	if (write(lf, line, (size_t)ln) != ln) {
		int e = errno;
		sbx_bridge_stop(b);
		return bwk_error_set(err, BWK_E_RUNTIME, e, "%s/leases/%s", NET_DIR, lname);
	}
	/* the pair: its host end named after the address */
	char veth[IFNAMSIZ];
	veth_name(idx, host, veth, sizeof veth);
	int vi = 0;
	if (sbx_nl_veth_add(nl, veth, "eth0", pid) < 0 || !(vi = (int)if_nametoindex(veth)) ||
	    sbx_nl_link_up(nl, vi, bri) < 0) {
		int e = errno;
		sbx_bridge_stop(b);
		return bwk_error_set(err, BWK_E_RUNTIME, e, "creating the container's veth %s",
				     veth);
	}
	int e = configure_inside(pid, b->ip, gw);
	if (e) {
		sbx_bridge_stop(b);
		return bwk_error_set(err, BWK_E_RUNTIME, e,
				     "configuring eth0 in the container's namespace");
	}
	if (add_rules(b, br, spec, err) < 0) {
		b->table[0] = 0; /* nothing was added: the script is one transaction */
		sbx_bridge_stop(b);
		return -1;
	}
	return 0;
}

/* A named network lives while containers are on it: the last one out removes its bridge
 * and its number (under the lock, so that no start is joining it meanwhile). */
static void drop_unused_network(const sbx_bridge *b)
{
	cleanup_close int dir = open(NET_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int lock =
	    dir < 0 ? -1 : openat(dir, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return;
	cleanup_close int leases =
	    openat(dir, "leases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (leases >= 0 && !network_in_use(leases, b->index))
		remove_network(dir, b->network);
}

void sbx_bridge_stop(sbx_bridge *b)
{
	if (b->table[0]) {
		char cmd[96];
		snprintf(cmd, sizeof cmd, "delete table ip %s", b->table);
		cleanup_error bwk_error *ignored = NULL;
		(void)nft_run(cmd, &ignored);
		b->table[0] = 0;
	}
	if (b->lease[0]) {
		cleanup_close int leases =
		    open(NET_DIR "/leases", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (leases >= 0)
			(void)unlinkat(leases, b->lease, 0);
		b->lease[0] = 0;
		if (b->network[0])
			drop_unused_network(b);
	}
	b->network[0] = 0;
}
