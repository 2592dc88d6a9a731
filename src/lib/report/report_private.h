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

typedef json_t *(*bwk_report_elem_fn)(const bwk_findings *f, const bwk_finding *x);
int bwk_report_dump_array(const char *doc, const char *anchor, int indent, const bwk_findings *f,
			  bwk_report_elem_fn elem, FILE *out, bwk_error **err);
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
#endif
