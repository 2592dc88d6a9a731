/* The OCI runtime lifecycle commands, with runc's command line (containerd-shim-runc-v2, Docker
 * and Podman call them so): the global options before the command, then create, start, state,
 * kill, delete and list. Errors go to stderr and, with --log, to that file too (one line; JSON
 * with --log-format json, which is where the shim reads why a command failed). Runtime errors
 * exit 1, as runc's do; usage errors 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bulwark/oci.h"
#include "bulwark/oci_runtime.h"
#include "bulwark/sandbox.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

enum { EXIT_RUNTIME = 1 };

static struct {
	const char *root, *log, *log_format, *runtime_conf;
	bool systemd_cgroup, harden;
	char **argv; /* the whole command line, for the sealed re-execution */
} g = {BWK_OCI_DEFAULT_ROOT, NULL, "text", NULL, false, false, NULL};

int cli_oci_globals(int argc, char **argv)
{
	g.argv = argv;
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1] == '-') {
		const char *a = argv[i] + 2;
		const char *eq = strchr(a, '=');
		size_t klen = eq ? (size_t)(eq - a) : strlen(a);
#define KEY(k) (klen == strlen(k) && !strncmp(a, k, klen))
		const char **dst = KEY("root")		   ? &g.root
				   : KEY("log")		   ? &g.log
				   : KEY("log-format")	   ? &g.log_format
				   : KEY("runtime-config") ? &g.runtime_conf
							   : NULL;
		if (dst) {
			if (eq)
				*dst = eq + 1;
			else if (i + 1 < argc)
				*dst = argv[++i];
			else {
				fprintf(stderr, "bulwark: option '%s' needs a value\n", argv[i]);
				return -1;
			}
		} else if (KEY("systemd-cgroup"))
			g.systemd_cgroup = true;
		else if (KEY("harden"))
			g.harden = true;
		else if (KEY("debug"))
			; /* accepted, as runc does */
		else if (KEY("rootless")) {
			if (!eq && i + 1 < argc) /* runc's --rootless true|false|auto */
				i++;
		} else
			break; /* --help, --version: main's */
#undef KEY
		i++;
	}
	if (strcmp(g.log_format, "text") && strcmp(g.log_format, "json")) {
		fprintf(stderr, "bulwark: --log-format: 'text' or 'json', not '%s'\n",
			g.log_format);
		return -1;
	}
	if (g.log) { /* the file exists as runc's does, even when nothing is logged (the shim
		      * reads it after any failure) */
		int fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
	}
	return i - 1;
}

static void log_line(const char *level, const char *msg)
{
	if (!g.log)
		return;
	int fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *line;
	if (!strcmp(g.log_format, "json")) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", ts);
		char *j = json_dumps(o, JSON_COMPACT);
		line = xasprintf("%s\n", j);
		free(j);
		json_decref(o);
	} else
		line = xasprintf("time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
	if (write(fd, line, strlen(line)) < 0) {
	}
	free(line);
	close(fd);
}

/* Before a container can see this process: run from a sealed copy (CVE-2019-5736), with
 * descriptors 0-2 open (else our own files would take their numbers and become the
 * container's stdio). 0, or the exit status. */
static int oci_prepare(void);

