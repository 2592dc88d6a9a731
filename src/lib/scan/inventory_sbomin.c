/* An SBOM as the input of a scan: CycloneDX (1.x JSON) or SPDX (2.x JSON), its packages taken
 * by their package URLs and matched against the vulnerability database exactly as an image's
 * inventory is.
 *
 * What a purl carries: type (deb, apk, rpm, pypi, npm, golang: the others are counted and not
 * matched), namespace and name, version, and the qualifiers arch, distro ("debian-12",
 * "3.19.1"), epoch (rpm) and upstream (the source package, syft's "openssl" or
 * "openssl@3.0.11-1"). The distribution comes from a CycloneDX "operating-system" component,
 * else from the first distribution purl (its namespace and distro qualifier). bulwark's own
 * properties (source, source version, file, layer) and Trivy's (SrcName, SrcVersion, …) are
 * read back when present, so a scan of `bulwark sbom`'s output finds what the image's does.
 *
 * Bounds: the file at most 256 MiB, 1,000,000 packages, components nested 32 deep; a
 * malformed purl skips its package (counted in a warning). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/vuln.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

#define SBOM_MAX_BYTES (256u << 20)
#define SBOM_MAX_DEPTH 32

/* Percent-decoding of a purl component; NULL when malformed or over-long. */
static char *pdec(const char *s, size_t n)
{
	if (n == 0 || n > 4 * INV_MAX_FIELD)
		return NULL;
	char *o = xmalloc(n + 1), *q = o;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			unsigned v;
			char hex[3] = {0};
			if (i + 2 >= n) {
				free(o);
				return NULL;
			}
			memcpy(hex, s + i + 1, 2);
			if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]) ||
			    sscanf(hex, "%2x", &v) != 1) {
				free(o);
				return NULL;
			}
			*q++ = (char)v;
			i += 2;
		} else {
			*q++ = s[i];
		}
	}
	*q = '\0';
	for (char *c = o; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			free(o);
			return NULL;
		}
	if (strlen(o) != (size_t)(q - o) || (size_t)(q - o) > INV_MAX_FIELD) {
		free(o);
		return NULL;
	}
	return o;
}

typedef struct purl {
	char *type, *ns, *name, *version;
	char *arch, *distro, *epoch, *upstream;
} purl;

static void purl_free(purl *p)
{
	free(p->type);
	free(p->ns);
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->distro);
	free(p->epoch);
	free(p->upstream);
	*p = (purl){0};
}

/* pkg:type/namespace/name@version?qualifiers#subpath */
static bool purl_parse(const char *s, purl *p)
{
	*p = (purl){0};
	if (strncmp(s, "pkg:", 4) != 0)
		return false;
	s += 4;
	size_t n = strcspn(s, "#");
	const char *q = memchr(s, '?', n);
	size_t pathlen = q ? (size_t)(q - s) : n;
	const char *slash = memchr(s, '/', pathlen);
	if (!slash)
		return false;
	p->type = pdec(s, (size_t)(slash - s));
	const char *rest = slash + 1;
	size_t rl = pathlen - (size_t)(rest - s);
	const char *at = memrchr(rest, '@', rl);
	size_t nl = at ? (size_t)(at - rest) : rl;
	if (at)
		p->version = pdec(at + 1, rl - nl - 1);
	const char *ls = memrchr(rest, '/', nl);
	if (ls) {
		p->ns = pdec(rest, (size_t)(ls - rest));
		p->name = pdec(ls + 1, nl - (size_t)(ls - rest) - 1);
	} else {
		p->name = pdec(rest, nl);
	}
	for (const char *kv = q ? q + 1 : NULL; kv && kv < s + n;) {
		size_t l = strcspn(kv, "&#");
		if (l > (size_t)(s + n - kv))
			l = (size_t)(s + n - kv);
		const char *eq = memchr(kv, '=', l);
		if (eq) {
			size_t kl = (size_t)(eq - kv);
			char **slot = kl == 4 && !memcmp(kv, "arch", 4)	      ? &p->arch
				      : kl == 6 && !memcmp(kv, "distro", 6)   ? &p->distro
				      : kl == 5 && !memcmp(kv, "epoch", 5)    ? &p->epoch
				      : kl == 8 && !memcmp(kv, "upstream", 8) ? &p->upstream
									      : NULL;
			if (slot && !*slot)
				*slot = pdec(eq + 1, l - kl - 1);
		}
		kv += l + 1;
	}
	return p->type && p->name && p->version;
}

