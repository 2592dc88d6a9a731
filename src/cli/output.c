/* The library's output handler (bulwark/log.h): its messages on stderr with our prefix, and
 * the names of its settings as this command's flags, from the command's option table. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "cli.h"

#define MAX_FLAGS 96
static char flags[MAX_FLAGS][48]; /* "--NAME", filled before the command runs */
static size_t nflags;

static void add_flag(const char *name)
{
	if (nflags < MAX_FLAGS && strlen(name) + 3 <= sizeof flags[0])
		snprintf(flags[nflags++], sizeof flags[0], "--%s", name);
}

static const char *setting(const char *key, void *data)
{
	(void)data;
	for (size_t i = 0; i < nflags; i++)
		if (!strcmp(flags[i] + 2, key))
			return flags[i];
	return NULL;
}

static void log_line(bwk_log_level level, const char *msg, void *data)
{
	(void)data;
	static const char *const prefix[] = {[BWK_LOG_FATAL] = "",
					     [BWK_LOG_WARNING] = "warning: ",
					     [BWK_LOG_NOTE] = "note: ",
					     [BWK_LOG_INFO] = "",
					     [BWK_LOG_PROGRESS] = ""};
	char line[2200];
	if (level == BWK_LOG_PROGRESS)
		snprintf(line, sizeof line, "\r\033[K%s%s", *msg ? "bulwark: " : "", msg);
	else
		snprintf(line, sizeof line, "bulwark: %s%s\n", prefix[level], msg);
	fputs(line, stderr); /* one call: stdio locks the stream against other threads */
}

void cli_output_install(const cli_cmd *cmd)
{
	nflags = 0;
	if (cmd && cmd->options)
		for (const cli_option *o = cmd->options; o->id != CLI_OPT_END; o++)
			if (o->id > 0 && o->name)
				add_flag(o->name);
	/* then the OCI runtime's global options (--systemd-cgroup …), which come before the
	 * command; the command's own flag wins a name they share (none today) */
	for (const cli_option *o = cli_oci_global_options; o->id != CLI_OPT_END; o++)
		if (o->id > 0 && o->name)
			add_flag(o->name);
	bwk_output_set(&(bwk_output){
	    .log = log_line, .setting = setting, .progress = isatty(STDERR_FILENO) == 1});
}
