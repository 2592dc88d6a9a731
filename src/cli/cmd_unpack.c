#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/image.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const char cmd_unpack_usage[] =
    "usage: bulwark unpack [OPTIONS] IMAGE DIR\n"
    "       bulwark unpack --layers [--cache DIR] IMAGE\n"
    "\n"
    "Unpack the merged filesystem of IMAGE into the new directory DIR, atomically: it is\n"
    "built in DIR.tmp-XXXXXX and renamed into place only when every layer was verified and\n"
    "applied. Hostile entries (\"..\", writes through symlinks, links out of the tree) are\n"
    "refused; nothing is ever written outside DIR.\n"
    "IMAGE: a docker save archive (.tar, .tar.gz, .tar.zst), an OCI layout directory or tar\n"
    "(PATH:REF picks a manifest by name), docker:NAME[:TAG] from the Docker engine, or\n"
    "REGISTRY/REPO:TAG (REPO@sha256:…) from a registry.\n"
    "The blobs of a registry image and the documents of a docker: image are kept in the\n"
    "cache shared with run (--cache): unpacking it again downloads nothing.\n"
    "\n";

const cli_option cmd_unpack_options[] = {
    {.id = 0x300,
     .name = "keep-setuid",
     .help = "keep setuid/setgid bits (default: removed, with a warning)"},
    {.id = 0x301, .name = "devices", .help = "create device nodes (root only; default: skipped)"},
    {.id = 0x302,
     .name = "platform",
     .arg = CLI_ARG_VALUE,
     .metavar = "P",
     .help = "os/arch[/variant] to pick from a multi-platform index"},
    {.id = 0x303,
     .name = "max-size",
     .arg = CLI_ARG_VALUE,
     .metavar = "SIZE",
     .help = "refuse images that unpack to more (default 16g)"},
    {.id = 0x304,
     .name = "max-entries",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "refuse images with more entries (default 1000000)"},
    {.id = 0x305,
     .name = "layers",
     .help = "fill the layer cache (for run) and print one directory per layer"},
    {.id = 0x306,
     .name = "cache",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "the cache (default $XDG_CACHE_HOME/bulwark, root:\n/var/lib/bulwark)"},
    {.id = CLI_OPT_SECTION, .help = "registry options (docs/registry.md):"},
    CLI_OPT_REGISTRY,
    {.id = 'q', .name = "quiet", .help = "no warnings"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_END},
};

const char cmd_unpack_usage_tail[] =
    "\n"
    "examples:\n"
    "  bulwark unpack image.tar ./rootfs\n"
    "  bulwark unpack --platform linux/arm64 ./oci-layout:v1.2 ./rootfs\n";

int cmd_unpack(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("unpack");
	bwk_unpack_opts uo = {0};
	bwk_image_opts io = {.verify = BWK_VERIFY_STRICT};
	bool layers = false;
	cleanup_with(cli_registry_free) cli_registry reg;
	cli_registry_init(&reg);
	const char *cache = NULL;
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
		case 0x300:
			uo.keep_setuid = true;
			break;
		case 0x301:
			uo.devices = true;
			break;
		case 0x302:
			io.platform = val;
			break;
		case 0x303: {
			uint64_t v;
			if (bwk_parse_size(val, &v) < 0 || v == 0)
				return cli_usage_error(cmd,
						       "--max-size takes a size like 512m or 4g");
			io.max_total_bytes = v;
			break;
		}
		case 0x304: {
			char *end = NULL;
			unsigned long long n = strtoull(val, &end, 10);
			if (!*val || *end || n == 0 || val[0] == '-')
				return cli_usage_error(cmd,
						       "--max-entries takes a positive number");
			io.max_entries = n;
			break;
		}
		case 0x305:
			layers = true;
			break;
		case 0x306:
			cache = val;
			break;
		case 'q':
			uo.quiet = true;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	int want = layers ? 1 : 2;
	if (argc - optind != want)
		return cli_usage_error(
		    cmd, argc - optind < want ? "missing %s" : "too many arguments%.0s",
		    layers ? "IMAGE" : "IMAGE and DIR");
	if (cli_registry_finish(cmd, &reg))
		return EXIT_USAGE;
	bwk_error *err = NULL;
	bwk_image *img = NULL;
	/* the cache run uses: registry blobs and a docker: image's documents are kept there,
	 * when there is one (--cache, root's /var/lib/bulwark, a user's cache directory); without
	 * one (no HOME) unpack streams as before, only --layers needs it */
	cleanup_free char *home_cache = cache || geteuid() == 0 ? NULL : bwk_user_cache_dir();
	io.cache = layers || cache || geteuid() == 0 || home_cache;
	io.cache_dir = cache;
	io.registry = &reg.o;
	if (bwk_image_open(argv[optind], &io, &img, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	int rc = EXIT_CLEAN;
	if (layers) {
		char **dirs = NULL;
		if (bwk_image_cache_layers(img, cache, &uo, &dirs, &err) < 0) {
			rc = cli_fail(err, EXIT_USAGE);
		} else {
			for (char **d = dirs; *d; d++)
				printf("%s\n", *d);
			bwk_strv_free(dirs);
		}
	} else if (bwk_image_unpack(img, &uo, argv[optind + 1], &err) < 0) {
		rc = cli_fail(err, EXIT_USAGE);
	}
	bwk_image_close(img);
	return rc;
}
