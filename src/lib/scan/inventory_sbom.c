/* The inventory as a document: bulwark's own JSON, CycloneDX 1.5 and SPDX 2.3 (JSON), with
 * each package's purl and where it came from (file and layer) as properties. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bulwark/finding.h"
#include "bulwark/version.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

int bwk_sbom_format_parse(const char *s, bwk_sbom_format *out)
{
	if (strcmp(s, "json") == 0)
		*out = BWK_SBOM_JSON;
	else if (strcmp(s, "cyclonedx") == 0)
		*out = BWK_SBOM_CYCLONEDX;
	else if (strcmp(s, "spdx-json") == 0)
		*out = BWK_SBOM_SPDX;
	else
		return -1;
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *render_native(const bwk_inventory *inv, const char *subject, const char *digest)
{
	json_t *pkgs = json_array();
	for (size_t i = 0; i < bwk_inventory_count(inv); i++) {
		const bwk_package *p = bwk_inventory_get(inv, i);
		json_array_append_new(
		    pkgs,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:i, s:o}", "name",
			      p->name, "version", p->version, "ecosystem",
			      bwk_ecosystem_name(p->eco), "source", p->source, "source_version",
			      p->source_version, "arch", str_or_null(p->arch), "purl", p->purl,
			      "path", p->path, "layer", str_or_null(p->layer), "layer_index",
			      p->layer_index, "step", str_or_null(p->step)));
	}
	const bwk_os_release *os = bwk_inventory_os(inv);
	json_t *jos = os ? json_pack("{s:o, s:o, s:o, s:o}", "id", str_or_null(os->id),
				     "version_id", str_or_null(os->version_id), "version_codename",
				     str_or_null(os->version_codename), "pretty_name",
				     str_or_null(os->pretty_name))
			 : json_null();
	json_t *warn = json_array();
	for (size_t i = 0; bwk_inventory_warning(inv, i); i++)
		json_array_append_new(warn, json_string(bwk_inventory_warning(inv, i)));
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "target", subject, "digest",
			 str_or_null(digest), "os", jos, "packages", pkgs, "warnings", warn);
}

static void uuid4(char out[37])
{
	unsigned char b[16] = {0};
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* no entropy (seccomp?): a time-derived id is still unique enough for a serial */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(b, &ts, sizeof(ts) < sizeof(b) ? sizeof(ts) : sizeof(b));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static void now_iso(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *prop(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static json_t *cdx_props(const bwk_package *p)
{
	json_t *a = json_array();
	json_array_append_new(a, prop("bulwark:package:path", p->path));
	if (p->layer)
		json_array_append_new(a, prop("bulwark:layer:digest", p->layer));
	if (p->layer_index >= 0) {
		char n[16];
		snprintf(n, sizeof(n), "%d", p->layer_index);
		json_array_append_new(a, prop("bulwark:layer:index", n));
	}
	if (p->step)
		json_array_append_new(a, prop("bulwark:layer:step", p->step));
	json_array_append_new(a, prop("bulwark:package:source", p->source));
	json_array_append_new(a, prop("bulwark:package:source_version", p->source_version));
	return a;
}

long bwk_inventory_package_of(const bwk_inventory *inv, const bwk_finding *f)
{
	for (size_t i = 0; i < bwk_inventory_count(inv); i++) {
		const bwk_package *p = bwk_inventory_get(inv, i);
		if (!f->path || strcmp(p->path, f->path) != 0 || p->layer_index != f->layer_index ||
		    !f->evidence)
			continue;
		size_t n = strlen(p->name);
		if (strncmp(f->evidence, p->name, n) == 0 && f->evidence[n] == ' ' &&
		    strcmp(f->evidence + n + 1, p->version) == 0)
			return (long)i;
	}
	return -1;
}

static json_t *cdx_vulnerability(const bwk_finding *f)
{
	const bwk_rule *r = f->rule;
	json_t *v = json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s, s:[]}", "bom-ref", r->id, "id",
			      r->id, "ratings", "severity", bwk_severity_name(f->severity),
			      "method", "other", "description", r->title, "affects");
	json_t *src = json_pack("{s:s}", "name", "OSV");
	json_t *adv = json_array();
	for (size_t i = 0; r->references && r->references[i]; i++) {
		if (i == 0)
			json_object_set_new(src, "url", json_string(r->references[i]));
		json_array_append_new(adv, json_pack("{s:s}", "url", r->references[i]));
	}
	json_object_set_new(v, "source", src);
	if (json_array_size(adv))
		json_object_set_new(v, "advisories", adv);
	else
		json_decref(adv);
	if (f->message)
		json_object_set_new(v, "recommendation", json_string(f->message));
	return v;
}

