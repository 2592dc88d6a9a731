/* The vulnerability module: OSV records (osv.c), the SQLite database (vulndb.c) and matching
 * (match.c). */
#ifndef BWK_VULN_PRIVATE_H
#define BWK_VULN_PRIVATE_H
#ifndef BWK_IN_VULN
#error "vuln_private.h is private to src/lib/vuln"
#endif
#include <jansson.h>

#include "bulwark/finding.h"
#include "bulwark/vuln.h"

/* Limits on one OSV record (a real one is a few KiB; the largest PyPI records list a few
 * thousand versions, well under 1 MiB). */
#define OSV_MAX_RECORD	 (4u << 20) /* bytes of one JSON record (a zip member, one file) */
#define OSV_MAX_ID	 128u
#define OSV_MAX_ALIASES	 64u
#define OSV_MAX_AFFECTED 4096u
#define OSV_MAX_RANGES	 64u
#define OSV_MAX_EVENTS	 256u
#define OSV_MAX_VERSIONS 50000u
#define OSV_MAX_NAME	 256u
#define OSV_MAX_SUMMARY	 300u
#define OSV_MAX_FILES	 2000000u /* records in one import */

/* The version scheme of an OSV ecosystem ("Debian:12" → dpkg); -1 when we do not match it. */
int osv_scheme(const char *ecosystem);

/* One affected package of a record, as stored: `data` is compact JSON
 * {"ranges":[{"type","events":[…]}…],"versions":[…]} with only ECOSYSTEM/SEMVER ranges. */
typedef struct osv_affected {
	char *ecosystem, *name, *data;
} osv_affected;

typedef struct osv_record {
	char *id, *modified, *summary, *aliases; /* aliases: comma-separated, may be "" */
	bwk_severity severity;
	double score; /* CVSS v3 base score, 0 when none */
	bool withdrawn;
	osv_affected *aff;
	size_t naff;
} osv_record;

/* Parse and validate one OSV record (buf need not be NUL-terminated). Errors name the record
 * (its id when it has one) and what is wrong. */
int osv_parse(const char *buf, size_t len, osv_record *out, bwk_error **err);
void osv_record_free(osv_record *r);

/* CVSS v3.x base score of a vector "CVSS:3.1/AV:N/…"; -1 if malformed. */
double osv_cvss3_score(const char *vector);
bwk_severity osv_score_severity(double score);

/* Is `version` affected by one stored affected entry (`data` as above) in `scheme`? On true,
 * *fixed is the first fixed version above it (malloc'd) or NULL when there is none. */
bool osv_affects(const char *data, int scheme, const char *version, char **fixed);

/* Open an existing database read-only (BWK_E_NOTFOUND when there is none). */
typedef struct sqlite3 sqlite3;
int bwk_vulndb_open(const char *path, sqlite3 **out, bwk_error **err);

/* A vulnerability finding's rule references: VULN_REF_PREFIX + the advisory id, then + each
 * alias, at most VULN_MAX_REFS in all (the advisory and 16 aliases). */
#define VULN_REF_PREFIX "https://osv.dev/vulnerability/"
#define VULN_MAX_REFS	17u

/* Whether package URL `want` (a VEX product: version and qualifiers optional) names `have`
 * (vex.c; for tests and the fuzzer). */
bool vex_purl_matches(const char *want, const char *have);

#endif
