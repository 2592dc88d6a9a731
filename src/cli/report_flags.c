#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/cleanup.h"

void cli_report_init(cli_report *r)
{
	memset(r, 0, sizeof(*r));
	r->format = BWK_FORMAT_TEXT;
	r->fail_on = BWK_SEV_HIGH;
}

int cli_report_option(const cli_cmd *cmd, cli_report *r, int opt, const char *arg)
{
	switch (opt) {
	case 'f':
		if (bwk_format_parse(arg, &r->format) < 0) {
			cli_usage_error(cmd, "unknown format '%s' (use text, json or sarif)", arg);
			return -1;
		}
		return 1;
	case 'o':
		r->output = arg;
		return 1;
	case 0x100:
		if (bwk_severity_parse(arg, &r->fail_on) < 0) {
			cli_usage_error(cmd,
					"unknown --fail-on level '%s' (use critical, high, medium, "
					"low, info or none)",
					arg);
			return -1;
		}
		return 1;
	case 0x101:
		r->ignore_file = arg;
		return 1;
	case 0x102:
		r->baseline = arg;
		return 1;
	case 0x103:
		r->show_suppressed = true;
		return 1;
	case 0x104:
		r->show_passed = true;
		return 1;
	case 'q':
		r->quiet = true;
		return 1;
	case 'v':
		r->verbose = true;
		return 1;
	}
	return 0;
}

/* The ignore files and the baseline, loaded into one suppression set. Expired entries are
 * said once each on stderr: an expiry that nobody hears about is no expiry. */
static int load_suppressions(const cli_report *r, bwk_ignore *ig, bwk_error **err)
{
	long today = bwk_days_today();
	if (r->ignore_file) {
		if (bwk_ignore_load(ig, r->ignore_file, today, err) < 0)
			return -1;
	} else {
		static const char *const defaults[] = {".bulwarkignore.yaml", ".bulwarkignore.yml",
						       ".bulwarkignore"};
		for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
			if (bwk_ignore_load(ig, defaults[i], today, err) == 0)
				continue;
			if (bwk_error_code(*err) != BWK_E_NOTFOUND)
				return -1;
			bwk_error_free(*err);
			*err = NULL;
		}
	}
	for (size_t i = 0; bwk_ignore_warning(ig, i); i++)
		if (!r->quiet)
			fprintf(stderr, "bulwark: warning: %s\n", bwk_ignore_warning(ig, i));
	if (r->baseline && bwk_ignore_load_baseline(ig, r->baseline, err) < 0)
		return -1;
	return 0;
}

int cli_report_suppress(cli_report *r, bwk_findings *f)
{
	bwk_error *err = NULL;
	cleanup_with(bwk_ignore_freep) bwk_ignore *ig = bwk_ignore_new();
	if (load_suppressions(r, ig, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	bwk_ignore_apply(ig, f);
	bwk_findings_sort(f);
	return 0;
}

int cli_report_finish(cli_report *r, bwk_findings *f, const char *command, const char *target)
{
	bwk_error *err = NULL;
	int rc = cli_report_suppress(r, f);
	if (rc)
		return rc;
	bwk_report_opts o = {
	    .format = r->format,
	    .command = command,
	    .target = target,
	    .color = r->format == BWK_FORMAT_TEXT && (!r->output || !strcmp(r->output, "-")) &&
		     bwk_report_want_color(stdout),
	    .verbose = r->verbose,
	    .fail_on = r->fail_on,
	    .show_suppressed = r->show_suppressed,
	    .show_passed = r->show_passed,
	    .groups = r->groups,
	    .ngroups = r->ngroups,
	};
	if (bwk_report_write(f, &o, r->output, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	return bwk_findings_fail(f, r->fail_on) ? EXIT_FINDINGS : EXIT_CLEAN;
}

int cli_bad_option(const cli_cmd *cmd, int opt, char **argv)
{
	if (opt == ':')
		return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

int cli_parse_threads(const cli_cmd *cmd, const char *arg, unsigned *out)
{
	char *end = NULL;
	long n = strtol(arg, &end, 10);
	if (!*arg || *end || n < 1 || n > 256)
		return cli_usage_error(cmd, "--threads takes a number from 1 to 256");
	*out = (unsigned)n;
	return 0;
}
