/* bulwark — report writers: text (for people), JSON (docs/report-schema.json) and SARIF 2.1.0
 * (GitHub code scanning). All three render the same bwk_findings; suppressed findings are
 * counted in the summary as "suppressed" (by the ignore file or the baseline) and listed only
 * with show_suppressed, marked (SARIF: as `suppressions`). */
#ifndef BULWARK_REPORT_H
#define BULWARK_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BWK_REPORT_SCHEMA_VERSION "1.0"

typedef enum bwk_format {
	BWK_FORMAT_TEXT = 0,
	BWK_FORMAT_JSON,
	BWK_FORMAT_SARIF,
} bwk_format;

int bwk_format_parse(const char *s, bwk_format *out);

/* A report over several targets (`audit registry --scan-all`): findings are shown grouped by
 * their target, in this order, each group with its own counts; `error` (may be NULL) says why
 * a target could not be examined. */
typedef struct bwk_report_group {
	const char *target;
	const char *error;
} bwk_report_group;

typedef struct bwk_report_opts {
	bwk_format format;
	const char *command;  /* "scan", "audit host" … */
	const char *target;   /* what was examined, as the user named it */
	bool color;	      /* text only: ANSI colour */
	bool verbose;	      /* text only: print description and references too */
	bwk_severity fail_on; /* recorded in the JSON summary */
	bool show_suppressed; /* also list suppressed findings, marked with why */
	bool show_passed;     /* text only: list every check with its status, not just counts */
	const bwk_report_group *groups; /* NULL: one target; else findings grouped by target */
	size_t ngroups;
} bwk_report_opts;

/* Render into a NUL-terminated heap string (caller frees). */
int bwk_report_render(const bwk_findings *f, const bwk_report_opts *o, char **out, bwk_error **err);

/* Render and write to `path` atomically (temp + rename), or to stdout when path is NULL or "-". */
int bwk_report_write(const bwk_findings *f, const bwk_report_opts *o, const char *path,
		     bwk_error **err);

/* `bulwark rules -f json`: a JSON array (NUL-terminated heap string, caller frees) of rule
 * objects with the fields a finding carries for its rule (id, category, severity, title,
 * description, remediation, references), plus "command" (commands[i]; omitted when NULL). */
int bwk_report_rules_json(const bwk_rule *const *rules, const char *const *commands, size_t n,
			  char **out, bwk_error **err);

/* Whether colour should be used on `stream`: a TTY and NO_COLOR unset (https://no-color.org). */
bool bwk_report_want_color(FILE *stream);

#ifdef __cplusplus
}
#endif
#endif
