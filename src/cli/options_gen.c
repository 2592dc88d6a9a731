/* What the option tables generate at run time: completion candidates, the man page's OPTIONS
 * and the tables as JSON (tests/integration/test_cli_options.py compares the three). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/cleanup.h"
#include "options.h"

static const cli_option *find_long(const cli_option *opts, const char *word)
{
	for (const cli_option *o = opts; opts && o->id != CLI_OPT_END; o++) {
		if (o->id <= 0)
			continue;
		if (!strncmp(word, "--", 2) && !strcmp(word + 2, o->name))
			return o;
		if (word[0] == '-' && word[1] == o->id && !word[2] && o->id < 0x100)
			return o;
	}
	return NULL;
}

static void print_words(const char *words, const char *prefix)
{
	for (const char *w = words; w && *w;) {
		size_t n = strcspn(w, " ");
		if (!strncmp(w, prefix, strlen(prefix)) && n >= strlen(prefix))
			printf("%.*s\n", (int)n, w);
		w += n;
		while (*w == ' ')
			w++;
	}
}

/* The value of `o` being typed: its choices, or file or directory names. */
static int complete_value(const cli_option *o, const char *cur)
{
	if (o->choices)
		print_words(o->choices, cur);
	else if (o->arg == CLI_ARG_FILE)
		puts("@file");
	else if (o->arg == CLI_ARG_DIR)
		puts("@dir");
	return EXIT_CLEAN;
}

/* The options of `opts` starting with cur, as --name. */
static int complete_options(const cli_option *opts, const char *cur)
{
	for (const cli_option *o = opts; o->id != CLI_OPT_END; o++) {
		if (o->id <= 0)
			continue;
		char w[80];
		snprintf(w, sizeof(w), "--%s", o->name);
		if (!strncmp(w, cur, strlen(cur)))
			printf("%s\n", w);
	}
	return EXIT_CLEAN;
}

static int complete_command(int argc, char **argv, bool after_globals);

/* bulwark __complete [GLOBAL…] [CMD [WORD…]] CUR: the OCI runtime's global options (runc's
 * spellings, cli_oci_globals_cmd's table) may come before the command. */
int cli_complete(int argc, char **argv)
{
	int i = 1;
	const cli_option *g = NULL;
	while (i < argc - 1 && (g = cli_runc_option(cli_oci_globals_cmd.options, argv[i]))) {
		if (g->arg != CLI_ARG_NONE && !strchr(argv[i], '=')) {
			if (i + 1 == argc - 1) /* its value is the word being typed */
				return complete_value(g, argv[argc - 1]);
			i++;
		}
		i++;
	}
	return complete_command(argc - (i - 1), argv + (i - 1), i > 1);
}

static int complete_command(int argc, char **argv, bool after_globals)
{
	const char *cur = argc > 1 ? argv[argc - 1] : "";
	if (argc <= 2) {
		if (cur[0] == '-')
			return complete_options(cli_oci_globals_cmd.options, cur);
		for (const cli_cmd *c = cli_commands; c->name; c++)
			if (!strncmp(c->name, cur, strlen(cur)))
				printf("%s\n", c->name);
		if (!strncmp("help", cur, strlen(cur)))
			printf("help\n");
		return EXIT_CLEAN;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc == 3)
			for (const cli_cmd *c = cli_commands; c->name; c++)
				if (!strncmp(c->name, cur, strlen(cur)))
					printf("%s\n", c->name);
		return EXIT_CLEAN;
	}
	/* after a global option, run is runc's (main.c's oci_run_wanted) */
	const cli_cmd *cmd =
	    cli_find(after_globals && !strcmp(argv[1], "run") ? "oci-run" : argv[1]);
	if (!cmd || !cmd->options) {
		puts("@file");
		return EXIT_CLEAN;
	}
	const char *prev = argc > 3 ? argv[argc - 2] : "";
	const cli_option *po = find_long(cmd->options, prev);
	if (po && po->arg != CLI_ARG_NONE)
		return complete_value(po, cur);
	if (cur[0] == '-')
		return complete_options(cmd->options, cur);
	if (cmd->operands && !strcmp(cmd->operands, "@rules")) {
		cli_complete_rule_ids(cur);
		return EXIT_CLEAN;
	}
	print_words(cmd->operands, cur);
	if (!cmd->operands || strstr(cmd->operands, "@file") == NULL)
		puts("@file");
	return EXIT_CLEAN;
}

