/* Unit tests: the OCI commands' one option parser (src/cli/options.c, cli_parse_runc) as runc
 * parses: -name and --name alike, the value as =VALUE or the next word, a switch as
 * --name=true|false, options ending at the first operand or `--`, and the usage errors (an
 * unknown option, a missing value: exit 2, the word named) — with the real usage code
 * (usage.c, report_flags.c) and a command table of the test's own. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { T_PID_FILE = 0x720, T_KEEP, T_CONSOLE };

static const cli_option t_options[] = {
    {.id = 'b', .name = "bundle", .arg = CLI_ARG_DIR, .metavar = "DIR", .help = "the bundle"},
    {.id = T_PID_FILE, .name = "pid-file", .arg = CLI_ARG_FILE, .metavar = "F", .help = "pid"},
    {.id = T_CONSOLE, .name = "console-socket", .arg = CLI_ARG_FILE, .help = "the socket"},
    {.id = 'd', .name = "detach", .help = "detach"},
    {.id = T_KEEP, .name = "keep", .help = "keep"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

/* options before a command, as runc's global ones: a table that is no command */
enum { G_ROOT = 0x700, G_DEBUG };
static const cli_option g_options[] = {
    {.id = G_ROOT, .name = "root", .arg = CLI_ARG_DIR, .metavar = "DIR", .help = "state"},
    {.id = G_DEBUG, .name = "debug", .help = "accepted"},
    {.id = CLI_OPT_END}};
static const cli_cmd g_cmd = {
    "global", "global options", "usage: bulwark [--help] COMMAND\n", NULL, g_options, NULL, NULL};

