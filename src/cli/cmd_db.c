#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulwark/vuln.h"
#include "cli.h"

const char cmd_db_usage[] =
    "usage: bulwark db [--db FILE] import PATH…\n"
    "       bulwark db [--db FILE] status\n"
    "\n"
    "The offline vulnerability database `bulwark scan` matches packages against. A scan\n"
    "never downloads anything: the database is what you import.\n"
    "\n"
    "  import PATH…   load OSV advisories: a directory of *.json, one .json file, or an\n"
    "                 OSV per-ecosystem zip export (https://osv-vulnerabilities.storage\n"
    "                 .googleapis.com/ECOSYSTEM/all.zip). Records already present are\n"
    "                 replaced by id; the database is replaced atomically, and left\n"
    "                 unchanged when a record is malformed.\n"
    "  status         sources (OSV ecosystems), advisory counts, and their age\n"
    "\n"
    "options:\n"
    "      --db FILE   the database (default: $XDG_CACHE_HOME/bulwark/vuln.db)\n"
    "  -h, --help      show this help\n"
    "\n"
    "examples:\n"
    "  bulwark db import Debian.zip Alpine.zip PyPI.zip npm.zip\n"
    "  bulwark db status\n";

static int db_import(const char *db, int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("db");
	if (argc < 1)
		return cli_usage_error(cmd, "db import: missing PATH");
	bwk_vuln_import_stats st;
	bwk_error *err = NULL;
	if (bwk_vulndb_import(db, (const char *const *)argv, (size_t)argc, &st, &err) < 0) {
		bwk_error_wrap(&err, "importing into %s (unchanged)", db);
		return cli_fail(err, EXIT_USAGE);
	}
	printf("imported %zu advisories (%zu affected packages) into %s\n", st.records, st.affected,
	       db);
	return EXIT_CLEAN;
}

static int db_status(const char *db)
{
	bwk_vulndb_source *s = NULL;
	size_t n = 0;
	long long total = 0;
	bwk_error *err = NULL;
	if (bwk_vulndb_status(db, &s, &n, &total, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	printf("database: %s (%lld advisories)\n", db, total);
	printf("%-24s %9s  %-20s  %s\n", "SOURCE", "RECORDS", "IMPORTED", "AGE");
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)s[i].imported;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		long long age = (long long)(now - t);
		if (age < 0)
			age = 0;
		printf("%-24s %9lld  %-20s  %lldd %lldh\n", s[i].name, s[i].records, when,
		       age / 86400, age % 86400 / 3600);
	}
	bwk_vulndb_sources_free(s, n);
	return EXIT_CLEAN;
}

int cmd_db(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("db");
	static const struct option longopts[] = {{"db", required_argument, NULL, 0x200},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	const char *dbarg = NULL;
	int opt;
	opterr = 0;
	/* "+": options stop at the verb, whose PATHs may start with '-' after "--" */
	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 0x200:
			dbarg = optarg;
			break;
		case 'h':
			fputs(cmd->usage, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "missing import or status");
	const char *verb = argv[optind++];
	/* --db after the verb too: `bulwark db import --db x.db PATH` */
	while (optind + 1 < argc && !strcmp(argv[optind], "--db")) {
		dbarg = argv[optind + 1];
		optind += 2;
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	char *def = dbarg ? NULL : bwk_vulndb_default_path();
	const char *db = dbarg ? dbarg : def;
	int rc;
	if (!db)
		rc = cli_usage_error(cmd, "no --db FILE and neither XDG_CACHE_HOME nor HOME set");
	else if (!strcmp(verb, "import"))
		rc = db_import(db, argc - optind, argv + optind);
	else if (!strcmp(verb, "status"))
		rc = optind == argc ? db_status(db)
				    : cli_usage_error(cmd, "db status takes no arguments");
	else
		rc = cli_usage_error(cmd, "unknown db command '%s': import or status", verb);
	free(def);
	return rc;
}