/* roff: a backslash and '-' escaped, a leading '.' or '\'' guarded */
static void roff(FILE *out, const char *s, size_t n)
{
	if (n && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", out);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			fputs("\\e", out);
		else if (s[i] == '-')
			fputs("\\-", out);
		else
			fputc(s[i], out);
	}
}

static void man_table(const cli_option *opts, FILE *out)
{
	for (const cli_option *o = opts; o->id != CLI_OPT_END; o++) {
		if (o->id == CLI_OPT_NOTE || o->id == CLI_OPT_SECTION)
			continue;
		fputs(".TP\n", out);
		if (o->id < 0x100)
			fprintf(out, "\\fB\\-%c\\fR, ", o->id);
		fputs("\\fB\\-\\-", out);
		roff(out, o->name, strlen(o->name));
		fputs("\\fR", out);
		if (o->metavar) {
			fputs(" \\fI", out);
			roff(out, o->metavar, strlen(o->metavar));
			fputs("\\fR", out);
		}
		fputc('\n', out);
		/* one paragraph: the help's lines joined */
		for (const char *h = o->help;;) {
			size_t n = strcspn(h, "\n");
			roff(out, h, n);
			fputc('\n', out);
			if (!h[n])
				break;
			h += n + 1;
		}
		char buf[64];
		const char *env = cli_option_env(o, buf, sizeof(buf));
		if (*env) {
			fputs(".br\nEnvironment: ", out);
			roff(out, env, strlen(env));
			if (o->env_old) {
				fputs(" (also ", out);
				roff(out, o->env_old, strlen(o->env_old));
				fputs(", deprecated)", out);
			}
			fputs("; config key: ", out);
			roff(out, o->name, strlen(o->name));
			fputs(".\n", out);
		}
	}
}

static void man_options(const cli_cmd *c, FILE *out)
{
	fprintf(out, ".SS bulwark %s\n", c->name);
	man_table(c->options, out);
}

/* bulwark __man < template > page: the line `.\" @OPTIONS@` becomes every command's OPTIONS. */
int cli_man(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, stdin) > 0) {
		if (strncmp(line, ".\\\" @OPTIONS@", 13) != 0) {
			fputs(line, stdout);
			continue;
		}
		fputs(".SH OPTIONS\n"
		      "Every option of a command also reads an environment variable and a key of "
		      "the config file (bulwark.yaml in the working directory, else "
		      "$XDG_CONFIG_HOME/bulwark/config.yaml): a flag wins over the variable, the "
		      "variable over the file. See docs/configuration.md. The OCI runtime "
		      "commands (create, start, run with a bundle …) are the exception: their "
		      "options are runc's, written \\-opt or \\-\\-opt, and no environment "
		      "variable or config file changes them.\n",
		      stdout);
		for (const cli_cmd *c = cli_commands; c->name; c++)
			if (c->options)
				man_options(c, stdout);
		fputs(".SS OCI runtime global options (before the command)\n", stdout);
		man_table(cli_oci_globals_cmd.options, stdout);
	}
	free(line);
	return fflush(stdout) ? EXIT_USAGE : EXIT_CLEAN;
}

/* bulwark __options CMD: the table as JSON lines, for the agreement test */
int cli_options_dump(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage_error(NULL, "__options takes one command name");
	const cli_cmd *c =
	    !strcmp(argv[1], cli_oci_globals_cmd.name) ? &cli_oci_globals_cmd : cli_find(argv[1]);
	if (!c || !c->options)
		return cli_usage_error(NULL, "'%s' has no option table", argv[1]);
	for (const cli_option *o = c->options; o->id != CLI_OPT_END; o++) {
		if (o->id <= 0)
			continue;
		char buf[64];
		const char *env = cli_option_env(o, buf, sizeof(buf));
		char sh[2] = {o->id < 0x100 ? (char)o->id : ' ', '\0'};
		json_t *j =
		    json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "name", o->name, "short", sh, "arg",
			      (int)o->arg, "metavar", o->metavar ? o->metavar : "", "env", env,
			      "env_old", o->env_old ? o->env_old : "");
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(j);
	}
	return EXIT_CLEAN;
}
