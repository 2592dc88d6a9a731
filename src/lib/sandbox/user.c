/* Docker's --user semantics against the container's own /etc/passwd and /etc/group: "uid",
 * "uid:gid", "name", "name:group"; a numeric uid need not exist; a name must. The files are
 * the image's (untrusted): lines are bounded and fields validated. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "sandbox/sandbox_private.h"

static bool parse_id(const char *s, size_t n, uint32_t *out)
{
	if (n == 0 || n > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > 0xfffffffeu)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Split line into up to `max` ':' fields (pointers into line, lengths). */
static int fields(const char *line, size_t len, const char **f, size_t *fl, int max)
{
	int n = 0;
	const char *start = line;
	for (size_t i = 0; i <= len && n < max; i++) {
		if (i == len || line[i] == ':') {
			f[n] = start;
			fl[n] = (size_t)(line + i - start);
			n++;
			start = line + i + 1;
		}
	}
	return n;
}

typedef bool (*line_fn)(const char **f, size_t *fl, int n, void *arg);

static void each_line(const char *data, int nf, line_fn fn, void *arg)
{
	if (!data)
		return;
	const char *p = data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *f[7];
		size_t fl[7];
		if (len < 4096) {
			int n = fields(p, len, f, fl, nf);
			if (n >= 3 && fn(f, fl, n, arg))
				return;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

typedef struct pw_q {
	const char *name;
	size_t nlen;
	bool by_id;
	uint32_t id;
	bool found;
	uint32_t uid, gid;
	char home[256];
	char pname[64];
} pw_q;

static bool pw_match(const char **f, size_t *fl, int n, void *arg)
{
	pw_q *q = arg;
	uint32_t uid, gid = 0;
	if (n < 4 || !parse_id(f[2], fl[2], &uid) || !parse_id(f[3], fl[3], &gid))
		return false;
	bool hit = q->by_id ? uid == q->id : (fl[0] == q->nlen && !memcmp(f[0], q->name, q->nlen));
	if (!hit)
		return false;
	q->found = true;
	q->uid = uid;
	q->gid = gid;
	if (n >= 6 && fl[5] < sizeof q->home)
		snprintf(q->home, sizeof q->home, "%.*s", (int)fl[5], f[5]);
	if (fl[0] < sizeof q->pname)
		snprintf(q->pname, sizeof q->pname, "%.*s", (int)fl[0], f[0]);
	return true;
}

typedef struct gr_q {
	const char *name;
	size_t nlen;
	bool found;
	uint32_t gid;
	const char *member; /* supplementary groups of this user */
	bwk_user *u;
} gr_q;

static bool gr_match(const char **f, size_t *fl, int n, void *arg)
{
	gr_q *q = arg;
	uint32_t gid;
	if (n < 3 || !parse_id(f[2], fl[2], &gid))
		return false;
	if (q->name) {
		if (fl[0] == q->nlen && !memcmp(f[0], q->name, q->nlen)) {
			q->found = true;
			q->gid = gid;
			return true;
		}
		return false;
	}
	if (n < 4 || !q->member[0])
		return false;
	size_t ml = strlen(q->member);
	const char *m = f[3], *end = f[3] + fl[3];
	while (m < end) {
		const char *c = memchr(m, ',', (size_t)(end - m));
		size_t l = c ? (size_t)(c - m) : (size_t)(end - m);
		if (l == ml && !memcmp(m, q->member, ml) &&
		    q->u->ngroups < (int)(sizeof q->u->groups / sizeof q->u->groups[0]))
			q->u->groups[q->u->ngroups++] = gid;
		m += l + 1;
	}
	return false;
}

int bwk_user_resolve(const char *spec, const char *passwd, const char *group, bwk_user *out,
		     char *errbuf, size_t errlen)
{
	memset(out, 0, sizeof *out);
	snprintf(out->home, sizeof out->home, "/");
	if (!spec || !spec[0])
		spec = "0";
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	pw_q q = {0};
	uint32_t id;
	if (parse_id(spec, ulen, &id)) {
		q.by_id = true;
		q.id = id;
		each_line(passwd, 7, pw_match, &q);
		out->uid = id;
		out->gid = q.found ? q.gid : 0;
	} else {
		q.name = spec;
		q.nlen = ulen;
		each_line(passwd, 7, pw_match, &q);
		if (!q.found) {
			snprintf(errbuf, errlen,
				 "unable to find user %.*s: no matching entries in "
				 "the image's /etc/passwd",
				 (int)ulen, spec);
			return -1;
		}
		out->uid = q.uid;
		out->gid = q.gid;
	}
	if (q.found && q.home[0])
		snprintf(out->home, sizeof out->home, "%s", q.home);
	else if (out->uid == 0)
		snprintf(out->home, sizeof out->home, "/root");
	if (colon) {
		const char *g = colon + 1;
		if (parse_id(g, strlen(g), &id)) {
			out->gid = id;
		} else {
			gr_q gq = {.name = g, .nlen = strlen(g)};
			each_line(group, 4, gr_match, &gq);
			if (!gq.found) {
				snprintf(errbuf, errlen,
					 "unable to find group %s: no matching entries in the "
					 "image's /etc/group",
					 g);
				return -1;
			}
			out->gid = gq.gid;
		}
	}
	out->groups[out->ngroups++] = out->gid;
	if (q.found && q.pname[0]) {
		gr_q gq = {.member = q.pname, .u = out};
		each_line(group, 4, gr_match, &gq);
	}
	return 0;
}
