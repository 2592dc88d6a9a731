#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/image.h"
#include "cli.h"
#include "core/cleanup.h"

const char cmd_inspect_usage[] =
    "usage: bulwark inspect [OPTIONS] IMAGE\n"
    "\n"
    "Read IMAGE end to end (decompress, verify every digest, walk every entry) and print its\n"
    "source (how IMAGE was read: dir, oci, oci-archive, docker-archive, docker, podman,\n"
    "containerd), config, the platforms a multi-platform index offers, layers and entry\n"
    "counts. A digest mismatch is an error (exit 2). IMAGE may carry an explicit source\n"
    "prefix (oci:PATH, docker-archive:PATH …; see docs/image.md).\n"
    "\n";

const cli_option cmd_inspect_options[] = {
    {.id = 'j',
     .name = "threads",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "layers read in parallel (default: number of CPUs)"},
    {.id = 0x302,
     .name = "platform",
     .arg = CLI_ARG_VALUE,
     .metavar = "P",
     .help = "os/arch[/variant] to pick from a multi-platform index"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_SECTION, .help = "registry options (docs/registry.md):"},
    CLI_OPT_REGISTRY,
    {.id = CLI_OPT_END},
};

typedef struct counts {
	unsigned long long entries[256], bytes[256], hidden;
} counts;

static int count_entry(void *ctx, const bwk_entry *e, bwk_error **err)
{
	(void)err;
	counts *c = ctx;
	size_t l = e->layer_index < 0 ? 0 : (size_t)e->layer_index % 256;
	__atomic_add_fetch(&c->entries[l], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->bytes[l], e->size, __ATOMIC_RELAXED);
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	const cli_cmd *cmd = cli_find("inspect");
	bwk_image_opts io = {.verify = BWK_VERIFY_STRICT, .accept_rootfs = true};
	cleanup_with(cli_registry_free) cli_registry reg;
	cli_registry_init(&reg);
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
		case 'j':
			if (cli_parse_threads(cmd, val, &io.threads))
				return EXIT_USAGE;
			break;
		case 0x302:
			io.platform = val;
			break;
		case 'h':
			cli_print_help(cmd, stdout);
			return EXIT_CLEAN;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(cmd,
				       argc == optind ? "missing IMAGE" : "too many arguments");
	if (cli_registry_finish(cmd, &reg))
		return EXIT_USAGE;
	io.registry = &reg.o;
	bwk_error *err = NULL;
	cleanup_with(bwk_image_closep) bwk_image *img = NULL;
	if (bwk_image_open(argv[optind], &io, &img, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	counts *c = calloc(1, sizeof(*c));
	bwk_visitor v = {.ctx = c, .entry = count_entry};
	int rc = EXIT_CLEAN;
	if (!c || bwk_image_walk(img, &v, &err) < 0) {
		rc = cli_fail(err, EXIT_USAGE);
	} else if (!bwk_image_get_config(img)) {
		/* a root filesystem directory: no config, no layers */
		printf("image:    %s\nsource:   %s\nentries:  %llu, %llu bytes\n", argv[optind],
		       bwk_image_source(img), c->entries[0], c->bytes[0]);
	} else {
		const bwk_image_config *cfg = bwk_image_get_config(img);
		printf("image:    %s\nsource:   %s\nconfig:   %s\nplatform: %s/%s%s%s\nuser:     "
		       "%s\n",
		       argv[optind], bwk_image_source(img), cfg->digest, cfg->os ? cfg->os : "?",
		       cfg->architecture ? cfg->architecture : "?", cfg->variant ? "/" : "",
		       cfg->variant ? cfg->variant : "", cfg->user[0] ? cfg->user : "(root)");
		const char *const *pl = bwk_image_platforms(img);
		if (pl[0]) {
			fputs("offered: ", stdout);
			for (size_t i = 0; pl[i]; i++)
				printf("%s%s", i ? ", " : " ", pl[i]);
			putchar('\n');
		}
		for (size_t i = 0; i < bwk_image_layer_count(img); i++)
			printf("layer %zu:  %s  %llu entries, %llu bytes\n", i + 1,
			       bwk_image_layer_digest(img, i), c->entries[i % 256],
			       c->bytes[i % 256]);
	}
	free(c);
	return rc;
}
