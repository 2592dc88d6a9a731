/* `bulwark registry pull REF --output DIR`, and the registry flags shared with `audit
 * registry` (cli_registry_option). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/registry.h"
#include "cli.h"
#include "core/cleanup.h"

const char cmd_registry_usage[] =
    "usage: bulwark registry pull [OPTIONS] REF --output DIR\n"
    "\n"
    "Pull one platform of an image from a registry (OCI distribution API) into a new OCI\n"
    "image layout, every blob checked against its digest; scan it with bulwark scan DIR.\n"
    "REF is REGISTRY/REPO:TAG, REPO@sha256:DIGEST or a Docker Hub name (alpine:3.19).\n"
    "\n";

const cli_option cmd_registry_options[] = {
    {.id = 'o',
     .name = "output",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "the OCI layout to create (must not exist)"},
    {.id = 0x504,
     .name = "platform",
     .arg = CLI_ARG_VALUE,
     .metavar = "OS/ARCH",
     .help = "image of a multi-platform index (default: linux/host)"},
    CLI_OPT_REGISTRY,
    {.id = 'q', .name = "quiet", .help = "no progress output"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_END},
};

const char cmd_registry_usage_tail[] =
    "\n"
    "examples:\n"
    "  bulwark registry pull registry.example.com/team/app:1.2 -o app\n"
    "  echo \"$TOKEN\" | bulwark registry pull --username ci --password-stdin \\\n"
    "      localhost:5000/app@sha256:… -o app\n";

void cli_registry_init(cli_registry *r)
{
	memset(r, 0, sizeof(*r));
}

void cli_registry_free(cli_registry *r)
{
	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->insecure);
	memset(r, 0, sizeof(*r));
}

/* The password from standard input: one line, at most 4 KiB, trailing newline removed. */
static int read_password(const cli_cmd *cmd, cli_registry *r)
{
	char buf[4097];
	size_t n = 0;
	for (;;) {
		ssize_t got = read(0, buf + n, sizeof(buf) - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		if (n == sizeof(buf) - 1) {
			explicit_bzero(buf, sizeof(buf));
			return cli_usage_error(cmd, "--password-stdin: the password is longer than "
						    "4 KiB");
		}
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	if (!n)
		return cli_usage_error(cmd, "--password-stdin: standard input is empty");
	r->password = strndup(buf, n);
	explicit_bzero(buf, sizeof(buf));
	return r->password ? 0 : EXIT_USAGE;
}

int cli_registry_option(const cli_cmd *cmd, cli_registry *r, int opt, const char *arg)
{
	switch (opt) {
	case 0x500:
		r->o.username = arg;
		return 1;
	case 0x501:
		r->password_stdin = true;
		return 1;
	case 0x502:
		r->o.ca_cert = arg;
		return 1;
	case 0x503: {
		const char **v = realloc(r->insecure, (r->ninsecure + 2) * sizeof(*v));
		if (!v)
			return -1;
		v[r->ninsecure++] = arg;
		v[r->ninsecure] = NULL;
		r->insecure = v;
		r->o.insecure = v;
		return 1;
	}
	case 0x504:
		r->o.platform = arg;
		return 1;
	case 0x505: {
		char *end = NULL;
		long ms = strtol(arg, &end, 10);
		if (!*arg || *end || ms < 1 || ms > 600000) {
			cli_usage_error(cmd, "--timeout takes milliseconds (1-600000)");
			return -1;
		}
		r->o.timeout_ms = (int)ms;
		return 1;
	}
	default:
		return 0;
	}
}

int cli_registry_finish(const cli_cmd *cmd, cli_registry *r)
{
	if (r->password_stdin && !r->o.username)
		return cli_usage_error(cmd, "--password-stdin needs --username");
	if (r->o.username && !r->password_stdin)
		return cli_usage_error(cmd, "--username needs --password-stdin (a password on the "
					    "command line is visible to every user in ps)");
	if (r->password_stdin) {
		int rc = read_password(cmd, r);
		if (rc)
			return rc;
		r->o.password = r->password;
	}
	return 0;
}

int cmd_registry(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("registry");
	cli_registry reg;
	cli_registry_init(&reg);
	const char *output = NULL;
	cleanup_with(cli_parser_free) cli_parser p;
	if (cli_parser_init(&p, cmd, argc, argv))
		return EXIT_USAGE;
	const char *val;
	int opt;
	while ((opt = cli_next(&p, &val)) != -1) {
		int r = cli_registry_option(cmd, &reg, opt, val);
		if (r < 0) {
			cli_registry_free(&reg);
			return EXIT_USAGE;
		}
		if (r > 0)
			continue;
		switch (opt) {
		case 'o':
			output = val;
			break;
		case 'q':
			reg.o.quiet = true;
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
	int rc = 0;
	if (optind >= argc || strcmp(argv[optind], "pull"))
		rc = cli_usage_error(cmd, "missing the action: pull");
	else if (argc - optind != 2)
		rc = cli_usage_error(cmd, "registry pull takes one image reference");
	else if (!output)
		rc = cli_usage_error(cmd, "registry pull needs --output DIR");
	if (rc == 0)
		rc = cli_registry_finish(cmd, &reg);
	if (rc == 0) {
		bwk_error *err = NULL;
		if (bwk_registry_pull_layout(argv[optind + 1], &reg.o, output, &err) < 0)
			rc = cli_fail(err, EXIT_USAGE);
	}
	cli_registry_free(&reg);
	return rc;
}
