#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "core/yaml_tree.h"
#include "options.h"

#define HELP_COLUMN	    26
#define CONFIG_MAX_BYTES    ((size_t)1 << 20)
#define CLI_MAX_OPTIONS	    128
#define CLI_MAX_CONFIG_LIST 256

const char *cli_value_source;

static bool is_option(const cli_option *o)
{
	return o->id > 0;
}

static int short_letter(const cli_option *o)
{
	return o->id < 0x100 && isalpha(o->id) ? o->id : 0;
}

const char *cli_option_env(const cli_option *o, char *buf, size_t size)
{
	if (o->no_config)
		return "";
	if (o->env)
		return o->env;
	size_t n = (size_t)snprintf(buf, size, "BULWARK_%s", o->name);
	for (size_t i = 8; i < n && i < size; i++)
		buf[i] = buf[i] == '-' ? '_' : (char)toupper((unsigned char)buf[i]);
	return buf;
}

/* "  -f, --format FMT" padded to the help column, then the help's lines. */
void cli_options_help(const cli_option *opts, FILE *out)
{
	for (const cli_option *o = opts; o->id != CLI_OPT_END; o++) {
		if (o->id == CLI_OPT_SECTION) {
			fprintf(out, "%s\n", o->help);
			continue;
		}
		char left[96];
		int s = is_option(o) ? short_letter(o) : 0;
		if (o->id == CLI_OPT_NOTE)
			snprintf(left, sizeof(left), "  %s", o->name);
		else if (s)
			snprintf(left, sizeof(left), "  -%c, --%s%s%s", s, o->name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else
			snprintf(left, sizeof(left), "      --%s%s%s", o->name,
				 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		int pad = HELP_COLUMN - (int)strlen(left);
		fprintf(out, "%s%*s", left, pad > 2 ? pad : 2, "");
		for (const char *h = o->help;;) {
			size_t n = strcspn(h, "\n");
			fprintf(out, "%.*s\n", (int)n, h);
			if (!h[n])
				break;
			h += n + 1;
			fprintf(out, "%*s", HELP_COLUMN, "");
		}
	}
}

/* ---- the parser ---- */

static const char *own(cli_parser *p, char *s)
{
	p->owned = xrealloc(p->owned, (p->nowned + 1) * sizeof(*p->owned));
	p->owned[p->nowned++] = s;
	return s;
}

static void push(cli_parser *p, int id, const char *arg, const char *source, int ind)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	p->v[p->n++] = (cli_value){.id = id, .arg = arg, .source = source, .optind = ind};
}

/* bulwark.yaml in the working directory, else $XDG_CONFIG_HOME/bulwark/config.yaml; $BULWARK_CONFIG
 * names another. 0 with *path NULL when there is none. */
static int config_path(char **path)
{
	*path = NULL;
	const char *env = getenv("BULWARK_CONFIG");
	if (env && *env) {
		*path = xstrdup(env);
		return 0;
	}
	if (access("bulwark.yaml", F_OK) == 0) {
		*path = xstrdup("bulwark.yaml");
		return 0;
	}
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char buf[4096];
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/bulwark/config.yaml", xdg);
	else if (home && *home)
		snprintf(buf, sizeof(buf), "%s/.config/bulwark/config.yaml", home);
	else
		return 0;
	if (access(buf, F_OK) == 0)
		*path = xstrdup(buf);
	return 0;
}

static int load_config(cli_parser *p, const char **name)
{
	cleanup_free char *path = NULL;
	config_path(&path);
	*name = NULL;
	if (!path)
		return 0;
	bwk_error *err = NULL;
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, CONFIG_MAX_BYTES, true, &data, &len, &err) < 0)
		return cli_fail(err, EXIT_USAGE);
	bwk_yaml_limits lim = {.max_bytes = CONFIG_MAX_BYTES, .max_depth = 8, .max_nodes = 10000};
	p->config = bwk_yaml_load_one(path, data, len, &lim, &err);
	if (!p->config)
		return cli_fail(err, EXIT_USAGE);
	if (!json_is_object(p->config) && !json_is_null(p->config)) {
		fprintf(stderr,
			"bulwark: %s: the config file is a mapping of option names to values "
			"(docs/configuration.md)\n",
			path);
		return EXIT_USAGE;
	}
	*name = own(p, xstrdup(path));
	return 0;
}

/* The key of `o` in the config file: COMMAND: {NAME: …} first, then NAME: at the top. */
static const json_t *config_value(const cli_parser *p, const cli_option *o, const char **where)
{
	if (!json_is_object(p->config))
		return NULL;
	const json_t *sec = json_object_get(p->config, p->cmd->name);
	const json_t *v = json_is_object(sec) ? json_object_get(sec, o->name) : NULL;
	*where = "command";
	if (!v) {
		v = json_object_get(p->config, o->name);
		*where = "top";
		/* a mapping at the top is another command's section (`scan:` for run's --scan,
		 * `db:`, `rules:`), never an option's value: no option takes a mapping */
		if (json_is_object(v))
			v = NULL;
	}
	return v;
}

