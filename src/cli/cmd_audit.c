#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/audit.h"
#include "bulwark/privs.h"
#include "bulwark/registry.h"
#include "bulwark/scan.h"
#include "bulwark/secrets.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

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
    "               --scan-all: also scan every image it lists (as bulwark scan), one\n"
    "               report grouped by image: which images leak credentials\n"
    "  FILE…        docker inspect JSON, compose.yaml, Kubernetes manifests, OCI config.json\n"
    "               (type detected from content; '-' reads standard input; name a file\n"
    "               called host/daemon/containers as ./host)\n"
    "\n";

const cli_option cmd_audit_options[] = {
    CLI_OPT_REPORT,
    {.id = 'a', .name = "all", .help = "containers: include stopped containers"},
    {.id = 'H',
     .name = "host",
     .arg = CLI_ARG_VALUE,
     .metavar = "URL",
     .help = "engine endpoint, unix:///path or tcp://host:port\n(default: $DOCKER_HOST, else "
	     "unix:///var/run/docker.sock)"},
    {.id = 0x200,
     .name = "daemon-config",
     .arg = CLI_ARG_FILE,
     .metavar = "F",
     .help = "daemon.json to audit (default: dockerd's --config-file,\nelse "
	     "/etc/docker/daemon.json)"},
    {.id = 0x201,
     .name = "no-engine",
     .help = "daemon: audit configuration only, do not ask the engine"},
    {.id = 0x202, .name = "no-probe", .help = "daemon: do not probe configured TCP listeners"},
    {.id = 0x203,
     .name = "data",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "kernel-cves.yaml/engine-cves.yaml/registry-cves.yaml from DIR\ninstead of the "
	     "built-in tables",
     .env = "BULWARK_DATA_DIR",
     .env_old = "BWK_DATA_DIR"},
    {.id = 0x204,
     .name = "proc-root",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "read /proc from DIR (for tests)",
     .env_old = "BWK_PROC_ROOT"},
    {.id = 0x205,
     .name = "sys-root",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "read /sys from DIR",
     .env_old = "BWK_SYS_ROOT"},
    {.id = 0x206,
     .name = "root",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "host filesystem root for /etc and /var/lib/docker"},
    {.id = 0x207,
     .name = "timeout",
     .arg = CLI_ARG_VALUE,
     .metavar = "MS",
     .help = "engine API, probe and registry request timeout (default 5000)"},
    {.id = CLI_OPT_SECTION, .help = "registry options:"},
    {.id = 0x208,
     .name = "scan-all",
     .help = "scan every tag of every repository the registry lists\n(/v2/_catalog, or the "
	     "REPOSITORY of the URL)"},
    {.id = 0x209,
     .name = "max-images",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "scan at most N images (default 500, at most 10000);\nthe report says when the "
	     "registry listed more"},
    {.id = 0x20a,
     .name = "jobs",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "images scanned at once (default: number of CPUs)"},
    {.id = 0x20b,
     .name = "db",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "vulnerability database for --scan-all (default:\n$XDG_CACHE_HOME/bulwark/vuln.db)"},
    {.id = 0x20c,
     .name = "repo",
     .arg = CLI_ARG_VALUE,
     .metavar = "NAME[:TAG]",
     .help = "--scan-all: scan repository NAME (every tag, or TAG)\ninstead of what the catalog "
	     "lists; repeatable (for a\nregistry whose catalog is closed)"},
    CLI_OPT_REGISTRY,
    CLI_OPT_HELP,
    {.id = CLI_OPT_END},
};

const char cmd_audit_usage_tail[] =
    "\n"
    "examples:\n"
    "  bulwark audit host\n"
    "  bulwark audit daemon --fail-on critical\n"
    "  bulwark audit containers --all --format sarif -o containers.sarif\n"
    "  bulwark audit compose.yaml k8s/*.yaml\n"
    "  bulwark audit registry https://registry.example.com/team/app\n"
    "  bulwark audit registry --scan-all --fail-on high registry.example.com\n"
    "  docker inspect $(docker ps -q) | bulwark audit -\n";

/* --scan-all and its bounds */
typedef struct scan_all_opts {
	bool on;
	long max_images;
	unsigned jobs;
	const char *db;
	const char **repos; /* --repo, NULL-terminated */
	size_t nrepos;
} scan_all_opts;

#define SCAN_ALL_DEFAULT_MAX 500

/* --scan-all: the secret and YARA rules every image is scanned with, compiled on a thread of
 * their own while the registry is probed and listed — CPU work that would otherwise wait for
 * the network, and then hold up every worker. */
typedef struct rule_compile {
	bwk_scan_opts so;
	bwk_scan_compiled *compiled;
	bwk_error *err;
	pthread_t th;
	bool running;
} rule_compile;

static void *rule_compile_main(void *arg)
{
	rule_compile *rc = arg;
	if (bwk_scan_compiled_new(&rc->so, &rc->compiled, &rc->err) < 0)
		rc->compiled = NULL;
	return NULL;
}