/* One entry per advisory, in the order first found, affecting every component it was found
 * in. Advisory ids repeat across packages (libssl3 and openssl share their source's). */
static json_t *cdx_vulnerabilities(const bwk_inventory *inv, const bwk_findings *fs)
{
	json_t *list = json_array(), *byid = json_object();
	for (size_t i = 0; fs && i < bwk_findings_count(fs); i++) {
		const bwk_finding *f = bwk_findings_get(fs, i);
		if (f->suppressed || f->rule->category != BWK_CAT_VULNERABILITY)
			continue;
		long pi = bwk_inventory_package_of(inv, f);
		if (pi < 0)
			continue;
		json_t *v = json_object_get(byid, f->rule->id);
		if (!v) {
			v = cdx_vulnerability(f);
			json_object_set(byid, f->rule->id, v);
			json_array_append_new(list, v);
		}
		const bwk_package *p = bwk_inventory_get(inv, (size_t)pi);
		cleanup_free char *ref = xasprintf("%s#%ld", p->purl, pi);
		json_array_append_new(json_object_get(v, "affects"),
				      json_pack("{s:s, s:[{s:s, s:s}]}", "ref", ref, "versions",
						"version", p->version, "status", "affected"));
	}
	json_decref(byid);
	return list;
}

static json_t *render_cyclonedx(const bwk_inventory *inv, const char *subject, const char *digest,
				const bwk_findings *fs)
{
	char uuid[37], ts[32];
	uuid4(uuid);
	now_iso(ts);
	json_t *comps = json_array();
	const bwk_os_release *os = bwk_inventory_os(inv);
	if (os && os->id)
		json_array_append_new(comps,
				      json_pack("{s:s, s:s, s:s, s:s}", "type", "operating-system",
						"bom-ref", "os", "name", os->id, "version",
						os->version_id ? os->version_id : ""));
	for (size_t i = 0; i < bwk_inventory_count(inv); i++) {
		const bwk_package *p = bwk_inventory_get(inv, i);
		/* a purl may repeat (the same package in two site-packages): refs must not */
		cleanup_free char *ref = xasprintf("%s#%zu", p->purl, i);
		json_array_append_new(comps, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "type",
						       "library", "bom-ref", ref, "name", p->name,
						       "version", p->version, "purl", p->purl,
						       "properties", cdx_props(p)));
	}
	json_t *subj = json_pack("{s:s, s:s, s:s}", "type", "container", "bom-ref", "subject",
				 "name", subject);
	if (digest)
		json_object_set_new(subj, "version", json_string(digest));
	cleanup_free char *serial = xasprintf("urn:uuid:%s", uuid);
	json_t *tools = json_pack("{s:[{s:s, s:s, s:s}]}", "components", "type", "application",
				  "name", "bulwark", "version", BWK_VERSION);
	json_t *doc =
	    json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:o, s:o}, s:o}", "bomFormat", "CycloneDX",
		      "specVersion", "1.5", "serialNumber", serial, "version", 1, "metadata",
		      "timestamp", ts, "tools", tools, "component", subj, "components", comps);
	if (doc && fs)
		json_object_set_new(doc, "vulnerabilities", cdx_vulnerabilities(inv, fs));
	return doc;
}

