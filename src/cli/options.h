/* One option table per command (git's parse-options): the table drives getopt_long, the
 * OPTIONS part of `bulwark help COMMAND`, `bulwark __complete` (what completion/bulwark.bash
 * asks) and the OPTIONS section of the man page (`bulwark __man`, run at build time). Every
 * option also reads an environment variable and a config-file key; a flag wins over the
 * variable, the variable over the file (docs/configuration.md). */
#ifndef BWK_CLI_OPTIONS_H
#define BWK_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct cli_cmd;

typedef enum cli_arg {
	CLI_ARG_NONE,  /* a switch */
	CLI_ARG_VALUE, /* takes a value (completion offers `choices`, or nothing) */
	CLI_ARG_FILE,  /* takes a file name (completion offers files) */
	CLI_ARG_DIR,   /* takes a directory (completion offers directories) */
} cli_arg;

enum {
	CLI_OPT_END = 0,
	CLI_OPT_SECTION = -1, /* a heading in the help text: `help` is the line */
	CLI_OPT_NOTE = -2,    /* a help line that is not an option: `name` is its left column */
};

typedef struct cli_option {
	int id; /* what cli_next returns: the short letter (a-z, A-Z) or a code >= 0x100 */
	const char *name;    /* long name, without "--" */
	cli_arg arg;	     /* what it takes */
	const char *metavar; /* the value's name in help, e.g. FILE */
	const char *help;    /* one or more lines, '\n' between them */
	const char *choices; /* space-separated values completion offers, or NULL */
	const char *env;     /* NULL: BULWARK_<NAME> (upper case, '-' as '_'); "": none */
	const char *env_old; /* a deprecated name still read after `env`, or NULL */
	bool no_config;	     /* read neither an environment variable nor a config key */
} cli_option;

#define CLI_OPT_HELP                                                                               \
	{                                                                                          \
		.id = 'h', .name = "help", .help = "show this help", .no_config = true             \
	}

/* The shared report options, handled by cli_report_option (report_flags.c). */
#define CLI_OPT_REPORT                                                                             \
	{.id = 'f',                                                                                \
	 .name = "format",                                                                         \
	 .arg = CLI_ARG_VALUE,                                                                     \
	 .metavar = "FMT",                                                                         \
	 .help = "text (default), json or sarif",                                                  \
	 .choices = "text json sarif"},                                                            \
	    {.id = 'o',                                                                            \
	     .name = "output",                                                                     \
	     .arg = CLI_ARG_FILE,                                                                  \
	     .metavar = "FILE",                                                                    \
	     .help = "write the report to FILE atomically (default: stdout)"},                     \
	    {.id = 0x100,                                                                          \
	     .name = "fail-on",                                                                    \
	     .arg = CLI_ARG_VALUE,                                                                 \
	     .metavar = "SEV",                                                                     \
	     .help =                                                                               \
		 "exit 1 on findings at or above SEV: critical, high\n(default), medium, low, "    \
		 "info or none",                                                                   \
	     .choices = "critical high medium low info none"},                                     \
	    {.id = 0x101,                                                                          \
	     .name = "ignore-file",                                                                \
	     .arg = CLI_ARG_FILE,                                                                  \
	     .metavar = "FILE",                                                                    \
	     .help = "accepted findings (default: ./.bulwarkignore.yaml and\n./.bulwarkignore if " \
		     "present; YAML entries take a reason\nand an expiry date)"},                  \
	    {.id = 0x102,                                                                          \
	     .name = "baseline",                                                                   \
	     .arg = CLI_ARG_FILE,                                                                  \
	     .metavar = "REPORT",                                                                  \
	     .help = "report only findings not in REPORT, an earlier JSON or\nSARIF report (the "  \
		     "gate fails on new problems only)"},                                          \
	    {.id = 0x103,                                                                          \
	     .name = "show-suppressed",                                                            \
	     .help = "also list ignored and baseline findings, marked"},                           \
	    {.id = 0x104, .name = "show-passed", .help = "also list the checks that passed"},      \
	    {.id = 'q', .name = "quiet", .help = "no progress output"},                            \
	{                                                                                          \
		.id = 'v', .name = "verbose",                                                      \
		.help = "text format: also print the risk and references"                          \
	}

/* The shared registry options, handled by cli_registry_option (cmd_registry.c). */
#define CLI_OPT_REGISTRY                                                                           \
	{.id = 0x500,                                                                              \
	 .name = "username",                                                                       \
	 .arg = CLI_ARG_VALUE,                                                                     \
	 .metavar = "USER",                                                                        \
	 .help = "registry user (with --password-stdin; default: the\ncredentials of "             \
		 "~/.docker/config.json or $DOCKER_CONFIG)"},                                      \
	    {.id = 0x501,                                                                          \
	     .name = "password-stdin",                                                             \
	     .help = "read the password or token from standard input",                             \
	     .no_config = true},                                                                   \
	    {.id = 0x502,                                                                          \
	     .name = "ca-cert",                                                                    \
	     .arg = CLI_ARG_FILE,                                                                  \
	     .metavar = "FILE",                                                                    \
	     .help = "also trust the CA certificates in FILE (PEM)"},                              \
	    {.id = 0x503,                                                                          \
	     .name = "insecure-registry",                                                          \
	     .arg = CLI_ARG_VALUE,                                                                 \
	     .metavar = "HOST",                                                                    \
	     .help = "allow plain HTTP and unverified TLS to HOST[:PORT]\n(loopback registries "   \
		     "may use plain HTTP without it)"},                                            \
	{                                                                                          \
		.id = 0x505, .name = "registry-timeout", .arg = CLI_ARG_VALUE, .metavar = "MS",    \
		.help = "per request, and the stall limit of downloads\n(default 30000)"           \
	}

