/* `bulwark rules`: every rule a finding can come from, listed or explained, without scanning. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/audit.h"
#include "bulwark/registry.h"
#include "bulwark/privs.h"
#include "bulwark/scan.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const char cmd_rules_usage[] =
    "usage: bulwark rules [OPTIONS] [ID…]\n"
    "\n"
    "List every rule a finding can come from (scan: file hygiene, image config, integrity,\n"
    "secrets; audit: workloads, host, daemon and the CVEs of the kernel and engine tables),\n"
    "sorted by command then id, or explain the rules named by ID: risk, fix, references.\n"
    "The ids are the ones to pin in .bulwarkignore.\n"
    "\n";

const cli_option cmd_rules_options[] = {
    {.id = 'f',
     .name = "format",
     .arg = CLI_ARG_VALUE,
     .metavar = "FMT",
     .help = "text (default) or json (an array of rule objects with the\nfields of a report's "
	     "findings, plus \"command\"); no sarif",
     .choices = "text json"},
    {.id = 0x200,
     .name = "command",
     .arg = CLI_ARG_VALUE,
     .metavar = "CMD",
     .help = "only the rules of scan or audit",
     .choices = "scan audit"},
    {.id = 0x201,
     .name = "category",
     .arg = CLI_ARG_VALUE,
     .metavar = "CAT",
     .help = "only this category: secret, config, integrity, host, daemon,\nworkload …",
     .choices = "secret config vulnerability malware integrity host daemon workload"},
    {.id = 0x202,
     .name = "severity-min",
     .arg = CLI_ARG_VALUE,
     .metavar = "SEV",
     .help = "only rules at or above SEV: critical, high, medium, low, info",
     .choices = "critical high medium low info"},
    {.id = 0x203,
     .name = "rules",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "include a user secret rules file (as scan --rules: its rules\nare added, its "
	     "disable: list removed)"},
    {.id = 0x204,
     .name = "data",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "CVE tables from DIR (as audit --data)",
     .env = "BULWARK_DATA_DIR",
     .env_old = "BWK_DATA_DIR"},
    {.id = 0x205,
     .name = "yara",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "include the YARA rules in DIR (*.yar, *.yara), under the\nids scan --yara DIR "
	     "reports (yara-NAME)"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_END},
};

const char cmd_rules_usage_tail[] = "\n"
				    "examples:\n"
				    "  bulwark rules --command scan --category secret\n"
				    "  bulwark rules sensitive-host-mount\n"
				    "  bulwark rules -f json --severity-min high\n"
				    "  bulwark rules --yara ./my-rules --category malware\n";

typedef struct rule_row {
	const bwk_rule *rule;
	const char *command;
} rule_row;

typedef struct rules_opts {
	bwk_format format;
	const char *command, *rules_file, *data_dir, *yara_dir;
	bool by_category;
	bwk_category category;
	bwk_severity sev_min;
} rules_opts;

static int row_cmp(const void *a, const void *b)
{
	const rule_row *x = a, *y = b;
	int c = strcmp(x->command, y->command);
	return c ? c : strcmp(x->rule->id, y->rule->id);
}

/* Levenshtein distance, two rows; ids are short (ids longer than 128 are not compared). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 128 || lb > 128)
		return (size_t)-1;
	size_t prev[129], cur[129];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

/* The id a typo most likely meant: one that starts with what was typed, else the nearest
 * within a third of its length (at least 2 edits). NULL when nothing is close. */
static const char *closest(const rule_row *rows, size_t n, const char *id)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(id);
	if (len >= 3)
		for (size_t i = 0; i < n; i++)
			if (!strncmp(rows[i].rule->id, id, len))
				return rows[i].rule->id;
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(id, rows[i].rule->id);
		if (d <= limit && d < best_d) {
			best_d = d;
			best = rows[i].rule->id;
		}
	}
	return best;
}

static const rule_row *find_row(const rule_row *rows, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].rule->id, id))
			return &rows[i];
	return NULL;
}

/* Paragraph text indented by two spaces and wrapped at 78 columns (words longer than the
 * line stay whole). */
