#ifndef BWK_REPORT_PRIVATE_H
#define BWK_REPORT_PRIVATE_H
#ifndef BWK_IN_REPORT
#error "report_private.h is private to src/lib/report"
#endif
#include <jansson.h>
#include <stdio.h>

#include "bulwark/report.h"

/* The writers stream to `out` (the caller checks ferror): memory holds one finding's text, not
 * the report, whose size grows with the number of findings. */
int bwk_report_text(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err);
int bwk_report_json(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err);
int bwk_report_sarif(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err);

/* Stream the findings (suppressed ones too when with_suppressed) as the elements of the empty
 * array `anchor` of `doc`; elem(ctx, f, x) builds one element. */
typedef json_t *(*bwk_report_elem_fn)(void *ctx, const bwk_findings *f, const bwk_finding *x);
int bwk_report_dump_array(const char *doc, const char *anchor, int indent, const bwk_findings *f,
			  bool with_suppressed, bwk_report_elem_fn elem, void *ctx, FILE *out,
			  bwk_error **err);
/* "layer 2 (sha256:abcdef012345)" style location text shared by text and SARIF. */
char *bwk_report_location_text(const bwk_finding *x);

/* A deep copy of a rule (title defaults to the id), freed with bwk_rule_dup_free. */
bwk_rule *bwk_rule_dup(const bwk_rule *r);
void bwk_rule_dup_free(bwk_rule *r);

/* The rule fields of a report object as docs/report-schema.json names them (id, category,
 * severity, title, description, remediation; references separately, they come last in a
 * finding), shared by findings and `bulwark rules` so that both spell them the same. */
void bwk_report_rule_fields(json_t *o, const bwk_rule *r, bwk_severity sev);
void bwk_report_rule_refs(json_t *o, const bwk_rule *r);
/* Suppressed findings per bwk_suppression kind (index 0, NONE, stays 0), for every writer. */
void bwk_report_suppressed_counts(const bwk_findings *f, size_t by[4]);
/* "facts" object, "checks" array and check counts, shared by the JSON and SARIF writers. */
json_t *bwk_report_facts_json(const bwk_findings *f);
json_t *bwk_report_checks_json(const bwk_findings *f);
json_t *bwk_report_check_counts_json(const bwk_findings *f);

/* Facts and checks of a findings list (coverage.c); findings.c owns one per list. */
typedef struct report_coverage report_coverage;
report_coverage *report_coverage_new(void);
void report_coverage_free(report_coverage *c);
report_coverage *report_findings_coverage(const bwk_findings *f);
void report_findings_lock(const bwk_findings *f, bool lock);
/* Whether any finding (suppressed or not) carries this rule id. */
bool report_findings_have_rule(const bwk_findings *f, const char *id);
#endif
