/* bulwark — known vulnerabilities: ecosystem version order, the offline advisory database
 * (OSV format, imported into SQLite) and matching an inventory against it. */
#ifndef BULWARK_VULN_H
#define BULWARK_VULN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"
#include "bulwark/inventory.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_version_scheme {
	BWK_VER_DPKG = 0, /* exactly `dpkg --compare-versions`: epoch, upstream, revision, '~' */
	BWK_VER_APK,	  /* apk-tools: 1.2.3a_rc1-r2; _alpha _beta _pre _rc < none < _p */
	BWK_VER_PEP440,	  /* Python: N!N.N[{a,b,rc}N][.postN][.devN][+local] */
	BWK_VER_SEMVER,	  /* semver.org 2.0.0 (npm, OSV SEMVER ranges) */
	BWK_VER_RPM,	  /* rpm's rpmvercmp on [EPOCH:]VERSION[-RELEASE], '~' and '^' */
	BWK_VER_MAVEN, /* Maven's ComparableVersion (1.0-alpha-1 < 1.0-SNAPSHOT < 1.0 < 1.0-sp) */
} bwk_version_scheme;

/* Compare two versions in `scheme`: *out <0, 0 or >0. Returns -1 (no error object: callers
 * name the record) when either is not a valid version of the scheme or longer than 256. */
int bwk_version_compare(bwk_version_scheme scheme, const char *a, const char *b, int *out);
bool bwk_version_valid(bwk_version_scheme scheme, const char *v);

/* ---- the offline database (OSV records in SQLite) ---- */

/* $XDG_CACHE_HOME/bulwark/vuln.db, else $HOME/.cache/bulwark/vuln.db; NULL when neither is
 * an absolute path. Caller frees. */
char *bwk_vulndb_default_path(void);

typedef struct bwk_vuln_import_stats {
	size_t records;	 /* advisories imported (new or replacing one with the same id) */
	size_t affected; /* affected packages in them */
} bwk_vuln_import_stats;

/* Import OSV records from each input (a directory of *.json, one .json file, or an OSV zip
 * export) into the database at `path`, keeping the records it already has (same id:
 * replaced). Atomic: the new database is built beside the old one, synced and renamed into
 * place; on any error (a bad record is named) the old one is unchanged. */
int bwk_vulndb_import(const char *path, const char *const *inputs, size_t n,
		      bwk_vuln_import_stats *st, bwk_error **err);

/* ---- `db update`: OSV exports over HTTPS (libcurl, loaded on first use) ---- */
typedef struct bwk_vuln_update_opts {
	const char *const *urls; /* https:// URLs of OSV exports (zip) */
	size_t nurls;
	const char *cacert; /* a CA bundle to trust instead of the system's, or NULL */
	bool quiet;	    /* no line per source on stderr */
} bwk_vuln_update_opts;

typedef struct bwk_vuln_update_stats {
	size_t fetched, unchanged; /* sources downloaded, sources the server said are unchanged */
	bwk_vuln_import_stats imported;
} bwk_vuln_update_stats;

/* OSV's exports of the ecosystems bulwark matches (NULL-terminated). */
extern const char *const bwk_vulndb_default_sources[];

/* Download each source with a conditional request (If-None-Match / If-Modified-Since from the
 * last download, kept in exports/ beside the database) and import what changed. Atomic: on any
 * failure the database and the kept exports are unchanged. */
int bwk_vulndb_update(const char *db, const bwk_vuln_update_opts *o, bwk_vuln_update_stats *st,
		      bwk_error **err);

typedef struct bwk_vulndb_source {
	char *name;	    /* OSV ecosystem: "Debian:12", "Alpine:v3.19", "PyPI", "npm" */
	long long records;  /* advisories with at least one affected package in it */
	long long imported; /* time of the last import that touched it (seconds since epoch) */
	char *origin;	    /* what it was imported from */
} bwk_vulndb_source;

int bwk_vulndb_status(const char *path, bwk_vulndb_source **out, size_t *n, long long *total,
		      bwk_error **err);
void bwk_vulndb_sources_free(bwk_vulndb_source *s, size_t n);

/* ---- matching ---- */

typedef struct bwk_vuln_match_opts {
	const char *db;	     /* the database file (required) */
	const char *target;  /* recorded in every finding */
	bool ignore_unfixed; /* no finding for advisories without a fixed version */
	int max_age_days;    /* warn (unless quiet) when the newest import is older; <0: never */
	bool quiet;
} bwk_vuln_match_opts;

/* Add one finding (category vulnerability, id = the advisory id) per advisory affecting a
 * package of `inv`, and the check "known-vulnerabilities". Fails when the database cannot be
 * opened (BWK_E_NOTFOUND when it does not exist). */
int bwk_vuln_match(const bwk_inventory *inv, const bwk_vuln_match_opts *o, bwk_findings *out,
		   bwk_error **err);
/* The check's rule (recorded as skipped when there is no database). */
const bwk_rule *bwk_vuln_check_rule(void);

/* ---- VEX: statements that a vulnerability does not apply to a package ---- */

/* An OpenVEX document (v0.0.1 or v0.2.0) or CycloneDX VEX. Bounded (16 MiB, 20,000
 * statements, 100,000 products, 64 ids per statement, ids and package URLs of 1 KiB); a
 * status or justification outside the format's list, or not_affected without a justification
 * or impact statement, is an error naming the statement: a misspelt word must not suppress. */
typedef struct bwk_vex bwk_vex;
int bwk_vex_parse(const char *text, size_t len, const char *name, bwk_vex **out, bwk_error **err);
int bwk_vex_load(const char *path, bwk_vex **out, bwk_error **err);
size_t bwk_vex_statement_count(const bwk_vex *v);
/* Mark the vulnerability findings of `inv`'s packages that a not_affected or fixed statement
 * covers as suppressed (BWK_SUPPRESS_VEX, the statement as the reason): the statement names
 * the advisory or one of its aliases, and the package by package URL (version and qualifiers
 * compared when given) or the whole image (pkg:oci / pkg:docker without subcomponents). The
 * last statement in document order about a vulnerability and package wins. Findings already
 * suppressed keep their suppression. Returns how many were suppressed. */
size_t bwk_vex_apply(const bwk_vex *v, const bwk_inventory *inv, bwk_findings *f);
void bwk_vex_free(bwk_vex *v);
BWK_DEFINE_CLEANUP(bwk_vex *, bwk_vex_free)

/* A Python package name as PEP 503 normalises it (lower case, runs of "-_." become "-"), the
 * form in which inventories and advisories are compared. Caller frees. */
char *bwk_pypi_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
