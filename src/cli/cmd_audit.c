#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/audit.h"
#include "bulwark/privs.h"
#include "bulwark/registry.h"
#include "bulwark/secrets.h"
#include "cli.h"

const char cmd_audit_usage[] =
    "usage: bulwark audit [OPTIONS] host | daemon | containers | registry URL | FILE…\n"
    "\n"
    "Audit what surrounds containers, mapped to the CIS Docker Benchmark and the Kubernetes\n"
    "Pod Security Standards (docs/audit.md):\n"
    "  host         kernel CVEs, hardening sysctls, seccomp/AppArmor/SELinux, cgroups\n"
    "  daemon       daemon.json, dockerd flags, API socket and TCP listeners, engine CVEs\n"
    "  containers   every running container of the live engine (--all: every container)\n"
    "  registry URL what a registry exposes: anonymous catalog, pull and push, plain HTTP,\n"
    "               TLS problems, version CVEs; URL is [https://]HOST[:PORT][/REPOSITORY]\n"
    "               (the push probe opens an upload session and cancels it at once)\n"
    "  FILE…        docker inspect JSON, compose.yaml, Kubernetes manifests, OCI config.json\n"
    "               (type detected from content; '-' reads standard input; name a file\n"
    "               called host/daemon/containers as ./host)\n"
    "\n"
    "options:\n" CLI_REPORT_HELP
    "  -a, --all               containers: include stopped containers\n"
    "  -H, --host URL          engine endpoint, unix:///path or tcp://host:port\n"
    "                          (default: $DOCKER_HOST, else unix:///var/run/docker.sock)\n"
    "      --daemon-config F   daemon.json to audit (default: dockerd's --config-file,\n"
    "                          else /etc/docker/daemon.json)\n"
    "      --no-engine         daemon: audit configuration only, do not ask the engine\n"
    "      --no-probe          daemon: do not probe configured TCP listeners\n"
    "      --data DIR          kernel-cves.yaml/engine-cves.yaml from DIR instead of the\n"
    "                          built-in tables (env BWK_DATA_DIR)\n"
    "      --proc-root DIR     read /proc from DIR (env BWK_PROC_ROOT; for tests)\n"
    "      --sys-root DIR      read /sys from DIR (env BWK_SYS_ROOT)\n"
    "      --root DIR          host filesystem root for /etc and /var/lib/docker\n"
    "      --timeout MS        engine API, probe and registry request timeout (default 5000)\n"
    "registry options:\n" CLI_REGISTRY_HELP "  -h, --help              show this help\n"
    "\n"
    "examples:\n"
    "  bulwark audit host\n"
    "  bulwark audit daemon --fail-on critical\n"
    "  bulwark audit containers --all --format sarif -o containers.sarif\n"
    "  bulwark audit compose.yaml k8s/*.yaml\n"
    "  bulwark audit registry https://registry.example.com/team/app\n"
    "  docker inspect $(docker ps -q) | bulwark audit -\n";

/* `audit registry URL`: the library probes, the CLI reports (privileges are not needed). */
static int audit_registry(const cli_cmd *cmd, cli_report *rep, cli_registry *reg,
			  const bwk_audit_opts *ao, const char *url)
{
	if (!url)
		return cli_usage_error(cmd, "audit registry needs the registry's URL "
					    "([https://]HOST[:PORT][/REPOSITORY])");
	if (ao->all || ao->host || ao->daemon_config || ao->no_engine || ao->no_probe)
		return cli_usage_error(cmd, "audit registry takes no engine or host options");
	int rc = cli_registry_finish(cmd, reg);
	if (rc)
		return rc;
	if (!reg->o.timeout_ms && ao->timeout_ms)
		reg->o.timeout_ms = ao->timeout_ms;
	if (!reg->o.timeout_ms)
		reg->o.timeout_ms = 10000;
	reg->o.quiet = rep->quiet;
	bwk_error *err = NULL;
	if (bwk_privs_narrow(BWK_PRIVS_READER, !rep->quiet && (rep->verbose || isatty(2)), &err) <
	    0)
		return cli_fail(err, EXIT_USAGE);
	bwk_findings *f = bwk_findings_new();
	if (bwk_audit_registry(url, &reg->o, f, &err) < 0)
		rc = cli_fail(err, EXIT_USAGE);
	else
		rc = cli_report_finish(rep, f, "audit registry", url);
	bwk_findings_free(f);
	return rc;
}

