/* bulwark — the findings model shared by scan, audit and run --scan.
 *
 * A rule (bwk_rule) is static metadata: id, category, severity, title, the risk and the fix.
 * A finding is one occurrence of a rule at a location. A bwk_findings list owns copies of every
 * string it is given (rules are interned once per id), so callers may free their inputs right
 * after bwk_findings_add(). Adding is thread-safe: layers are scanned in parallel.
 */
#ifndef BULWARK_FINDING_H
#define BULWARK_FINDING_H

#include <stdbool.h>
#include <stddef.h>

#include "bulwark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_severity {
	BWK_SEV_INFO = 0,
	BWK_SEV_LOW = 1,
	BWK_SEV_MEDIUM = 2,
	BWK_SEV_HIGH = 3,
	BWK_SEV_CRITICAL = 4,
	BWK_SEV_NONE = 5, /* only as a --fail-on threshold: never fail */
} bwk_severity;

typedef enum bwk_category {
	BWK_CAT_SECRET = 0,
	BWK_CAT_CONFIG,
	BWK_CAT_VULNERABILITY,
	BWK_CAT_MALWARE,
	BWK_CAT_INTEGRITY,
	BWK_CAT_HOST,
	BWK_CAT_DAEMON,
	BWK_CAT_WORKLOAD,
	BWK_CAT_REGISTRY, /* bulwark audit registry */
} bwk_category;

const char *bwk_severity_name(bwk_severity s);		  /* "critical" … "info", "none" */
int bwk_severity_parse(const char *s, bwk_severity *out); /* -1 if unknown */
const char *bwk_category_name(bwk_category c);
int bwk_category_parse(const char *s, bwk_category *out);

/* Rule metadata. `references` is NULL-terminated (may be NULL). Strings are not owned. */
typedef struct bwk_rule {
	const char *id; /* stable, kebab-case */
	bwk_category category;
	bwk_severity severity;
	const char *title;
	const char *description; /* the risk, one paragraph */
	const char *remediation; /* the fix */
	const char *const *references;
} bwk_rule;

/* Declaring a rule: every rule table row is written with these, so a field added to bwk_rule
 * never shifts the others. The first three arguments are the fields every rule has; the rest
 * are designated initialisers (.title, .description, .remediation, .references):
 *   BWK_RULE("host-ipc", BWK_CAT_WORKLOAD, BWK_SEV_HIGH, .title = "…", .description = "…",
 *            .remediation = "…", .references = BWK_REFS("CIS Docker Benchmark 5.17"))
 * BWK_REFS makes the NULL-terminated reference list (a static compound literal at file
 * scope). */
#define BWK_RULE(id_, category_, severity_, ...)                                                   \
	{                                                                                          \
		.id = (id_), .category = (category_), .severity = (severity_), __VA_ARGS__         \
	}
#define BWK_REFS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* An owned list of rules, for listing them without findings (`bulwark rules`): every string is
 * copied in, so the sources may be freed right after bwk_rule_list_add(). An id already present
 * is not added twice (the first wins). */
typedef struct bwk_rule_list bwk_rule_list;
bwk_rule_list *bwk_rule_list_new(void);
void bwk_rule_list_free(bwk_rule_list *l);
BWK_DEFINE_CLEANUP(bwk_rule_list *, bwk_rule_list_free)
/* Returns true if added, false if the id was present. */
bool bwk_rule_list_add(bwk_rule_list *l, const bwk_rule *r);
size_t bwk_rule_list_count(const bwk_rule_list *l);
const bwk_rule *bwk_rule_list_get(const bwk_rule_list *l, size_t i); /* NULL if out of range */
const bwk_rule *bwk_rule_list_find(const bwk_rule_list *l, const char *id);

/* Where a finding is. Every field is optional (NULL / -1 / 0). */
typedef struct bwk_location {
	const char *target; /* image reference or input file as the user named it */
	const char *layer;  /* layer digest "sha256:…" */
	int layer_index;    /* 0-based, -1 if none */
	const char *path;   /* path inside the image/rootfs, without a leading slash */
	unsigned line;	    /* 1-based, 0 if none */
	const char *key;    /* config key: "config.Env[3]", "services.web.privileged" … */
} bwk_location;

/* What to add. `secret` is redacted before it is stored and is the only input to the
 * fingerprint besides rule id and location; it is never kept whole. */
typedef struct bwk_finding_spec {
	const bwk_rule *rule; /* required */
	bwk_location loc;
	const char *message;  /* optional: this occurrence's detail ("removed in layer 3 …") */
	const char *evidence; /* optional, non-secret evidence shown as is (bounded to 200 chars) */
	const char *secret;   /* optional: secret bytes, redacted to first 4 + last 2 */
	size_t secret_len;
	int severity; /* -1: the rule's severity; otherwise a bwk_severity override */
} bwk_finding_spec;

