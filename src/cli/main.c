#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bulwark/version.h"
#include "cli.h"

/* Every subcommand, in the order `bulwark --help` lists them. Adding one is one line here plus
 * its cmd_NAME.c. */
const cli_cmd cli_commands[] = {
    {"scan", "audit an image or root filesystem: secrets, risky settings, integrity",
     cmd_scan_usage, cmd_scan, cmd_scan_options, cmd_scan_usage_tail, "@file"},
    {"run", "run an image in a hardened, daemonless, rootless container", cmd_run_usage, cmd_run,
     cmd_run_options, cmd_run_usage_tail, "@file"},
    {"unpack", "unpack an image into a new directory, safely", cmd_unpack_usage, cmd_unpack,
     cmd_unpack_options, cmd_unpack_usage_tail, "@file"},
    {"inspect", "read and verify an image, print its config and layers", cmd_inspect_usage,
     cmd_inspect, cmd_inspect_options, NULL, "@file"},
    {"audit", "audit the host, the Docker daemon, containers and workload files", cmd_audit_usage,
     cmd_audit, cmd_audit_options, cmd_audit_usage_tail, "host daemon containers registry @file"},
    {"sbom", "list the packages of an image: CycloneDX or SPDX", cmd_sbom_usage, cmd_sbom,
     cmd_sbom_options, cmd_sbom_usage_tail, "@file"},
    {"db", "the offline vulnerability database: import OSV advisories, status", cmd_db_usage,
     cmd_db, cmd_db_options, cmd_db_usage_tail, "import update status"},
    {"registry", "pull an image from a registry into an OCI layout", cmd_registry_usage,
     cmd_registry, cmd_registry_options, cmd_registry_usage_tail, "pull"},
    {"rules", "list every rule, or explain one: risk, fix, references", cmd_rules_usage, cmd_rules,
     cmd_rules_options, cmd_rules_usage_tail, "@rules"},
    {"spec", "OCI runtime: write a hardened default config.json", cmd_spec_usage, cmd_spec, NULL,
     NULL, NULL},
    {"features", "OCI runtime: what bulwark reads of a runtime spec (JSON)", cmd_features_usage,
     cmd_features, NULL, NULL, NULL},
    {"create", "OCI runtime: create a container from a bundle", cmd_create_usage, cmd_create, NULL,
     NULL, NULL},
    {"start", "OCI runtime: start a created container", cmd_start_usage, cmd_start, NULL, NULL,
     NULL},
    {"state", "OCI runtime: a container's state (JSON)", cmd_state_usage, cmd_state, NULL, NULL,
     NULL},
    {"kill", "OCI runtime: signal a container", cmd_kill_usage, cmd_kill, NULL, NULL, NULL},
    {"delete", "OCI runtime: delete a container", cmd_delete_usage, cmd_delete, NULL, NULL, NULL},
    {"list", "OCI runtime: list the containers", cmd_list_usage, cmd_list, NULL, NULL, NULL},
    {"exec", "OCI runtime: run a process in a running container", cmd_exec_usage, cmd_exec, NULL,
     NULL, NULL},
    {"ps", "OCI runtime: the processes of a container", cmd_ps_usage, cmd_ps, NULL, NULL, NULL},
    {"pause", "OCI runtime: freeze a container", cmd_pause_usage, cmd_pause, NULL, NULL, NULL},
    {"resume", "OCI runtime: thaw a paused container", cmd_pause_usage, cmd_pause, NULL, NULL,
     NULL},
    {"update", "OCI runtime: new cgroup limits for a container", cmd_update_usage, cmd_update, NULL,
     NULL, NULL},
    {"checkpoint", "OCI runtime: not supported", cmd_checkpoint_usage, cmd_checkpoint, NULL, NULL,
     NULL},
    {"restore", "OCI runtime: not supported", cmd_checkpoint_usage, cmd_checkpoint, NULL, NULL,
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const char main_usage[] = "usage: bulwark [--help] [--version] COMMAND [ARGS…]\n";

const cli_cmd *cli_find(const char *name)
{
	for (const cli_cmd *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("bulwark: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli_value_source) /* a value from the environment or the config file */
		fprintf(stderr, " (from %s)", cli_value_source);
	fputc('\n', stderr);
	if (cmd) {
		/* first line of the command's help is its usage line */
		const char *nl = strchr(cmd->usage, '\n');
		fprintf(stderr, "%.*s\n", nl ? (int)(nl - cmd->usage) : (int)strlen(cmd->usage),
			cmd->usage);
		fprintf(stderr, "Try 'bulwark help %s' for more information.\n", cmd->name);
	} else {
		fputs(main_usage, stderr);
		fputs("Try 'bulwark --help' for more information.\n", stderr);
	}
	return EXIT_USAGE;
}

int cli_fail(bwk_error *err, int code)
{
	bwk_error_print(err, stderr);
	bwk_error_free(err);
	return code;
}

void cli_print_help(const cli_cmd *cmd, FILE *out)
{
	fputs(cmd->usage, out);
	if (!cmd->options)
		return;
	if (cmd->options[0].id != CLI_OPT_SECTION) /* else the table's own headings */
		fputs("options:\n", out);
	cli_options_help(cmd->options, out);
	if (cmd->usage_tail)
		fputs(cmd->usage_tail, out);
}

static void print_help(FILE *out)
{
	fprintf(out, "bulwark %s — find container risks, then remove them\n\n%s\ncommands:\n",
		BWK_VERSION, main_usage);
	for (const cli_cmd *c = cli_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "  %-10s %s\n", "help", "show help for a command");
	fprintf(out, "\nexit status: 0 clean, 1 findings at or above --fail-on, 2 usage or input "
		     "error\n(bulwark run: the container's status, 125 for runtime errors)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	/* runc's global options come before the command (--root DIR, --log F …) */
	int nglobal = cli_oci_globals(argc, argv);
	if (nglobal < 0)
		return EXIT_USAGE;
	argc -= nglobal;
	argv += nglobal;
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		print_help(stdout);
		return EXIT_CLEAN;
	}
	if (!strcmp(verb, "--version") || !strcmp(verb, "-V") || !strcmp(verb, "version")) {
		printf("bulwark %s\n", BWK_VERSION);
		return EXIT_CLEAN;
	}
	if (!strcmp(verb, "help")) {
		if (argc < 3) {
			print_help(stdout);
			return EXIT_CLEAN;
		}
		if (argc > 3)
			return cli_usage_error(NULL, "help takes one command name");
		const cli_cmd *c = cli_find(argv[2]);
		if (!c)
			return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
		cli_print_help(c, stdout);
		return EXIT_CLEAN;
	}
	/* hidden: what completion/bulwark.bash and the build ask the option tables */
	if (!strcmp(verb, "__complete"))
		return cli_complete(argc - 1, argv + 1);
	if (!strcmp(verb, "__man"))
		return cli_man(argc - 1, argv + 1);
	if (!strcmp(verb, "__options"))
		return cli_options_dump(argc - 1, argv + 1);
	if (verb[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", verb);
	const cli_cmd *c = cli_find(verb);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", verb);
	cli_output_install(c);
	/* getopt_long in the subcommand sees argv[0] = the command name. */
	optind = 1;
	return c->main(argc - 1, argv + 1);
}
