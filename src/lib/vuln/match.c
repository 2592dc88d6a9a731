/* Matching an inventory against the offline database: each package is looked up under the
 * OSV ecosystem and name its advisories use, and its version evaluated against every affected
 * entry in the ecosystem's own version order.
 *
 * Distribution packages are matched by SOURCE package and release: Debian's advisories name
 * the source ("openssl", not "libssl3") under "Debian:12", so a binary built from a vulnerable
 * source is reported, and an advisory for Debian 11 never applies to a Debian 12 image. */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulwark/strv.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "vuln/vuln_private.h"

static const char *const vuln_refs[] = {"https://osv.dev/", NULL};

static const bwk_rule rule_vuln_check = BWK_RULE(
    "known-vulnerabilities", BWK_CAT_VULNERABILITY, BWK_SEV_HIGH,
    .title = "Installed packages carry known vulnerabilities",
    .description = "Packages in the image (dpkg, apk, rpm, Python, npm, Go modules, Java archives, "
		   "Rust crates) "
		   "were matched against the "
		   "offline vulnerability database; each vulnerable package is a finding "
		   "named by its advisory id.",
    .remediation = "Upgrade the packages to their fixed versions and rebuild from a patched "
		   "base image.",
    .references = vuln_refs);

const bwk_rule *bwk_vuln_check_rule(void)
{
	return &rule_vuln_check;
}

/* The OSV ecosystem of a package in this image, or NULL when we cannot tell (a dpkg
 * database without an os-release: which Debian release?). Caller frees. */
static char *ecosystem_of(const bwk_package *p, const bwk_os_release *os)
{
	switch (p->eco) {
	case BWK_ECO_PYPI:
		return xstrdup("PyPI");
	case BWK_ECO_NPM:
		return xstrdup("npm");
	case BWK_ECO_DEB:
		if (!os || !os->id || !os->version_id)
			return NULL;
		if (!strcmp(os->id, "debian")) /* "12" (VERSION_ID has no point release) */
			return xasprintf("Debian:%.*s", (int)strcspn(os->version_id, "."),
					 os->version_id);
		if (!strcmp(os->id, "ubuntu"))
			return xasprintf("Ubuntu:%s", os->version_id);
		return NULL;
	case BWK_ECO_RPM: /* rpm_ecosystem */
		return NULL;
	case BWK_ECO_GOLANG:
		return xstrdup("Go");
	case BWK_ECO_MAVEN:
		return xstrdup("Maven");
	case BWK_ECO_CARGO:
		return xstrdup("crates.io");
	case BWK_ECO_APK: {
		if (!os || !os->id || strcmp(os->id, "alpine") != 0 || !os->version_id)
			return NULL;
		/* "3.19.1" → "Alpine:v3.19" */
		const char *v = os->version_id;
		const char *dot = strchr(v, '.');
		size_t n = dot ? (size_t)(dot - v) + 1 + strcspn(dot + 1, ".") : strlen(v);
		return xasprintf("Alpine:v%.*s", (int)n, v);
	}
	}
	return NULL;
}

/* Finding ids follow the report schema ([A-Za-z0-9][A-Za-z0-9.-]*): "ALSA-2023:1234" →
 * "ALSA-2023-1234". */
static char *finding_id(const char *id)
{
	char *o = xstrdup(id);
	for (char *p = o; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || (*p == '-' && p != o)))
			*p = '-';
	if (o[0] == '-' || o[0] == '.')
		o[0] = 'X';
	return o;
}

typedef struct match_ctx {
	const bwk_vuln_match_opts *o;
	bwk_findings *out;
	size_t hits;
} match_ctx;