int cmd_audit(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("audit");
	static const struct option longopts[] = {CLI_REPORT_OPTIONS,
						 CLI_REGISTRY_OPTIONS,
						 {"all", no_argument, NULL, 'a'},
						 {"host", required_argument, NULL, 'H'},
						 {"daemon-config", required_argument, NULL, 0x200},
						 {"no-engine", no_argument, NULL, 0x201},
						 {"no-probe", no_argument, NULL, 0x202},
						 {"data", required_argument, NULL, 0x203},
						 {"proc-root", required_argument, NULL, 0x204},
						 {"sys-root", required_argument, NULL, 0x205},
						 {"root", required_argument, NULL, 0x206},
						 {"timeout", required_argument, NULL, 0x207},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	cli_report rep;
	cli_report_init(&rep);
	bwk_audit_opts ao = {0};
	cli_registry reg;
	cli_registry_init(&reg);
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":" CLI_REPORT_SHORTOPTS "aH:h", longopts, NULL)) !=
	       -1) {
		int r = cli_report_option(cmd, &rep, opt, optarg);
		if (r == 0)
			r = cli_registry_option(cmd, &reg, opt, optarg);
		if (r < 0) {
			cli_registry_free(&reg);
			return EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (opt) {
		case 'a':
			ao.all = true;
			break;
		case 'H':
			ao.host = optarg;
			break;
		case 0x200:
			ao.daemon_config = optarg;
			break;
		case 0x201:
			ao.no_engine = true;
			break;
		case 0x202:
			ao.no_probe = true;
			break;
		case 0x203:
			ao.data_dir = optarg;
			break;
		case 0x204:
			ao.proc_root = optarg;
			break;
		case 0x205:
			ao.sys_root = optarg;
			break;
		case 0x206:
			ao.root = optarg;
			break;
		case 0x207: {
			char *end = NULL;
			long ms = strtol(optarg, &end, 10);
			if (!*optarg || *end || ms < 1 || ms > 600000)
				return cli_usage_error(cmd,
						       "--timeout takes milliseconds (1-600000)");
			ao.timeout_ms = (int)ms;
			break;
		}
		case 'h':
			fputs(cmd->usage, stdout);
			cli_registry_free(&reg);
			return EXIT_CLEAN;
		default:
			cli_registry_free(&reg);
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind < argc && !strcmp(argv[optind], "registry") && argc - optind <= 2) {
		int rc = audit_registry(cmd, &rep, &reg, &ao,
					argc - optind == 2 ? argv[optind + 1] : NULL);
		cli_registry_free(&reg);
		return rc;
	}
	bool reg_flags = reg.o.username || reg.password_stdin || reg.o.ca_cert || reg.insecure ||
			 reg.o.timeout_ms;
	cli_registry_free(&reg);
	if (reg_flags)
		return cli_usage_error(cmd, "the registry options apply to 'audit registry' only");
	if (optind == argc)
		return cli_usage_error(cmd, "missing what to audit: host, daemon, containers, "
					    "registry URL or FILE");
	const char *what = argv[optind];
	bool sub = !strcmp(what, "host") || !strcmp(what, "daemon") || !strcmp(what, "containers");
	if (sub && argc - optind > 1)
		return cli_usage_error(cmd, "audit %s takes no further arguments", what);
	if (ao.all && strcmp(what, "containers"))
		return cli_usage_error(cmd, "--all applies to 'audit containers' only");

	bwk_error *err = NULL;
	/* auditing reads files, /proc and a socket: nothing needs more than root's uid and
	 * CAP_DAC_READ_SEARCH, so a root run drops the rest (docs/design: privilege narrowing) */
	if (bwk_privs_narrow(BWK_PRIVS_READER, !rep.quiet && (rep.verbose || isatty(2)), &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	bwk_findings *f = bwk_findings_new();
	int rc = 0;
	char command[32];
	const char *target = what;
	if (!strcmp(what, "host")) {
		rc = bwk_audit_host(&ao, f, &err);
	} else if (!strcmp(what, "daemon")) {
		rc = bwk_audit_daemon(&ao, f, &err);
	} else if (!strcmp(what, "containers")) {
		rc = bwk_audit_containers(&ao, f, &err);
	} else {
		/* compile the secret rules once for every file */
		if (bwk_secrets_new(NULL, &ao.secrets, &err) < 0)
			rc = -1;
		for (int i = optind; i < argc && rc == 0; i++) {
			if (!strcmp(argv[i], "-")) {
				/* streamed like a file: a pipe at the size cap is never in
				 * memory whole */
				rc = bwk_audit_fd("-", 0, &ao, f, &err);
			} else {
				rc = bwk_audit_file(argv[i], &ao, f, &err);
			}
		}
		bwk_secrets_free(ao.secrets);
		what = "files";
		if (argc - optind > 1)
			target = "(several files)";
	}
	snprintf(command, sizeof(command), "audit %s", what);
	if (rc < 0)
		rc = cli_fail(err, EXIT_USAGE);
	else
		rc = cli_report_finish(&rep, f, command, target);
	bwk_findings_free(f);
	return rc;
}
