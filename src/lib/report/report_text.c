#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "report/report_private.h"

#define C_RESET "\033[0m"
#define C_BOLD	"\033[1m"
#define C_DIM	"\033[2m"

static const char *sev_color(bwk_severity s)
{
	switch (s) {
	case BWK_SEV_CRITICAL:
		return "\033[1;35m";
	case BWK_SEV_HIGH:
		return "\033[1;31m";
	case BWK_SEV_MEDIUM:
		return "\033[1;33m";
	case BWK_SEV_LOW:
		return "\033[1;34m";
	default:
		return "\033[1;37m";
	}
}

char *bwk_report_location_text(const bwk_finding *x)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 4096);
	if (x->path) {
		bwk_strbuf_printf(&sb, "/%s", x->path);
		if (x->line)
			bwk_strbuf_printf(&sb, ":%u", x->line);
	}
	if (x->key)
		bwk_strbuf_printf(&sb, "%s%s", sb.len ? " " : "", x->key);
	if (x->layer_index >= 0 || x->layer) {
		bwk_strbuf_append(&sb, sb.len ? " (" : "(");
		if (x->layer_index >= 0)
			bwk_strbuf_printf(&sb, "layer %d", x->layer_index + 1);
		if (x->layer)
			bwk_strbuf_printf(&sb, "%s%.19s", x->layer_index >= 0 ? " " : "", x->layer);
		bwk_strbuf_append(&sb, ")");
	}
	if (!sb.len && x->target)
		bwk_strbuf_append(&sb, x->target);
	return bwk_strbuf_steal(&sb);
}

/* One line counting what the ignore file and the baseline hid, so a clean gate never hides
 * that it was told to look away; with --show-suppressed, each of them with the reason. */
static void suppressed_text(FILE *out, const bwk_findings *f, const bwk_report_opts *o)
{
	size_t by[4];
	bwk_report_suppressed_counts(f, by);
	if (!by[BWK_SUPPRESS_IGNORE] && !by[BWK_SUPPRESS_BASELINE] && !by[BWK_SUPPRESS_VEX])
		return;
	fprintf(out, "%zu suppressed: %zu by the ignore file, %zu known from the baseline",
		by[BWK_SUPPRESS_IGNORE] + by[BWK_SUPPRESS_BASELINE] + by[BWK_SUPPRESS_VEX],
		by[BWK_SUPPRESS_IGNORE], by[BWK_SUPPRESS_BASELINE]);
	if (by[BWK_SUPPRESS_VEX])
		fprintf(out, ", %zu by VEX statements", by[BWK_SUPPRESS_VEX]);
	if (!o->show_suppressed) {
		fprintf(out, " (%s lists them)\n",
			bwk_setting("show-suppressed", "show-suppressed"));
		return;
	}
	fputs("\n\nSUPPRESSED\n", out);
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (!x->suppressed)
			continue;
		cleanup_free char *loc = bwk_report_location_text(x);
		fprintf(out, "  %s  %s  %s", bwk_severity_name(x->severity), x->rule->id,
			x->rule->title);
		if (*loc)
			fprintf(out, "  at %s", loc);
		if (x->suppressed_by == BWK_SUPPRESS_BASELINE)
			fputs(" — known from the baseline", out);
		else if (x->suppressed_by == BWK_SUPPRESS_VEX)
			fprintf(out, " — %s", x->suppress_reason ? x->suppress_reason : "VEX");
		else
			fprintf(out, " — ignored%s%s", x->suppress_reason ? ": " : "",
				x->suppress_reason ? x->suppress_reason : "");
		fputs("\n", out);
	}
}

/* The facts the verdicts rest on, one per line under the title, and the check count: a clean
 * report must show that it looked. */
static void coverage_text(FILE *out, const bwk_findings *f, const bwk_report_opts *o)
{
	const char *k, *v, *dim = o->color ? C_DIM : "", *r = o->color ? C_RESET : "";
	for (size_t i = 0; bwk_findings_fact_get(f, i, &k, &v); i++)
		fprintf(out, "  %s%s:%s %s\n", dim, k, r, v);
	size_t n[3];
	bwk_findings_check_summary(f, n);
	size_t total = n[0] + n[1] + n[2];
	if (!total)
		return;
	fprintf(out, "%zu check%s: %zu passed, %zu failed, %zu skipped%s%s%s\n", total,
		total == 1 ? "" : "s", n[BWK_CHECK_PASS], n[BWK_CHECK_FAIL], n[BWK_CHECK_SKIP],
		o->show_passed ? "" : " (",
		o->show_passed ? "" : bwk_setting("show-passed", "show-passed"),
		o->show_passed ? "" : " lists them)");
	if (!o->show_passed)
		return;
	static const char *const label[] = {"PASS", "FAIL", "SKIP"};
	bwk_check c;
	for (size_t i = 0; bwk_findings_check_get(f, i, &c); i++) {
		fprintf(out, "  [%s] %s  %s", label[c.status], c.id, c.title);
		if (c.detail)
			fprintf(out, " — %s", c.detail);
		fputs("\n", out);
	}
}

