/* The CLI: a thin layer that parses flags, calls libbulwark and prints. */
#ifndef BWK_CLI_H
#define BWK_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"
#include "bulwark/report.h"
#include "options.h"

/* Exit statuses (DEVELOPERS.md). `run` uses docker's convention instead. */
enum { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

typedef struct cli_cmd {
	const char *name;
	const char *summary;
	const char *usage; /* full help text printed by `bulwark help NAME` */
	int (*main)(int argc, char **argv);
	/* A command converted to an option table: `usage` is the text before the options, the
	 * table makes them (options.h), `usage_tail` follows; `operands` are the words
	 * completion offers for operands ("@file": file names too). */
	const cli_option *options;
	const char *usage_tail;
	const char *operands;
} cli_cmd;

/* The subcommand table (main.c). */
extern const cli_cmd cli_commands[];
/* usage.c: bulwark's own usage line, the command named `name` in the table (or NULL). */
extern const char cli_main_usage[];
const cli_cmd *cli_find(const char *name);
/* Install the library's output handler (bulwark/log.h) for `cmd` (output.c): messages on
 * stderr, settings named by `cmd`'s flags. */
void cli_output_install(const cli_cmd *cmd);

/* `bulwark help NAME`: the usage, the options (from the table when there is one), the tail. */
void cli_print_help(const cli_cmd *cmd, FILE *out);

/* One line on stderr, "bulwark: …", then "usage" lines: cmd's usage line, and `bulwark help
 * CMD` or, for a table that is not in cli_commands (the OCI global options), `bulwark --help`;
 * bulwark's own usage when cmd is NULL. Returns EXIT_USAGE. */
int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Also given each usage error's message when set (the OCI runtime's --log). */
extern void (*cli_usage_log)(const char *msg);
/* The usage error for what getopt_long returned: ':' (an option without its value) or
 * anything else (an unknown option). Returns EXIT_USAGE. */
int cli_bad_option(const cli_cmd *cmd, int opt, char **argv);
/* --threads N: 1 to 256. Returns 0, or EXIT_USAGE after printing the usage error. */
int cli_parse_threads(const cli_cmd *cmd, const char *arg, unsigned *out);
/* Print an error chain once and return the exit code for it. */
int cli_fail(bwk_error *err, int code);

/* Flags shared by every reporting command (their table rows: CLI_OPT_REPORT, options.h). */
typedef struct cli_report {
	bwk_format format;
	const char *output;
	bwk_severity fail_on;
	const char *ignore_file;
	const char *baseline;
	bool show_suppressed;
	bool show_passed;
	bool quiet;
	bool verbose;
	const bwk_report_group *groups; /* several targets (audit registry --scan-all) */
	size_t ngroups;
} cli_report;

void cli_report_init(cli_report *r);
/* Handle one of the shared options: 1 if handled, 0 if not ours, -1 on a bad value
 * (usage error already printed). */
int cli_report_option(const cli_cmd *cmd, cli_report *r, int opt, const char *arg);
/* Apply the ignore file and the baseline and sort: 0, or EXIT_USAGE (error printed). */
int cli_report_suppress(cli_report *r, bwk_findings *f);
/* Apply the ignore file, render, write, and turn the findings into the exit status. */
int cli_report_finish(cli_report *r, bwk_findings *f, const char *command, const char *target);

/* An SBOM document to `output` atomically, or to stdout when NULL (cmd_sbom.c). */
int cli_write_document(const char *output, const char *doc, bwk_error **err);
/* The value of fact `key` (the last set), or NULL. */
const char *cli_fact(const bwk_findings *f, const char *key);

/* Registry access flags shared by the commands that read images (CLI_OPT_REGISTRY). */
#include "bulwark/registry.h"
typedef struct cli_registry {
	bwk_registry_opts o;
	bool password_stdin;
	char *password;
	const char **insecure;
	size_t ninsecure;
} cli_registry;

void cli_registry_init(cli_registry *r);
void cli_registry_free(cli_registry *r);
/* 1 if handled, 0 if not ours, -1 on a bad value (usage error printed). */
int cli_registry_option(const cli_cmd *cmd, cli_registry *r, int opt, const char *arg);
/* After parsing: checks combinations and reads --password-stdin. 0 or EXIT_USAGE. */
int cli_registry_finish(const cli_cmd *cmd, cli_registry *r);