static void rule_compile_start(rule_compile *rc)
{
	rc->running = pthread_create(&rc->th, NULL, rule_compile_main, rc) == 0;
}

/* The compiled rules in so.compiled (NULL when no thread could be started: bwk_scan_many
 * compiles them), or -1 with the compiler's error. */
static int rule_compile_join(rule_compile *rc, bwk_error **err)
{
	if (!rc->running)
		return 0;
	pthread_join(rc->th, NULL);
	rc->running = false;
	if (!rc->compiled) {
		*err = rc->err;
		rc->err = NULL;
		return -1;
	}
	rc->so.compiled = rc->compiled;
	return 0;
}

static void rule_compile_free(rule_compile *rc)
{
	bwk_error *e = NULL;
	if (rule_compile_join(rc, &e) < 0)
		bwk_error_free(e);
	bwk_scan_compiled_free(rc->compiled);
	bwk_error_free(rc->err);
}

/* --scan-all: every image the registry lists, scanned as `bulwark scan` scans one, on a pool
 * of workers; the report groups the findings by image after the registry's own. */
static int scan_all(const char *url, const scan_all_opts *sa, rule_compile *rules, cli_report *rep,
		    bwk_findings *f, bwk_report_group **groups, size_t *ngroups,
		    bwk_registry_images *imgs, char ***errors, bwk_error **err)
{
	size_t max = sa->max_images ? (size_t)sa->max_images : SCAN_ALL_DEFAULT_MAX;
	if (bwk_registry_list_images(url, rules->so.registry, sa->repos, max, imgs, f, err) < 0)
		return -1;
	bwk_findings_fact(f, "registry.scan_all", "%zu image(s) scanned%s%s (--max-images %zu)%s",
			  imgs->n, imgs->truncated ? "; the registry lists more" : "",
			  imgs->truncated ? ", not scanned" : "", max,
			  imgs->unlisted ? "; some repositories' tags could not be listed" : "");
	if (imgs->truncated && !rep->quiet)
		fprintf(stderr,
			"bulwark: %s lists more than %zu images: the first %zu are scanned "
			"(--max-images)\n",
			url, max, max);
	*errors = xcalloc(imgs->n + 1, sizeof(char *));
	if (rule_compile_join(rules, err) < 0 ||
	    bwk_scan_many((const char *const *)imgs->refs, imgs->n, &rules->so, sa->jobs, f,
			  *errors, err) < 0)
		return -1;
	*groups = xcalloc(imgs->n + 1, sizeof(**groups));
	(*groups)[0] = (bwk_report_group){.target = url};
	for (size_t i = 0; i < imgs->n; i++)
		(*groups)[i + 1] =
		    (bwk_report_group){.target = imgs->refs[i], .error = (*errors)[i]};
	*ngroups = imgs->n + 1;
	return 0;
}

/* `audit registry URL`: the library probes, the CLI reports (privileges are not needed). */
static int audit_registry(const cli_cmd *cmd, cli_report *rep, cli_registry *reg,
			  const bwk_audit_opts *ao, const scan_all_opts *sa, const char *url)
{
	if (!url)
		return cli_usage_error(cmd, "audit registry needs the registry's URL "
					    "([https://]HOST[:PORT][/REPOSITORY])");
	if (ao->all || ao->host || ao->daemon_config || ao->no_engine || ao->no_probe)
		return cli_usage_error(cmd, "audit registry takes no engine or host options");
	if (!sa->on && (sa->max_images || sa->jobs || sa->db || sa->nrepos))
		return cli_usage_error(cmd,
				       "--max-images, --jobs, --db and --repo go with --scan-all");
	int rc = cli_registry_finish(cmd, reg);
	if (rc)
		return rc;
	if (!reg->o.timeout_ms && ao->timeout_ms)
		reg->o.timeout_ms = ao->timeout_ms;
	if (!reg->o.timeout_ms)
		reg->o.timeout_ms = 10000;
	reg->o.quiet = rep->quiet;
	reg->o.data_dir = ao->data_dir;
	bwk_error *err = NULL;
	if (bwk_privs_narrow(BWK_PRIVS_READER, !rep->quiet && (rep->verbose || isatty(2)), &err) <
	    0)
		return cli_fail(err, EXIT_USAGE);
	/* released in the reverse order: the findings before the rules they may point into */
	cleanup_with(rule_compile_free)
	    rule_compile rules = {.so = {.quiet = true, .vuln_db = sa->db, .registry = &reg->o}};
	cleanup_with(bwk_findings_freep) bwk_findings *f = bwk_findings_new();
	cleanup_with(bwk_registry_images_free) bwk_registry_images imgs = {0};
	cleanup_free bwk_report_group *groups = NULL;
	char **errors = NULL; /* imgs.n slots, NULL where the scan succeeded */
	if (sa->on)
		rule_compile_start(&rules);
	if (bwk_audit_registry(url, &reg->o, f, &err) < 0 ||
	    (sa->on &&
	     scan_all(url, sa, &rules, rep, f, &groups, &rep->ngroups, &imgs, &errors, &err) < 0)) {
		rc = cli_fail(err, EXIT_USAGE);
	} else {
		rep->groups = groups;
		rc = cli_report_finish(
		    rep, f, sa->on ? "audit registry --scan-all" : "audit registry", url);
	}
	for (size_t i = 0; errors && i < imgs.n; i++)
		free(errors[i]);
	free(errors);
	return rc;
}