static int report(match_ctx *m, const bwk_package *p, const char *id, const char *summary,
		  const char *aliases, bwk_severity sev, const char *fixed, bwk_error **err)
{
	cleanup_free char *fid = finding_id(id);
	/* the advisory and each alias (CVE-…) as a reference: people follow them, and a VEX
	 * statement names the vulnerability by any of them (vex.c reads them back) */
	char *refs[VULN_MAX_REFS + 1] = {0};
	size_t nrefs = 0;
	refs[nrefs++] = xasprintf("%s%s", VULN_REF_PREFIX, id);
	for (const char *a = aliases; a && *a && nrefs < VULN_MAX_REFS;) {
		size_t n = strcspn(a, ",");
		refs[nrefs++] = xasprintf("%s%.*s", VULN_REF_PREFIX, (int)n, a);
		a += n + (a[n] == ',');
	}
	cleanup_free char *title =
	    summary && *summary && strstr(summary, p->source)
		? xstrdup(summary)
		: xasprintf("%s in %s", summary && *summary ? summary : "known vulnerability",
			    p->source);
	bwk_rule rule = BWK_RULE(
	    fid, BWK_CAT_VULNERABILITY, sev, .title = title,
	    .description = "A package in the image is affected by this published advisory.",
	    .remediation = "Upgrade the package to the fixed version or later; rebuild from a "
			   "patched base image.",
	    .references = (const char *const *)refs);
	/* the fix first: messages are bounded (200 characters) and it is what to act on */
	bool src = strcmp(p->source, p->name) != 0;
	cleanup_free char *fix =
	    fixed ? xasprintf("upgrade %s to %s or later; rebuild from a patched base image",
			      p->name, fixed)
		  : xasprintf("no fixed version yet: remove %s if it is not needed, or mitigate",
			      p->name);
	cleanup_free char *from =
	    src ? xasprintf(", source %s %s", p->source, p->source_version) : xstrdup("");
	cleanup_free char *also = aliases && *aliases ? xasprintf("; %s", aliases) : xstrdup("");
	cleanup_free char *msg = xasprintf("%s (installed %s%s%s)", fix, p->version, from, also);
	cleanup_free char *evidence = xasprintf("%s %s", p->name, p->version);
	bwk_finding_spec spec = {
	    .rule = &rule,
	    .loc = {.target = m->o->target,
		    .layer = p->layer,
		    .layer_index = p->layer_index,
		    .path = p->path},
	    .message = msg,
	    .evidence = evidence,
	    .severity = -1,
	};
	m->hits++;
	int rc = bwk_findings_add(m->out, &spec, err);
	for (size_t i = 0; i < nrefs; i++)
		free(refs[i]);
	return rc;
}

/* Where a package's advisories are: ecosystem `eco` or `alt` (an exact name each), or with
 * `range`, every ecosystem in [eco, alt) — Red Hat's are per product stream ("Red
 * Hat:enterprise_linux:9::appstream", "…::baseos"), so a RHEL 9 image takes all of
 * "Red Hat:enterprise_linux:9::…". */
typedef struct eco_sel {
	char *eco, *alt;
	bool range;
} eco_sel;

static bool rpm_ecosystem(const bwk_os_release *os, eco_sel *sel)
{
	if (!os || !os->id || !os->version_id)
		return false;
	int major = (int)strcspn(os->version_id, ".");
	if (!strcmp(os->id, "rhel")) {
		sel->eco = xasprintf("Red Hat:enterprise_linux:%.*s::", major, os->version_id);
		sel->alt = xasprintf("Red Hat:enterprise_linux:%.*s:;", major, os->version_id);
		sel->range = true;
		return true;
	}
	const char *e = !strcmp(os->id, "rocky")       ? "Rocky Linux"
			: !strcmp(os->id, "almalinux") ? "AlmaLinux"
						       : NULL;
	if (!e)
		return false;
	sel->eco = xasprintf("%s:%.*s", e, major, os->version_id);
	sel->alt = xstrdup(e);
	return true;
}

static int match_name(match_ctx *m, sqlite3_stmt *q, const bwk_package *p, const eco_sel *sel,
		      const char *name, const char *version, int scheme, bwk_strv *ids,
		      bwk_error **err)
{
	sqlite3_bind_text(q, 1, sel->eco, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, sel->alt ? sel->alt : sel->eco, -1, SQLITE_TRANSIENT);
	int rc, ret = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && ret == 0) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		const char *data = (const char *)sqlite3_column_text(q, 4);
		if (!id || !data)
			continue;
		/* an advisory may list the package in several ecosystems or under its binary and
		 * its source name: one finding, for the first entry that affects it */
		if (bwk_strv_has(ids, id))
			continue;
		cleanup_free char *fixed = NULL;
		if (!osv_affects(data, scheme, version, &fixed))
			continue;
		ret = bwk_strv_push(ids, id, err);
		if (ret < 0)
			break;
		if (!fixed && m->o->ignore_unfixed)
			continue;
		ret = report(m, p, id, (const char *)sqlite3_column_text(q, 1),
			     (const char *)sqlite3_column_text(q, 2),
			     (bwk_severity)sqlite3_column_int64(q, 3), fixed, err);
	}
	sqlite3_reset(q);
	return ret;
}

