/* A bridge's traffic through the host's iptables FORWARD chain when its policy is DROP, as
 * Docker sets it on the hosts where it switched IPv4 forwarding on itself (and as firewalls
 * often do). Containers of a bulwark bridge would otherwise reach neither the outside nor, with
 * br_netfilter loaded (Docker loads it: bridge-nf-call-iptables), each other.
 *
 * Why not an accept in bulwark's own nftables table: in nftables an accept ends only the base
 * chain it is in; every other base chain on the hook still sees the packet, and iptables-nft's
 * `ip filter FORWARD` drops it by its policy whatever bulwark's chain said. The accept has to
 * be in that chain, so it is added with the `iptables` program (nft or legacy backend, as the
 * host uses) and in iptables' own terms, which keeps `iptables -L` readable for the host's
 * tools. Two rules per bridge, inserted once (checked with -C) and kept while the bridge
 * exists, as Docker's for docker0:
 *   -i BR -j ACCEPT                                                   (out of the bridge)
 *   -o BR -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT        (replies into it)
 * Connections into a container come only through the DNAT of published ports, which the
 * second rule does not cover: a third accepts those (ctstate DNAT).
 * Nothing is run when no FORWARD policy drops: the check reads the nft ruleset in-process
 * (iptables-nft, Debian's default) and /proc/net/ip_tables_names (iptables-legacy); nor, with
 * iptables-nft, when the bridge's rules are there already (the same read: a container's start
 * on a bridge that has them costs no iptables process, where -C cost one per rule). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define IPTABLES "/usr/sbin/iptables"

#define NRULES 3

/* The three rules for bridge br as iptables-nft writes them into the nft ruleset (1.8.9:
 * conntrack's states and status as native `ct` expressions): each a line of `list chain ip
 * filter FORWARD` that starts with its prefix and ends with its suffix (between them only the
 * counter's figures). Another rendering (another version's) is not found: iptables -C then
 * says, as without this. */
static bool listed(const char *chain, const char *br)
{
	static const char *const forms[NRULES][3] = {
	    {"iifname \"", "\" counter ", " accept\n"},
	    {"oifname \"", "\" ct state related,established counter ", " accept\n"},
	    {"oifname \"", "\" ct status dnat counter ", " accept\n"},
	};
	for (size_t i = 0; i < NRULES; i++) {
		char pre[96];
		snprintf(pre, sizeof pre, "%s%s%s", forms[i][0], br, forms[i][1]);
		size_t pl = strlen(pre), sl = strlen(forms[i][2]);
		bool found = false;
		for (const char *p = chain; !found && (p = strstr(p, pre)); p += pl) {
			const char *eol = strchr(p, '\n');
			found = p > chain && p[-1] == '\t' && eol && /* the rule's start */
				(size_t)(eol + 1 - p) >= pl + sl &&
				!strncmp(eol + 1 - sl, forms[i][2], sl);
		}
		if (!found)
			return false;
	}
	return true;
}

/* Does a FORWARD policy drop, with br's rules not yet there? nft: the `ip filter FORWARD`
 * chain says "policy drop" and lacks one of br's rules (read in-process: no iptables run at
 * each start of a container on a bridge that has them); legacy: a filter table exists (its
 * policy cannot be read without the program: assume it may). br NULL: whether it may drop. */
static bool forward_may_drop(const char *br)
{
	bool drop = false, have = false;
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	if (n) {
		nft_ctx_buffer_error(n);
		nft_ctx_buffer_output(n);
		if (nft_run_cmd_from_buffer(n, "list chain ip filter FORWARD") == 0) {
			const char *out = nft_ctx_get_output_buffer(n);
			drop = out && strstr(out, "policy drop");
			have = drop && br && listed(out, br);
		}
		nft_ctx_free(n);
	}
	if (drop)
		return !have;
	char names[256] = "";
	cleanup_close int fd = open("/proc/net/ip_tables_names", O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, names, sizeof names - 1) : -1;
	if (r > 0) {
		names[r] = 0;
		for (char *p = names; (p = strstr(p, "filter")); p += 6)
			if ((p == names || p[-1] == '\n') && (p[6] == '\n' || !p[6]))
				return true;
	}
	return false;
}

/* iptables with argv; its exit status (-1: it could not run). Quiet. */
static int iptables(const char *const *argv)
{
	pid_t c = fork();
	if (c < 0)
		return -1;
	if (c == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			(void)dup2(null, 1);
			(void)dup2(null, 2);
		}
		static char path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
		char *const env[] = {path, NULL};
		execve(IPTABLES, (char *const *)argv, env);
		_exit(127);
	}
	int ws = 0;
	while (waitpid(c, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* The i-th rule for bridge br with iptables operation op (-C, -I, -D), into argv[16]. */
static void rule(const char **argv, const char *op, const char *br, size_t i)
{
	static const char *const tails[NRULES][7] = {
	    {"-i", NULL, "-j", "ACCEPT", NULL},
	    {"-o", NULL, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", NULL},
	    {"-o", NULL, "-m", "conntrack", "--ctstate", "DNAT", NULL},
	};
	size_t k = 0;
	argv[k++] = "iptables";
	argv[k++] = "-w";
	argv[k++] = "5";
	argv[k++] = op;
	argv[k++] = "FORWARD";
	for (size_t j = 0; j < 7 && (j == 1 || tails[i][j]); j++)
		argv[k++] = j == 1 ? br : tails[i][j];
	if (i > 0) {
		argv[k++] = "-j";
		argv[k++] = "ACCEPT";
	}
	argv[k] = NULL;
}

void sbx_forward_allow(const char *br)
{
	if (!forward_may_drop(br) || access(IPTABLES, X_OK) != 0)
		return;
	for (size_t i = 0; i < NRULES; i++) {
		const char *argv[16];
		rule(argv, "-C", br, i);
		if (iptables(argv) == 0)
			continue; /* already there */
		rule(argv, "-I", br, i);
		(void)iptables(argv);
	}
}

void sbx_forward_forget(const char *br)
{
	if (!forward_may_drop(NULL) || access(IPTABLES, X_OK) != 0)
		return;
	for (size_t i = 0; i < NRULES; i++) {
		const char *argv[16];
		rule(argv, "-D", br, i);
		(void)iptables(argv);
	}
}
