#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulwark/vuln.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const char cmd_db_usage[] =
    "usage: bulwark db [--db FILE] import PATH…\n"
    "       bulwark db [--db FILE] update [--source URL]… [--sources FILE] [--cacert FILE]\n"
    "       bulwark db [--db FILE] status\n"
    "\n"
    "The offline vulnerability database `bulwark scan` matches packages against. A scan\n"
    "never downloads anything: the database is what you import or update.\n"
    "\n"
    "  import PATH…   load OSV advisories: a directory of *.json, one .json file, or an\n"
    "                 OSV per-ecosystem zip export (https://osv-vulnerabilities.storage\n"
    "                 .googleapis.com/ECOSYSTEM/all.zip). Records already present are\n"
    "                 replaced by id; the database is replaced atomically, and left\n"
    "                 unchanged when a record is malformed.\n"
    "  update         download OSV exports over HTTPS and import what changed: each source\n"
    "                 is asked with If-None-Match/If-Modified-Since from its last download\n"
    "                 (kept in exports/ beside the database), so an unchanged one costs one\n"
    "                 request. Sources: the update options below, else OSV's exports of\n"
    "                 Debian, Ubuntu, Alpine, Red Hat, Rocky Linux, AlmaLinux, PyPI, npm,\n"
    "                 Go, Maven, crates.io. All or nothing.\n"
    "  status         sources (OSV ecosystems), advisory counts, and their age\n"
    "\n";

enum { OPT_DB = 0x200, OPT_SOURCE, OPT_SOURCES, OPT_CACERT };

const cli_option cmd_db_options[] = {
    {.id = OPT_DB,
     .name = "db",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "the database (default: $XDG_CACHE_HOME/bulwark/vuln.db)"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_SECTION, .help = "update options:"},
    {.id = OPT_SOURCE,
     .name = "source",
     .arg = CLI_ARG_VALUE,
     .metavar = "URL",
     .help = "an OSV export to download (repeatable; default: OSV's\nexports of the "
	     "ecosystems bulwark reads)"},
    {.id = OPT_SOURCES,
     .name = "sources",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "the export URLs, one a line (# comments)"},
    {.id = OPT_CACERT,
     .name = "cacert",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "trust this CA bundle instead of the system's"},
    {.id = CLI_OPT_END},
};

const char cmd_db_usage_tail[] =
    "\n"
    "examples:\n"
    "  bulwark db import Debian.zip Alpine.zip PyPI.zip npm.zip\n"
    "  bulwark db update --source "
    "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip\n"
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

/* The URLs of a sources file: one a line, blank lines and # comments skipped. */
static int read_sources(const char *path, bwk_strv *urls)
{
	char *data = NULL;
	size_t len = 0;
	bwk_error *err = NULL;
	if (bwk_read_file_at(AT_FDCWD, path, 1 << 20, true, &data, &len, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		size_t l = strcspn(line, " \t\r#");
		if (!l)
			continue;
		if (bwk_strv_take(urls, xstrndup(line, l), &err) < 0) {
			free(data);
			bwk_error_wrap(&err, "sources file %s", path);
			return cli_fail(err, EXIT_USAGE);
		}
	}
	free(data);
	return 0;
}

/* `db update`: the whole command line again, options anywhere (they are the table's), and
 * "update" its one operand. */
static int db_update(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("db");
	cleanup_with(cli_parser_free) cli_parser p;
	optind = 0; /* glibc: start over, permuting (cmd_db's own pass stopped at the verb) */
	if (cli_parser_init(&p, cmd, argc, argv))
		return EXIT_USAGE;
	cleanup_strv_clear bwk_strv urls = {0};
	const char *cacert = NULL, *dbarg = NULL;
	int rc = EXIT_CLEAN;
	const char *val;
	int opt;
	while (rc == EXIT_CLEAN && (opt = cli_next(&p, &val)) != -1) {
		switch (opt) {
		case OPT_DB:
			dbarg = val;
			break;
		case OPT_SOURCE:
			if (bwk_strv_push(&urls, val, NULL) < 0)
				rc = cli_usage_error(cmd, "more than %d --source", BWK_STRV_MAX);
			break;
		case OPT_SOURCES:
			rc = read_sources(val, &urls);
			break;
		case OPT_CACERT:
			cacert = val;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			rc = -1; /* done: help asked */
			break;
		default:
			rc = cli_bad_option(cmd, opt, argv);
		}
	}
	if (rc == -1)
		return EXIT_CLEAN;
	if (rc == EXIT_CLEAN && optind + 1 != argc)
		rc = cli_usage_error(cmd, "db update: unexpected '%s'",
				     argv[optind + (strcmp(argv[optind], "update") == 0)]);
	cleanup_free char *def = dbarg ? NULL : bwk_vulndb_default_path();
	const char *db = dbarg ? dbarg : def;
	if (rc == EXIT_CLEAN && !db)
		rc = cli_usage_error(cmd, "no --db FILE and neither XDG_CACHE_HOME nor HOME set");
	if (rc == EXIT_CLEAN) {
		size_t ndef = 0;
		while (bwk_vulndb_default_sources[ndef])
			ndef++;
		bwk_vuln_update_opts o = {
		    .urls = urls.n ? (const char *const *)urls.v : bwk_vulndb_default_sources,
		    .nurls = urls.n ? urls.n : ndef,
		    .cacert = cacert,
		};
		bwk_vuln_update_stats st;
		bwk_error *err = NULL;
		if (bwk_vulndb_update(db, &o, &st, &err) < 0) {
			bwk_error_wrap(&err, "updating %s (unchanged)", db);
			rc = cli_fail(err, EXIT_USAGE);
		} else if (st.fetched) {
			printf(
			    "%zu source(s) downloaded, %zu unchanged: imported %zu advisories into "
			    "%s\n",
			    st.fetched, st.unchanged, st.imported.records, db);
		} else {
			printf("%zu source(s) unchanged: %s is up to date\n", st.unchanged, db);
		}
	}
	return rc;
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
	const char *dbarg = NULL;
	bool update_opt = false;
	/* in order: options stop at the verb, whose PATHs may start with '-' after "--" */
	cleanup_with(cli_parser_free) cli_parser p;
	if (cli_parser_init_in_order(&p, cmd, argc, argv, true))
		return EXIT_USAGE;
	const char *val;
	int opt;
	while ((opt = cli_next(&p, &val)) != -1) {
		switch (opt) {
		case OPT_DB:
			dbarg = val;
			break;
		case OPT_SOURCE:
		case OPT_SOURCES:
		case OPT_CACERT:
			update_opt |=
			    !cli_value_source; /* the file's and environment's: for update */
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "missing import, update or status");
	const char *verb = argv[optind++];
	if (!strcmp(verb, "update"))
		return db_update(argc, argv);
	if (update_opt)
		return cli_usage_error(cmd, "--source, --sources and --cacert are for db update");
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
		rc =
		    cli_usage_error(cmd, "unknown db command '%s': import, update or status", verb);
	free(def);
	return rc;
}
