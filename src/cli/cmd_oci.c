/* The OCI runtime command line, as runc and crun have it: `spec` (a hardened default
 * config.json), `features`, and `checkpoint`/`restore` answered with "not supported". The
 * lifecycle is in cmd_oci_lifecycle.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/oci.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const cli_option cmd_spec_options[] = {
    {.id = 'r',
     .name = "rootless",
     .help = "map only the caller's uid and gid (to 0) and set no\ncgroup limits",
     .no_config = true},
    {.id = 'b',
     .name = "bundle",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "write DIR/config.json (default: the current directory)",
     .no_config = true},
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_spec_usage[] =
    "usage: bulwark spec [--rootless] [-b|--bundle DIR]\n"
    "Write a new config.json (ociVersion 1.0.2, read by runc and crun too) into DIR\n"
    "(default: the current directory): bulwark run's hardened defaults — the pid, mount,\n"
    "network, IPC, UTS and cgroup namespaces (no user namespace: runc refuses one without\n"
    "mappings; --rootless adds one mapping your uid and gid to 0), noNewPrivileges, the\n"
    "default capability set, memory 512 MiB, 512 pids and CPU shares 512 (none with\n"
    "--rootless), a read-only root \"rootfs\", masked and read-only /proc and /sys paths —\n"
    "running `sh` in a terminal. An existing config.json is never overwritten.\n";

const char cmd_features_usage[] = "usage: bulwark features\n"
				  "Print what bulwark reads of a runtime spec, as the OCI "
				  "runtime-spec's features.md JSON.\n";

/* checkpoint and restore take runc's options (CRIU's) so that a caller gets the one clear
 * answer below rather than an unknown-option error */
#define CR_SW(name_)                                                                               \
	{                                                                                          \
		.id = 0x780, .name = (name_), .help = "accepted, as runc has it",                  \
		.no_config = true                                                                  \
	}
#define CR_VAL(name_, meta_)                                                                       \
	{                                                                                          \
		.id = 0x781, .name = (name_), .arg = CLI_ARG_VALUE, .metavar = (meta_),            \
		.help = "accepted, as runc has it", .no_config = true                              \
	}
#define CR_COMMON                                                                                  \
	CR_VAL("image-path", "DIR"), CR_VAL("work-path", "DIR"), CR_SW("tcp-established"),         \
	    CR_SW("ext-unix-sk"), CR_SW("shell-job"), CR_SW("file-locks"),                         \
	    CR_VAL("manage-cgroups-mode", "MODE"), CR_VAL("empty-ns", "NS"), CR_SW("auto-dedup"),  \
	    CR_SW("lazy-pages")

const cli_option cmd_checkpoint_options[] = {CR_COMMON,
					     CR_VAL("parent-path", "DIR"),
					     CR_SW("leave-running"),
					     CR_VAL("status-fd", "FD"),
					     CR_VAL("page-server", "ADDR"),
					     CR_SW("pre-dump"),
					     CLI_OPT_HELP,
					     {.id = CLI_OPT_END}};

const cli_option cmd_restore_options[] = {
    CR_COMMON,
    CR_VAL("console-socket", "SOCKET"),
    {.id = 'b',
     .name = "bundle",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "accepted, as runc has it",
     .no_config = true},
    {.id = 'd', .name = "detach", .help = "accepted, as runc has it", .no_config = true},
    CR_VAL("pid-file", "FILE"),
    CR_SW("no-subreaper"),
    CR_SW("no-pivot"),
    CR_VAL("lsm-profile", "PROFILE"),
    CR_VAL("lsm-mount-context", "CONTEXT"),
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_checkpoint_usage[] = "usage: bulwark [GLOBAL] checkpoint [OPTIONS] ID\n"
				    "Not supported: bulwark does not checkpoint containers (runc's "
				    "options are\naccepted, and the answer is one line, exit 1).\n";
const char cmd_restore_usage[] = "usage: bulwark [GLOBAL] restore [OPTIONS] ID\n"
				 "Not supported: bulwark does not restore containers (runc's "
				 "options are\naccepted, and the answer is one line, exit 1).\n";

typedef struct spec_args {
	bool rootless;
	const char *bundle;
} spec_args;

static int spec_option(const cli_cmd *cmd, void *ctx, int id, const char *arg)
{
	(void)cmd;
	spec_args *a = ctx;
	if (id == 'r')
		a->rootless = true;
	else if (id == 'b')
		a->bundle = arg;
	return 0;
}

int cmd_spec(int argc, char **argv)
{
	const cli_cmd *self = cli_find("spec");
	spec_args a = {.bundle = "."};
	int status;
	if (cli_parse_runc(self, argc, argv, spec_option, &a, &status))
		return status;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	cleanup_error bwk_error *err = NULL;
	cleanup_with(bwk_oci_spec_freep) bwk_oci_spec *s = NULL;
	if (bwk_oci_spec_default(a.rootless, (uint32_t)getuid(), (uint32_t)getgid(), &s, &err) < 0)
		return cli_fail(steal_pointer(&err), EXIT_USAGE);
	cleanup_free char *text = bwk_oci_spec_serialise(s, true, &err);
	if (!text)
		return cli_fail(steal_pointer(&err), EXIT_USAGE);
	cleanup_close int dir = open(a.bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* O_EXCL: never overwrite a bundle's config, nor follow a link planted at its name */
	cleanup_close int fd =
	    dir < 0 ? -1
		    : openat(dir, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		bwk_error_set(
		    &err, e == EEXIST ? BWK_E_USAGE : BWK_E_IO, e, "%s/config.json%s", a.bundle,
		    e == EEXIST ? " exists: remove it first, or choose another --bundle" : "");
		return cli_fail(steal_pointer(&err), EXIT_USAGE);
	}
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		bwk_error_set(&err, BWK_E_IO, errno, "%s/config.json: writing", a.bundle);
		return cli_fail(steal_pointer(&err), EXIT_USAGE);
	}
	return EXIT_CLEAN;
}

int cmd_features(int argc, char **argv)
{
	const cli_cmd *self = cli_find("features");
	int status;
	if (cli_parse_runc(self, argc, argv, NULL, NULL, &status))
		return status;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	/* org.bulwark.status: the OCI runtime's commands, as the command table has them */
	char what[512] = "OCI runtime commands:";
	size_t n = strlen(what);
	for (const cli_cmd *c = cli_commands; c->name && n < sizeof what; c++)
		if (!strncmp(c->summary, "OCI runtime: ", 13) &&
		    !strstr(c->summary, "not supported"))
			n += (size_t)snprintf(what + n, sizeof what - n, " %s",
					      strcmp(c->name, "oci-run") ? c->name : "run");
	cleanup_error bwk_error *err = NULL;
	cleanup_free char *j = bwk_oci_features_json(what, &err);
	if (!j)
		return cli_fail(steal_pointer(&err), EXIT_USAGE);
	puts(j);
	return EXIT_CLEAN;
}

int cmd_checkpoint(int argc, char **argv)
{
	const cli_cmd *self = cli_find(strcmp(argv[0], "restore") ? "checkpoint" : "restore");
	int status; /* every option is accepted and ignored */
	if (cli_parse_runc(self, argc, argv, NULL, NULL, &status))
		return status;
	fprintf(stderr,
		"bulwark: %s: not supported: bulwark does not checkpoint or restore containers "
		"(use runc or crun with CRIU for that)\n",
		argv[0]);
	return EXIT_FINDINGS;
}
