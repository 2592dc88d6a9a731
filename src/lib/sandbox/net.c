/* The container's network beyond loopback, started by the host side once the child has its
 * namespaces and stopped when it is gone: a bridge network as root (net_bridge.c), pasta or
 * slirp4netns for other users (slirp.c), slirp4netns when asked for by name. */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox_private.h"

void sbx_net_init(sbx_net *n)
{
	memset(n, 0, sizeof *n);
	for (size_t i = 0; i < BWK_MAX_PORTS; i++)
		n->holds[i] = -1;
	n->slirp.pid = -1;
	n->slirp.exit_w = -1;
}

int sbx_net_reserve(sbx_net *n, const bwk_container_spec *spec, bool root, bwk_error **err)
{
	if (spec->net != BWK_NET_BRIDGE && spec->net != BWK_NET_SLIRP)
		return 0;
	if (spec->nports > BWK_MAX_PORTS)
		return bwk_error_set(err, BWK_E_USAGE, 0, "more than %d published ports",
				     BWK_MAX_PORTS);
	n->nholds = spec->nports;
	int rc = sbx_ports_reserve(spec, n->holds, err);
	/* the user-mode helpers bind the ports themselves: for them this was only a probe
	 * that gives the clear message (and the child must not inherit their sockets) */
	if (rc < 0 || spec->net != BWK_NET_BRIDGE || !root)
		sbx_ports_release(n->holds, n->nholds);
	return rc;
}

int sbx_net_start(sbx_net *n, const bwk_container_spec *spec, pid_t pid, bool root, bwk_error **err)
{
	if (spec->net == BWK_NET_BRIDGE && root)
		return sbx_bridge_start(&n->bridge, spec, pid, err);
	if (spec->net != BWK_NET_BRIDGE && spec->net != BWK_NET_SLIRP)
		return 0;
	if (spec->net == BWK_NET_BRIDGE && sbx_pasta_available())
		return sbx_pasta_start(&n->slirp, pid, spec->ports, spec->nports, err);
	return sbx_slirp_start(&n->slirp, pid, root, spec->ports, spec->nports, err);
}

void sbx_net_stop(sbx_net *n)
{
	sbx_slirp_stop(&n->slirp);
	sbx_bridge_stop(&n->bridge);
	sbx_ports_release(n->holds, n->nholds);
}