/* The options section of a command's help. */
void cli_options_help(const cli_option *opts, FILE *out);
/* The environment variable of `o` ("" when it reads none), into buf. */
const char *cli_option_env(const cli_option *o, char *buf, size_t size);

/* The parser. Values come in order: config file, environment, command line; an option given
 * on the command line reads neither its variable nor its key, one set in the environment not
 * its key. Strings returned stay valid until cli_parser_free. */
typedef struct cli_value {
	int id;
	const char *arg;
	const char *source; /* NULL for the command line, else "BULWARK_X" or "FILE: KEY" */
	int optind;	    /* for an error item: optind after getopt returned it */
} cli_value;

typedef struct cli_parser {
	const struct cli_cmd *cmd;
	cli_value *v;
	size_t n, cap, next;
	char **owned; /* strings made for values (numbers from the config file, sources) */
	size_t nowned;
	json_t *config;
	int end_optind; /* first operand after parsing */
} cli_parser;

/* Parse argv with cmd->options: 0, or EXIT_USAGE after printing the error (a config file that
 * is not valid YAML, a switch's variable that is not a boolean). */
int cli_parser_init(cli_parser *p, const struct cli_cmd *cmd, int argc, char **argv);
/* The next option's id and value (*arg; NULL for a switch), ':' or '?' as getopt_long returns
 * them (optind then names the word, as cli_bad_option expects), -1 at the end with optind at
 * the first operand. */
/* The same, options stopping at the first operand (a verb whose own arguments follow). */
int cli_parser_init_in_order(cli_parser *p, const struct cli_cmd *cmd, int argc, char **argv,
			     bool in_order);
int cli_next(cli_parser *p, const char **arg);
/* runc's command line (urfave/cli), for the OCI runtime commands: `-name` and `--name` alike,
 * the value as `=VALUE` or the next word, a switch also as `--name=true|false`, exact names
 * only (no abbreviations: `-h` is never `--harden`), a one-letter short option as `-x`;
 * options end at the first operand or `--`. It reads NO environment variable and NO config
 * file: an engine's environment must not change what a runtime does. An unknown option comes
 * back as '?', a missing value as ':' (optind then names the word); *end (optional) is the
 * index of the word parsing stopped at (the unknown option itself for '?'). */
int cli_parser_init_runc(cli_parser *p, const struct cli_cmd *cmd, int argc, char **argv, int *end);
/* The row of `opts` a word of such a command line names ("-root", "--log=F"), or NULL. */
const cli_option *cli_runc_option(const cli_option *opts, const char *word);
/* One option of an OCI command, to the command's handler: its table id and value (NULL for a
 * switch). 0 to go on, else the command's exit status (the usage error printed). */
typedef int (*cli_runc_fn)(const struct cli_cmd *cmd, void *ctx, int id, const char *arg);
/* Every OCI command's options: argv parsed with cmd's table as runc does
 * (cli_parser_init_runc), each option in order to fn (NULL: the table has only -h), -h prints
 * the help. 0 with optind at the first operand; or 1 when the command ends here, with *status
 * its exit status: 0 after the help, EXIT_USAGE after an unknown option or a missing value
 * (the usage error printed), or what fn returned. */
int cli_parse_runc(const struct cli_cmd *cmd, int argc, char **argv, cli_runc_fn fn, void *ctx,
		   int *status);
/* The same for options that come before a command (runc's global options, cmd's table): an
 * option the table does not have ends them as an operand does, optind at it, for the caller
 * (bulwark's own --help and --version, or the unknown option it names). */
int cli_parse_runc_prefix(const struct cli_cmd *cmd, int argc, char **argv, cli_runc_fn fn,
			  void *ctx, int *status);
/* A handler for a table whose one option is a switch: *(bool *)ctx = true. */
int cli_runc_switch(const struct cli_cmd *cmd, void *ctx, int id, const char *arg);
void cli_parser_free(cli_parser *p);

/* The source of the value being handled, for error messages (NULL: the command line). */
extern const char *cli_value_source;

/* Hidden commands: `bulwark __complete CMD WORDS…` (candidates for the last word, one a line;
 * "@file"/"@dir" ask the shell for file names) and `bulwark __man` (the man page template on
 * stdin, the page with every command's OPTIONS on stdout), `bulwark __options CMD|global` (the
 * table as JSON, for the tests). */
int cli_complete(int argc, char **argv);
int cli_man(int argc, char **argv);
int cli_options_dump(int argc, char **argv);

#endif
