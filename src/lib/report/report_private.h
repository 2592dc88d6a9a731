#ifndef BWK_REPORT_PRIVATE_H
#define BWK_REPORT_PRIVATE_H
#ifndef BWK_IN_REPORT
#error "report_private.h is private to src/lib/report"
#endif
#include "bulwark/report.h"

int bwk_report_text(const bwk_findings *f, const bwk_report_opts *o, char **out, bwk_error **err);
int bwk_report_json(const bwk_findings *f, const bwk_report_opts *o, char **out, bwk_error **err);
int bwk_report_sarif(const bwk_findings *f, const bwk_report_opts *o, char **out, bwk_error **err);
/* "layer 2 (sha256:abcdef012345)" style location text shared by text and SARIF. */
char *bwk_report_location_text(const bwk_finding *x);
#endif
