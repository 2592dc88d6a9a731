/* The OCI runtime lifecycle commands, with runc's command line (containerd-shim-runc-v2, Docker
 * and Podman call them so): the global options before the command, then create, start, state,
 * kill, delete and list. Errors go to stderr and, with --log, to that file too (one line; JSON
 * with --log-format json, which is where the shim reads why a command failed). Runtime errors
 * exit 1, as runc's do; usage errors 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bulwark/log.h"
#include "bulwark/oci.h"
#include "bulwark/oci_runtime.h"
#include "bulwark/sandbox.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

enum { EXIT_RUNTIME = 1 };

static struct {
	const char *root, *log, *log_format, *runtime_conf;
	bool systemd_cgroup, harden;
	char **argv; /* the whole command line, for the sealed re-execution */
} g = {BWK_OCI_DEFAULT_ROOT, NULL, "text", NULL, false, false, NULL};

/* Every row of the OCI commands' tables reads no environment variable and no config file
 * (cli_parser_init_runc never does; no_config says so in the help, the man page and
 * __options). */
#define OCI_SW(id_, name_, help_)                                                                  \
	{                                                                                          \
		.id = (id_), .name = (name_), .help = (help_), .no_config = true                   \
	}
#define OCI_VAL(id_, name_, arg_, meta_, help_)                                                    \
	{                                                                                          \
		.id = (id_), .name = (name_), .arg = (arg_), .metavar = (meta_), .help = (help_),  \
		.no_config = true                                                                  \
	}
#define OCI_CHOICE(id_, name_, meta_, help_, choices_)                                             \
	{                                                                                          \
		.id = (id_), .name = (name_), .arg = CLI_ARG_VALUE, .metavar = (meta_),            \
		.help = (help_), .choices = (choices_), .no_config = true                          \
	}

enum {
	G_ROOT = 0x700,
	G_LOG,
	G_LOG_FORMAT,
	G_SYSTEMD,
	G_HARDEN,
	G_RUNTIME_CONF,
	G_DEBUG,
	G_ROOTLESS,
	O_PID_FILE = 0x720,
	O_CONSOLE,
	O_NO_PIVOT,
	O_NO_KEYRING,
	O_PRESERVE_FDS,
	O_KEEP,
	O_NO_SUBREAPER,
	O_PROCESS,
	O_STATS,
	O_INTERVAL,
	O_CWD,
	O_NO_NEW_PRIVS,
	O_APPARMOR,
	O_PROCESS_LABEL,
	O_IGNORE_PAUSED,
};

const cli_option cli_oci_global_options[] = {
    OCI_VAL(G_ROOT, "root", CLI_ARG_DIR, "DIR",
	    "state directory (default " BWK_OCI_DEFAULT_ROOT ")"),
    OCI_VAL(G_LOG, "log", CLI_ARG_FILE, "FILE", "also append errors to FILE"),
    OCI_CHOICE(G_LOG_FORMAT, "log-format", "FMT", "the log's lines: text (default) or json",
	       "text json"),
    OCI_SW(G_SYSTEMD, "systemd-cgroup",
	   "cgroupsPath is slice:prefix:name: a transient scope made\nthrough systemd "
	   "(D-Bus), Delegate=yes"),
    OCI_SW(G_HARDEN, "harden",
	   "add what the bundle left out (docs/oci-runtime.md):\nseccomp, no_new_privs, "
	   "capabilities, masked paths,\nlimits, read-only root; each change is logged"),
    OCI_VAL(G_RUNTIME_CONF, "runtime-config", CLI_ARG_FILE, "FILE",
	    "the runtime configuration (default " BWK_OCI_RUNTIME_CONF ")"),
    OCI_SW(G_DEBUG, "debug", "accepted, as runc has it"),
    OCI_CHOICE(G_ROOTLESS, "rootless", "MODE", "accepted, as runc has it (true, false, auto)",
	       "true false auto"),
    {.id = CLI_OPT_END}};

/* no command of its own (main NULL, not in cli_commands): its usage errors show bulwark's
 * usage line and point to bulwark --help */
const cli_cmd cli_oci_globals_cmd = {"global", "OCI runtime global options", cli_main_usage,
				     NULL,     cli_oci_global_options,	     NULL,
				     NULL};

static void log_line(const char *level, const char *msg);

static void usage_logged(const char *msg)
{
	log_line("error", msg);
}

static int global_option(const cli_cmd *cmd, void *ctx, int id, const char *arg)
{
	(void)ctx;
	switch (id) {
	case G_ROOT:
		g.root = arg;
		break;
	case G_LOG: /* usage errors from here on go there too, as the shim reads only it */
		g.log = arg;
		cli_usage_log = usage_logged;
		break;
	case G_LOG_FORMAT:
		if (strcmp(arg, "text") && strcmp(arg, "json"))
			return cli_usage_error(cmd, "--log-format: 'text' or 'json', not '%s'",
					       arg);
		g.log_format = arg;
		break;
	case G_RUNTIME_CONF:
		g.runtime_conf = arg;
		break;
	case G_SYSTEMD:
		g.systemd_cgroup = true;
		break;
	case G_HARDEN:
		g.harden = true;
		break;
	default: /* --debug, --rootless: accepted, as runc has them */
		break;
	}
	return 0;
}

static int harden_only(const cli_cmd *cmd, void *ctx, int id, const char *arg)
{
	(void)cmd;
	(void)arg;
	if (id == G_HARDEN)
		*(bool *)ctx = true;
	return 0;
}

bool cli_oci_args_harden(const char *const *args, size_t n)
{
	char *argv[66] = {(char *)"bulwark"};
	int argc = 1;
	for (size_t i = 0; i < n && argc < 65; i++) /* never the help: only what is set */
		if (strcmp(args[i], "-h") && strcmp(args[i], "--help") && strcmp(args[i], "-help"))
			argv[argc++] = (char *)args[i];
	bool harden = false;
	int saved = optind, status;
	if (cli_parse_runc_prefix(&cli_oci_globals_cmd, argc, argv, harden_only, &harden, &status))
		harden = false; /* the runtime would refuse these arguments */
	optind = saved;
	return harden;
}

int cli_oci_globals(int argc, char **argv)
{
	g.argv = argv;
	int status;
	/* an option not in the table (--help, --version, or unknown) is main's */
	if (cli_parse_runc_prefix(&cli_oci_globals_cmd, argc, argv, global_option, NULL, &status))
		return -1;
	int end = optind;
	if (g.log) { /* the file exists as runc's does, even when nothing is logged (the shim
		      * reads it after any failure) */
		int fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
	}
	return end - 1;
}

