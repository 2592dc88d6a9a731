/* Image references, resolved as the docker CLI resolves them (distribution's reference
 * grammar): [DOMAIN/]PATH[:TAG][@DIGEST]. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "registry/registry_private.h"

#define MAX_NAME 255 /* distribution's NameTotalLengthMax */
#define MAX_TAG	 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+ joined by '.', '_', "__" or runs of '-'. */
static bool component_valid(const char *s, size_t n)
{
	if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (is_lower_alnum(c))
			continue;
		if (c == '-') {
			continue; /* runs of '-' are allowed; the ends were checked */
		}
		if (c == '.' || c == '_') {
			if (!is_lower_alnum(s[i - 1]))
				return false;
			if (c == '_' && s[i + 1] == '_' && i + 2 < n && is_lower_alnum(s[i + 2])) {
				i++;
				continue;
			}
			if (!is_lower_alnum(s[i + 1]))
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static bool path_valid(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (!component_valid(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool tag_valid(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > MAX_TAG || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool reg_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* host[:port], [v6]:port, or a DNS name: letters, digits, '-', '.' */
static bool domain_valid(const char *s, size_t n)
{
	size_t i = 0;
	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb || rb == s + 1)
			return false;
		for (const char *p = s + 1; p < rb; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		i = (size_t)(rb - s) + 1;
		if (i == n)
			return true;
	} else {
		while (i < n && s[i] != ':') {
			if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
				return false;
			i++;
		}
		if (!i || s[0] == '-' || s[0] == '.' || s[i - 1] == '.')
			return false;
		if (i == n)
			return true;
	}
	if (s[i] != ':' || i + 1 == n || n - i - 1 > 5)
		return false;
	for (size_t j = i + 1; j < n; j++)
		if (!isdigit((unsigned char)s[j]))
			return false;
	return true;
}

static int bad(bwk_error **err, const char *s, const char *why)
{
	return bwk_error_set(err, BWK_E_INPUT, 0,
			     "image reference '%.*s': %s (expected [REGISTRY/]REPOSITORY[:TAG]"
			     "[@sha256:DIGEST], e.g. registry.example.com/team/app:1.2 or "
			     "alpine:3.19)",
			     BWK_REG_MAX_REF, s, why);
}

int bwk_registry_ref_parse(const char *s, bwk_registry_ref *out, bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	size_t n = strnlen(s, BWK_REG_MAX_REF + 1);
	if (!n)
		return bad(err, s, "empty");
	if (n > BWK_REG_MAX_REF)
		return bad(err, s, "too long");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return bad(err, s, "contains a space or control character");
	cleanup_free char *work = xstrndup(s, n);
	char *at = strchr(work, '@');
	if (at) {
		*at = 0;
		if (!reg_digest_valid(at + 1))
			return bad(err, s,
				   "the digest must be sha256: and 64 lowercase hex digits");
	}
	/* the domain: a first component with '.', ':' or "localhost" (or upper case, which a
	 * repository path never has) */
	char *slash = strchr(work, '/');
	const char *domain = "docker.io";
	char *path = work;
	if (slash) {
		size_t dn = (size_t)(slash - work);
		bool upper = false;
		for (size_t i = 0; i < dn; i++)
			upper |= isupper((unsigned char)work[i]) != 0;
		if (memchr(work, '.', dn) || memchr(work, ':', dn) || upper ||
		    (dn == 9 && !memcmp(work, "localhost", 9))) {
			if (!domain_valid(work, dn))
				return bad(err, s, "the registry is not a valid host[:port]");
			*slash = 0;
			domain = work;
			path = slash + 1;
		}
	}
	/* the tag: after the last ':' of the path (the domain is gone, so no port here) */
	char *colon = strrchr(path, ':');
	const char *tag = NULL;
	if (colon) {
		*colon = 0;
		tag = colon + 1;
		if (!tag_valid(tag))
			return bad(err, s,
				   "the tag must be 1-128 of [A-Za-z0-9_.-], not starting "
				   "with '.' or '-'");
	}
	if (!path_valid(path, strlen(path)))
		return bad(err, s,
			   "the repository must be lowercase components of [a-z0-9] joined by "
			   "'.', '_', '__' or '-', separated by '/'");
	bool hub = !strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io");
	out->registry = xstrdup(hub ? "docker.io" : domain);
	out->repository = hub && !strchr(path, '/') ? xasprintf("library/%s", path) : xstrdup(path);
	if (strlen(out->registry) + 1 + strlen(out->repository) > MAX_NAME) {
		bwk_registry_ref_free(out);
		return bad(err, s, "the name is longer than 255 characters");
	}
	out->tag = tag ? xstrdup(tag) : at ? NULL : xstrdup("latest");
	out->digest = at ? xstrdup(at + 1) : NULL;
	return 0;
}

void bwk_registry_ref_free(bwk_registry_ref *r)
{
	free(r->registry);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *bwk_registry_ref_string(const bwk_registry_ref *r)
{
	return xasprintf("%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "",
			 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

bool bwk_registry_ref_is_explicit(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return false;
	size_t dn = (size_t)(slash - s);
	if (!memchr(s, '.', dn) && !memchr(s, ':', dn) && !(dn == 9 && !memcmp(s, "localhost", 9)))
		return false;
	bwk_registry_ref r;
	if (bwk_registry_ref_parse(s, &r, NULL) < 0)
		return false;
	bwk_registry_ref_free(&r);
	return true;
}