/* Whether option `opt` means anything to audit MODE (the combinations the checks after parsing
 * refuse on the command line). */
static bool applies(int opt, const char *mode)
{
	bool registry = !strcmp(mode, "registry");
	if (opt == 'a')
		return !strcmp(mode, "containers");
	if (opt == 'H' || (opt >= 0x200 && opt <= 0x202))
		return !registry;
	if ((opt >= 0x208 && opt <= 0x20c) || (opt >= 0x500 && opt <= 0x505))
		return registry;
	return true;
}

int cmd_audit(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("audit");
	cli_report rep;
	cli_report_init(&rep);
	bwk_audit_opts ao = {.runtime_harden = cli_oci_args_harden};
	scan_all_opts sa = {0};
	cleanup_strv_clear bwk_strv repos = {0}; /* sa.repos */
	cli_registry reg;
	cli_registry_init(&reg);
	cleanup_with(cli_parser_free) cli_parser p;
	if (cli_parser_init(&p, cmd, argc, argv)) {
		cli_registry_free(&reg);
		return EXIT_USAGE;
	}
	const char *val;
	int opt;
	const char *mode = p.end_optind < argc ? argv[p.end_optind] : "";
	while ((opt = cli_next(&p, &val)) != -1) {
		/* a variable or config key of another mode is not an error: BULWARK_DB or db: in
		 * the file is meant for scan and for audit registry --scan-all, not audit host */
		if (cli_value_source && !applies(opt, mode))
			continue;
		int r = cli_report_option(cmd, &rep, opt, val);
		if (r == 0)
			r = cli_registry_option(cmd, &reg, opt, val);
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
			ao.host = val;
			break;
		case 0x200:
			ao.daemon_config = val;
			break;
		case 0x201:
			ao.no_engine = true;
			break;
		case 0x202:
			ao.no_probe = true;
			break;
		case 0x203:
			ao.data_dir = val;
			break;
		case 0x204:
			ao.proc_root = val;
			break;
		case 0x205:
			ao.sys_root = val;
			break;
		case 0x206:
			ao.root = val;
			break;
		case 0x207: {
			char *end = NULL;
			long ms = strtol(val, &end, 10);
			if (!*val || *end || ms < 1 || ms > 600000)
				return cli_usage_error(cmd,
						       "--timeout takes milliseconds (1-600000)");
			ao.timeout_ms = (int)ms;
			break;
		}
		case 0x208:
			sa.on = true;
			break;
		case 0x209: {
			char *end = NULL;
			sa.max_images = strtol(val, &end, 10);
			if (!*val || *end || sa.max_images < 1 ||
			    sa.max_images > BWK_REG_MAX_IMAGES) {
				cli_registry_free(&reg);
				return cli_usage_error(cmd,
						       "--max-images takes a number from 1 to %d",
						       BWK_REG_MAX_IMAGES);
			}
			break;
		}
		case 0x20a: {
			char *end = NULL;
			long j = strtol(val, &end, 10);
			if (!*val || *end || j < 1 || j > 256) {
				cli_registry_free(&reg);
				return cli_usage_error(cmd, "--jobs takes a number from 1 to 256");
			}
			sa.jobs = (unsigned)j;
			break;
		}
		case 0x20b:
			sa.db = val;
			break;
		case 0x20c:
			if (bwk_strv_push(&repos, val, NULL) < 0) {
				cli_registry_free(&reg);
				return cli_usage_error(cmd, "more than %d --repo", BWK_STRV_MAX);
			}
			sa.repos = (const char **)repos.v;
			sa.nrepos = repos.n;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			cli_registry_free(&reg);
			return EXIT_CLEAN;
		default:
			cli_registry_free(&reg);
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind < argc && !strcmp(argv[optind], "registry") && argc - optind <= 2) {
		int rc = audit_registry(cmd, &rep, &reg, &ao, &sa,
					argc - optind == 2 ? argv[optind + 1] : NULL);
		cli_registry_free(&reg);
		return rc;
	}
	bool reg_flags = reg.o.username || reg.password_stdin || reg.o.ca_cert || reg.insecure ||
			 reg.o.timeout_ms;
	cli_registry_free(&reg);
	if (sa.on || sa.max_images || sa.jobs || sa.db || sa.nrepos)
		return cli_usage_error(cmd, "--scan-all, --max-images, --jobs, --db and --repo "
					    "apply to 'audit registry' only");
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
	cleanup_with(bwk_findings_freep) bwk_findings *f = bwk_findings_new();
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
	return rc;
}
