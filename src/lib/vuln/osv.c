/* OSV records (ossf.github.io/osv-schema): parsing with bounds, validation of the versions in
 * their ranges against the ecosystem's own order, severity from CVSS v3 vectors, and the
 * range evaluation of the schema's reference algorithm. Every record is untrusted: it may come
 * from a zip someone else built. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "vuln/vuln_private.h"

int osv_scheme(const char *eco)
{
	if (!strncmp(eco, "Debian", 6) || !strncmp(eco, "Ubuntu", 6))
		return BWK_VER_DPKG;
	if (!strncmp(eco, "Alpine", 6))
		return BWK_VER_APK;
	if (!strcmp(eco, "PyPI"))
		return BWK_VER_PEP440;
	if (!strcmp(eco, "npm") || !strcmp(eco, "Go") || !strcmp(eco, "crates.io"))
		return BWK_VER_SEMVER;
	if (!strcmp(eco, "Maven") || !strncmp(eco, "Maven:", 6))
		return BWK_VER_MAVEN;
	if (!strncmp(eco, "Red Hat", 7) || !strncmp(eco, "Rocky Linux", 11) ||
	    !strncmp(eco, "AlmaLinux", 9))
		return BWK_VER_RPM;
	return -1;
}

char *bwk_pypi_name(const char *name)
{
	size_t n = strlen(name);
	char *o = xmalloc(n + 1), *q = o;
	for (const char *p = name; *p; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			if (q == o || q[-1] != '-')
				*q++ = '-';
			continue;
		}
		*q++ = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	}
	*q = '\0';
	return o;
}

void osv_record_free(osv_record *r)
{
	free(r->id);
	free(r->modified);
	free(r->summary);
	free(r->aliases);
	for (size_t i = 0; i < r->naff; i++) {
		free(r->aff[i].ecosystem);
		free(r->aff[i].name);
		free(r->aff[i].data);
	}
	free(r->aff);
	*r = (osv_record){0};
}

/* ---- severity ---------------------------------------------------------------------------- */

static double roundup1(double x)
{
	/* CVSS v3.1 Appendix A: round up to one decimal, robust to floating point error */
	long i = lround(x * 100000.0);
	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (floor((double)i / 10000.0) + 1.0) / 10.0;
}

static double metric(const char *vec, const char *key, const char *letters, const double *vals)
{
	cleanup_free char *pat = xasprintf("/%s:", key);
	const char *p = strstr(vec, pat);
	if (!p)
		return -1;
	char c = p[strlen(pat)];
	const char *at = c ? strchr(letters, c) : NULL;
	return at ? vals[at - letters] : -1;
}

double osv_cvss3_score(const char *v)
{
	if (strncmp(v, "CVSS:3.0/", 9) != 0 && strncmp(v, "CVSS:3.1/", 9) != 0)
		return -1;
	const char *sc = strstr(v, "/S:");
	if (!sc || (sc[3] != 'U' && sc[3] != 'C'))
		return -1;
	bool changed = sc[3] == 'C';
	double av = metric(v, "AV", "NALP", (const double[]){0.85, 0.62, 0.55, 0.2});
	double ac = metric(v, "AC", "LH", (const double[]){0.77, 0.44});
	double pr = metric(v, "PR", "NLH",
			   changed ? (const double[]){0.85, 0.68, 0.5}
				   : (const double[]){0.85, 0.62, 0.27});
	double ui = metric(v, "UI", "NR", (const double[]){0.85, 0.62});
	const double cia[] = {0.56, 0.22, 0};
	double c = metric(v, "C", "HLN", cia), i = metric(v, "I", "HLN", cia),
	       a = metric(v, "A", "HLN", cia);
	if (av < 0 || ac < 0 || pr < 0 || ui < 0 || c < 0 || i < 0 || a < 0)
		return -1;
	double iss = 1 - (1 - c) * (1 - i) * (1 - a);
	double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
	double expl = 8.22 * av * ac * pr * ui;
	if (impact <= 0)
		return 0;
	double base = changed ? 1.08 * (impact + expl) : impact + expl;
	return roundup1(base < 10 ? base : 10);
}

