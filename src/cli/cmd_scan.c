#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/inventory.h"
#include "bulwark/privs.h"
#include "bulwark/scan.h"
#include "bulwark/vuln.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const char cmd_scan_usage[] =
    "usage: bulwark scan [OPTIONS] TARGET\n"
    "\n"
    "Audit an image before it runs or ships. TARGET is an image (a docker save archive,\n"
    "an OCI layout, docker:NAME, registry:REF or HOST[:PORT]/REPO:TAG; see docs/image.md)\n"
    "or a root filesystem directory.\n"
    "\n";

const cli_option cmd_scan_options[] = {
    CLI_OPT_REPORT,
    {.id = CLI_OPT_NOTE,
     .name = "-f cyclonedx|spdx-json",
     .help = "instead: the image's SBOM (as bulwark sbom); CycloneDX also\nlists the "
	     "vulnerabilities found, and --fail-on counts them"},
    {.id = 'j',
     .name = "threads",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "worker threads (default: number of CPUs)"},
    {.id = 0x200,
     .name = "rules",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "extra rules, disabled rules and allowlists (YAML)"},
    {.id = 0x201,
     .name = "platform",
     .arg = CLI_ARG_VALUE,
     .metavar = "P",
     .help = "os/arch[/variant] to pick from a multi-platform index\n(default: the host's)"},
    {.id = 0x202,
     .name = "db",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "vulnerability database (default:\n$XDG_CACHE_HOME/bulwark/vuln.db; see bulwark db)"},
    {.id = 0x203,
     .name = "ignore-unfixed",
     .help = "no finding for vulnerabilities without a fixed version"},
    {.id = 0x204,
     .name = "max-db-age",
     .arg = CLI_ARG_VALUE,
     .metavar = "DAYS",
     .help = "warn when the database is older (default 7; 0: never)"},
    {.id = 0x206,
     .name = "severity",
     .arg = CLI_ARG_VALUE,
     .metavar = "LIST",
     .help = "only findings of these severities, comma-separated\n(critical,high,medium,low,info; "
	     "any case)"},
    {.id = 0x205,
     .name = "vex",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "OpenVEX or CycloneDX VEX: vulnerabilities stated not_affected\nor fixed are "
	     "suppressed (--show-suppressed lists them)"},
    {.id = 0x207,
     .name = "yara",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "add the YARA rules in DIR (*.yar, *.yara) to the bundled\nmalware rules "
	     "(docs/scan-malware.md)"},
    {.id = 0x208, .name = "no-malware", .help = "no malware (YARA) scan"},
    {.id = 0x20a, .name = "no-vuln", .help = "no package inventory or vulnerability matching"},
    {.id = 0x209,
     .name = "max-file-size",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "scan each file for malware in its first N bytes (k, m, g\nsuffixes; default 64m, "
	     "at most 1g)"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_SECTION, .help = "registry options (docs/registry.md):"},
    CLI_OPT_REGISTRY,
    {.id = CLI_OPT_END},
};

const char cmd_scan_usage_tail[] =
    "\n"
    "Installed packages (dpkg, apk, Python, npm) are matched against the offline\n"
    "vulnerability database; without one the scan says so once and runs every other check.\n"
    "\n"
    "examples:\n"
    "  bulwark scan ./rootfs\n"
    "  bulwark scan --format sarif --output scan.sarif --fail-on medium ./rootfs\n"
    "  bulwark scan --format cyclonedx --output image.cdx.json image.tar\n"
    "  bulwark scan registry.example.com/team/app:1.2\n";

/* The SBOM of the scanned image (the writer of bulwark sbom) with, in CycloneDX, the
 * vulnerabilities that survive the ignore file, baseline and VEX. The document shows packages
 * and vulnerabilities only, so only those decide the exit status: a gate must not fail on
 * something the reader cannot see. Other findings are counted on stderr. */