const cli_cmd cli_commands[] = {
    {"t", "a test command", "usage: bulwark t [OPTIONS] ID\n", NULL, t_options, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

/* What the handler was given, in order */
typedef struct seen {
	int id[16];
	const char *arg[16];
	size_t n;
} seen;

static int record(const cli_cmd *cmd, void *ctx, int id, const char *arg)
{
	(void)cmd;
	seen *s = ctx;
	if (arg && !strcmp(arg, "refuse")) /* a handler's own usage error stops the parse */
		return cli_usage_error(cmd, "refused '%s'", arg);
	assert_true(s->n < 16);
	s->id[s->n] = id;
	s->arg[s->n++] = arg;
	return 0;
}

/* cli_parse_runc over WORDS (argv[0] "t"), with what it printed on stdout and stderr */
typedef struct result {
	int ret, status, optind;
	char out[4096], err[4096];
} result;

static void slurp(FILE *f, char *buf, size_t size)
{
	rewind(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* argv as a command gets it: writable copies, kept until the next run (handlers' values point
 * into them) */
static char *words_store[32];

/* the table run parses with, and whether as cli_parse_runc_prefix (the global options) */
static const cli_cmd *run_cmd;
static bool run_prefix;

static result run(cli_runc_fn fn, void *ctx, const char *const *words)
{
	int argc = 0;
	for (; words_store[argc]; argc++)
		free(words_store[argc]);
	memset(words_store, 0, sizeof words_store);
	for (argc = 0; words[argc]; argc++) {
		assert_true(argc < 31);
		words_store[argc] = strdup(words[argc]);
	}
	result r = {0};
	FILE *out = tmpfile(), *err = tmpfile();
	assert_non_null(out);
	assert_non_null(err);
	fflush(stdout);
	fflush(stderr);
	int o = dup(1), e = dup(2);
	dup2(fileno(out), 1);
	dup2(fileno(err), 2);
	optind = 99; /* the parser must not depend on it */
	const cli_cmd *cmd = run_cmd ? run_cmd : cli_find("t");
	r.ret = run_prefix ? cli_parse_runc_prefix(cmd, argc, words_store, fn, ctx, &r.status)
			   : cli_parse_runc(cmd, argc, words_store, fn, ctx, &r.status);
	r.optind = optind;
	fflush(stdout);
	fflush(stderr);
	dup2(o, 1);
	dup2(e, 2);
	close(o);
	close(e);
	slurp(out, r.out, sizeof r.out);
	slurp(err, r.err, sizeof r.err);
	return r;
}

static result parse(seen *s, const char *const *words)
{
	memset(s, 0, sizeof(*s));
	return run(record, s, words);
}

#define ARGV(...) ((const char *const[]){"t", __VA_ARGS__, NULL})

static void test_single_and_double_dash(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("-pid-file", "p", "--bundle", "b", "-d", "--keep", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.id[0], T_PID_FILE);
	assert_string_equal(s.arg[0], "p");
	assert_int_equal(s.id[1], 'b');
	assert_string_equal(s.arg[1], "b");
	assert_int_equal(s.id[2], 'd');
	assert_null(s.arg[2]);
	assert_int_equal(s.id[3], T_KEEP);
	assert_int_equal(r.optind, 7); /* ID */
	assert_string_equal(r.err, "");
	/* a one-letter option is also --x; a long name is also -name */
	r = parse(&s, ARGV("--d", "-keep", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], 'd');
	assert_int_equal(s.id[1], T_KEEP);
}

static void test_value_forms(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("--pid-file=a", "--pid-file", "b", "-b=c", "-b", "d",
				  "-pid-file=", "--console-socket", "--keep", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 6);
	const char *want[] = {"a", "b", "c", "d", "", "--keep"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(s.arg[i], want[i]);
	assert_int_equal(s.id[5], T_CONSOLE); /* the next word is the value, whatever it is */
	assert_int_equal(r.optind, 10);
	/* a value with '=' in it keeps everything after the first '=' */
	r = parse(&s, ARGV("--bundle=x=y", "ID"));
	assert_int_equal(s.n, 1);
	assert_string_equal(s.arg[0], "x=y");
}

static void test_switch_values(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("--detach=true", "--keep=false", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 1); /* --keep=false is not given */
	assert_int_equal(s.id[0], 'd');
	r = parse(&s, ARGV("--keep=maybe", "ID"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_USAGE);
	assert_int_equal(s.n, 0);
	assert_non_null(strstr(r.err, "'--keep=maybe'"));
}

static void test_unknown_option(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("-d", "--nope", "--keep", "ID"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_USAGE);
	assert_int_equal(s.n, 1); /* what came before it was handled, nothing after */
	assert_non_null(strstr(r.err, "bulwark: unknown option '--nope'\n"));
	assert_non_null(strstr(r.err, "usage: bulwark t [OPTIONS] ID\n"));
	assert_non_null(strstr(r.err, "Try 'bulwark help t'"));
	assert_string_equal(r.out, "");
	/* exact names only: no abbreviation, and a single dash is not a cluster of letters */
	r = parse(&s, ARGV("--bund", "x", "ID"));
	assert_int_equal(r.status, EXIT_USAGE);
	assert_non_null(strstr(r.err, "unknown option '--bund'"));
	r = parse(&s, ARGV("-dh", "ID"));
	assert_int_equal(r.status, EXIT_USAGE);
	assert_non_null(strstr(r.err, "unknown option '-dh'"));
	r = parse(&s, ARGV("--=x", "ID"));
	assert_int_equal(r.status, EXIT_USAGE);
}

static void test_missing_value(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("-d", "--pid-file"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_USAGE);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(r.err, "bulwark: option '--pid-file' needs a value\n"));
	r = parse(&s, ARGV("-b"));
	assert_int_equal(r.status, EXIT_USAGE);
	assert_non_null(strstr(r.err, "option '-b' needs a value"));
}

static void test_end_of_options(void **state)
{
	(void)state;
	seen s;
	/* `--` ends the options and is not an operand */
	result r = parse(&s, ARGV("-d", "--", "--keep", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.optind, 3);
	/* so does the first operand: what follows it is the command's (exec's COMMAND) */
	r = parse(&s, ARGV("ID", "--keep", "--nope"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(r.optind, 1);
	/* "-" alone is an operand */
	r = parse(&s, ARGV("-", "--keep"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.optind, 1);
	/* no words at all */
	r = parse(&s, (const char *const[]){"t", NULL});
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.optind, 1);
	assert_int_equal(s.n, 0);
}

static void test_help(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("-d", "--help", "--nope"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_CLEAN);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(r.out, "usage: bulwark t [OPTIONS] ID\n"));
	assert_non_null(strstr(r.out, "--pid-file F")); /* the options come from the table */
	assert_non_null(strstr(r.out, "-b, --bundle DIR"));
	assert_string_equal(r.err, "");
	r = parse(&s, ARGV("-h"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_CLEAN);
}

static void test_handler_error_stops(void **state)
{
	(void)state;
	seen s;
	result r = parse(&s, ARGV("-d", "--pid-file", "refuse", "--keep", "ID"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_USAGE);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(r.err, "bulwark: refused 'refuse'\n"));
}

static void test_switch_handler(void **state)
{
	(void)state;
	bool on = false;
	result r = run(cli_runc_switch, &on, ARGV("--keep", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.status, 0);
	assert_true(on);
	on = false;
	r = run(cli_runc_switch, &on, ARGV("--keep=false", "ID"));
	assert_int_equal(r.ret, 0);
	assert_false(on);
	/* no handler: options accepted and ignored */
	r = run(NULL, NULL, ARGV("-b", "x", "--keep", "ID"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.optind, 4);
}

/* The global options before a command: the same spellings; an option the table does not have
 * (main's --help, --version, or one main calls unknown) ends them where it stands, with what
 * came before it handled; a missing value is a usage error pointing to bulwark --help. */
static void test_prefix(void **state)
{
	(void)state;
	run_cmd = &g_cmd;
	run_prefix = true;
	seen s;
	result r = parse(&s, ARGV("-root", "r", "--debug", "list", "-h"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.id[0], G_ROOT);
	assert_string_equal(s.arg[0], "r");
	assert_int_equal(s.id[1], G_DEBUG);
	assert_int_equal(r.optind, 4); /* the command */
	r = parse(&s, ARGV("--root=r", "--help"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.optind, 2); /* --help: main's */
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
	r = parse(&s, ARGV("--debug", "--roo", "x", "list"));
	assert_int_equal(r.ret, 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(r.optind, 2); /* --roo, which main names */
	r = parse(&s, ARGV("--debug", "--root"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_USAGE);
	assert_non_null(strstr(r.err, "bulwark: option '--root' needs a value\n"
				      "usage: bulwark [--help] COMMAND\n"
				      "Try 'bulwark --help' for more information.\n"));
	r = parse(&s, ARGV("--root", "refuse", "list"));
	assert_int_equal(r.ret, 1);
	assert_int_equal(r.status, EXIT_USAGE);
	assert_non_null(strstr(r.err, "bulwark: refused 'refuse'\n"));
	/* the table finds a word as runc spells it */
	assert_ptr_equal(cli_runc_option(g_options, "-root=x"), &g_options[0]);
	assert_ptr_equal(cli_runc_option(g_options, "--debug"), &g_options[1]);
	assert_null(cli_runc_option(g_options, "--roo"));
	assert_null(cli_runc_option(g_options, "root"));
	assert_null(cli_runc_option(g_options, "--"));
	assert_null(cli_runc_option(g_options, "--=x"));
	run_cmd = NULL;
	run_prefix = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_and_double_dash),
	    cmocka_unit_test(test_value_forms),
	    cmocka_unit_test(test_switch_values),
	    cmocka_unit_test(test_unknown_option),
	    cmocka_unit_test(test_missing_value),
	    cmocka_unit_test(test_end_of_options),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_handler_error_stops),
	    cmocka_unit_test(test_switch_handler),
	    cmocka_unit_test(test_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
