/* The usage side of the command line: finding a command, its help, and the one usage-error
 * format every command prints (main.c dispatches; the commands are in its table). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char cli_main_usage[] = "usage: bulwark [--help] [--version] COMMAND [ARGS…]\n";

const cli_cmd *cli_find(const char *name)
{
	for (const cli_cmd *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void (*cli_usage_log)(const char *msg);

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fputs("bulwark: ", stderr);
	va_start(ap, fmt);
	if (cli_usage_log) {
		char msg[1024];
		va_list again;
		va_copy(again, ap);
		vsnprintf(msg, sizeof msg, fmt, again);
		va_end(again);
		cli_usage_log(msg);
	}
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cli_value_source) /* a value from the environment or the config file */
		fprintf(stderr, " (from %s)", cli_value_source);
	fputc('\n', stderr);
	if (cmd) {
		/* first line of the command's help is its usage line */
		const char *nl = strchr(cmd->usage, '\n');
		fprintf(stderr, "%.*s\n", nl ? (int)(nl - cmd->usage) : (int)strlen(cmd->usage),
			cmd->usage);
		if (cli_find(cmd->name) == cmd)
			fprintf(stderr, "Try 'bulwark help %s' for more information.\n", cmd->name);
		else /* a table that is no command: the OCI global options */
			fputs("Try 'bulwark --help' for more information.\n", stderr);
	} else {
		fputs(cli_main_usage, stderr);
		fputs("Try 'bulwark --help' for more information.\n", stderr);
	}
	return EXIT_USAGE;
}

int cli_fail(bwk_error *err, int code)
{
	bwk_error_print(err, stderr);
	bwk_error_free(err);
	return code;
}

void cli_print_help(const cli_cmd *cmd, FILE *out)
{
	fputs(cmd->usage, out);
	if (!cmd->options)
		return;
	if (cmd->options[0].id != CLI_OPT_SECTION) /* else the table's own headings */
		fputs("options:\n", out);
	cli_options_help(cmd->options, out);
	if (cmd->usage_tail)
		fputs(cmd->usage_tail, out);
}
