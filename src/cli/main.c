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
     cmd_scan_usage, cmd_scan},
    {"run", "run an image in a hardened, daemonless, rootless container", cmd_run_usage, cmd_run},
    {"unpack", "unpack an image into a new directory, safely", cmd_unpack_usage, cmd_unpack},
    {"inspect", "read and verify an image, print its config and layers", cmd_inspect_usage,
     cmd_inspect},
    {"audit", "audit the host, the Docker daemon, containers and workload files", cmd_audit_usage,
     cmd_audit},
    {"sbom", "list the packages of an image: CycloneDX or SPDX", cmd_sbom_usage, cmd_sbom},
    {"db", "the offline vulnerability database: import OSV advisories, status", cmd_db_usage,
     cmd_db},
    {"registry", "pull an image from a registry into an OCI layout", cmd_registry_usage,
     cmd_registry},
    {"rules", "list every rule, or explain one: risk, fix, references", cmd_rules_usage, cmd_rules},
    {"spec", "OCI runtime: write a hardened default config.json", cmd_spec_usage, cmd_spec},
    {"features", "OCI runtime: what bulwark reads of a runtime spec (JSON)", cmd_features_usage,
     cmd_features},
    {"create", "OCI runtime: create a container from a bundle", cmd_create_usage, cmd_create},
    {"start", "OCI runtime: start a created container", cmd_start_usage, cmd_start},
    {"state", "OCI runtime: a container's state (JSON)", cmd_state_usage, cmd_state},
    {"kill", "OCI runtime: signal a container", cmd_kill_usage, cmd_kill},
    {"delete", "OCI runtime: delete a container", cmd_delete_usage, cmd_delete},
    {"list", "OCI runtime: list the containers", cmd_list_usage, cmd_list},
    {"exec", "OCI runtime: run a process in a running container", cmd_exec_usage, cmd_exec},
    {"ps", "OCI runtime: the processes of a container", cmd_ps_usage, cmd_ps},
    {"pause", "OCI runtime: freeze a container", cmd_pause_usage, cmd_pause},
    {"resume", "OCI runtime: thaw a paused container", cmd_pause_usage, cmd_pause},
    {"update", "OCI runtime: new cgroup limits for a container", cmd_update_usage, cmd_update},
    {"checkpoint", "OCI runtime: not supported", cmd_checkpoint_usage, cmd_checkpoint},
    {"restore", "OCI runtime: not supported", cmd_checkpoint_usage, cmd_checkpoint},
    {NULL, NULL, NULL, NULL},
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
		fputs(c->usage, stdout);
		return EXIT_CLEAN;
	}
	if (verb[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", verb);
	const cli_cmd *c = cli_find(verb);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", verb);
	/* getopt_long in the subcommand sees argv[0] = the command name. */
	optind = 1;
	return c->main(argc - 1, argv + 1);
}
