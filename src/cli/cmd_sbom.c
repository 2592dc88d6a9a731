#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/inventory.h"
#include "bulwark/privs.h"
#include "bulwark/scan.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const char cmd_sbom_usage[] =
    "usage: bulwark sbom [OPTIONS] TARGET\n"
    "\n"
    "List the packages installed in an image or root filesystem (dpkg, apk, Python, npm)\n"
    "as a software bill of materials. Packages whose database a later layer deleted or\n"
    "replaced are not listed: the merged filesystem counts.\n"
    "\n";

const cli_option cmd_sbom_options[] = {
    {.id = 'f',
     .name = "format",
     .arg = CLI_ARG_VALUE,
     .metavar = "FMT",
     .help = "cyclonedx (CycloneDX 1.5, default), spdx-json (SPDX 2.3)\nor json (bulwark's own: "
	     "packages with file and layer)",
     .choices = "cyclonedx spdx-json json"},
    {.id = 'o',
     .name = "output",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "write to FILE atomically (default: stdout)"},
    {.id = 'j',
     .name = "threads",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "worker threads (default: number of CPUs)"},
    {.id = 0x201,
     .name = "platform",
     .arg = CLI_ARG_VALUE,
     .metavar = "P",
     .help = "os/arch[/variant] to pick from a multi-platform index"},
    {.id = 'q', .name = "quiet", .help = "no warnings"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_SECTION, .help = "registry options (docs/registry.md):"},
    CLI_OPT_REGISTRY,
    {.id = CLI_OPT_END},
};

const char cmd_sbom_usage_tail[] =
    "\n"
    "examples:\n"
    "  bulwark sbom image.tar > image.cdx.json\n"
    "  bulwark sbom --format spdx-json -o rootfs.spdx.json ./rootfs\n";

int cli_write_document(const char *output, const char *doc, bwk_error **err)
{
	size_t len = strlen(doc);
	if (output)
		return bwk_write_file_atomic(output, doc, len, 0644, err);
	if (fwrite(doc, 1, len, stdout) != len || fputc('\n', stdout) == EOF || fflush(stdout))
		return bwk_error_set(err, BWK_E_IO, 0, "cannot write the document to stdout");
	return 0;
}

const char *cli_fact(const bwk_findings *f, const char *key)
{
	const char *found = NULL;
	for (size_t i = 0; i < bwk_findings_fact_count(f); i++) {
		const char *k, *v;
		if (bwk_findings_fact_get(f, i, &k, &v) && strcmp(k, key) == 0)
			found = v;
	}
	return found;
}

int cmd_sbom(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("sbom");
	cleanup_with(cli_registry_free) cli_registry reg;
	cli_registry_init(&reg);
	bwk_sbom_format fmt = BWK_SBOM_CYCLONEDX;
	const char *output = NULL;
	bool quiet = false;
	bwk_scan_opts so = {0};
	cleanup_with(cli_parser_free) cli_parser p;
	if (cli_parser_init(&p, cmd, argc, argv))
		return EXIT_USAGE;
	const char *val;
	int opt;
	while ((opt = cli_next(&p, &val)) != -1) {
		int r = cli_registry_option(cmd, &reg, opt, val);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'f':
			if (bwk_sbom_format_parse(val, &fmt) < 0)
				return cli_usage_error(cmd,
						       "unknown format '%s': cyclonedx, spdx-json "
						       "or json",
						       val);
			break;
		case 'o':
			output = val;
			break;
		case 'j':
			if (cli_parse_threads(cmd, val, &so.threads))
				return EXIT_USAGE;
			break;
		case 0x201:
			so.platform = val;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind == argc ? "missing TARGET"
							   : "sbom takes exactly one TARGET");
	const char *target = argv[optind];
	if (reg.password_stdin && !strcmp(target, "-"))
		return cli_usage_error(cmd, "--password-stdin and TARGET '-' both want standard "
					    "input");
	if (cli_registry_finish(cmd, &reg))
		return EXIT_USAGE;
	reg.o.quiet = quiet;
	so.registry = &reg.o;
	so.target = target;
	so.quiet = true; /* no secret-scan progress line: only packages are read */
	so.inventory_only = true;
	cleanup_with(bwk_inventory_freep) bwk_inventory *inv = NULL;
	so.inventory = &inv;
	bwk_error *err = NULL;
	if (bwk_privs_narrow(BWK_PRIVS_READER, !quiet && isatty(2), &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	cleanup_with(bwk_findings_freep) bwk_findings *f = bwk_findings_new();
	int rc = EXIT_CLEAN;
	if (bwk_scan_target(target, &so, f, &err) < 0) {
		rc = cli_fail(err, EXIT_USAGE);
	} else {
		for (size_t i = 0; !quiet && bwk_inventory_warning(inv, i); i++)
			fprintf(stderr, "bulwark: warning: %s\n", bwk_inventory_warning(inv, i));
		char *doc =
		    bwk_inventory_render(inv, fmt, target, cli_fact(f, "image.digest"), &err);
		if (!doc || cli_write_document(output, doc, &err) < 0)
			rc = cli_fail(err, EXIT_USAGE);
		free(doc);
	}
	return rc;
}