static int match_one(match_ctx *m, sqlite3_stmt *q, sqlite3_stmt *qrange, const bwk_package *p,
		     const bwk_os_release *os, bwk_error **err)
{
	eco_sel sel = {0};
	if (p->eco == BWK_ECO_RPM) {
		if (!rpm_ecosystem(os, &sel))
			return 0;
	} else {
		sel.eco = ecosystem_of(p, os);
		if (!sel.eco)
			return 0;
		/* Ubuntu's LTS releases are "Ubuntu:22.04:LTS" in OSV */
		if (!strncmp(sel.eco, "Ubuntu:", 7))
			sel.alt = xasprintf("%s:LTS", sel.eco);
	}
	int scheme = osv_scheme(sel.range ? "Red Hat" : sel.eco);
	/* distributions' advisories are about source versions (binNMUs add "+bN"); rpm
	 * advisories name the binary's own epoch:version-release */
	const char *version = p->eco == BWK_ECO_DEB ? p->source_version : p->version;
	/* Go module versions are "v1.2.3"; the Go vulnerability database writes "1.2.3" */
	if (p->eco == BWK_ECO_GOLANG && version[0] == 'v')
		version++;
	cleanup_free char *name =
	    p->eco == BWK_ECO_PYPI ? bwk_pypi_name(p->source) : xstrdup(p->source);
	/* the advisories of one package: bounded by the database, not by a guess here */
	cleanup_strv_clear bwk_strv ids = {.max = SIZE_MAX};
	sqlite3_stmt *st = sel.range ? qrange : q;
	int ret = match_name(m, st, p, &sel, name, version, scheme, &ids, err);
	/* Red Hat's records name binary or source rpms, Rocky's and Alma's the source: both */
	if (ret == 0 && p->eco == BWK_ECO_RPM && strcmp(p->name, name) != 0)
		ret = match_name(m, st, p, &sel, p->name, version, scheme, &ids, err);
	free(sel.eco);
	free(sel.alt);
	return ret;
}

/* Advisories keep coming: a database nobody refreshed says "no vulnerabilities" about
 * packages that have them. Said once, and recorded as a fact. */
static void check_age(sqlite3 *db, const bwk_vuln_match_opts *o, bwk_findings *out)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT MAX(imported) FROM sources", -1, &q, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(q) == SQLITE_ROW) {
		long long newest = sqlite3_column_int64(q, 0);
		long long age = (long long)time(NULL) - newest;
		if (age < 0)
			age = 0;
		bwk_findings_fact(out, "vulndb", "%s, last import %lld day(s) ago", o->db,
				  age / 86400);
		if (o->max_age_days >= 0 && age > (long long)o->max_age_days * 86400)
			bwk_warn(
			    o->quiet,
			    "the vulnerability database %s was last imported %lld days ago "
			    "(more than %d): import fresh OSV exports with `bulwark db import`",
			    o->db, age / 86400, o->max_age_days);
	}
	sqlite3_finalize(q);
}

int bwk_vuln_match(const bwk_inventory *inv, const bwk_vuln_match_opts *o, bwk_findings *out,
		   bwk_error **err)
{
	sqlite3 *db = NULL;
	if (bwk_vulndb_open(o->db, &db, err) < 0)
		return -1;
	sqlite3_stmt *q = NULL, *qrange = NULL;
	if (sqlite3_prepare_v2(
		db,
		"SELECT a.id, a.summary, a.aliases, a.severity, f.data FROM affected f "
		"JOIN advisories a ON a.id = f.adv_id WHERE f.ecosystem IN (?1, ?3) AND "
		"f.name = ?2 AND a.withdrawn = 0 ORDER BY a.id",
		-1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		db,
		"SELECT a.id, a.summary, a.aliases, a.severity, f.data FROM affected f "
		"JOIN advisories a ON a.id = f.adv_id WHERE f.ecosystem >= ?1 AND "
		"f.ecosystem < ?3 AND f.name = ?2 AND a.withdrawn = 0 ORDER BY a.id",
		-1, &qrange, NULL) != SQLITE_OK) {
		bwk_error_set(err, BWK_E_IO, 0, "%s: %s", o->db, sqlite3_errmsg(db));
		sqlite3_finalize(q);
		sqlite3_close(db);
		return -1;
	}
	check_age(db, o, out);
	match_ctx m = {.o = o, .out = out};
	const bwk_os_release *os = bwk_inventory_os(inv);
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < bwk_inventory_count(inv); i++)
		ret = match_one(&m, q, qrange, bwk_inventory_get(inv, i), os, err);
	sqlite3_finalize(q);
	sqlite3_finalize(qrange);
	sqlite3_close(db);
	if (ret == 0)
		bwk_findings_check(out, &rule_vuln_check, m.hits ? BWK_CHECK_FAIL : BWK_CHECK_PASS,
				   "%zu packages matched against %s", bwk_inventory_count(inv),
				   o->db);
	return ret;
}