static json_t *render_spdx(const bwk_inventory *inv, const char *subject, const char *digest)
{
	char uuid[37], ts[32];
	uuid4(uuid);
	now_iso(ts);
	json_t *pkgs = json_array(), *rels = json_array();
	json_t *img = json_pack("{s:s, s:s, s:s, s:b, s:s}", "name", subject, "SPDXID",
				"SPDXRef-Image", "downloadLocation", "NOASSERTION", "filesAnalyzed",
				0, "primaryPackagePurpose", "CONTAINER");
	if (digest)
		json_object_set_new(img, "versionInfo", json_string(digest));
	json_array_append_new(pkgs, img);
	json_array_append_new(rels, json_pack("{s:s, s:s, s:s}", "spdxElementId",
					      "SPDXRef-DOCUMENT", "relationshipType", "DESCRIBES",
					      "relatedSpdxElement", "SPDXRef-Image"));
	for (size_t i = 0; i < bwk_inventory_count(inv); i++) {
		const bwk_package *p = bwk_inventory_get(inv, i);
		char id[48];
		snprintf(id, sizeof(id), "SPDXRef-Package-%zu", i + 1);
		/* the source package too (SPDX has no field for it): a scan of this document
		 * matches Debian's and Rocky's advisories by it (inventory_sbomin.c) */
		bool src = strcmp(p->source, p->name) || strcmp(p->source_version, p->version);
		cleanup_free char *from =
		    src ? xasprintf("; source package %s %s", p->source, p->source_version)
			: xstrdup("");
		cleanup_free char *where =
		    p->layer ? xasprintf("read from /%s in layer %d (%s)%s", p->path,
					 p->layer_index + 1, p->layer, from)
			     : xasprintf("read from /%s%s", p->path, from);
		json_t *pk = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:[{s:s, s:s, s:s}]}",
				       "name", p->name, "SPDXID", id, "versionInfo", p->version,
				       "downloadLocation", "NOASSERTION", "filesAnalyzed", 0,
				       "sourceInfo", where, "primaryPackagePurpose", "LIBRARY",
				       "externalRefs", "referenceCategory", "PACKAGE-MANAGER",
				       "referenceType", "purl", "referenceLocator", p->purl);
		if (p->step) {
			cleanup_free char *c =
			    xasprintf("layer added by the build step %s", p->step);
			json_object_set_new(pk, "comment", json_string(c));
		}
		json_array_append_new(pkgs, pk);
		json_array_append_new(rels, json_pack("{s:s, s:s, s:s}", "spdxElementId",
						      "SPDXRef-Image", "relationshipType",
						      "CONTAINS", "relatedSpdxElement", id));
	}
	cleanup_free char *ns = xasprintf("https://spdx.org/spdxdocs/bulwark-%s", uuid);
	cleanup_free char *tool = xasprintf("Tool: bulwark-%s", BWK_VERSION);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s]}, s:o, s:o}", "spdxVersion",
			 "SPDX-2.3", "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name",
			 subject, "documentNamespace", ns, "creationInfo", "created", ts,
			 "creators", tool, "packages", pkgs, "relationships", rels);
}

char *bwk_inventory_render(const bwk_inventory *inv, bwk_sbom_format fmt, const char *subject,
			   const char *digest, bwk_error **err)
{
	return bwk_inventory_render_vulns(inv, fmt, subject, digest, NULL, err);
}

char *bwk_inventory_render_vulns(const bwk_inventory *inv, bwk_sbom_format fmt, const char *subject,
				 const char *digest, const bwk_findings *findings, bwk_error **err)
{
	json_t *doc = fmt == BWK_SBOM_CYCLONEDX ? render_cyclonedx(inv, subject, digest, findings)
		      : fmt == BWK_SBOM_SPDX	? render_spdx(inv, subject, digest)
						: render_native(inv, subject, digest);
	if (!doc) {
		bwk_error_set(err, BWK_E_INTERNAL, 0, "cannot build the SBOM document");
		return NULL;
	}
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (!s)
		bwk_error_set(err, BWK_E_NOMEM, 0, "cannot serialise the SBOM document");
	return s;
}