typedef struct sbom_ctx {
	bwk_inventory *inv;
	const char *path;
	size_t skipped, other;
	char *os_id, *os_ver;
} sbom_ctx;

static const char *prop(json_t *props, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(props, i, p)
	{
		const char *n = json_string_value(json_object_get(p, "name"));
		if (n && !strcmp(n, name))
			return json_string_value(json_object_get(p, "value"));
	}
	return NULL;
}

static void note_os(sbom_ctx *c, const char *id, const char *ver)
{
	if (c->os_id || !id)
		return;
	c->os_id = xstrdup(!strcmp(id, "redhat") ? "rhel" : id);
	if (ver) {
		size_t il = strlen(id);
		/* "debian-12" → "12" */
		if (!strncmp(ver, id, il) && ver[il] == '-')
			ver += il + 1;
		else if (!strncmp(ver, c->os_id, strlen(c->os_id)) && ver[strlen(c->os_id)] == '-')
			ver += strlen(c->os_id) + 1;
		c->os_ver = xstrdup(ver);
	}
}

/* bulwark:layer:index: 0 to 9999, else -1 */
static int layer_index(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	long v = strtol(s, &end, 10);
	return *end || v < 0 || v > 9999 ? -1 : (int)v;
}

static void add_purl(sbom_ctx *c, const char *purl_s, json_t *props, const char *spdx_src,
		     const char *doc_name)
{
	purl u;
	if (!purl_parse(purl_s, &u)) {
		c->skipped++;
		purl_free(&u);
		return;
	}
	bwk_ecosystem eco;
	if (!strcmp(u.type, "deb"))
		eco = BWK_ECO_DEB;
	else if (!strcmp(u.type, "apk"))
		eco = BWK_ECO_APK;
	else if (!strcmp(u.type, "rpm"))
		eco = BWK_ECO_RPM;
	else if (!strcmp(u.type, "pypi"))
		eco = BWK_ECO_PYPI;
	else if (!strcmp(u.type, "npm"))
		eco = BWK_ECO_NPM;
	else if (!strcmp(u.type, "golang"))
		eco = BWK_ECO_GOLANG;
	else if (!strcmp(u.type, "maven") && u.ns)
		eco = BWK_ECO_MAVEN;
	else if (!strcmp(u.type, "cargo"))
		eco = BWK_ECO_CARGO;
	else {
		c->other++;
		purl_free(&u);
		return;
	}
	bool distro = eco == BWK_ECO_DEB || eco == BWK_ECO_APK || eco == BWK_ECO_RPM;
	if (distro)
		note_os(c, u.ns, u.distro);
	cleanup_free char *name = eco == BWK_ECO_MAVEN ? xasprintf("%s:%s", u.ns, u.name)
				  : (eco == BWK_ECO_NPM || eco == BWK_ECO_GOLANG) && u.ns
				      ? xasprintf("%s/%s", u.ns, u.name)
				      : xstrdup(u.name);
	/* a PyPI purl's name is normalised ("jinja2"): the document's own spelling ("Jinja2")
	 * when it is the same package */
	if (eco == BWK_ECO_PYPI && doc_name && strlen(doc_name) <= INV_MAX_FIELD) {
		cleanup_free char *norm = bwk_pypi_name(doc_name);
		if (!strcmp(norm, name)) {
			free(name);
			name = xstrdup(doc_name);
		}
	}
	cleanup_free char *version = eco == BWK_ECO_RPM && u.epoch
					 ? xasprintf("%s:%s", u.epoch, u.version)
					 : xstrdup(u.version);
	/* the source package: our properties, Trivy's, the upstream qualifier */
	const char *src = prop(props, "bulwark:package:source");
	const char *srcv = prop(props, "bulwark:package:source_version");
	cleanup_free char *srcbuf = NULL, *srcvbuf = NULL;
	if (!src && (src = prop(props, "aquasecurity:trivy:SrcName"))) {
		const char *v = prop(props, "aquasecurity:trivy:SrcVersion");
		const char *r = prop(props, "aquasecurity:trivy:SrcRelease");
		const char *e = prop(props, "aquasecurity:trivy:SrcEpoch");
		if (v)
			srcv = srcvbuf =
			    xasprintf("%s%s%s%s%s", e && strcmp(e, "0") ? e : "",
				      e && strcmp(e, "0") ? ":" : "", v, r ? "-" : "", r ? r : "");
	}
	/* bulwark's SPDX: "read from /PATH…; source package NAME VERSION" */
	const char *sp = spdx_src ? strstr(spdx_src, "; source package ") : NULL;
	if (!src && sp) {
		sp += strlen("; source package ");
		const char *sep = strchr(sp, ' ');
		if (sep && sep > sp && sep[1]) {
			srcbuf = xstrndup(sp, (size_t)(sep - sp));
			src = srcbuf;
			srcv = sep + 1;
		}
	}
	if (!src && u.upstream && distro) {
		const char *at = strchr(u.upstream, '@');
		srcbuf = at ? xstrndup(u.upstream, (size_t)(at - u.upstream)) : xstrdup(u.upstream);
		src = srcbuf;
		if (at)
			srcv = at + 1;
	}
	const char *layer_ix = prop(props, "bulwark:layer:index");
	const char *step = prop(props, "bulwark:layer:step");
	if (step && strnlen(step, 1025) > 1024)
		step = NULL;
	const char *file = prop(props, "bulwark:package:path");
	cleanup_free char *spdx_file = NULL;
	if (!file && spdx_src && !strncmp(spdx_src, "read from /", 11)) {
		size_t fl = strcspn(spdx_src + 11, " ;");
		if (fl && fl <= INV_MAX_FIELD)
			file = spdx_file = xstrndup(spdx_src + 11, fl);
	}
	bwk_package p = {
	    .eco = eco,
	    .name = name,
	    .version = version,
	    .source = src,
	    .source_version = srcv,
	    .arch = u.arch,
	    .purl = purl_s,
	    .path = file ? file : c->path,
	    .layer = prop(props, "bulwark:layer:digest"),
	    .layer_index = layer_index(layer_ix),
	    .step = step,
	};
	inv_inventory_add(c->inv, &p);
	purl_free(&u);
}