bwk_severity osv_score_severity(double s)
{
	return s >= 9.0	  ? BWK_SEV_CRITICAL
	       : s >= 7.0 ? BWK_SEV_HIGH
	       : s >= 4.0 ? BWK_SEV_MEDIUM
	       : s > 0	  ? BWK_SEV_LOW
			  : BWK_SEV_INFO;
}

/* database_specific.severity: GHSA "CRITICAL/HIGH/MODERATE/LOW", others "high" … */
static int word_severity(const char *s, bwk_severity *out)
{
	if (!strcasecmp(s, "moderate"))
		s = "medium";
	if (!strcasecmp(s, "important"))
		s = "high";
	if (!strcasecmp(s, "negligible") || !strcasecmp(s, "unimportant"))
		s = "low";
	char low[16];
	size_t n = strlen(s);
	if (n >= sizeof(low))
		return -1;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	return bwk_severity_parse(low, out);
}

static void record_severity(json_t *root, osv_record *r)
{
	r->severity = BWK_SEV_MEDIUM; /* no rating at all: unknown is not "low" */
	double best = -1;
	json_t *sev = json_object_get(root, "severity"), *it;
	size_t i;
	if (json_is_array(sev))
		json_array_foreach(sev, i, it)
		{
			const char *type = json_string_value(json_object_get(it, "type"));
			const char *score = json_string_value(json_object_get(it, "score"));
			if (type && score && !strncmp(type, "CVSS_V3", 7)) {
				double s = osv_cvss3_score(score);
				if (s > best)
					best = s;
			}
		}
	if (best >= 0) {
		r->score = best;
		r->severity = osv_score_severity(best);
		return;
	}
	const char *w = json_string_value(
	    json_object_get(json_object_get(root, "database_specific"), "severity"));
	bwk_severity s;
	if (w && word_severity(w, &s) == 0)
		r->severity = s;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > OSV_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

static char *bounded_text(const char *s, size_t max)
{
	if (!s)
		return xstrdup("");
	size_t n = strcspn(s, "\r\n");
	if (n > max)
		n = max;
	char *o = xstrndup(s, n);
	for (char *p = o; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return o;
}

static int check_version(const osv_record *r, const char *eco, const char *name, int scheme,
			 const char *what, const char *v, bwk_error **err)
{
	if (!v || strlen(v) > 256)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s %s: %s is not a string", r->id,
				     eco, name, what);
	if (strcmp(v, "0") == 0 && strcmp(what, "introduced") == 0)
		return 0; /* "0": from the first version on */
	if (scheme >= 0 && !bwk_version_valid((bwk_version_scheme)scheme, v))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: %s %s: %s version '%.64s' is not a valid version of "
				     "this ecosystem",
				     r->id, eco, name, what, v);
	return 0;
}

/* Keep the ranges we evaluate (ECOSYSTEM, SEMVER; GIT needs commits we do not have) after
 * checking every event's version. */
static int parse_ranges(const osv_record *r, json_t *aff, const char *eco, const char *name,
			int scheme, json_t *keep, bwk_error **err)
{
	json_t *ranges = json_object_get(aff, "ranges"), *rg;
	size_t i;
	if (ranges && !json_is_array(ranges))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s %s: ranges is not a list", r->id,
				     eco, name);
	if (json_array_size(ranges) > OSV_MAX_RANGES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %s %s: more than %u ranges", r->id,
				     eco, name, OSV_MAX_RANGES);
	json_array_foreach(ranges, i, rg)
	{
		const char *type = json_string_value(json_object_get(rg, "type"));
		json_t *events = json_object_get(rg, "events");
		if (!type || !json_is_array(events))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: %s %s: range %zu has no type or events", r->id,
					     eco, name, i);
		bool semver = !strcmp(type, "SEMVER");
		if (!semver && strcmp(type, "ECOSYSTEM") != 0)
			continue;
		if (json_array_size(events) > OSV_MAX_EVENTS)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %s %s: more than %u events",
					     r->id, eco, name, OSV_MAX_EVENTS);
		int sch = semver ? BWK_VER_SEMVER : scheme;
		json_t *ev;
		size_t j;
		json_array_foreach(events, j, ev)
		{
			const char *k;
			json_t *val;
			if (!json_is_object(ev) || json_object_size(ev) != 1)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "%s: %s %s: an event is not one "
						     "{introduced|fixed|last_affected|limit}",
						     r->id, eco, name);
			json_object_foreach(ev, k, val)
			{
				if (strcmp(k, "introduced") && strcmp(k, "fixed") &&
				    strcmp(k, "last_affected") && strcmp(k, "limit"))
					return bwk_error_set(err, BWK_E_INPUT, 0,
							     "%s: %s %s: unknown event '%.32s'",
							     r->id, eco, name, k);
				if (check_version(r, eco, name, sch, k, json_string_value(val),
						  err) < 0)
					return -1;
			}
		}
		json_array_append_new(keep,
				      json_pack("{s:s, s:O}", "type", type, "events", events));
	}
	return 0;
}