typedef enum bwk_suppression {
	BWK_SUPPRESS_NONE = 0,
	BWK_SUPPRESS_IGNORE,   /* an entry of the ignore file */
	BWK_SUPPRESS_BASELINE, /* its fingerprint is in the baseline report */
	BWK_SUPPRESS_VEX,      /* a VEX statement: not_affected or fixed (bulwark/vuln.h) */
} bwk_suppression;

const char *bwk_suppression_name(bwk_suppression s); /* "ignore", "baseline", "vex", "none" */

/* A stored finding (read-only for callers). */
typedef struct bwk_finding {
	const bwk_rule *rule; /* interned copy owned by the list */
	bwk_severity severity;
	char *target, *layer, *path, *key;
	int layer_index;
	unsigned line;
	char *message;
	char *evidence;	      /* redacted */
	char fingerprint[65]; /* sha256 hex of rule id, location and secret/evidence */
	bool suppressed;      /* matched an ignore entry or the baseline: counted, listed only
				 with --show-suppressed */
	bwk_suppression suppressed_by; /* why, when suppressed */
	char *suppress_reason;	       /* the ignore entry's reason (NULL if none given) */
	/* the build step that added what the finding is about, and the one that removed it
	 * ("COPY . /app (step 7 of 12)"; NULL when not known): bwk_findings_set_provenance */
	char *added_by, *removed_by;
} bwk_finding;

typedef struct bwk_findings bwk_findings;

bwk_findings *bwk_findings_new(void);
void bwk_findings_free(bwk_findings *f);
BWK_DEFINE_CLEANUP(bwk_findings *, bwk_findings_free)

/* Copy and add one finding. Identical findings (same fingerprint) are stored once. */
int bwk_findings_add(bwk_findings *f, const bwk_finding_spec *spec, bwk_error **err);

/* Mark the i-th finding suppressed `by` (not BWK_SUPPRESS_NONE) with `reason` (copied; may be
 * NULL). A finding already suppressed keeps its first suppression: returns false then, or
 * past the end. */
bool bwk_findings_suppress(bwk_findings *f, size_t i, bwk_suppression by, const char *reason);

/* Name the build steps behind the i-th finding (copied; either may be NULL). Not part of the
 * fingerprint: rebuilding with the same content keeps baselines valid. False past the end. */
bool bwk_findings_set_provenance(bwk_findings *f, size_t i, const char *added_by,
				 const char *removed_by);

/* Keep only the findings for which keep(finding, ctx) is true (`--severity`); the others are
 * freed. Rules and checks stay. Returns how many were removed. */
size_t bwk_findings_retain(bwk_findings *f, bool (*keep)(const bwk_finding *x, void *ctx),
			   void *ctx);

/* Sort by severity (highest first), then rule id, target, layer, path, line. */
void bwk_findings_sort(bwk_findings *f);
/* Append src's findings to dst (several targets in one report: the same finding in two
 * targets stays two findings) and merge its checks (failed anywhere: failed). Facts are not
 * copied: they describe one target. */
void bwk_findings_merge(bwk_findings *dst, const bwk_findings *src);

size_t bwk_findings_count(const bwk_findings *f);
const bwk_finding *bwk_findings_get(const bwk_findings *f, size_t i);

/* Interned rules, in first-seen order (SARIF's tool.driver.rules). */
size_t bwk_findings_rule_count(const bwk_findings *f);
const bwk_rule *bwk_findings_rule(const bwk_findings *f, size_t i);

/* Counts per severity of the findings that are not suppressed (index by bwk_severity). */
void bwk_findings_summary(const bwk_findings *f, size_t counts[5]);

/* Highest severity among unsuppressed findings, or -1 when there are none. */
int bwk_findings_max_severity(const bwk_findings *f);

/* Exit-status policy: true when an unsuppressed finding is at or above `fail_on`
 * (never when fail_on is BWK_SEV_NONE). */
bool bwk_findings_fail(const bwk_findings *f, bwk_severity fail_on);

/* Redact a secret for display: at most the first 4 and last 2 characters survive, the rest is
 * replaced by "…" with the length; short secrets (< 12 bytes) show only 2 leading characters
 * or nothing. Non-printable bytes are escaped. Caller frees. */
char *bwk_redact(const char *secret, size_t len);

