#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/privs.h"
#include "bulwark/scan.h"
#include "cli.h"

const char cmd_scan_usage[] =
    "usage: bulwark scan [OPTIONS] TARGET\n"
    "\n"
    "Audit an image before it runs or ships. TARGET is an image (a docker save archive,\n"
    "an OCI layout, docker:NAME; see docs/image.md) or a root filesystem directory.\n"
    "\n"
    "options:\n" CLI_REPORT_HELP
    "  -j, --threads N         worker threads (default: number of CPUs)\n"
    "      --rules FILE        extra rules, disabled rules and allowlists (YAML)\n"
    "      --platform P        os/arch[/variant] to pick from a multi-platform index\n"
    "                          (default: the host's)\n"
    "      --db FILE           vulnerability database (default:\n"
    "                          $XDG_CACHE_HOME/bulwark/vuln.db; see bulwark db)\n"
    "      --ignore-unfixed    no finding for vulnerabilities without a fixed version\n"
    "      --max-db-age DAYS   warn when the database is older (default 7; 0: never)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Installed packages (dpkg, apk, Python, npm) are matched against the offline\n"
    "vulnerability database; without one the scan says so once and runs every other check.\n"
    "\n"
    "examples:\n"
    "  bulwark scan ./rootfs\n"
    "  bulwark scan --format sarif --output scan.sarif --fail-on medium ./rootfs\n";

int cmd_scan(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("scan");
	static const struct option longopts[] = {CLI_REPORT_OPTIONS,
						 {"threads", required_argument, NULL, 'j'},
						 {"rules", required_argument, NULL, 0x200},
						 {"platform", required_argument, NULL, 0x201},
						 {"db", required_argument, NULL, 0x202},
						 {"ignore-unfixed", no_argument, NULL, 0x203},
						 {"max-db-age", required_argument, NULL, 0x204},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	cli_report rep;
	cli_report_init(&rep);
	bwk_scan_opts so = {0};
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":" CLI_REPORT_SHORTOPTS "j:h", longopts, NULL)) !=
	       -1) {
		int r = cli_report_option(cmd, &rep, opt, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'j':
			if (cli_parse_threads(cmd, optarg, &so.threads))
				return EXIT_USAGE;
			break;
		case 0x200:
			so.rules_file = optarg;
			break;
		case 0x201:
			so.platform = optarg;
			break;
		case 0x202:
			so.vuln_db = optarg;
			break;
		case 0x203:
			so.ignore_unfixed = true;
			break;
		case 0x204: {
			char *end = NULL;
			long d = strtol(optarg, &end, 10);
			if (!*optarg || *end || d < 0 || d > 36500)
				return cli_usage_error(cmd,
						       "--max-db-age: '%s' is not a number of days "
						       "(0 to 36500)",
						       optarg);
			so.max_db_age_days = d ? (int)d : -1;
			break;
		}
		case 'h':
			fputs(cmd->usage, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind == argc ? "missing TARGET"
							   : "scan takes exactly one TARGET");
	const char *target = argv[optind];
	so.target = target;
	so.quiet = rep.quiet;
	bwk_error *err = NULL;
	if (bwk_privs_narrow(BWK_PRIVS_READER, !rep.quiet && (rep.verbose || isatty(2)), &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	bwk_findings *f = bwk_findings_new();
	int rc;
	if (bwk_scan_target(target, &so, f, &err) < 0)
		rc = cli_fail(err, EXIT_USAGE);
	else
		rc = cli_report_finish(&rep, f, "scan", target);
	bwk_findings_free(f);
	return rc;
}