/* Streamed: a report of many findings is never in memory whole. */
/* The findings by severity, highest first; only those of `target` when it is not NULL. */
static void list_findings(FILE *out, const bwk_findings *f, const bwk_report_opts *o,
			  const size_t counts[5], const char *target)
{
	const char *b = o->color ? C_BOLD : "", *r = o->color ? C_RESET : "",
		   *dim = o->color ? C_DIM : "";
	for (int s = BWK_SEV_CRITICAL; s >= BWK_SEV_INFO; s--) {
		if (!counts[s])
			continue;
		char upper[16];
		const char *name = bwk_severity_name((bwk_severity)s);
		size_t i = 0;
		for (; name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)(name[i] - 32);
		upper[i] = '\0';
		fprintf(out, "\n%s%s%s\n", o->color ? sev_color((bwk_severity)s) : "", upper, r);
		for (size_t k = 0; k < bwk_findings_count(f); k++) {
			const bwk_finding *x = bwk_findings_get(f, k);
			if (x->suppressed || (int)x->severity != s ||
			    (target && strcmp(x->target ? x->target : "", target)))
				continue;
			char *loc = bwk_report_location_text(x);
			fprintf(out, "  %s%s%s  %s", b, x->rule->id, r, x->rule->title);
			if (*loc)
				fprintf(out, "  at %s", loc);
			if (x->message)
				fprintf(out, " — %s", x->message);
			if (x->evidence)
				fprintf(out, "  [%s]", x->evidence);
			fputs("\n", out);
			free(loc);
			if (x->added_by)
				fprintf(out, "      %sadded by:%s %s%s%s%s\n", dim, r, x->added_by,
					x->removed_by ? "; " : "",
					x->removed_by ? "removed by: " : "",
					x->removed_by ? x->removed_by : "");
			if (o->verbose && x->rule->description && *x->rule->description)
				fprintf(out, "      %srisk:%s %s\n", dim, r, x->rule->description);
			if (x->rule->remediation && *x->rule->remediation)
				fprintf(out, "      %sfix:%s %s\n", dim, r, x->rule->remediation);
			if (o->verbose && x->rule->references)
				for (const char *const *p = x->rule->references; *p; p++)
					fprintf(out, "      %ssee:%s %s\n", dim, r, *p);
		}
	}
}

/* Counts of the unsuppressed findings of one target. */
static size_t target_counts(const bwk_findings *f, const char *target, size_t counts[5])
{
	memset(counts, 0, 5 * sizeof(size_t));
	size_t total = 0;
	for (size_t k = 0; k < bwk_findings_count(f); k++) {
		const bwk_finding *x = bwk_findings_get(f, k);
		if (x->suppressed || strcmp(x->target ? x->target : "", target))
			continue;
		counts[x->severity]++;
		total++;
	}
	return total;
}

static void counts_text(FILE *out, const size_t counts[5], size_t total)
{
	fprintf(out, "%zu finding%s (", total, total == 1 ? "" : "s");
	bool first = true;
	for (int s = BWK_SEV_CRITICAL; s >= BWK_SEV_INFO; s--) {
		if (!counts[s])
			continue;
		fprintf(out, "%s%zu %s", first ? "" : ", ", counts[s],
			bwk_severity_name((bwk_severity)s));
		first = false;
	}
	fputs(")", out);
}

/* One section per target, in the caller's order. */
static void groups_text(FILE *out, const bwk_findings *f, const bwk_report_opts *o)
{
	const char *b = o->color ? C_BOLD : "", *r = o->color ? C_RESET : "";
	for (size_t g = 0; g < o->ngroups; g++) {
		const bwk_report_group *gr = &o->groups[g];
		size_t c[5];
		size_t total = target_counts(f, gr->target, c);
		fprintf(out, "\n%s== %s%s: ", b, gr->target, r);
		if (gr->error)
			fprintf(out, "NOT SCANNED (%s)%s", gr->error, total ? "; " : "");
		if (total)
			counts_text(out, c, total);
		else if (!gr->error)
			fputs("no findings", out);
		fputs("\n", out);
		if (total)
			list_findings(out, f, o, c, gr->target);
	}
}

int bwk_report_text(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err)
{
	(void)err;
	size_t counts[5];
	bwk_findings_summary(f, counts);
	size_t total = counts[0] + counts[1] + counts[2] + counts[3] + counts[4];
	const char *b = o->color ? C_BOLD : "", *r = o->color ? C_RESET : "";

	fprintf(out, "%sbulwark %s%s%s%s: ", b, o->command ? o->command : "", o->target ? " " : "",
		o->target ? o->target : "", r);
	if (total)
		counts_text(out, counts, total);
	else
		fputs("no findings", out);
	fputs("\n", out);
	coverage_text(out, f, o);
	suppressed_text(out, f, o);

	if (o->groups)
		groups_text(out, f, o);
	else
		list_findings(out, f, o, counts, NULL);
	return 0;
}