static int bool_word(const char *s)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"", "0", "false", "no", "off"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (!strcasecmp(s, yes[i]))
			return 1;
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (!strcasecmp(s, no[i]))
			return 0;
	return -1;
}

/* One config value (a scalar, or a list of them) as values of `o`. */
static int push_config(cli_parser *p, const cli_option *o, const json_t *v, const char *source)
{
	if (json_is_array(v)) {
		if (json_array_size(v) > CLI_MAX_CONFIG_LIST)
			goto bad;
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e)
		{
			if (json_is_array(e) || json_is_object(e) ||
			    push_config(p, o, e, source) < 0)
				goto bad;
		}
		return 0;
	}
	if (o->arg == CLI_ARG_NONE) {
		if (!json_is_boolean(v))
			goto bad;
		if (json_is_true(v))
			push(p, o->id, NULL, source, 0);
		return 0;
	}
	if (json_is_string(v))
		push(p, o->id, json_string_value(v), source, 0);
	else if (json_is_integer(v))
		push(p, o->id, own(p, xasprintf("%lld", (long long)json_integer_value(v))), source,
		     0);
	else if (json_is_boolean(v))
		push(p, o->id, json_is_true(v) ? "true" : "false", source, 0);
	else
		goto bad;
	return 0;
bad:
	fprintf(stderr, "bulwark: %s: %s a %s\n", source,
		o->arg == CLI_ARG_NONE ? "takes true or false, not"
				       : "takes a value or a list, not",
		json_is_object(v) ? "mapping" : "value of this kind");
	return -1;
}

/* The environment and config values of every option the command line did not set. */
static int push_defaults(cli_parser *p, const bool *on_cmdline, const char *config_name)
{
	const cli_option *opts = p->cmd->options;
	/* file first, then environment: later values win in each command's handling */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; opts[i].id != CLI_OPT_END; i++) {
			const cli_option *o = &opts[i];
			if (!is_option(o) || o->no_config || on_cmdline[i])
				continue;
			char buf[64];
			const char *name = cli_option_env(o, buf, sizeof(buf));
			const char *env = *name ? getenv(name) : NULL;
			if (!env && o->env_old && (env = getenv(o->env_old)))
				name = o->env_old;
			if (pass == 0) {
				if (env || !config_name)
					continue;
				const char *where = NULL;
				const json_t *v = config_value(p, o, &where);
				if (!v)
					continue;
				const char *src =
				    own(p, !strcmp(where, "command")
					       ? xasprintf("%s: %s.%s", config_name, p->cmd->name,
							   o->name)
					       : xasprintf("%s: %s", config_name, o->name));
				if (push_config(p, o, v, src) < 0)
					return EXIT_USAGE;
				continue;
			}
			if (!env)
				continue;
			const char *src = own(p, xstrdup(name));
			if (o->arg != CLI_ARG_NONE) {
				push(p, o->id, env, src, 0);
				continue;
			}
			int b = bool_word(env);
			if (b < 0) {
				fprintf(stderr,
					"bulwark: %s: '%s' is not a boolean (1/true/yes or "
					"0/false/no)\n",
					name, env);
				return EXIT_USAGE;
			}
			if (b)
				push(p, o->id, NULL, src, 0);
		}
	}
	return 0;
}

int cli_parser_init(cli_parser *p, const cli_cmd *cmd, int argc, char **argv)
{
	return cli_parser_init_in_order(p, cmd, argc, argv, false);
}

int cli_parser_init_in_order(cli_parser *p, const cli_cmd *cmd, int argc, char **argv,
			     bool in_order)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	const cli_option *opts = cmd->options;
	size_t n = 0;
	while (opts[n].id != CLI_OPT_END)
		n++;
	if (n >= CLI_MAX_OPTIONS)
		abort(); /* a table this long is a programming error */
	struct option longopts[CLI_MAX_OPTIONS + 1];
	char shortopts[2 * CLI_MAX_OPTIONS + 3] = "+:";
	size_t nl = 0, ns = 2;
	for (size_t i = 0; i < n; i++) {
		if (!is_option(&opts[i]))
			continue;
		bool val = opts[i].arg != CLI_ARG_NONE;
		longopts[nl++] = (struct option){
		    opts[i].name, val ? required_argument : no_argument, NULL, opts[i].id};
		if (short_letter(&opts[i])) {
			shortopts[ns++] = (char)opts[i].id;
			if (val)
				shortopts[ns++] = ':';
		}
	}
	longopts[nl] = (struct option){NULL, 0, NULL, 0};
	shortopts[ns] = '\0';
	const char *so = in_order ? shortopts : shortopts + 1; /* "+": stop at the first operand */
	bool on_cmdline[CLI_MAX_OPTIONS] = {false};
	cli_parser cmdline = {0};
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, so, longopts, NULL)) != -1) {
		push(&cmdline, opt, optarg, NULL, optind);
		if (opt == ':' || opt == '?')
			break;
		for (size_t i = 0; i < n; i++)
			if (opts[i].id == opt)
				on_cmdline[i] = true;
	}
	p->end_optind = optind;
	const char *config_name = NULL;
	int rc = load_config(p, &config_name);
	if (!rc)
		rc = push_defaults(p, on_cmdline, config_name);
	for (size_t i = 0; i < cmdline.n; i++)
		push(p, cmdline.v[i].id, cmdline.v[i].arg, NULL, cmdline.v[i].optind);
	free(cmdline.v);
	return rc;
}

