/* /etc/resolv.conf for a container on a root bridge network, by Docker's rules for its
 * default bridge (libnetwork's resolvconf package):
 *   - the host's /etc/resolv.conf, unless its only nameserver is systemd-resolved's stub
 *     127.0.0.53: then /run/systemd/resolve/resolv.conf (resolved's upstream servers);
 *   - nameserver lines for loopback addresses (127.0.0.0/8, ::1) dropped: from the
 *     container's namespace they would be its own loopback;
 *   - IPv6 nameservers dropped (the bridge is IPv4 only, as Docker's without --ipv6);
 *   - no nameserver left: Google's public 8.8.8.8 and 8.8.4.4, as Docker's defaults;
 *   - every other line (search, options, domain, comments) kept as it is.
 * The host's files are trusted input but still bounded: the first 16 KiB are read, longer
 * lines are dropped. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define RESOLV_MAX 16384
#define LINE_MAX_  1024

static size_t read_file(const char *path, char *buf, size_t size)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	while (fd >= 0 && n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	return n;
}

/* The address of a `nameserver ADDR` line (into addr), or false. */
static bool nameserver(const char *line, size_t len, char *addr, size_t asize)
{
	if (len < 11 || strncmp(line, "nameserver", 10) || (line[10] != ' ' && line[10] != '\t'))
		return false;
	const char *p = line + 10, *e = line + len;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	size_t n = 0;
	while (p + n < e && p[n] != ' ' && p[n] != '\t' && p[n] != '\r')
		n++;
	if (!n || n >= asize)
		return false;
	memcpy(addr, p, n);
	addr[n] = 0;
	return true;
}

static bool loopback(const char *a)
{
	return !strncmp(a, "127.", 4) || !strcmp(a, "::1");
}

/* Only 127.0.0.53 (systemd-resolved's stub)? */
static bool only_resolved_stub(const char *conf)
{
	bool stub = false;
	for (const char *p = conf; *p;) {
		size_t l = strcspn(p, "\n");
		char a[64];
		if (nameserver(p, l, a, sizeof a)) {
			if (strcmp(a, "127.0.0.53"))
				return false;
			stub = true;
		}
		p += l + (p[l] == '\n');
	}
	return stub;
}

size_t sbx_dns_resolv_conf(const char *etc, const char *resolved, char *out, size_t size)
{
	static char conf[RESOLV_MAX];
	read_file(etc, conf, sizeof conf);
	if (only_resolved_stub(conf))
		read_file(resolved, conf, sizeof conf);
	size_t n = 0;
	bool any = false;
	out[0] = 0;
	for (const char *p = conf; *p;) {
		size_t l = strcspn(p, "\n");
		const char *line = p;
		p += l + (p[l] == '\n');
		char a[64];
		if (l >= LINE_MAX_)
			continue;
		if (nameserver(line, l, a, sizeof a)) {
			if (loopback(a) || strchr(a, ':'))
				continue;
			any = true;
		}
		if (n + l + 2 > size)
			break;
		memcpy(out + n, line, l);
		n += l;
		out[n++] = '\n';
		out[n] = 0;
	}
	if (!any) {
		static const char dflt[] = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
		if (n + sizeof dflt > size)
			n = 0; /* the servers matter more than the options */
		memcpy(out + n, dflt, sizeof dflt);
		n += sizeof dflt - 1;
	}
	return n;
}