/* What a command examined and which checks it ran, so that a clean report can be told apart
 * from one that checked nothing (docker-bench prints every check as PASS/WARN/INFO).
 *
 * Facts are what the verdicts rest on ("kernel.release" = "6.18.44", "image.digest" = …), kept
 * in the order first set; setting a key again replaces its value. Values are bounded and
 * control characters escaped (they may come from an image or a remote engine). */
void bwk_findings_fact(bwk_findings *f, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t bwk_findings_fact_count(const bwk_findings *f);
/* The i-th fact; false past the end. */
bool bwk_findings_fact_get(const bwk_findings *f, size_t i, const char **key, const char **value);

typedef enum bwk_check_status {
	BWK_CHECK_PASS = 0,
	BWK_CHECK_FAIL,
	BWK_CHECK_SKIP,
} bwk_check_status;

typedef struct bwk_check {
	const char *id, *title;
	bwk_check_status status;
	const char *detail; /* why it was skipped, or what was checked; may be NULL */
} bwk_check;

/* Record that the check behind `rule` ran (BWK_CHECK_PASS: evaluated; it is reported as
 * failed when a finding of the same rule id exists, so callers never keep two books) or was
 * skipped (BWK_CHECK_SKIP, with the reason: "no dockerd running"). BWK_CHECK_FAIL is for
 * checks whose findings carry other ids (a CVE table). Recording the same id again replaces
 * it. `detail` may be NULL. Thread-safe like bwk_findings_add. */
void bwk_findings_check(bwk_findings *f, const bwk_rule *rule, bwk_check_status status,
			const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));
size_t bwk_findings_check_count(const bwk_findings *f);
/* Whether a check of this id was recorded (cheap: its final status is not computed). */
bool bwk_findings_has_check(const bwk_findings *f, const char *id);
/* The i-th check with its final status; false past the end. */
bool bwk_findings_check_get(const bwk_findings *f, size_t i, bwk_check *out);
/* counts[BWK_CHECK_PASS/FAIL/SKIP] */
void bwk_findings_check_summary(const bwk_findings *f, size_t counts[3]);
const char *bwk_check_status_name(bwk_check_status s); /* "pass", "fail", "skip" */

/* Suppressions: an ignore file and/or a baseline report.
 *
 * ".bulwarkignore", one entry per line, '#' comments:
 *     RULE-ID                     (ignore the rule everywhere)
 *     RULE-ID PATH-GLOB           (ignore the rule at paths matching the fnmatch glob)
 *     FINGERPRINT                 (64 hex chars: ignore exactly that finding)
 *     RULE-ID FINGERPRINT
 * ".bulwarkignore.yaml" (chosen by a .yaml/.yml name), a list of entries:
 *     - id: RULE-ID               (required unless fingerprint is given)
 *       path: GLOB                (optional; or fingerprint: HEX64)
 *       reason: TEXT              (optional; shown with the suppressed finding)
 *       expires: YYYY-MM-DD       (optional; from that day on the entry no longer applies
 *                                  and bwk_ignore_warning() says so)
 * Unknown keys are errors: a misspelt `path` must not widen an entry to every path.
 * A baseline is an earlier bulwark JSON or SARIF report: findings whose fingerprint it lists
 * are suppressed as known. Matching findings are marked suppressed (ignore entries first). */
typedef struct bwk_ignore bwk_ignore;
bwk_ignore *bwk_ignore_new(void);
/* Add the entries of an ignore file's text; `name` (the file name) picks the syntax and names
 * the file in errors ("x.yaml:4: ..."). `today` is days since 1970-01-01 (UTC) for expiry. */
int bwk_ignore_parse(bwk_ignore *ig, const char *text, size_t len, const char *name, long today,
		     bwk_error **err);
int bwk_ignore_load(bwk_ignore *ig, const char *path, long today, bwk_error **err);
/* Add every fingerprint of an earlier report (bulwark JSON or SARIF) as known. */
int bwk_ignore_load_baseline(bwk_ignore *ig, const char *path, bwk_error **err);
size_t bwk_ignore_apply(const bwk_ignore *ig, bwk_findings *f); /* returns count suppressed */
size_t bwk_ignore_baseline_size(const bwk_ignore *ig);		/* fingerprints loaded */
/* Warnings found while loading (expired entries), NULL past the last. */
const char *bwk_ignore_warning(const bwk_ignore *ig, size_t i);
/* Days since 1970-01-01 of today (UTC). */
long bwk_days_today(void);
void bwk_ignore_free(bwk_ignore *ig);
BWK_DEFINE_CLEANUP(bwk_ignore *, bwk_ignore_free)

#ifdef __cplusplus
}
#endif
#endif