static int cdx_components(sbom_ctx *c, json_t *comps, int depth, bwk_error **err)
{
	if (!comps)
		return 0;
	if (!json_is_array(comps) || depth > SBOM_MAX_DEPTH)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: components is not a list or nested deeper than %d",
				     c->path, SBOM_MAX_DEPTH);
	size_t i;
	json_t *x;
	json_array_foreach(comps, i, x)
	{
		if (bwk_inventory_count(c->inv) >= INV_MAX_PKGS)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u packages",
					     c->path, INV_MAX_PKGS);
		const char *type = json_string_value(json_object_get(x, "type"));
		if (type && !strcmp(type, "operating-system")) {
			const char *n = json_string_value(json_object_get(x, "name"));
			const char *v = json_string_value(json_object_get(x, "version"));
			if (n && !c->os_id && strlen(n) < INV_MAX_FIELD &&
			    (!v || strlen(v) < INV_MAX_FIELD))
				note_os(c, n, v);
		}
		const char *purl_s = json_string_value(json_object_get(x, "purl"));
		if (purl_s)
			add_purl(c, purl_s, json_object_get(x, "properties"), NULL,
				 json_string_value(json_object_get(x, "name")));
		if (cdx_components(c, json_object_get(x, "components"), depth + 1, err) < 0)
			return -1;
	}
	return 0;
}