static int finish_sbom(cli_report *rep, bwk_findings *f, const bwk_inventory *inv,
		       bwk_sbom_format fmt, const char *target)
{
	int rc = cli_report_suppress(rep, f);
	if (rc)
		return rc;
	bwk_error *err = NULL;
	cleanup_free char *doc =
	    bwk_inventory_render_vulns(inv, fmt, target, cli_fact(f, "image.digest"),
				       fmt == BWK_SBOM_CYCLONEDX ? f : NULL, &err);
	if (!doc || cli_write_document(rep->output, doc, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	bool fail = false;
	size_t other = 0;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (x->suppressed)
			continue;
		if (x->rule->category != BWK_CAT_VULNERABILITY)
			other++;
		else if (fmt == BWK_SBOM_CYCLONEDX && rep->fail_on != BWK_SEV_NONE &&
			 x->severity >= rep->fail_on)
			fail = true;
	}
	if (other && !rep->quiet)
		fprintf(
		    stderr,
		    "bulwark: %zu other finding(s) (secrets, configuration) are not part of the "
		    "SBOM: see --format text or json\n",
		    other);
	return fail ? EXIT_FINDINGS : EXIT_CLEAN;
}

/* "CRITICAL,high" → a bit per severity (Trivy spells them in capitals). */
static int parse_severities(const char *list, unsigned *mask)
{
	char tok[16];
	unsigned m = 0;
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(tok))
			return -1;
		for (size_t i = 0; i < n; i++)
			tok[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
		tok[n] = '\0';
		bwk_severity s;
		if (bwk_severity_parse(tok, &s) < 0 || s == BWK_SEV_NONE)
			return -1;
		m |= 1u << s;
		if (!p[n])
			break;
		p += n + 1;
	}
	*mask = m;
	return 0;
}

static bool severity_kept(const bwk_finding *x, void *ctx)
{
	return *(const unsigned *)ctx & 1u << x->severity;
}

/* Drop findings outside `mask`. A check reads as passed when no finding of its rule is left,
 * so the checks that failed before are recorded as failed again: filtering the list must not
 * turn a failed check into a passed one. */
static size_t filter_severity(bwk_findings *f, unsigned mask)
{
	size_t nc = bwk_findings_check_count(f), nfail = 0;
	cleanup_free char **failed = xcalloc(nc ? nc : 1, sizeof(char *));
	cleanup_free char **titles = xcalloc(nc ? nc : 1, sizeof(char *));
	for (size_t i = 0; i < nc; i++) {
		bwk_check c;
		if (bwk_findings_check_get(f, i, &c) && c.status == BWK_CHECK_FAIL) {
			failed[nfail] = xstrdup(c.id);
			titles[nfail++] = xstrdup(c.title ? c.title : c.id);
		}
	}
	size_t gone = bwk_findings_retain(f, severity_kept, &mask);
	for (size_t i = 0; i < nfail; i++) {
		for (size_t j = 0; j < bwk_findings_check_count(f); j++) {
			bwk_check c;
			if (bwk_findings_check_get(f, j, &c) && !strcmp(c.id, failed[i]) &&
			    c.status == BWK_CHECK_PASS) {
				bwk_rule r = {.id = failed[i], .title = titles[i]};
				bwk_findings_check(f, &r, BWK_CHECK_FAIL,
						   "failed; its findings are outside --severity");
				break;
			}
		}
		free(failed[i]);
		free(titles[i]);
	}
	return gone;
}