static int parse_affected(osv_record *r, json_t *aff, bwk_error **err)
{
	json_t *pkg = json_object_get(aff, "package");
	const char *eco = json_string_value(json_object_get(pkg, "ecosystem"));
	const char *name = json_string_value(json_object_get(pkg, "name"));
	if (!eco || !name || !*eco || !*name || strlen(eco) > OSV_MAX_NAME ||
	    strlen(name) > OSV_MAX_NAME)
		return 0; /* affected entries may name only a purl or nothing we can match */
	int scheme = osv_scheme(eco);
	json_t *keep = json_array();
	if (parse_ranges(r, aff, eco, name, scheme, keep, err) < 0) {
		json_decref(keep);
		return -1;
	}
	json_t *versions = json_object_get(aff, "versions");
	if (versions &&
	    (!json_is_array(versions) || json_array_size(versions) > OSV_MAX_VERSIONS)) {
		json_decref(keep);
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: %s %s: versions is not a list of at most %u", r->id, eco,
				     name, OSV_MAX_VERSIONS);
	}
	json_t *vs = json_array(), *v;
	size_t i;
	json_array_foreach(versions, i, v) if (json_is_string(v)) json_array_append(vs, v);
	json_t *data = json_pack("{s:o, s:o}", "ranges", keep, "versions", vs);
	char *s = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!s)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "%s: cannot store", r->id);
	if (r->naff >= OSV_MAX_AFFECTED) {
		free(s);
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u affected packages",
				     r->id, OSV_MAX_AFFECTED);
	}
	r->aff = xrealloc(r->aff, (r->naff + 1) * sizeof(*r->aff));
	r->aff[r->naff++] =
	    (osv_affected){.ecosystem = xstrdup(eco),
			   .name = scheme == BWK_VER_PEP440 ? bwk_pypi_name(name) : xstrdup(name),
			   .data = s};
	return 0;
}

static int parse_root(json_t *root, osv_record *r, bwk_error **err)
{
	const char *id = json_string_value(json_object_get(root, "id"));
	if (!id || !id_ok(id))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "a record without a valid \"id\" (at most %u of A-Z a-z 0-9 "
				     "-._:): not an OSV advisory",
				     OSV_MAX_ID);
	r->id = xstrdup(id);
	r->modified = bounded_text(json_string_value(json_object_get(root, "modified")), 64);
	const char *summary = json_string_value(json_object_get(root, "summary"));
	if (!summary)
		summary = json_string_value(json_object_get(root, "details"));
	r->summary = bounded_text(summary, OSV_MAX_SUMMARY);
	r->withdrawn = json_object_get(root, "withdrawn") != NULL;
	/* Debian's DSA/DLA records name their CVEs as "related" (a distribution advisory is not
	 * the same vulnerability as each CVE it fixes): shown with the aliases, one shared cap */
	static const char *const alias_keys[] = {"aliases", "related"};
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, OSV_MAX_ALIASES * (OSV_MAX_ID + 1));
	size_t i, kept = 0;
	json_t *a;
	for (size_t k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(root, alias_keys[k]), i, a)
		{
			const char *s = json_string_value(a);
			if (kept >= OSV_MAX_ALIASES || !s || !id_ok(s))
				continue;
			bwk_strbuf_printf(&sb, "%s%s", sb.len ? "," : "", s);
			kept++;
		}
	}
	r->aliases = bwk_strbuf_steal(&sb);
	record_severity(root, r);
	json_t *affected = json_object_get(root, "affected"), *af;
	if (affected && !json_is_array(affected))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: affected is not a list", r->id);
	json_array_foreach(affected, i, af)
	{
		if (parse_affected(r, af, err) < 0)
			return -1;
	}
	return 0;
}