static void print_wrapped(const char *text)
{
	const size_t width = 76;
	const char *p = text;
	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		size_t col = 0;
		fputs("  ", stdout);
		while (*p) {
			size_t w = strcspn(p, " \n");
			if (col && col + 1 + w > width)
				break;
			if (col)
				fputc(' ', stdout), col++;
			fwrite(p, 1, w, stdout);
			col += w;
			p += w;
			while (*p == ' ' || *p == '\n')
				p++;
		}
		fputc('\n', stdout);
	}
}

static void print_rule(const rule_row *r)
{
	const bwk_rule *x = r->rule;
	printf("%s\n  %s\n\n", x->id, x->title ? x->title : x->id);
	printf("command:  %s\ncategory: %s\nseverity: %s\n\n", r->command,
	       bwk_category_name(x->category), bwk_severity_name(x->severity));
	fputs("risk:\n", stdout);
	print_wrapped(x->description && *x->description ? x->description : "(not documented)");
	fputs("\nfix:\n", stdout);
	print_wrapped(x->remediation && *x->remediation ? x->remediation : "(not documented)");
	if (x->references && *x->references) {
		fputs("\nreferences:\n", stdout);
		for (const char *const *p = x->references; *p; p++)
			printf("  - %s\n", *p);
	}
}

static void print_table(const rule_row *rows, size_t n)
{
	int wid = 2, wcat = 8;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(rows[i].rule->id);
		if (l > wid)
			wid = l > 48 ? 48 : l;
		l = (int)strlen(bwk_category_name(rows[i].rule->category));
		if (l > wcat)
			wcat = l;
	}
	printf("%-*s  %-7s  %-*s  %-8s  %s\n", wid, "ID", "COMMAND", wcat, "CATEGORY", "SEVERITY",
	       "TITLE");
	for (size_t i = 0; i < n; i++) {
		const bwk_rule *x = rows[i].rule;
		printf("%-*s  %-7s  %-*s  %-8s  %s\n", wid, x->id, rows[i].command, wcat,
		       bwk_category_name(x->category), bwk_severity_name(x->severity),
		       x->title ? x->title : x->id);
	}
	printf("\n%zu rule%s\n", n, n == 1 ? "" : "s");
}