static const cli_option *runc_find(const cli_option *opts, const char *name, size_t len)
{
	for (const cli_option *o = opts; o->id != CLI_OPT_END; o++) {
		if (!is_option(o))
			continue;
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
		if (len == 1 && short_letter(o) == name[0])
			return o;
	}
	return NULL;
}

const cli_option *cli_runc_option(const cli_option *opts, const char *word)
{
	if (word[0] != '-' || !word[1] || !strcmp(word, "--"))
		return NULL;
	const char *name = word + (word[1] == '-' ? 2 : 1);
	size_t len = strcspn(name, "=");
	return len ? runc_find(opts, name, len) : NULL;
}

int cli_parser_init_runc(cli_parser *p, const cli_cmd *cmd, int argc, char **argv, int *end)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	int i = 1, stop = -1;
	while (i < argc && stop < 0) {
		const char *w = argv[i];
		if (w[0] != '-' || !w[1])
			break;
		if (!strcmp(w, "--")) {
			i++;
			break;
		}
		const char *name = w + (w[1] == '-' ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const cli_option *o = len ? runc_find(cmd->options, name, len) : NULL;
		i++;
		if (!o) {
			push(p, '?', NULL, NULL, i);
			stop = i - 1;
		} else if (o->arg == CLI_ARG_NONE) {
			int b = eq ? bool_word(eq + 1) : 1;
			if (b < 0) {
				push(p, '?', NULL, NULL, i);
				stop = i - 1;
			} else if (b)
				push(p, o->id, NULL, NULL, i);
		} else if (eq)
			push(p, o->id, eq + 1, NULL, i);
		else if (i < argc) {
			push(p, o->id, argv[i], NULL, i + 1);
			i++;
		} else {
			push(p, ':', NULL, NULL, i);
			stop = i - 1;
		}
	}
	p->end_optind = stop < 0 ? i : stop;
	if (end)
		*end = p->end_optind;
	return 0;
}

/* cli_parse_runc, and with `prefix` cli_parse_runc_prefix: an unknown option ends the options
 * as an operand does (optind at it) instead of being an error. */
static int parse_runc(const cli_cmd *cmd, int argc, char **argv, cli_runc_fn fn, void *ctx,
		      int *status, bool prefix)
{
	cleanup_with(cli_parser_free) cli_parser p;
	int end = 1;
	cli_parser_init_runc(&p, cmd, argc, argv, &end);
	const char *arg;
	int opt;
	*status = EXIT_CLEAN;
	while ((opt = cli_next(&p, &arg)) != -1) {
		if (opt == '?' && prefix) {
			optind = end;
			return 0;
		}
		if (opt == 'h') {
			cli_print_help(cmd, stdout);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			*status = cli_bad_option(cmd, opt, argv);
			return 1;
		}
		if (fn && (*status = fn(cmd, ctx, opt, arg)) != 0)
			return 1;
	}
	return 0;
}

int cli_parse_runc(const cli_cmd *cmd, int argc, char **argv, cli_runc_fn fn, void *ctx,
		   int *status)
{
	return parse_runc(cmd, argc, argv, fn, ctx, status, false);
}

int cli_parse_runc_prefix(const cli_cmd *cmd, int argc, char **argv, cli_runc_fn fn, void *ctx,
			  int *status)
{
	return parse_runc(cmd, argc, argv, fn, ctx, status, true);
}

int cli_runc_switch(const cli_cmd *cmd, void *ctx, int id, const char *arg)
{
	(void)cmd, (void)id, (void)arg;
	*(bool *)ctx = true;
	return 0;
}

int cli_next(cli_parser *p, const char **arg)
{
	if (p->next == p->n) {
		optind = p->end_optind;
		cli_value_source = NULL;
		*arg = NULL;
		return -1;
	}
	const cli_value *v = &p->v[p->next++];
	cli_value_source = v->source;
	if (!v->source)
		optind = v->optind;
	*arg = v->arg;
	return v->id;
}

void cli_parser_free(cli_parser *p)
{
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->v);
	json_decref(p->config);
	cli_value_source = NULL;
	memset(p, 0, sizeof(*p));
}
