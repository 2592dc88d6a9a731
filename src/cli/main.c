#define _GNU_SOURCE
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
    {"spec", "OCI runtime: write a hardened default config.json", cmd_spec_usage, cmd_spec,
     cmd_spec_options, NULL, NULL},
    {"features", "OCI runtime: what bulwark reads of a runtime spec (JSON)", cmd_features_usage,
     cmd_features, cmd_id_options, NULL, NULL},
    {"create", "OCI runtime: create a container from a bundle", cmd_create_usage, cmd_create,
     cmd_create_options, NULL, NULL},
    {"oci-run", "OCI runtime: create, start and wait (runc run; also `run -b`)", cmd_oci_run_usage,
     cmd_oci_run, cmd_oci_run_options, NULL, NULL},
    {"start", "OCI runtime: start a created container", cmd_start_usage, cmd_start, cmd_id_options,
     NULL, NULL},
    {"state", "OCI runtime: a container's state (JSON)", cmd_state_usage, cmd_state, cmd_id_options,
     NULL, NULL},
    {"kill", "OCI runtime: signal a container", cmd_kill_usage, cmd_kill, cmd_kill_options, NULL,
     NULL},
    {"delete", "OCI runtime: delete a container", cmd_delete_usage, cmd_delete, cmd_delete_options,
     NULL, NULL},
    {"list", "OCI runtime: list the containers", cmd_list_usage, cmd_list, cmd_list_options, NULL,
     NULL},
    {"exec", "OCI runtime: run a process in a running container", cmd_exec_usage, cmd_exec,
     cmd_exec_options, NULL, NULL},
    {"ps", "OCI runtime: the processes of a container", cmd_ps_usage, cmd_ps, cmd_ps_options, NULL,
     NULL},
    {"pause", "OCI runtime: freeze a container", cmd_pause_usage, cmd_pause, cmd_id_options, NULL,
     NULL},
    {"resume", "OCI runtime: thaw a paused container", cmd_pause_usage, cmd_pause, cmd_id_options,
     NULL, NULL},
    {"update", "OCI runtime: new cgroup limits for a container", cmd_update_usage, cmd_update,
     cmd_update_options, NULL, NULL},
    {"events", "OCI runtime: a container's stats and OOM events (JSON lines)", cmd_events_usage,
     cmd_events, cmd_events_options, NULL, NULL},
    {"checkpoint", "OCI runtime: not supported", cmd_checkpoint_usage, cmd_checkpoint,
     cmd_checkpoint_options, NULL, NULL},
    {"restore", "OCI runtime: not supported", cmd_restore_usage, cmd_checkpoint,
     cmd_restore_options, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static void print_help(FILE *out)
{
	fprintf(out, "bulwark %s — find container risks, then remove them\n\n%s\ncommands:\n",
		BWK_VERSION, cli_main_usage);
	for (const cli_cmd *c = cli_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "  %-10s %s\n", "help", "show help for a command");
	fputs("\nOCI runtime global options (before the command, as runc's; -opt and --opt alike;\n"
	      "never read from the environment or a config file):\n",
	      out);
	cli_options_help(cli_oci_global_options, out);
	fprintf(out, "\nexit status: 0 clean, 1 findings at or above --fail-on, 2 usage or input "
		     "error\n(bulwark run: the container's status, 125 for runtime errors)\n");
}

/* `run` is runc's (create, start, wait a bundle) rather than the daemonless run of an image
 * when a global runtime option precedes it (bulwark --root DIR run …: engines and scripts
 * written for runc always pass one), when bulwark is called as runc (a symlink named runc or
 * ending in -runc), or when its options before the first operand include -b/--bundle, which
 * the daemonless run does not have. Nothing else changes its meaning: `bulwark run IMAGE`
 * stays the daemonless run (docs/oci-runtime.md). */
static bool oci_run_wanted(const char *argv0, int nglobal, int argc, char **argv)
{
	if (nglobal > 0)
		return true;
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	size_t n = strlen(base);
	if (!strcmp(base, "runc") || (n > 5 && !strcmp(base + n - 5, "-runc")))
		return true;
	for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
		const char *w = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		size_t k = strcspn(w, "=");
		if ((k == 1 && w[0] == 'b') || (k == 6 && !strncmp(w, "bundle", 6)))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return EXIT_USAGE;
	}
	/* runc's global options come before the command (--root DIR, --log F …) */
	const char *argv0 = argv[0];
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
	if (!strcmp(verb, "run") && oci_run_wanted(argv0, nglobal, argc - 1, argv + 1)) {
		c = cli_find("oci-run");
		if (!c)
			return EXIT_USAGE; /* not reached: oci-run is in the table */
	}
	cli_output_install(c);
	/* getopt_long in the subcommand sees argv[0] = the command name. */
	optind = 1;
	return c->main(argc - 1, argv + 1);
}