static int print_json(const rule_row *rows, size_t n)
{
	/* xcalloc: clang 14's analyzer does not run cleanup attributes and took these for leaks */
	cleanup_free const bwk_rule **rules = xcalloc(n ? n : 1, sizeof(*rules));
	cleanup_free const char **cmds = xcalloc(n ? n : 1, sizeof(*cmds));
	for (size_t i = 0; i < n; i++) {
		rules[i] = rows[i].rule;
		cmds[i] = rows[i].command;
	}
	bwk_error *err = NULL;
	cleanup_free char *out = NULL;
	if (bwk_report_rules_json(rules, cmds, n, &out, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	fputs(out, stdout);
	return EXIT_CLEAN;
}

static bool keep(const rules_opts *o, const rule_row *r)
{
	if (o->command && strcmp(o->command, r->command))
		return false;
	if (o->by_category && r->rule->category != o->category)
		return false;
	return r->rule->severity >= o->sev_min;
}

static int parse_args(const cli_cmd *cmd, int argc, char **argv, rules_opts *o)
{
	cleanup_with(cli_parser_free) cli_parser p;
	if (cli_parser_init(&p, cmd, argc, argv))
		return EXIT_USAGE;
	const char *val;
	int opt;
	while ((opt = cli_next(&p, &val)) != -1) {
		switch (opt) {
		case 'f':
			if (bwk_format_parse(val, &o->format) < 0 || o->format == BWK_FORMAT_SARIF)
				return cli_usage_error(cmd,
						       "unknown format '%s' for rules (use text or "
						       "json; SARIF is for findings)",
						       val);
			break;
		case 0x200:
			if (strcmp(val, "scan") && strcmp(val, "audit"))
				return cli_usage_error(
				    cmd, "unknown --command '%s' (use scan or audit)", val);
			o->command = val;
			break;
		case 0x201:
			if (bwk_category_parse(val, &o->category) < 0)
				return cli_usage_error(
				    cmd,
				    "unknown category '%s' (use secret, config, "
				    "vulnerability, malware, integrity, host, daemon "
				    "or workload)",
				    val);
			o->by_category = true;
			break;
		case 0x202:
			if (bwk_severity_parse(val, &o->sev_min) < 0 || o->sev_min == BWK_SEV_NONE)
				return cli_usage_error(cmd,
						       "unknown --severity-min level '%s' (use "
						       "critical, high, medium, low or info)",
						       val);
			break;
		case 0x203:
			o->rules_file = val;
			break;
		case 0x204:
			o->data_dir = val;
			break;
		case 0x205:
			o->yara_dir = val;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return -1;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	return 0;
}

int cmd_rules(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("rules");
	rules_opts o = {.format = BWK_FORMAT_TEXT, .sev_min = BWK_SEV_INFO};
	int r = parse_args(cmd, argc, argv, &o);
	if (r)
		return r < 0 ? EXIT_CLEAN : r;
	bwk_error *err = NULL;
	if (bwk_privs_narrow(BWK_PRIVS_READER, false, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	cleanup_with(bwk_rule_list_freep) bwk_rule_list *scan = NULL;
	cleanup_with(bwk_rule_list_freep) bwk_rule_list *audit = NULL;
	if (bwk_scan_rule_list(o.rules_file, &scan, &err) < 0 ||
	    bwk_scan_malware_rule_list(o.yara_dir, scan, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	if (bwk_audit_rule_list(o.data_dir, &audit, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	const bwk_rule *reg[64];
	size_t nreg = bwk_registry_rules(reg, 64);
	for (size_t i = 0; i < nreg && i < 64; i++)
		bwk_rule_list_add(audit, reg[i]);
	size_t ns = bwk_rule_list_count(scan), na = bwk_rule_list_count(audit), n = 0;
	cleanup_free rule_row *rows = calloc(ns + na + 1, sizeof(*rows));
	if (!rows) {
		fputs("bulwark: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ns; i++)
		rows[n++] = (rule_row){bwk_rule_list_get(scan, i), "scan"};
	for (size_t i = 0; i < na; i++)
		rows[n++] = (rule_row){bwk_rule_list_get(audit, i), "audit"};
	qsort(rows, n, sizeof(*rows), row_cmp);

	if (optind < argc) {
		/* named rules: shown whatever the filters say, in the order asked */
		size_t nsel = (size_t)(argc - optind);
		cleanup_free rule_row *sel = xcalloc(nsel, sizeof(*sel));
		for (size_t i = 0; i < nsel; i++) {
			const char *id = argv[optind + (int)i];
			const rule_row *row = find_row(rows, n, id);
			if (!row) {
				const char *near = closest(rows, n, id);
				fprintf(stderr, "bulwark: unknown rule '%s' (see 'bulwark rules')",
					id);
				if (near)
					fprintf(stderr, "; did you mean '%s'?", near);
				fputc('\n', stderr);
				return EXIT_USAGE;
			}
			sel[i] = *row;
		}
		if (o.format == BWK_FORMAT_JSON)
			return print_json(sel, nsel);
		for (size_t i = 0; i < nsel; i++) {
			if (i)
				fputc('\n', stdout);
			print_rule(&sel[i]);
		}
		return EXIT_CLEAN;
	}

	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (keep(&o, &rows[i]))
			rows[kept++] = rows[i];
	if (o.format == BWK_FORMAT_JSON)
		return print_json(rows, kept);
	print_table(rows, kept);
	return EXIT_CLEAN;
}

void cli_complete_rule_ids(const char *prefix)
{
	bwk_error *err = NULL;
	cleanup_with(bwk_rule_list_freep) bwk_rule_list *scan = NULL;
	cleanup_with(bwk_rule_list_freep) bwk_rule_list *audit = NULL;
	if (bwk_scan_rule_list(NULL, &scan, &err) < 0 ||
	    bwk_scan_malware_rule_list(NULL, scan, &err) < 0 ||
	    bwk_audit_rule_list(NULL, &audit, &err) < 0) {
		bwk_error_free(err);
		return;
	}
	const bwk_rule *reg[64];
	size_t nreg = bwk_registry_rules(reg, 64);
	for (size_t i = 0; i < nreg && i < 64; i++)
		bwk_rule_list_add(audit, reg[i]);
	const bwk_rule_list *lists[] = {scan, audit};
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < bwk_rule_list_count(lists[l]); i++) {
			const char *id = bwk_rule_list_get(lists[l], i)->id;
			if (!strncmp(id, prefix, strlen(prefix)))
				printf("%s\n", id);
		}
}