static int spdx_packages(sbom_ctx *c, json_t *pkgs, bwk_error **err)
{
	if (!json_is_array(pkgs))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: SPDX document without packages",
				     c->path);
	size_t i, j;
	json_t *x, *r;
	json_array_foreach(pkgs, i, x)
	{
		if (bwk_inventory_count(c->inv) >= INV_MAX_PKGS)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u packages",
					     c->path, INV_MAX_PKGS);
		json_array_foreach(json_object_get(x, "externalRefs"), j, r)
		{
			const char *t = json_string_value(json_object_get(r, "referenceType"));
			const char *loc = json_string_value(json_object_get(r, "referenceLocator"));
			if (t && loc && !strcmp(t, "purl")) {
				add_purl(c, loc, NULL,
					 json_string_value(json_object_get(x, "sourceInfo")),
					 json_string_value(json_object_get(x, "name")));
				break;
			}
		}
	}
	return 0;
}

static int read_sbom_doc(const char *path, const char *data, size_t len, bwk_inventory **out,
			 bwk_error **err)
{
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%d: not JSON: %s", path, je.line,
				     je.text);
	sbom_ctx c = {.inv = inv_inventory_new(), .path = path};
	int rc;
	const char *fmt = json_string_value(json_object_get(root, "bomFormat"));
	if (fmt && !strcmp(fmt, "CycloneDX")) {
		json_t *meta = json_object_get(json_object_get(root, "metadata"), "component");
		rc = cdx_components(&c, json_object_get(root, "components"), 0, err);
		/* the subject's own nested components (Trivy puts the OS there sometimes) */
		if (rc == 0 && meta)
			rc = cdx_components(&c, json_object_get(meta, "components"), 1, err);
	} else if (json_is_string(json_object_get(root, "spdxVersion"))) {
		rc = spdx_packages(&c, json_object_get(root, "packages"), err);
	} else {
		rc = bwk_error_set(err, BWK_E_INPUT, 0,
				   "%s: neither a CycloneDX (bomFormat) nor an SPDX (spdxVersion) "
				   "document",
				   path);
	}
	json_decref(root);
	if (rc == 0 && c.os_id)
		inv_inventory_set_os(c.inv, c.os_id, c.os_ver);
	if (rc == 0 && c.skipped)
		inv_inventory_warn(c.inv, xasprintf("%s: %zu package(s) with a malformed purl "
						    "skipped",
						    path, c.skipped));
	if (rc == 0 && c.other)
		inv_inventory_warn(c.inv, xasprintf("%s: %zu package(s) of purl types without "
						    "vulnerability matching (not deb, apk, rpm, "
						    "pypi, npm, golang, maven, cargo)",
						    path, c.other));
	free(c.os_id);
	free(c.os_ver);
	if (rc < 0) {
		bwk_inventory_free(c.inv);
		return -1;
	}
	*out = c.inv;
	return 0;
}

int bwk_inventory_read_sbom(const char *path, bwk_inventory **out, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, SBOM_MAX_BYTES, true, &data, &len, err) < 0)
		return -1;
	return read_sbom_doc(path, data, len, out, err);
}

int bwk_inventory_read_sbom_fd(const char *name, int fd, bwk_inventory **out, bwk_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot stat", name);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SBOM_MAX_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: an SBOM is read up to %u MiB (this one is larger)", name,
				     SBOM_MAX_BYTES >> 20);
	size_t len = (size_t)st.st_size, got = 0;
	cleanup_free char *data = xmalloc(len + 1);
	while (got < len) {
		ssize_t n = pread(fd, data + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", name);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	data[got] = '\0';
	return read_sbom_doc(name, data, got, out, err);
}

int inv_scan_sbom_fd(const char *name, int fd, const bwk_scan_opts *opts, bwk_findings *out,
		     bwk_error **err)
{
	bwk_inventory *inv = NULL;
	if (bwk_inventory_read_sbom_fd(name, fd, &inv, err) < 0)
		return -1;
	bwk_findings_fact(out, "input", "SBOM %s", name);
	return inv_report(inv, opts, out, err);
}