static int oci_fail(bwk_error *err)
{
	bwk_code code = bwk_error_code(err);
	char *msg = bwk_error_format(err);
	log_line("error", msg ? msg : "error");
	free(msg);
	bwk_error_print(err, stderr);
	bwk_error_free(err);
	return code == BWK_E_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

static int oci_prepare(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return EXIT_RUNTIME;
	cleanup_error bwk_error *err = NULL;
	if (g.argv && bwk_oci_sealed_exe(g.argv, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return 0;
}

/* Parse "--opt" style options of one command; runc accepts both -opt and --opt. */
static int one_id(const cli_cmd *self, int argc, char **argv, const char **id)
{
	if (optind >= argc)
		return cli_usage_error(self, "a container id is required");
	*id = argv[optind++];
	return 0;
}

const char cmd_create_usage[] =
    "usage: bulwark [GLOBAL] create [-b|--bundle DIR] [--pid-file F] [--console-socket S] ID\n"
    "Create container ID from an OCI bundle (DIR, default the current directory): all of its\n"
    "setup is done and its process waits for `bulwark start ID`. Root only for now.\n"
    "global options (before the command, as runc has them):\n"
    "  --root DIR           state directory (default " BWK_OCI_DEFAULT_ROOT ")\n"
    "  --log FILE           also append errors to FILE;  --log-format text|json\n"
    "  --systemd-cgroup     cgroupsPath is slice:prefix:name (not supported yet)\n"
    "  --harden             add what the bundle left out (docs/oci-runtime.md): seccomp,\n"
    "                       no_new_privs, capabilities, masked paths, limits, read-only root;\n"
    "                       also with `harden = true` in the runtime configuration or the\n"
    "                       annotation org.bulwark.harden=true; each change is logged\n"
    "  --runtime-config F   the runtime configuration (default " BWK_OCI_RUNTIME_CONF ")\n"
    "  --pid-file F         write the container's init pid to F\n"
    "  --console-socket S   process.terminal: send the pty master to the unix socket S\n";

int cmd_create(int argc, char **argv)
{
	const cli_cmd *self = cli_find("create");
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"pid-file", required_argument, NULL, 'p'},
					     {"console-socket", required_argument, NULL, 'c'},
					     {"no-pivot", no_argument, NULL, 'n'},
					     {"no-new-keyring", no_argument, NULL, 'k'},
					     {"preserve-fds", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bwk_oci_strv changes = {0};
	bwk_oci_create_opts o = {.root = g.root,
				 .bundle = ".",
				 .systemd_cgroup = g.systemd_cgroup,
				 .harden = g.harden,
				 .runtime_conf = g.runtime_conf,
				 .changes = &changes};
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+b:h", opts, NULL)) != -1) {
		if (opt == 'b')
			o.bundle = optarg;
		else if (opt == 'p')
			o.pid_file = optarg;
		else if (opt == 'c')
			o.console_socket = optarg;
		else if (opt == 'n' || opt == 'k')
			;
		else if (opt == 'f') {
			if (strcmp(optarg, "0"))
				return cli_usage_error(self, "--preserve-fds: not supported yet");
		} else if (opt == 'h') {
			fputs(cmd_create_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	if (one_id(self, argc, argv, &o.id))
		return EXIT_USAGE;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	int r = oci_prepare();
	if (r)
		return r;
	cleanup_error bwk_error *err = NULL;
	int rc = bwk_oci_create(&o, &err);
	for (size_t i = 0; i < changes.n; i++) /* once each, in the runtime log */
		log_line("info", changes.v[i]);
	bwk_oci_strv_clear(&changes);
	if (rc < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

const char cmd_start_usage[] = "usage: bulwark [GLOBAL] start ID\n"
			       "Start the process of created container ID.\n";
const char cmd_state_usage[] = "usage: bulwark [GLOBAL] state ID\n"
			       "Print the OCI runtime state of container ID (JSON).\n";

static int simple_cmd(const char *name, const char *usage, int argc, char **argv, const char **id)
{
	const cli_cmd *self = cli_find(name);
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+h", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return -EXIT_CLEAN - 1;
		}
		return cli_bad_option(self, opt, argv);
	}
	if (one_id(self, argc, argv, id))
		return EXIT_USAGE;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int cmd_start(int argc, char **argv)
{
	const char *id = NULL;
	int r = simple_cmd("start", cmd_start_usage, argc, argv, &id);
	if (r)
		return r < 0 ? EXIT_CLEAN : r;
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_start(g.root, id, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

int cmd_state(int argc, char **argv)
{
	const char *id = NULL;
	int r = simple_cmd("state", cmd_state_usage, argc, argv, &id);
	if (r)
		return r < 0 ? EXIT_CLEAN : r;
	cleanup_error bwk_error *err = NULL;
	cleanup_free char *s = bwk_oci_state(g.root, id, &err);
	if (!s)
		return oci_fail(steal_pointer(&err));
	puts(s);
	return EXIT_CLEAN;
}

const char cmd_kill_usage[] =
    "usage: bulwark [GLOBAL] kill [-a|--all] ID [SIGNAL]\n"
    "Send SIGNAL (default SIGTERM; a name like KILL or SIGKILL, or a number) to the init of\n"
    "container ID; with --all to every process of its cgroup.\n";

int cmd_kill(int argc, char **argv)
{
	const cli_cmd *self = cli_find("kill");
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool all = false;
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+ah", opts, NULL)) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt == 'h') {
			fputs(cmd_kill_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	const char *id = NULL;
	if (one_id(self, argc, argv, &id))
		return EXIT_USAGE;
	int sig = SIGTERM;
	if (optind < argc) {
		sig = bwk_signal_from_name(argv[optind]);
		if (sig < 0)
			return cli_usage_error(self, "'%s' is not a signal", argv[optind]);
		optind++;
	}
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_kill(g.root, id, sig, all, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

const char cmd_delete_usage[] =
    "usage: bulwark [GLOBAL] delete [-f|--force] ID\n"
    "Delete container ID: its processes (a created one's init is killed), cgroup and state.\n"
    "A running container is refused unless --force (which kills it first).\n";

int cmd_delete(int argc, char **argv)
{
	const cli_cmd *self = cli_find("delete");
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool force = false;
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+fh", opts, NULL)) != -1) {
		if (opt == 'f')
			force = true;
		else if (opt == 'h') {
			fputs(cmd_delete_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	const char *id = NULL;
	if (one_id(self, argc, argv, &id))
		return EXIT_USAGE;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_delete(g.root, id, force, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

const char cmd_list_usage[] = "usage: bulwark [GLOBAL] list [-q|--quiet] [--format table|json]\n"
			      "List the containers under the state root.\n";

int cmd_list(int argc, char **argv)
{
	const cli_cmd *self = cli_find("list");
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
					     {"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool quiet = false, json = false;
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+qf:h", opts, NULL)) != -1) {
		if (opt == 'q')
			quiet = true;
		else if (opt == 'f') {
			if (strcmp(optarg, "json") && strcmp(optarg, "table"))
				return cli_usage_error(self, "--format: table or json");
			json = !strcmp(optarg, "json");
		} else if (opt == 'h') {
			fputs(cmd_list_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	cleanup_error bwk_error *err = NULL;
	cleanup_free char *text = bwk_oci_list(g.root, &err);
	if (!text)
		return oci_fail(steal_pointer(&err));
	if (json) {
		puts(text);
		return EXIT_CLEAN;
	}
	json_t *arr = json_loads(text, 0, NULL);
	if (!quiet)
		printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		if (quiet) {
			puts(id);
			continue;
		}
		const char *created = json_string_value(json_object_get(c, "created"));
		printf("%-24s %-8lld %-10s %-40s %s\n", id,
		       (long long)json_integer_value(json_object_get(c, "pid")),
		       json_string_value(json_object_get(c, "status")),
		       json_string_value(json_object_get(c, "bundle")), created ? created : "");
	}
	json_decref(arr);
	return EXIT_CLEAN;
}

const char cmd_exec_usage[] =
    "usage: bulwark [GLOBAL] exec [--process FILE] [-d|--detach] [-t|--tty] [--pid-file F]\n"
    "                             [--console-socket S] ID [COMMAND [ARG…]]\n"
    "Run a process in running container ID: the runtime-spec process object of FILE, else\n"
    "COMMAND with the container's own user, environment and capabilities. It joins the\n"
    "container's namespaces and cgroup and gets its seccomp filter. Without --detach bulwark\n"
    "waits and exits with the process's status.\n";

int cmd_exec(int argc, char **argv)
{
	const cli_cmd *self = cli_find("exec");
	static const struct option opts[] = {{"process", required_argument, NULL, 'p'},
					     {"detach", no_argument, NULL, 'd'},
					     {"tty", no_argument, NULL, 't'},
					     {"pid-file", required_argument, NULL, 'f'},
					     {"console-socket", required_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bwk_oci_exec_opts o = {.root = g.root};
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+dth", opts, NULL)) != -1) {
		if (opt == 'p')
			o.process_json = optarg;
		else if (opt == 'd')
			o.detach = true;
		else if (opt == 't')
			o.tty = true;
		else if (opt == 'f')
			o.pid_file = optarg;
		else if (opt == 'c')
			o.console_socket = optarg;
		else if (opt == 'h') {
			fputs(cmd_exec_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	if (one_id(self, argc, argv, &o.id))
		return EXIT_USAGE;
	if (o.process_json && optind < argc)
		return cli_usage_error(self, "--process and a COMMAND: give one of them");
	if (!o.process_json && optind >= argc)
		return cli_usage_error(self, "a COMMAND or --process is required");
	o.args = (const char *const *)argv + optind;
	int r = oci_prepare();
	if (r)
		return r;
	cleanup_error bwk_error *err = NULL;
	int status = 0;
	if (bwk_oci_exec(&o, &status, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return status;
}

const char cmd_ps_usage[] =
    "usage: bulwark [GLOBAL] ps [-f|--format table|json] ID\n"
    "List the pids of every process of container ID (its cgroup), as runc ps: one a line, or\n"
    "with --format json a JSON array (containerd's shim reads that).\n";

int cmd_ps(int argc, char **argv)
{
	const cli_cmd *self = cli_find("ps");
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool json = false;
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+f:h", opts, NULL)) != -1) {
		if (opt == 'f') {
			if (strcmp(optarg, "json") && strcmp(optarg, "table"))
				return cli_usage_error(self, "--format: table or json");
			json = !strcmp(optarg, "json");
		} else if (opt == 'h') {
			fputs(cmd_ps_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	const char *id = NULL;
	if (one_id(self, argc, argv, &id))
		return EXIT_USAGE;
	if (optind < argc) /* runc passes the rest to ps(1); we list pids only */
		return cli_usage_error(self,
				       "unexpected argument '%s' (ps options are not "
				       "supported)",
				       argv[optind]);
	cleanup_error bwk_error *err = NULL;
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	if (bwk_oci_ps(g.root, id, &pids, &n, &err) < 0)
		return oci_fail(steal_pointer(&err));
	if (!json)
		puts("PID");
	else
		putchar('[');
	for (size_t i = 0; i < n; i++)
		if (json)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		else
			printf("%d\n", (int)pids[i]);
	if (json)
		puts("]");
	return EXIT_CLEAN;
}

const char cmd_pause_usage[] = "usage: bulwark [GLOBAL] pause|resume ID\n"
			       "Freeze (pause) or thaw (resume) every process of container ID.\n";

int cmd_pause(int argc, char **argv)
{
	bool pause = !strcmp(argv[0], "pause");
	const char *id = NULL;
	int r = simple_cmd(pause ? "pause" : "resume", cmd_pause_usage, argc, argv, &id);
	if (r)
		return r < 0 ? EXIT_CLEAN : r;
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_pause(g.root, id, pause, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

const char cmd_update_usage[] =
    "usage: bulwark [GLOBAL] update --resources FILE|- ID\n"
    "Set new cgroup limits of container ID from a runtime-spec linux.resources JSON object\n"
    "(FILE, or standard input for -), as runc update --resources (containerd's shim uses it).\n";

int cmd_update(int argc, char **argv)
{
	const cli_cmd *self = cli_find("update");
	static const struct option opts[] = {{"resources", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *file = NULL;
	int opt;
	while ((opt = getopt_long_only(argc, argv, "+r:h", opts, NULL)) != -1) {
		if (opt == 'r')
			file = optarg;
		else if (opt == 'h') {
			fputs(cmd_update_usage, stdout);
			return EXIT_CLEAN;
		} else
			return cli_bad_option(self, opt, argv);
	}
	const char *id = NULL;
	if (one_id(self, argc, argv, &id))
		return EXIT_USAGE;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	if (!file)
		return cli_usage_error(self,
				       "--resources FILE|- is required (the other runc update "
				       "flags are not supported)");
	cleanup_error bwk_error *err = NULL;
	/* a file or a pipe (the shim writes the JSON to our standard input): at most 1 MiB */
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		bwk_error_set(&err, BWK_E_IO, errno, "--resources %s", file);
		return oci_fail(steal_pointer(&err));
	}
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 1 << 20);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0 && !sb.truncated)
		bwk_strbuf_appendn(&sb, buf, (size_t)n);
	if (fd > 0)
		close(fd);
	size_t len = sb.len;
	cleanup_free char *data = bwk_strbuf_steal(&sb);
	if (bwk_oci_update(g.root, id, data, len, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}