static void log_line(const char *level, const char *msg)
{
	if (!g.log)
		return;
	int fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char *line;
	if (!strcmp(g.log_format, "json")) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", ts);
		char *j = json_dumps(o, JSON_COMPACT);
		line = xasprintf("%s\n", j);
		free(j);
		json_decref(o);
	} else
		line = xasprintf("time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
	if (write(fd, line, strlen(line)) < 0) {
	}
	free(line);
	close(fd);
}

/* Before a container can see this process: run from a sealed copy (CVE-2019-5736), with
 * descriptors 0-2 open (else our own files would take their numbers and become the
 * container's stdio). 0, or the exit status. */
static int oci_prepare(void);

static int oci_fail(bwk_error *err)
{
	bwk_code code = bwk_error_code(err);
	char *msg = bwk_error_format(err);
	log_line("error", msg ? msg : "error");
	free(msg);
	bwk_error_print(err, stderr);
	bwk_error_free(err);
	return code == BWK_E_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
}

static int oci_prepare(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return EXIT_RUNTIME;
	cleanup_error bwk_error *err = NULL;
	if (g.argv && bwk_oci_sealed_exe(g.argv, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return 0;
}

/* The container id, the one operand most commands take. */
static int one_id(const cli_cmd *self, int argc, char **argv, const char **id)
{
	if (optind >= argc)
		return cli_usage_error(self, "a container id is required");
	*id = argv[optind++];
	return 0;
}

/* The container id as the one operand left: 0, or EXIT_USAGE (the usage error printed). */
static int id_only(const cli_cmd *self, int argc, char **argv, const char **id)
{
	if (one_id(self, argc, argv, id))
		return EXIT_USAGE;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* A command whose only operand is the container id and whose only option is -h: 0 to go on,
 * or 1 with *status the exit status (the help or a usage error printed). */
static int simple_cmd(const char *name, int argc, char **argv, const char **id, int *status)
{
	const cli_cmd *self = cli_find(name);
	if (cli_parse_runc(self, argc, argv, NULL, NULL, status))
		return 1;
	return (*status = id_only(self, argc, argv, id)) != 0;
}

#define OCI_CREATE_OPTIONS                                                                         \
	OCI_VAL('b', "bundle", CLI_ARG_DIR, "DIR",                                                 \
		"the bundle: config.json and the root filesystem\n(default: the current "          \
		"directory)"),                                                                     \
	    OCI_VAL(O_PID_FILE, "pid-file", CLI_ARG_FILE, "FILE",                                  \
		    "write the container's init pid to FILE"),                                     \
	    OCI_VAL(O_CONSOLE, "console-socket", CLI_ARG_FILE, "SOCKET",                           \
		    "process.terminal: send the pty master to the unix\nsocket SOCKET"),           \
	    OCI_SW(O_NO_PIVOT, "no-pivot",                                                         \
		   "accepted, as runc has it (pivot_root is always used)"),                        \
	    OCI_SW(O_NO_KEYRING, "no-new-keyring", "accepted, as runc has it"),                    \
	    OCI_VAL(O_PRESERVE_FDS, "preserve-fds", CLI_ARG_VALUE, "N",                            \
		    "pass descriptors 3 to 3+N-1 on to the process")

const cli_option cmd_create_options[] = {OCI_CREATE_OPTIONS, CLI_OPT_HELP, {.id = CLI_OPT_END}};

const char cmd_create_usage[] =
    "usage: bulwark [GLOBAL] create [-b|--bundle DIR] [--pid-file F] [--console-socket S] ID\n"
    "Create container ID from an OCI bundle (DIR, default the current directory): all of its\n"
    "setup is done and its process waits for `bulwark start ID`. Root only for now. The\n"
    "global options (before the command: --root, --log, --harden …) are in `bulwark --help`.\n"
    "Options are runc's: -opt and --opt alike; none is read from the environment.\n";

/* --preserve-fds N into *n: 0, or the exit status of a usage error */
static int preserve_fds_arg(const cli_cmd *self, const char *arg, unsigned *n)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v > BWK_OCI_MAX_PRESERVE_FDS)
		return cli_usage_error(self,
				       "--preserve-fds '%s': a number of descriptors, 0 to %d", arg,
				       BWK_OCI_MAX_PRESERVE_FDS);
	*n = (unsigned)v;
	return 0;
}

/* create's options into `o`: 0 to go on, -1 after -h, or the exit status of a usage error */
static int create_option(const cli_cmd *self, bwk_oci_create_opts *o, int opt, const char *arg)
{
	if (opt == 'b')
		o->bundle = arg;
	else if (opt == O_PID_FILE)
		o->pid_file = arg;
	else if (opt == O_CONSOLE)
		o->console_socket = arg;
	else if (opt == O_PRESERVE_FDS)
		return preserve_fds_arg(self, arg, &o->preserve_fds);
	return 0; /* --no-pivot, --no-new-keyring: accepted */
}

/* create's and run's options (run's -d and --keep set detach and keep; create has neither) */
typedef struct create_args_ctx {
	bwk_oci_create_opts *o;
	bool *detach, *keep;
} create_args_ctx;

static int create_args_option(const cli_cmd *self, void *ctx, int opt, const char *arg)
{
	create_args_ctx *c = ctx;
	if (c->keep && opt == 'd')
		*c->detach = true;
	else if (c->keep && opt == O_KEEP)
		*c->keep = true;
	else
		return create_option(self, c->o, opt, arg);
	return 0;
}

/* create's options, and run's -d and --keep (KEEP NULL: create, which has neither), then the
 * id and the runtime's preparation. True when the command ends there (help, a usage error),
 * with *STATUS its exit status. */
static bool create_args(const cli_cmd *self, int argc, char **argv, bwk_oci_create_opts *o,
			bool *detach, bool *keep, int *status)
{
	create_args_ctx c = {o, detach, keep};
	if (cli_parse_runc(self, argc, argv, create_args_option, &c, status))
		return true;
	if ((*status = id_only(self, argc, argv, &o->id)))
		return true;
	*status = oci_prepare();
	return *status != 0;
}

/* bwk_oci_create, and what the hardening policy changed and what create left out (unknown
 * capabilities), once each in the runtime log (the warnings on stderr without one) */
static int create_logged(const bwk_oci_create_opts *o, bwk_strv *changes, bwk_error **err)
{
	bwk_strv warnings = {0};
	bwk_oci_create_opts oo = *o;
	oo.warnings = &warnings;
	int rc = bwk_oci_create(&oo, err);
	for (size_t i = 0; i < changes->n; i++)
		log_line("info", changes->v[i]);
	for (size_t i = 0; i < warnings.n; i++)
		if (g.log)
			log_line("warning", warnings.v[i]);
		else
			bwk_log(BWK_LOG_WARNING, "%s", warnings.v[i]);
	bwk_strv_clear(changes);
	bwk_strv_clear(&warnings);
	return rc;
}

/* create's and run's settings before their options: the global ones, the bundle in the cwd */
static bwk_oci_create_opts create_opts(bwk_strv *changes)
{
	return (bwk_oci_create_opts){.root = g.root,
				     .bundle = ".",
				     .systemd_cgroup = g.systemd_cgroup,
				     .harden = g.harden,
				     .runtime_conf = g.runtime_conf,
				     .changes = changes};
}

int cmd_create(int argc, char **argv)
{
	const cli_cmd *self = cli_find("create");
	bwk_strv changes = {0};
	bwk_oci_create_opts o = create_opts(&changes);
	int status;
	if (create_args(self, argc, argv, &o, NULL, NULL, &status))
		return status;
	cleanup_error bwk_error *err = NULL;
	if (create_logged(&o, &changes, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

/* ---- run: create, start and wait, as runc run ---- */

const cli_option cmd_oci_run_options[] = {
    OCI_CREATE_OPTIONS,
    OCI_SW('d', "detach",
	   "return once the container runs (its init is then the\nparent's or "
	   "its subreaper's child)"),
    OCI_SW(O_KEEP, "keep", "do not delete the container after it exits"),
    OCI_SW(O_NO_SUBREAPER, "no-subreaper", "accepted, as runc has it"),
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_oci_run_usage[] =
    "usage: bulwark [GLOBAL] run [-b|--bundle DIR] [-d|--detach] [--keep] [--pid-file F]\n"
    "                            [--console-socket S] ID\n"
    "OCI runtime: create container ID from a bundle, start it and wait for it (runc run):\n"
    "its stdio is bulwark's, signals to bulwark are passed to its init, bulwark exits with\n"
    "its status (128+N: killed by signal N) and deletes it unless --keep. This is `run` when\n"
    "a global option precedes it (bulwark --root DIR run …), when it has -b/--bundle, or\n"
    "when bulwark is called as runc; `bulwark run IMAGE` is the daemonless run\n"
    "(docs/oci-runtime.md). `bulwark oci-run` is always this one.\n";

/* The init pid of a created container, from its state. */
static pid_t state_pid(const char *id, bwk_error **err)
{
	cleanup_free char *s = bwk_oci_state(g.root, id, err);
	if (!s)
		return -1;
	json_t *j = json_loads(s, 0, NULL);
	json_int_t pid = json_integer_value(json_object_get(j, "pid"));
	json_decref(j);
	if (pid <= 0) {
		bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: no init process", id);
		return -1;
	}
	return (pid_t)pid;
}

/* run in the foreground without --console-socket: a terminal the container asks for
 * (process.terminal) is bulwark's to relay, as runc's. create connects to a socket of ours and
 * its init sends the pty master there before create returns. */
typedef struct run_console {
	char dir[64], path[96];
	int listen_fd, master;
} run_console;

static int console_listen(run_console *rc, bwk_error **err)
{
	snprintf(rc->dir, sizeof rc->dir, "/tmp/bulwark-run-XXXXXX");
	if (!mkdtemp(rc->dir))
		return bwk_error_set(err, BWK_E_IO, errno, "%s", rc->dir);
	snprintf(rc->path, sizeof rc->path, "%s/console.sock", rc->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, rc->path, strlen(rc->path) + 1);
	rc->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rc->listen_fd < 0 || bind(rc->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(rc->listen_fd, 1) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "console socket %s", rc->path);
	return 0;
}

/* After create: the pty master if the container has a terminal, else -1. */
static void console_receive(run_console *rc)
{
	int conn = accept4(rc->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (conn >= 0) {
		char byte;
		char ctl[CMSG_SPACE(sizeof(int))] = {0};
		struct iovec iov = {&byte, 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl,
				    .msg_controllen = sizeof ctl};
		if (recvmsg(conn, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) > 0) {
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&rc->master, CMSG_DATA(cm), sizeof(int));
		}
		close(conn);
	}
}

static void console_close(run_console *rc)
{
	if (rc->listen_fd >= 0)
		close(rc->listen_fd);
	if (rc->master >= 0)
		close(rc->master);
	if (rc->path[0])
		unlink(rc->path);
	if (rc->dir[0])
		rmdir(rc->dir);
}

static void copy_winsize(int master)
{
	struct winsize ws;
	if (master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* Move what is readable on `from` to `to`: false at its end (EOF, EIO of a closed pty). */
static bool relay(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return true; /* the reader is gone: drop the output, keep the container */
		off += w;
	}
	return true;
}

/* Start the container, pass on signals (and relay its terminal) and wait for its init: its
 * status (128+N: signal N), or -1 with *err. Signals are blocked from before `start`, so none
 * is lost between the container's first instruction and the wait. */
static int run_and_wait(const char *id, pid_t init, int master, bwk_error **err)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
	sigset_t set, old;
	sigfillset(&set);
	for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
		sigdelset(&set, fatal[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	cleanup_close int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	struct termios saved;
	bool raw = master >= 0 && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	copy_winsize(master);
	bool in_open = master >= 0;
	int status = -1;
	if (sfd < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "signalfd");
		goto out;
	}
	if (id && bwk_oci_start(g.root, id, err) < 0) /* NULL: exec's process, running already */
		goto out;
	for (;;) {
		int ws;
		pid_t r;
		while ((r = waitpid(-1, &ws, WNOHANG)) > 0) /* the init, or a reparented orphan */
			if (r == init) {
				status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
				goto out;
			}
		if (r < 0 && errno == ECHILD && kill(init, 0) < 0) { /* not ours: gone */
			status = 0;
			goto out;
		}
		struct pollfd pf[3] = {{sfd, POLLIN, 0},
				       {in_open ? STDIN_FILENO : -1, POLLIN, 0},
				       {master, POLLIN, 0}};
		if (poll(pf, 3, 1000) <= 0)
			continue;
		if (pf[2].revents && !relay(master, STDOUT_FILENO)) {
			close(master); /* every process closed the terminal */
			master = -1;
			in_open = false;
		}
		if (pf[1].revents && !relay(STDIN_FILENO, master))
			in_open = false;
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
			int sig = (int)si.ssi_signo;
			if (sig == SIGWINCH)
				copy_winsize(master);
			else if (sig != SIGCHLD && sig != SIGPIPE && sig != SIGURG)
				kill(init, sig); /* as runc's signal handler: the init decides */
		}
	}
out:
	if (status >= 0 && master >= 0) { /* what the container wrote last */
		fcntl(master, F_SETFL, O_NONBLOCK);
		while (poll(&(struct pollfd){master, POLLIN, 0}, 1, 0) > 0 &&
		       relay(master, STDOUT_FILENO))
			;
	}
	if (master >= 0)
		close(master);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

int cmd_oci_run(int argc, char **argv)
{
	const cli_cmd *self = cli_find("oci-run");
	bwk_strv changes = {0};
	bwk_oci_create_opts o = create_opts(&changes);
	bool detach = false, keep = false;
	int st;
	if (create_args(self, argc, argv, &o, &detach, &keep, &st))
		return st;
	cleanup_with(console_close) run_console console = {.listen_fd = -1, .master = -1};
	if (!detach && !o.console_socket) {
		cleanup_error bwk_error *cerr = NULL;
		if (console_listen(&console, &cerr) < 0)
			return oci_fail(steal_pointer(&cerr));
		o.console_socket = console.path;
	}
	/* the init's parent (create's stage A) exits: the init becomes ours to wait for */
	if (!detach && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		bwk_error *e = NULL;
		bwk_error_set(&e, BWK_E_RUNTIME, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
		return oci_fail(e);
	}
	cleanup_error bwk_error *err = NULL;
	if (create_logged(&o, &changes, &err) < 0)
		return oci_fail(steal_pointer(&err));
	if (detach) {
		if (bwk_oci_start(g.root, o.id, &err) < 0) {
			bwk_oci_delete(g.root, o.id, true, NULL);
			return oci_fail(steal_pointer(&err));
		}
		return EXIT_CLEAN;
	}
	pid_t init = state_pid(o.id, &err);
	if (console.listen_fd >= 0)
		console_receive(&console);
	int status = init > 0 ? run_and_wait(o.id, init, console.master, &err) : -1;
	console.master = -1; /* run_and_wait closed it */
	if (!keep || status < 0)
		bwk_oci_delete(g.root, o.id, true, NULL);
	if (status < 0)
		return oci_fail(steal_pointer(&err));
	return status;
}

const cli_option cmd_id_options[] = {CLI_OPT_HELP, {.id = CLI_OPT_END}};

const char cmd_start_usage[] = "usage: bulwark [GLOBAL] start ID\n"
			       "Start the process of created container ID.\n";
const char cmd_state_usage[] = "usage: bulwark [GLOBAL] state ID\n"
			       "Print the OCI runtime state of container ID (JSON).\n";

int cmd_start(int argc, char **argv)
{
	const char *id = NULL;
	int status;
	if (simple_cmd("start", argc, argv, &id, &status))
		return status;
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_start(g.root, id, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

int cmd_state(int argc, char **argv)
{
	const char *id = NULL;
	int status;
	if (simple_cmd("state", argc, argv, &id, &status))
		return status;
	cleanup_error bwk_error *err = NULL;
	cleanup_free char *s = bwk_oci_state(g.root, id, &err);
	if (!s)
		return oci_fail(steal_pointer(&err));
	puts(s);
	return EXIT_CLEAN;
}

const cli_option cmd_kill_options[] = {
    OCI_SW('a', "all", "signal every process of the container's cgroup"),
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_kill_usage[] =
    "usage: bulwark [GLOBAL] kill [-a|--all] ID [SIGNAL]\n"
    "Send SIGNAL (default SIGTERM; a name like KILL or SIGKILL, or a number) to the init of\n"
    "container ID; with --all to every process of its cgroup.\n";

int cmd_kill(int argc, char **argv)
{
	const cli_cmd *self = cli_find("kill");
	bool all = false;
	int status;
	if (cli_parse_runc(self, argc, argv, cli_runc_switch, &all, &status))
		return status;
	const char *id = NULL;
	if (one_id(self, argc, argv, &id))
		return EXIT_USAGE;
	int sig = SIGTERM;
	if (optind < argc) {
		/* 0: whether the init exists (runc takes it too) */
		sig = strcmp(argv[optind], "0") ? bwk_signal_from_name(argv[optind]) : 0;
		if (sig < 0)
			return cli_usage_error(self, "'%s' is not a signal", argv[optind]);
		optind++;
	}
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_kill(g.root, id, sig, all, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

const cli_option cmd_delete_options[] = {
    OCI_SW('f', "force", "kill a running container first"), CLI_OPT_HELP, {.id = CLI_OPT_END}};

const char cmd_delete_usage[] =
    "usage: bulwark [GLOBAL] delete [-f|--force] ID\n"
    "Delete container ID: its processes (a created one's init is killed), cgroup and state.\n"
    "A running container is refused unless --force (which kills it first).\n";

int cmd_delete(int argc, char **argv)
{
	const cli_cmd *self = cli_find("delete");
	bool force = false;
	int status;
	if (cli_parse_runc(self, argc, argv, cli_runc_switch, &force, &status))
		return status;
	const char *id = NULL;
	if ((status = id_only(self, argc, argv, &id)))
		return status;
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_delete(g.root, id, force, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

#define OCI_FORMAT_OPTION OCI_CHOICE('f', "format", "FMT", "table (default) or json", "table json")

const cli_option cmd_list_options[] = {
    OCI_SW('q', "quiet", "only the ids"), OCI_FORMAT_OPTION, CLI_OPT_HELP, {.id = CLI_OPT_END}};

const char cmd_list_usage[] = "usage: bulwark [GLOBAL] list [-q|--quiet] [--format table|json]\n"
			      "List the containers under the state root.\n";

/* --format's value: 1 json, 0 table, -1 after the usage error */
static int format_json(const cli_cmd *self, const char *arg)
{
	if (strcmp(arg, "json") && strcmp(arg, "table")) {
		cli_usage_error(self, "--format: table or json");
		return -1;
	}
	return !strcmp(arg, "json");
}

/* list's and ps's options */
typedef struct format_args {
	bool quiet;
	int json;
} format_args;

static int format_option(const cli_cmd *self, void *ctx, int opt, const char *arg)
{
	format_args *a = ctx;
	if (opt == 'q')
		a->quiet = true;
	else if (opt == 'f' && (a->json = format_json(self, arg)) < 0)
		return EXIT_USAGE;
	return 0;
}

int cmd_list(int argc, char **argv)
{
	const cli_cmd *self = cli_find("list");
	format_args a = {0};
	int status;
	if (cli_parse_runc(self, argc, argv, format_option, &a, &status))
		return status;
	bool quiet = a.quiet;
	int json = a.json;
	if (optind < argc)
		return cli_usage_error(self, "unexpected argument '%s'", argv[optind]);
	cleanup_error bwk_error *err = NULL;
	cleanup_free char *text = bwk_oci_list(g.root, &err);
	if (!text)
		return oci_fail(steal_pointer(&err));
	if (json) {
		puts(text);
		return EXIT_CLEAN;
	}
	json_t *arr = json_loads(text, 0, NULL);
	if (!quiet)
		printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		if (quiet) {
			puts(id);
			continue;
		}
		const char *created = json_string_value(json_object_get(c, "created"));
		printf("%-24s %-8lld %-10s %-40s %s\n", id,
		       (long long)json_integer_value(json_object_get(c, "pid")),
		       json_string_value(json_object_get(c, "status")),
		       json_string_value(json_object_get(c, "bundle")), created ? created : "");
	}
	json_decref(arr);
	return EXIT_CLEAN;
}

const cli_option cmd_exec_options[] = {
    OCI_VAL('p', "process", CLI_ARG_FILE, "FILE",
	    "the process: a runtime-spec process object (JSON);\nthe process options below "
	    "then do not apply"),
    OCI_VAL(O_CWD, "cwd", CLI_ARG_DIR, "DIR", "the working directory in the container"),
    OCI_VAL('e', "env", CLI_ARG_VALUE, "NAME=VALUE",
	    "add a variable to the container's environment\n(repeatable)"),
    OCI_VAL('u', "user", CLI_ARG_VALUE, "UID[:GID]", "run as UID (and GID), numbers"),
    OCI_VAL('g', "additional-gids", CLI_ARG_VALUE, "GID",
	    "a supplementary group, added to the config's\n(repeatable)"),
    OCI_VAL('c', "cap", CLI_ARG_VALUE, "CAP",
	    "add CAP to the bounding, effective and permitted sets\n(and ambient when the "
	    "config has inheritable ones;\nrepeatable)"),
    OCI_SW(O_NO_NEW_PRIVS, "no-new-privs", "set no_new_privs for the process"),
    OCI_VAL(O_APPARMOR, "apparmor", CLI_ARG_VALUE, "PROFILE", "the AppArmor profile"),
    OCI_VAL(O_PROCESS_LABEL, "process-label", CLI_ARG_VALUE, "LABEL",
	    "the SELinux label (refused where SELinux is on:\nbulwark sets no labels)"),
    OCI_SW('t', "tty",
	   "give the process a terminal (its master to --console-socket; without one and --detach, "
	   "relayed to this terminal)"),
    OCI_SW('d', "detach", "return once the process runs"),
    OCI_VAL(O_PID_FILE, "pid-file", CLI_ARG_FILE, "FILE", "write the process's pid to FILE"),
    OCI_VAL(O_CONSOLE, "console-socket", CLI_ARG_FILE, "SOCKET",
	    "send the pty master to the unix socket SOCKET"),
    OCI_VAL(O_PRESERVE_FDS, "preserve-fds", CLI_ARG_VALUE, "N",
	    "pass descriptors 3 to 3+N-1 on to the process"),
    OCI_SW(O_IGNORE_PAUSED, "ignore-paused",
	   "exec into a paused container too (the process runs\nonce it is resumed)"),
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_exec_usage[] =
    "usage: bulwark [GLOBAL] exec [OPTIONS] ID COMMAND [ARG…]\n"
    "       bulwark [GLOBAL] exec [-p|--process FILE] [-d] [--pid-file F] [--console-socket S] "
    "ID\n"
    "Run a process in running container ID, as runc exec: the runtime-spec process object of\n"
    "FILE, else the container's own process (config.json) with COMMAND as its args and the\n"
    "options below over it. It joins the container's namespaces and cgroup and gets its\n"
    "seccomp filter. Without --detach bulwark waits and exits with the process's status.\n";

/* the repeatable values of exec (--env, --cap, --additional-gids): at most argc of each */
typedef struct exec_lists {
	const char **env, **caps;
	uint32_t *gids;
	size_t nenv, ncaps, ngids;
} exec_lists;

static void exec_lists_free(exec_lists *l)
{
	free(l->env);
	free(l->caps);
	free(l->gids);
}

/* exec's options into `o`: 0, or the exit status of a usage error */
static int exec_option(const cli_cmd *self, bwk_oci_exec_opts *o, exec_lists *l, int opt,
		       const char *arg)
{
	switch (opt) {
	case 'p':
		o->process_json = arg;
		break;
	case O_CWD:
		o->cwd = arg;
		break;
	case 'e':
		l->env[l->nenv++] = arg;
		break;
	case 'u':
		o->user = arg;
		break;
	case 'g': {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v >= UINT32_MAX)
			return cli_usage_error(self, "--additional-gids '%s': a group id", arg);
		l->gids[l->ngids++] = (uint32_t)v;
		break;
	}
	case 'c':
		l->caps[l->ncaps++] = arg;
		break;
	case O_NO_NEW_PRIVS:
		o->no_new_privs = true;
		break;
	case O_APPARMOR:
		o->apparmor = arg;
		break;
	case O_PROCESS_LABEL:
		o->process_label = arg;
		break;
	case 't':
		o->tty = true;
		break;
	case 'd':
		o->detach = true;
		break;
	case O_PID_FILE:
		o->pid_file = arg;
		break;
	case O_CONSOLE:
		o->console_socket = arg;
		break;
	case O_PRESERVE_FDS:
		return preserve_fds_arg(self, arg, &o->preserve_fds);
	case O_IGNORE_PAUSED:
		o->ignore_paused = true;
		break;
	default:
		break;
	}
	return 0;
}

typedef struct exec_args {
	bwk_oci_exec_opts *o;
	exec_lists *l;
} exec_args;

static int exec_args_option(const cli_cmd *self, void *ctx, int opt, const char *arg)
{
	exec_args *a = ctx;
	return exec_option(self, a->o, a->l, opt, arg);
}

int cmd_exec(int argc, char **argv)
{
	const cli_cmd *self = cli_find("exec");
	bwk_oci_exec_opts o = {.root = g.root};
	cleanup_with(exec_lists_free)
	    exec_lists l = {.env = xcalloc((size_t)argc + 1, sizeof(char *)),
			    .caps = xcalloc((size_t)argc + 1, sizeof(char *)),
			    .gids = xcalloc((size_t)argc + 1, sizeof(uint32_t))};
	exec_args a = {&o, &l};
	int rc;
	if (cli_parse_runc(self, argc, argv, exec_args_option, &a, &rc))
		return rc;
	if (one_id(self, argc, argv, &o.id))
		return EXIT_USAGE;
	bool shaping = o.cwd || o.user || o.apparmor || o.process_label || o.no_new_privs ||
		       l.nenv || l.ncaps || l.ngids;
	if (o.process_json && optind < argc)
		return cli_usage_error(self, "--process and a COMMAND: give one of them");
	if (o.process_json && shaping)
		return cli_usage_error(self, "--process FILE is the whole process: put --cwd, "
					     "--env, --user, --cap … in FILE instead");
	if (!o.process_json && optind >= argc)
		return cli_usage_error(self, "a COMMAND or --process is required");
	o.args = (const char *const *)argv + optind;
	o.env = l.nenv ? l.env : NULL;
	o.caps = l.ncaps ? l.caps : NULL;
	o.additional_gids = l.gids;
	o.n_additional_gids = l.ngids;
	int r = oci_prepare();
	if (r)
		return r;
	cleanup_error bwk_error *err = NULL;
	/* the process file read once, here: its "terminal" is -t's */
	cleanup_with(bwk_oci_spec_freep) bwk_oci_spec *process = NULL;
	if (o.process_json) {
		if (bwk_oci_exec_process_load(o.process_json, &process, &err) < 0)
			return oci_fail(steal_pointer(&err));
		o.process = process;
	}
	/* -t (or the process file's terminal) in the foreground without --console-socket: the
	 * terminal is bulwark's to relay, as runc's and as run's: the pty comes to a console
	 * socket of ours, the process runs detached to this process (a subreaper) and is waited
	 * for here */
	cleanup_with(console_close) run_console console = {.listen_fd = -1, .master = -1};
	char pidf[128] = "";
	bool tty = o.tty || (process && process->process.terminal);
	bool relay_tty = tty && !o.detach && !o.console_socket;
	if (relay_tty) {
		if (console_listen(&console, &err) < 0)
			return oci_fail(steal_pointer(&err));
		o.console_socket = console.path;
		snprintf(pidf, sizeof pidf, "%s/exec.pid", console.dir);
		if (!o.pid_file)
			o.pid_file = pidf;
		o.detach = true;
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
			bwk_error_set(&err, BWK_E_RUNTIME, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
			return oci_fail(steal_pointer(&err));
		}
	}
	int status = 0;
	if (bwk_oci_exec(&o, &status, &err) < 0)
		return oci_fail(steal_pointer(&err));
	if (relay_tty) {
		cleanup_free char *text = NULL;
		size_t len = 0;
		long pid = 0;
		if (bwk_read_file_at(AT_FDCWD, o.pid_file, 32, true, &text, &len, &err) == 0)
			pid = strtol(text, NULL, 10);
		unlink(pidf);
		if (pid <= 0)
			return err ? oci_fail(steal_pointer(&err)) : EXIT_RUNTIME;
		console_receive(&console);
		status = run_and_wait(NULL, (pid_t)pid, console.master, &err);
		console.master = -1; /* run_and_wait closed it */
		if (status < 0)
			return oci_fail(steal_pointer(&err));
	}
	return status;
}

const cli_option cmd_ps_options[] = {OCI_FORMAT_OPTION, CLI_OPT_HELP, {.id = CLI_OPT_END}};

const char cmd_ps_usage[] =
    "usage: bulwark [GLOBAL] ps [-f|--format table|json] ID [PS_ARG…]\n"
    "The processes of container ID (its cgroup), as runc ps: ps(1) run with PS_ARG (default\n"
    "-ef), its header and the rows whose PID is one of the container's. With --format json\n"
    "the pids as a JSON array (containerd's shim reads that; PS_ARG are then not used).\n";

#define PS_MAX_OUTPUT ((size_t)64 << 20)

/* ps(1) with `args` (after argv[0]): its standard output, or NULL after the error */
static char *run_ps(char **args, bwk_error **err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "ps: pipe");
		return NULL;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		bwk_error_set(err, BWK_E_RUNTIME, errno, "ps: fork");
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		execvp("ps", args);
		fprintf(stderr, "bulwark: ps: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, PS_MAX_OUTPUT);
	char buf[8192];
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			bwk_strbuf_appendn(&sb, buf, (size_t)n);
	close(fds[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) || sb.truncated) {
		bwk_error_set(err, BWK_E_RUNTIME, 0, "ps %s: %s", args[1] ? args[1] : "",
			      sb.truncated ? "more than 64 MiB of output"
			      : WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "ps(1) is not installed"
									: "ps(1) failed");
		bwk_strbuf_free(&sb);
		return NULL;
	}
	return bwk_strbuf_steal(&sb);
}

/* the index of the PID column in ps's header line, or -1 */
static int pid_column(const char *header, size_t len)
{
	int col = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && (header[i] == ' ' || header[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && header[i] != ' ' && header[i] != '\t')
			i++;
		if (i > start) {
			if (i - start == 3 && !strncmp(header + start, "PID", 3))
				return col;
			col++;
		}
	}
	return -1;
}

/* field `col` of a ps row as a pid, or -1 */
static long row_pid(const char *row, size_t len, int col)
{
	size_t i = 0;
	for (int c = 0;; c++) {
		while (i < len && (row[i] == ' ' || row[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && row[i] != ' ' && row[i] != '\t')
			i++;
		if (i == start)
			return -1;
		if (c == col) {
			long v = 0;
			for (size_t k = start; k < i; k++) {
				if (row[k] < '0' || row[k] > '9' || v > 100000000L)
					return -1;
				v = v * 10 + (row[k] - '0');
			}
			return v;
		}
	}
}

static int ps_table(const pid_t *pids, size_t npids, char **args, bwk_error **err)
{
	cleanup_free char *out = run_ps(args, err);
	if (!out)
		return -1;
	const char *nl = strchr(out, '\n');
	size_t hlen = nl ? (size_t)(nl - out) : strlen(out);
	int col = pid_column(out, hlen);
	if (col < 0)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "ps %s: its output has no PID column (add -o pid,… or use "
				     "-ef)",
				     args[1] ? args[1] : "");
	printf("%.*s\n", (int)hlen, out);
	for (const char *row = nl ? nl + 1 : out + hlen; *row;) {
		const char *end = strchr(row, '\n');
		size_t len = end ? (size_t)(end - row) : strlen(row);
		long pid = row_pid(row, len, col);
		for (size_t i = 0; pid > 0 && i < npids; i++)
			if (pids[i] == (pid_t)pid) {
				printf("%.*s\n", (int)len, row);
				break;
			}
		row += len + (end ? 1 : 0);
	}
	return 0;
}

int cmd_ps(int argc, char **argv)
{
	const cli_cmd *self = cli_find("ps");
	format_args a = {0};
	int status;
	if (cli_parse_runc(self, argc, argv, format_option, &a, &status))
		return status;
	int json = a.json;
	const char *id = NULL;
	if (one_id(self, argc, argv, &id))
		return EXIT_USAGE;
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	cleanup_error bwk_error *err = NULL;
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	if (bwk_oci_ps(g.root, id, &pids, &n, &err) < 0)
		return oci_fail(steal_pointer(&err));
	if (json) {
		putchar('[');
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		puts("]");
		return EXIT_CLEAN;
	}
	/* ps(1)'s argv: "ps", the arguments given (else -ef), NULL */
	size_t nargs = optind < argc ? (size_t)(argc - optind) : 1;
	cleanup_free char **args = xcalloc(nargs + 2, sizeof(char *));
	args[0] = (char *)"ps";
	for (size_t i = 0; i < nargs; i++)
		args[i + 1] = optind < argc ? argv[optind + (int)i] : (char *)"-ef";
	if (ps_table(pids, n, args, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

const char cmd_pause_usage[] = "usage: bulwark [GLOBAL] pause|resume ID\n"
			       "Freeze (pause) or thaw (resume) every process of container ID.\n";

int cmd_pause(int argc, char **argv)
{
	bool pause = !strcmp(argv[0], "pause");
	const char *id = NULL;
	int status;
	if (simple_cmd(pause ? "pause" : "resume", argc, argv, &id, &status))
		return status;
	cleanup_error bwk_error *err = NULL;
	if (bwk_oci_pause(g.root, id, pause, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}

enum {
	U_MEMORY = 0x760,
	U_SWAP,
	U_RESERVATION,
	U_KMEM,
	U_SHARES,
	U_QUOTA,
	U_PERIOD,
	U_CPUS,
	U_MEMS,
	U_PIDS,
	U_BLKIO,
	U_RT_PERIOD,
	U_RT_RUNTIME,
	U_BURST,
	U_IDLE,
};

const cli_option cmd_update_options[] = {
    OCI_VAL('r', "resources", CLI_ARG_FILE, "FILE",
	    "a linux.resources JSON object (- : standard input);\nthe flags below go over it"),
    OCI_VAL(U_MEMORY, "memory", CLI_ARG_VALUE, "BYTES", "memory limit (512m, 1g …; -1: unlimited)"),
    OCI_VAL(U_SWAP, "memory-swap", CLI_ARG_VALUE, "BYTES",
	    "memory plus swap limit (-1: unlimited)"),
    OCI_VAL(U_RESERVATION, "memory-reservation", CLI_ARG_VALUE, "BYTES",
	    "memory soft limit (-1: none)"),
    OCI_VAL(U_KMEM, "kernel-memory", CLI_ARG_VALUE, "BYTES",
	    "refused: kernel memory limits are deprecated"),
    OCI_VAL(U_SHARES, "cpu-shares", CLI_ARG_VALUE, "N", "CPU shares (relative weight)"),
    OCI_VAL(U_QUOTA, "cpu-quota", CLI_ARG_VALUE, "US",
	    "CPU time per period, microseconds (-1: unlimited)"),
    OCI_VAL(U_PERIOD, "cpu-period", CLI_ARG_VALUE, "US", "CPU CFS period, microseconds"),
    OCI_VAL(U_CPUS, "cpuset-cpus", CLI_ARG_VALUE, "LIST", "CPUs allowed (0-3, 0,1)"),
    OCI_VAL(U_MEMS, "cpuset-mems", CLI_ARG_VALUE, "LIST", "memory nodes allowed (0-3, 0,1)"),
    OCI_VAL(U_PIDS, "pids-limit", CLI_ARG_VALUE, "N", "maximum number of tasks (-1: none)"),
    OCI_VAL(U_BLKIO, "blkio-weight", CLI_ARG_VALUE, "N", "block IO weight, 10 to 1000"),
    OCI_VAL(U_RT_PERIOD, "cpu-rt-period", CLI_ARG_VALUE, "US",
	    "CPU real-time period, microseconds"),
    OCI_VAL(U_RT_RUNTIME, "cpu-rt-runtime", CLI_ARG_VALUE, "US",
	    "CPU real-time runtime, microseconds"),
    OCI_VAL(U_BURST, "cpu-burst", CLI_ARG_VALUE, "US",
	    "CPU time a period may borrow from idle ones, microseconds"),
    OCI_VAL(U_IDLE, "cpu-idle", CLI_ARG_VALUE, "0|1", "1: the SCHED_IDLE policy for the cgroup"),
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_update_usage[] =
    "usage: bulwark [GLOBAL] update [-r|--resources FILE|-] [--memory B] [--cpu-quota US] … ID\n"
    "Set new cgroup limits of running container ID, as runc update: a runtime-spec\n"
    "linux.resources JSON object (FILE, or standard input for -; containerd's shim uses it)\n"
    "and the flags below, merged into the container's resources (what is not given stays),\n"
    "applied to its cgroup and saved with its state.\n";

/* an update flag's value as an integer: a size for the memory flags, -1 accepted where
 * `neg`; 0, or the exit status of the usage error */
static int update_int(const cli_cmd *self, const char *name, const char *arg, bool size, bool neg,
		      json_int_t *out)
{
	if (neg && !strcmp(arg, "-1")) {
		*out = -1;
		return 0;
	}
	uint64_t v = 0;
	char *end = NULL;
	errno = 0;
	if (size ? bwk_parse_size(arg, &v) < 0
		 : ((v = strtoull(arg, &end, 10)), errno || end == arg || *end || arg[0] == '-') ||
		       v > (uint64_t)INT64_MAX)
		return cli_usage_error(self, "--%s '%s': %s%s", name, arg,
				       size ? "a size (512m, 1g, bytes)" : "a number",
				       neg ? " or -1" : "");
	*out = (json_int_t)v;
	return 0;
}

/* the flags' linux.resources object, built in `r`: 0, or the exit status of a usage error */
static int update_flag(const cli_cmd *self, json_t *r, int opt, const char *arg)
{
	static const struct {
		int id;
		const char *name, *group, *key;
		bool size, neg, str;
	} t[] = {
	    {U_MEMORY, "memory", "memory", "limit", true, true, false},
	    {U_SWAP, "memory-swap", "memory", "swap", true, true, false},
	    {U_RESERVATION, "memory-reservation", "memory", "reservation", true, true, false},
	    {U_SHARES, "cpu-shares", "cpu", "shares", false, false, false},
	    {U_QUOTA, "cpu-quota", "cpu", "quota", false, true, false},
	    {U_PERIOD, "cpu-period", "cpu", "period", false, false, false},
	    {U_CPUS, "cpuset-cpus", "cpu", "cpus", false, false, true},
	    {U_MEMS, "cpuset-mems", "cpu", "mems", false, false, true},
	    {U_PIDS, "pids-limit", "pids", "limit", false, true, false},
	    {U_BLKIO, "blkio-weight", "blockIO", "weight", false, false, false},
	    {U_RT_PERIOD, "cpu-rt-period", "cpu", "realtimePeriod", false, false, false},
	    {U_RT_RUNTIME, "cpu-rt-runtime", "cpu", "realtimeRuntime", false, false, false},
	    {U_BURST, "cpu-burst", "cpu", "burst", false, false, false},
	    {U_IDLE, "cpu-idle", "cpu", "idle", false, false, false},
	};
	if (opt == U_KMEM)
		return cli_usage_error(self, "--kernel-memory: not supported: kernel memory limits "
					     "are deprecated and kernels since 5.16 refuse them");
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		if (t[i].id != opt)
			continue;
		json_t *grp = json_object_get(r, t[i].group);
		if (!grp) {
			grp = json_object();
			json_object_set_new(r, t[i].group, grp);
		}
		if (t[i].str) {
			json_object_set_new(grp, t[i].key, json_string(arg));
			return 0;
		}
		json_int_t v = 0;
		int rc = update_int(self, t[i].name, arg, t[i].size, t[i].neg, &v);
		if (!rc)
			json_object_set_new(grp, t[i].key, json_integer(v));
		return rc;
	}
	return 0;
}

/* --resources FILE|-: its text (at most 1 MiB), or NULL after the error */
static char *read_resources(const char *file, size_t *len, bwk_error **err)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		bwk_error_set(err, BWK_E_IO, errno, "--resources %s", file);
		return NULL;
	}
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 1 << 20);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0 && !sb.truncated)
		bwk_strbuf_appendn(&sb, buf, (size_t)n);
	if (fd > 0)
		close(fd);
	*len = sb.len;
	return bwk_strbuf_steal(&sb);
}

/* update's options: --resources FILE, and the flags gathered into a linux.resources object */
typedef struct update_args {
	const char *file;
	json_t *flags;
	int nflags;
} update_args;

static int update_option(const cli_cmd *self, void *ctx, int opt, const char *arg)
{
	update_args *a = ctx;
	if (opt == 'r') {
		a->file = arg;
		return 0;
	}
	int rc = update_flag(self, a->flags, opt, arg);
	if (!rc)
		a->nflags++;
	return rc;
}

int cmd_update(int argc, char **argv)
{
	const cli_cmd *self = cli_find("update");
	update_args a = {.flags = json_object()};
	json_t *flags = a.flags;
	const char *id = NULL;
	int rc;
	bool end =
	    cli_parse_runc(self, argc, argv, update_option, &a, &rc) ||
	    (rc = id_only(self, argc, argv, &id)) ||
	    (!a.file && !a.nflags &&
	     (rc = cli_usage_error(self, "nothing to update: --resources FILE|- or a flag")));
	if (end) {
		json_decref(flags);
		return rc;
	}
	const char *file = a.file;
	cleanup_error bwk_error *err = NULL;
	json_t *r = flags;
	if (file) { /* the file, then the flags over it */
		size_t len = 0;
		cleanup_free char *data = read_resources(file, &len, &err);
		json_error_t je;
		r = data ? bwk_oci_json_loadb(data, len, &je) : NULL;
		if (data && !json_is_object(r))
			bwk_error_set(&err, BWK_E_INPUT, 0,
				      "--resources %s: not a JSON object (linux.resources)", file);
		if (json_is_object(r))
			json_object_update_recursive(r, flags);
		json_decref(flags);
		if (!json_is_object(r)) {
			json_decref(r);
			return oci_fail(steal_pointer(&err));
		}
	}
	char *text = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	rc = text ? bwk_oci_update(g.root, id, text, strlen(text), &err) : -1;
	free(text);
	if (rc < 0)
		return err ? oci_fail(steal_pointer(&err)) : EXIT_RUNTIME;
	return EXIT_CLEAN;
}

/* ---- events ---- */

const cli_option cmd_events_options[] = {
    OCI_SW(O_STATS, "stats", "print one stats event and exit"),
    OCI_VAL(O_INTERVAL, "interval", CLI_ARG_VALUE, "DURATION",
	    "the stats events' interval: 500ms, 5s (default), 1m"),
    CLI_OPT_HELP,
    {.id = CLI_OPT_END}};

const char cmd_events_usage[] =
    "usage: bulwark [GLOBAL] events [--stats] [--interval DURATION] ID\n"
    "The events of container ID as JSON lines, as runc events: {\"type\":\"stats\",…} with its\n"
    "cgroup's cpu, memory, pids and blkio figures every DURATION, and {\"type\":\"oom\",…} when\n"
    "the kernel's OOM killer kills one of its processes; the stream ends when the container\n"
    "stops. With --stats: one stats event.\n";

/* A Go duration as runc takes it ("300ms", "5s", "1m30s"), in milliseconds: -1 if not one */
static long long parse_interval(const char *s)
{
	long long total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (end == s || errno || v < 0 || v > 86400000LL)
			return -1;
		long long mul = !strncmp(end, "ms", 2)	? 1
				: !strncmp(end, "s", 1) ? 1000
				: !strncmp(end, "m", 1) ? 60000
				: !strncmp(end, "h", 1) ? 3600000
							: 0;
		if (!mul)
			return -1;
		total += v * mul;
		if (total > 86400000LL)
			return -1;
		s = end + (mul == 1 ? 2 : 1);
	}
	return total;
}

static int print_event(const char *json, void *ctx)
{
	(void)ctx;
	if (puts(json) < 0 || fflush(stdout) != 0)
		return -1; /* the reader went away: stop */
	return 0;
}

typedef struct events_args {
	bool stats;
	long long interval; /* ms */
} events_args;

static int events_option(const cli_cmd *self, void *ctx, int opt, const char *arg)
{
	events_args *a = ctx;
	if (opt == O_STATS)
		a->stats = true;
	else if (opt == O_INTERVAL && ((a->interval = parse_interval(arg)) < 10))
		return cli_usage_error(self,
				       "--interval '%s': a duration of 10ms or more, at most 24h "
				       "(500ms, 5s, 1m)",
				       arg);
	return 0;
}

int cmd_events(int argc, char **argv)
{
	const cli_cmd *self = cli_find("events");
	events_args a = {.interval = 5000};
	const char *id = NULL;
	int status;
	if (cli_parse_runc(self, argc, argv, events_option, &a, &status) ||
	    (status = id_only(self, argc, argv, &id)))
		return status;
	bool stats = a.stats;
	long long interval = a.interval;
	cleanup_error bwk_error *err = NULL;
	if (stats) {
		cleanup_free char *j = bwk_oci_stats(g.root, id, &err);
		if (!j)
			return oci_fail(steal_pointer(&err));
		puts(j);
		return EXIT_CLEAN;
	}
	signal(SIGPIPE, SIG_IGN);
	if (bwk_oci_events(g.root, id, (unsigned)interval, print_event, NULL, &err) < 0)
		return oci_fail(steal_pointer(&err));
	return EXIT_CLEAN;
}