/* Subcommands: one cmd_NAME.c each, registered in main.c's table. */
int cmd_scan(int argc, char **argv);
extern const char cmd_scan_usage[], cmd_scan_usage_tail[];
extern const cli_option cmd_scan_options[];
int cmd_db(int argc, char **argv);
extern const char cmd_db_usage[], cmd_db_usage_tail[];
extern const cli_option cmd_db_options[];
int cmd_sbom(int argc, char **argv);
extern const char cmd_sbom_usage[], cmd_sbom_usage_tail[];
extern const cli_option cmd_sbom_options[];
int cmd_run(int argc, char **argv);
extern const char cmd_run_usage[], cmd_run_usage_tail[];
extern const cli_option cmd_run_options[];
int cmd_unpack(int argc, char **argv);
extern const char cmd_unpack_usage[], cmd_unpack_usage_tail[];
extern const cli_option cmd_unpack_options[];
int cmd_inspect(int argc, char **argv);
extern const char cmd_inspect_usage[];
extern const cli_option cmd_inspect_options[];
int cmd_audit(int argc, char **argv);
extern const char cmd_audit_usage[], cmd_audit_usage_tail[];
extern const cli_option cmd_audit_options[];
int cmd_registry(int argc, char **argv);
extern const char cmd_registry_usage[], cmd_registry_usage_tail[];
extern const cli_option cmd_registry_options[];
int cmd_rules(int argc, char **argv);
extern const char cmd_rules_usage[], cmd_rules_usage_tail[];
extern const cli_option cmd_rules_options[];
/* Completion: the rule ids starting with prefix, one a line. */
void cli_complete_rule_ids(const char *prefix);
/* cmd_oci.c: the OCI runtime command line. Its options are runc's (cli_parse_runc):
 * -opt and --opt alike, and no environment variable or config file is read. */
int cmd_spec(int argc, char **argv);
extern const char cmd_spec_usage[];
extern const cli_option cmd_spec_options[];
int cmd_features(int argc, char **argv);
extern const char cmd_features_usage[];
int cmd_checkpoint(int argc, char **argv);
extern const char cmd_checkpoint_usage[];
extern const char cmd_restore_usage[];
extern const cli_option cmd_checkpoint_options[];
extern const cli_option cmd_restore_options[];
/* -h only: the commands whose one operand is the container id (start, state, pause …) */
extern const cli_option cmd_id_options[];
/* cmd_oci_lifecycle.c: the OCI lifecycle commands and the global options before a command
 * (--root, --log, --log-format, --systemd-cgroup …, the table cli_oci_global_options, parsed
 * by cli_parse_runc_prefix): returns how many arguments they took, or -1 (message printed).
 * cli_oci_globals_cmd holds the table for help, completion, the man page and `__options
 * global`; it is no command (main NULL, bulwark's usage line) and not in cli_commands. */
int cli_oci_globals(int argc, char **argv);
extern const cli_option cli_oci_global_options[];
extern const cli_cmd cli_oci_globals_cmd;
/* Whether OCI runtime global options (Docker's runtimeArgs of a bulwark runtime) turn --harden
 * on, read with that table's parser as the runtime reads them (bwk_audit_opts). */
bool cli_oci_args_harden(const char *const *args, size_t n);
int cmd_create(int argc, char **argv);
extern const char cmd_create_usage[];
extern const cli_option cmd_create_options[];
/* `run` of a bundle (runc run); main.c picks it over the daemonless run (docs/oci-runtime.md) */
int cmd_oci_run(int argc, char **argv);
extern const char cmd_oci_run_usage[];
extern const cli_option cmd_oci_run_options[];
int cmd_start(int argc, char **argv);
extern const char cmd_start_usage[];
int cmd_state(int argc, char **argv);
extern const char cmd_state_usage[];
int cmd_kill(int argc, char **argv);
extern const char cmd_kill_usage[];
extern const cli_option cmd_kill_options[];
int cmd_delete(int argc, char **argv);
extern const char cmd_delete_usage[];
extern const cli_option cmd_delete_options[];
int cmd_list(int argc, char **argv);
extern const char cmd_list_usage[];
extern const cli_option cmd_list_options[];
int cmd_exec(int argc, char **argv);
extern const char cmd_exec_usage[];
extern const cli_option cmd_exec_options[];
int cmd_ps(int argc, char **argv);
extern const char cmd_ps_usage[];
extern const cli_option cmd_ps_options[];
int cmd_pause(int argc, char **argv); /* and resume */
extern const char cmd_pause_usage[];
int cmd_update(int argc, char **argv);
extern const char cmd_update_usage[];
extern const cli_option cmd_update_options[];
int cmd_events(int argc, char **argv);
extern const char cmd_events_usage[];
extern const cli_option cmd_events_options[];

#endif