int cmd_scan(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("scan");
	cli_report rep;
	cli_report_init(&rep);
	bwk_scan_opts so = {0};
	cleanup_with(cli_registry_free) cli_registry reg;
	cli_registry_init(&reg);
	const char *vex_file = NULL;
	unsigned sev_mask = 0; /* bit per bwk_severity; 0: every severity */
	bool sbom = false;     /* -f cyclonedx / spdx-json: the SBOM instead of a report */
	bwk_sbom_format sbom_fmt = BWK_SBOM_CYCLONEDX;
	cleanup_with(cli_parser_free) cli_parser p;
	if (cli_parser_init(&p, cmd, argc, argv))
		return EXIT_USAGE;
	const char *val;
	int opt;
	while ((opt = cli_next(&p, &val)) != -1) {
		/* bulwark's own "json" stays the report; the SBOM formats are Trivy's names */
		if (opt == 'f') {
			sbom =
			    strcmp(val, "json") != 0 && bwk_sbom_format_parse(val, &sbom_fmt) == 0;
			if (sbom)
				continue;
		}
		int r = cli_report_option(cmd, &rep, opt, val);
		if (r == 0)
			r = cli_registry_option(cmd, &reg, opt, val);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'j':
			if (cli_parse_threads(cmd, val, &so.threads))
				return EXIT_USAGE;
			break;
		case 0x200:
			so.rules_file = val;
			break;
		case 0x201:
			so.platform = val;
			break;
		case 0x202:
			so.vuln_db = val;
			break;
		case 0x203:
			so.ignore_unfixed = true;
			break;
		case 0x204: {
			char *end = NULL;
			long d = strtol(val, &end, 10);
			if (!*val || *end || d < 0 || d > 36500)
				return cli_usage_error(cmd,
						       "--max-db-age: '%s' is not a number of days "
						       "(0 to 36500)",
						       val);
			so.max_db_age_days = d ? (int)d : -1;
			break;
		}
		case 0x205:
			vex_file = val;
			break;
		case 0x206:
			if (parse_severities(val, &sev_mask) < 0)
				return cli_usage_error(
				    cmd,
				    "--severity: '%s' is not a comma-separated list "
				    "of critical, high, medium, low, info",
				    val);
			break;
		case 0x207:
			so.yara_dir = val;
			break;
		case 0x208:
			so.no_malware = true;
			break;
		case 0x20a:
			so.no_vuln = true;
			break;
		case 0x209:
			if (bwk_parse_size(val, &so.max_file_size) < 0 || so.max_file_size < 1024 ||
			    so.max_file_size > BWK_SCAN_MAX_FILE_SIZE_LIMIT)
				return cli_usage_error(
				    cmd,
				    "--max-file-size: '%s' is not a size from 1k "
				    "to 1g (e.g. 64m)",
				    val);
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind == argc ? "missing TARGET"
							   : "scan takes exactly one TARGET");
	const char *target = argv[optind];
	if (so.no_vuln && (sbom || vex_file))
		return cli_usage_error(cmd, "--no-vuln: %s needs the package inventory",
				       sbom ? "an SBOM format" : "--vex");
	so.target = target;
	so.quiet = rep.quiet;
	if (reg.password_stdin && !strcmp(target, "-"))
		return cli_usage_error(cmd, "--password-stdin and TARGET '-' both want standard "
					    "input");
	if (cli_registry_finish(cmd, &reg))
		return EXIT_USAGE;
	reg.o.quiet = rep.quiet;
	so.registry = &reg.o;
	bwk_error *err = NULL;
	if (bwk_privs_narrow(BWK_PRIVS_READER, !rep.quiet && (rep.verbose || isatty(2)), &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	/* read before the scan: a bad VEX file ends the run before minutes of work */
	cleanup_with(bwk_vex_freep) bwk_vex *vex = NULL;
	if (vex_file && bwk_vex_load(vex_file, &vex, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	cleanup_with(bwk_findings_freep) bwk_findings *f = bwk_findings_new();
	cleanup_with(bwk_inventory_freep) bwk_inventory *inv = NULL;
	if (sbom || vex)
		so.inventory = &inv;
	/* what TARGET is (an image, a root filesystem, an SBOM…) is the image source table's to
	 * say */
	if (bwk_scan_target(target, &so, f, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	/* before the ignore file and the baseline: a finding the VEX covers is marked as such */
	bwk_vex_apply(vex, inv, f);
	if (sev_mask) {
		size_t gone = filter_severity(f, sev_mask);
		char kept[64] = "";
		for (int sv = BWK_SEV_CRITICAL; sv >= BWK_SEV_INFO; sv--)
			if (sev_mask & 1u << sv)
				snprintf(kept + strlen(kept), sizeof(kept) - strlen(kept), "%s%s",
					 *kept ? "," : "", bwk_severity_name((bwk_severity)sv));
		/* said in the report: a short list must not read as a clean image */
		bwk_findings_fact(f, "scan.severity", "%s only (%zu other finding(s) not listed)",
				  kept, gone);
	}

	if (sbom)
		return finish_sbom(&rep, f, inv, sbom_fmt, target);
	return cli_report_finish(&rep, f, "scan", target);
}