int osv_parse(const char *buf, size_t len, osv_record *out, bwk_error **err)
{
	*out = (osv_record){0};
	if (len > OSV_MAX_RECORD)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%zu bytes, more than %u for one record",
				     len, OSV_MAX_RECORD);
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return bwk_error_set(err, BWK_E_INPUT, 0, "not JSON: line %d: %s", je.line,
				     je.text);
	int r = json_is_object(root)
		    ? parse_root(root, out, err)
		    : bwk_error_set(err, BWK_E_INPUT, 0, "not an OSV record (a JSON object)");
	json_decref(root);
	if (r < 0)
		osv_record_free(out);
	return r;
}

/* ---- evaluation -------------------------------------------------------------------------- */

typedef struct osv_event {
	const char *kind, *v;
} osv_event;

static int cmpv(int scheme, const char *a, const char *b)
{
	if (!strcmp(a, "0"))
		return strcmp(b, "0") ? -1 : 0;
	if (!strcmp(b, "0"))
		return 1;
	int c = 0;
	if (bwk_version_compare((bwk_version_scheme)scheme, a, b, &c) < 0)
		return strcmp(a, b); /* checked at import: only an installed version can be odd */
	return c;
}

/* The schema's reference evaluation: events sorted by version, introduced opens, fixed and
 * last_affected close (limit only bounds the range). */
static bool range_affects(json_t *events, int scheme, const char *v, char **fixed)
{
	osv_event ev[OSV_MAX_EVENTS];
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		const char *k;
		json_t *val;
		json_object_foreach(e, k, val) if (n < OSV_MAX_EVENTS && json_is_string(val))
		    ev[n++] = (osv_event){k, json_string_value(val)};
	}
	for (size_t a = 1; a < n; a++) /* insertion sort: small, stable */
		for (size_t b = a; b > 0 && cmpv(scheme, ev[b - 1].v, ev[b].v) > 0; b--) {
			osv_event t = ev[b];
			ev[b] = ev[b - 1];
			ev[b - 1] = t;
		}
	bool vuln = false;
	for (i = 0; i < n; i++) {
		if (!strcmp(ev[i].kind, "introduced") && cmpv(scheme, v, ev[i].v) >= 0)
			vuln = true;
		else if (!strcmp(ev[i].kind, "fixed") && cmpv(scheme, v, ev[i].v) >= 0)
			vuln = false;
		else if (!strcmp(ev[i].kind, "last_affected") && cmpv(scheme, v, ev[i].v) > 0)
			vuln = false;
	}
	if (!vuln)
		return false;
	for (i = 0; i < n; i++)
		if (!strcmp(ev[i].kind, "fixed") && cmpv(scheme, ev[i].v, v) > 0) {
			*fixed = xstrdup(ev[i].v);
			break;
		}
	return true;
}

bool osv_affects(const char *data, int scheme, const char *version, char **fixed)
{
	*fixed = NULL;
	json_t *root = json_loads(data, 0, NULL);
	if (!root)
		return false;
	bool hit = false;
	json_t *v, *rg;
	size_t i;
	json_array_foreach(json_object_get(root, "versions"), i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), version))
			hit = true;
	}
	json_array_foreach(json_object_get(root, "ranges"), i, rg)
	{
		const char *type = json_string_value(json_object_get(rg, "type"));
		int sch = type && !strcmp(type, "SEMVER") ? BWK_VER_SEMVER : scheme;
		char *fx = NULL;
		if (range_affects(json_object_get(rg, "events"), sch, version, &fx)) {
			hit = true;
			if (fx && !*fixed)
				*fixed = fx;
			else
				free(fx);
		}
	}
	json_decref(root);
	return hit;
}
