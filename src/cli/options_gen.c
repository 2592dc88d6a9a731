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

/* bulwark __complete [CMD [WORD…]] CUR */
int cli_complete(int argc, char **argv)
{
	const char *cur = argc > 1 ? argv[argc - 1] : "";
	if (argc <= 2) {
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
	const cli_cmd *cmd = cli_find(argv[1]);
	if (!cmd || !cmd->options) {
		puts("@file");
		return EXIT_CLEAN;
	}
	const char *prev = argc > 3 ? argv[argc - 2] : "";
	const cli_option *po = find_long(cmd->options, prev);
	if (po && po->arg != CLI_ARG_NONE) {
		if (po->choices)
			print_words(po->choices, cur);
		else if (po->arg == CLI_ARG_FILE)
			puts("@file");
		else if (po->arg == CLI_ARG_DIR)
			puts("@dir");
		return EXIT_CLEAN;
	}
	if (cur[0] == '-') {
		for (const cli_option *o = cmd->options; o->id != CLI_OPT_END; o++) {
			if (o->id <= 0)
				continue;
			char w[80];
			snprintf(w, sizeof(w), "--%s", o->name);
			if (!strncmp(w, cur, strlen(cur)))
				printf("%s\n", w);
		}
		return EXIT_CLEAN;
	}
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
		man_table(cli_oci_global_options, stdout);
	}
	free(line);
	return fflush(stdout) ? EXIT_USAGE : EXIT_CLEAN;
}

/* bulwark __options CMD: the table as JSON lines, for the agreement test */
int cli_options_dump(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage_error(NULL, "__options takes one command name");
	const cli_cmd *c = cli_find(argv[1]);
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
