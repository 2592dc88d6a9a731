/* bulwark run: flags → run settings; IMAGE → root filesystem and config (open_input, the one
 * place that touches the input); then image → runtime spec → sandbox, the path the OCI
 * commands share (src/lib/oci: Docker's semantics and the hardened defaults live there). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/finding.h"
#include "bulwark/image.h"
#include "bulwark/oci.h"
#include "bulwark/sandbox.h"
#include "bulwark/scan.h"
#include "cli.h"
#include "core/cleanup.h"
#include "core/util.h"

const char cmd_run_usage[] =
    "usage: bulwark run [OPTIONS] IMAGE [--] [COMMAND [ARG…]]\n"
    "       bulwark run [OPTIONS] --rootfs DIR [--] COMMAND [ARG…]\n"
    "Run a command in a new hardened container, without a daemon, as root or as a normal user.\n"
    "Everything is locked down by default; each flag that relaxes a default prints a warning.\n"
    "IMAGE: a docker-save tarball, an OCI layout (directory or tar, PATH[:REF]), or a root\n"
    "filesystem directory. Layers are verified against their digests and extracted once into\n"
    "the layer cache, then stacked read-only.\n"
    "\n";

const char cmd_run_usage_tail[] =
    "Options that relax isolation or limits (-e, -v, --cap-add, --seccomp, --net, -p, -m …) are\n"
    "read from the command line only, never from BULWARK_* variables or a config file.\n"
    "exit status: the command's; 125 runtime error; 126 not executable; 127 not found;\n"
    "137 killed (out of memory: with a message)\n";

#define EXIT_RUNT 125

/* -e and --env-file in order; a later KEY replaces an earlier one, and these replace the
 * image's Env, in the spec conversion (src/lib/oci/run_spec.c), written once there. */
static int env_arg(bwk_strv *env, const char *arg)
{
	if (!arg[0] || arg[0] == '=')
		return -1;
	if (strchr(arg, '='))
		return bwk_strv_push(env, arg, NULL);
	const char *v = getenv(arg); /* explicit pass-through, as docker -e KEY */
	if (v)
		return bwk_strv_take(env, xasprintf("%s=%s", arg, v), NULL);
	return 0;
}

static int env_file(bwk_strv *env, const char *path, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, path, 1 << 20, true, &data, &len, err) < 0)
		return bwk_error_wrap(err, "env file %s", path);
	cleanup_strv_clear bwk_strv lines = {0};
	if (bwk_envfile_parse(data, len, &lines, err) < 0)
		return bwk_error_wrap(err, "env file %s", path);
	for (size_t i = 0; i < lines.n; i++)
		if (env->n >= BWK_MAX_ENV || env_arg(env, lines.v[i]) < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0, "env file %s: too many variables",
					     path);
	return 0;
}

static int parse_limit(const char *s, bool size, uint64_t *out)
{
	if (!strcmp(s, "unlimited") || !strcmp(s, "-1")) {
		*out = BWK_UNLIMITED;
		return 0;
	}
	if (size)
		return bwk_parse_size(s, out) < 0 || *out < 4096 ? -1 : 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

/* Seconds as Docker's --stop-timeout: -1 waits for ever, 0 kills at once. */
static int parse_stop_timeout(const char *s, uint32_t *ms)
{
	if (!strcmp(s, "-1")) {
		*ms = UINT32_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || !s[0] || s[0] == '-' || s[0] == '+' || v > 86400)
		return -1;
	*ms = v ? (uint32_t)v * 1000 : 1; /* 0 in the spec is the default */
	return 0;
}

/* START:COUNT, decimal; whether the range may be used is the sandbox's call */
static int parse_userns_range(const char *s, uint32_t *start, uint32_t *count)
{
	unsigned long long v[2];
	for (int i = 0; i < 2; i++) {
		char *end = (char *)s;
		errno = 0;
		v[i] = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
		if (errno || end == s || v[i] == 0 || v[i] > UINT32_MAX || *end != (i ? 0 : ':'))
			return -1;
		s = end + 1;
	}
	*start = (uint32_t)v[0];
	*count = (uint32_t)v[1];
	return 0;
}

static int parse_cpus(const char *s, uint64_t *milli)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || *end || !(d >= 0.01) || d > 1024)
		return -1;
	*milli = (uint64_t)(d * 1000 + 0.5);
	return 0;
}

static int parse_volume(const char *arg, bwk_bind *b)
{
	cleanup_free char *copy = xstrdup(arg);
	char *c1 = strchr(copy, ':');
	if (!c1)
		return -1;
	*c1 = 0;
	char *dst = c1 + 1;
	char *c2 = strchr(dst, ':');
	b->rw = false;
	b->chown = false;
	if (c2) { /* ro, rw and U (Podman's chown to the container's user), comma-separated */
		*c2 = 0;
		char *save = NULL;
		for (char *o = strtok_r(c2 + 1, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "rw"))
				b->rw = true;
			else if (!strcmp(o, "ro"))
				b->rw = false;
			else if (!strcmp(o, "U"))
				b->chown = true;
			else
				return -1;
		}
	}
	if (dst[0] != '/' || strstr(dst, "/../") || bwk_str_endswith(dst, "/.."))
		return -1;
	/* Docker's relative source: "." or starting with "./" or "../" (a bare name is a named
	 * volume there), against the current directory; the sandbox canonicalises it and opens
	 * it once */
	bool rel = !strcmp(copy, ".") || !strcmp(copy, "..") || !strncmp(copy, "./", 2) ||
		   !strncmp(copy, "../", 3);
	if (copy[0] != '/' && !rel)
		return -1;
	if (rel) {
		cleanup_free char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return -1;
		b->src = xasprintf("%s/%s", cwd, copy);
	} else {
		b->src = xstrdup(copy);
	}
	b->dst = xstrdup(dst);
	return 0;
}

/* --tmpfs DST[:size=SIZE,mode=OCTAL,noexec,exec,rw,nosuid,nodev] (Docker's); always starts
 * with the image's content at DST (Podman's tmpcopyup). */
static int parse_tmpfs(const char *arg, bwk_tmpfs *t)
{
	*t = (bwk_tmpfs){.copyup = true};
	cleanup_free char *copy = xstrdup(arg);
	char *c = strchr(copy, ':');
	if (c)
		*c++ = 0;
	if (copy[0] != '/' || !copy[1] || strstr(copy, "/../") || bwk_str_endswith(copy, "/.."))
		return -1;
	char *save = NULL;
	for (char *o = c ? strtok_r(c, ",", &save) : NULL; o; o = strtok_r(NULL, ",", &save)) {
		char *end;
		if (!strncmp(o, "size=", 5)) {
			if (parse_limit(o + 5, true, &t->size) < 0 || t->size == BWK_UNLIMITED)
				return -1;
		} else if (!strncmp(o, "mode=", 5)) {
			unsigned long m = strtoul(o + 5, &end, 8);
			if (end == o + 5 || *end || m > 07777)
				return -1;
			t->mode = (uint32_t)m;
		} else if (!strcmp(o, "noexec")) {
			t->noexec = true;
		} else if (!strcmp(o, "exec")) {
			t->noexec = false;
		} else if (strcmp(o, "rw") && strcmp(o, "nosuid") && strcmp(o, "nodev")) {
			return -1;
		}
	}
	t->dst = xstrdup(copy);
	return 0;
}

static bool parse_u16(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* [ADDR:]HOST:CONTAINER[/tcp|/udp] */
static int parse_port(const char *arg, bwk_port *p)
{
	memset(p, 0, sizeof *p);
	cleanup_free char *c = xstrdup(arg);
	char *slash = strchr(c, '/');
	if (slash) {
		*slash = 0;
		if (!strcmp(slash + 1, "udp"))
			p->udp = true;
		else if (strcmp(slash + 1, "tcp"))
			return -1;
	}
	char *last = strrchr(c, ':');
	if (!last || !parse_u16(last + 1, strlen(last + 1), &p->container_port))
		return -1;
	*last = 0;
	char *mid = strrchr(c, ':');
	const char *host = mid ? mid + 1 : c;
	if (!parse_u16(host, strlen(host), &p->host_port))
		return -1;
	if (mid) {
		*mid = 0;
		if (!c[0] || strlen(c) >= sizeof p->host_addr ||
		    strspn(c, "0123456789.") != strlen(c))
			return -1;
		snprintf(p->host_addr, sizeof p->host_addr, "%s", c);
	}
	return 0;
}

/* Docker's --ulimit NAME=SOFT[:HARD]: the names of go-units, -1 for unlimited. */
static int parse_ulimit(const char *arg, bwk_oci_rlimit *r, char *type, size_t tlen)
{
	static const char *const names[] = {"as",    "core",	"cpu",	    "data",   "fsize",
					    "locks", "memlock", "msgqueue", "nice",   "nofile",
					    "nproc", "rss",	"rtprio",   "rttime", "sigpending",
					    "stack", NULL};
	const char *eq = strchr(arg, '=');
	size_t i = 0;
	while (
	    eq && names[i] &&
	    (strlen(names[i]) != (size_t)(eq - arg) || strncmp(names[i], arg, (size_t)(eq - arg))))
		i++;
	if (!eq || !names[i])
		return -1;
	snprintf(type, tlen, "RLIMIT_%s", names[i]);
	for (char *c = type; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	long long v[2];
	const char *s = eq + 1;
	int n = 0;
	for (; n < 2 && *s; n++) {
		char *end;
		errno = 0;
		v[n] = strtoll(s, &end, 10);
		if (errno || end == s || v[n] < -1 || (*end && *end != ':') || (*end && n == 1))
			return -1;
		s = *end ? end + 1 : end;
	}
	if (n == 0)
		return -1;
	if (n == 1)
		v[1] = v[0];
	uint64_t soft = v[0] < 0 ? INT64_MAX : (uint64_t)v[0];
	uint64_t hard = v[1] < 0 ? INT64_MAX : (uint64_t)v[1];
	if (soft > hard)
		return -1;
	*r = (bwk_oci_rlimit){.type = type, .soft = soft, .hard = hard};
	return 0;
}

enum {
	OPT_ENV_FILE = 0x200,
	OPT_ENTRYPOINT,
	OPT_HOSTNAME,
	OPT_NO_INIT,
	OPT_STOP_TIMEOUT,
	OPT_STOP_SIGNAL,
	OPT_INIT,
	OPT_ROOTFS,
	OPT_READ_WRITE,
	OPT_READ_ONLY,
	OPT_ALLOW_SENSITIVE,
	OPT_SECRET,
	OPT_TMPFS_SIZE,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_SECCOMP,
	OPT_PIDS,
	OPT_CPUS,
	OPT_NET,
	OPT_SCAN,
	OPT_FAIL_ON,
	OPT_CACHE,
	OPT_PLATFORM,
	OPT_USERNS_RANGE,
	OPT_ULIMIT,
	OPT_TMPFS,
	OPT_WRITABLE_SIZE,
};

const cli_option cmd_run_options[] = {
    {.id = CLI_OPT_SECTION, .help = "process:"},
    {.id = 'u',
     .name = "user",
     .arg = CLI_ARG_VALUE,
     .metavar = "USER[:GROUP]",
     .help = "user inside the container (name or id; default: the image's)"},
    {.id = 'e',
     .name = "env",
     .arg = CLI_ARG_VALUE,
     .metavar = "KEY=VALUE",
     .help = "set an environment variable (KEY alone: the caller's value)",
     .no_config = true},
    {.id = OPT_ENV_FILE,
     .name = "env-file",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "read KEY=VALUE lines (the host environment is never inherited)",
     .no_config = true},
    {.id = 'w',
     .name = "workdir",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "working directory (default: the image's, else /)"},
    {.id = OPT_ENTRYPOINT,
     .name = "entrypoint",
     .arg = CLI_ARG_VALUE,
     .metavar = "CMD",
     .help = "override the image's entrypoint (also drops its Cmd)"},
    {.id = OPT_HOSTNAME,
     .name = "hostname",
     .arg = CLI_ARG_VALUE,
     .metavar = "NAME",
     .help = "container host name (default: bulwark)"},
    {.id = 'i',
     .name = "interactive",
     .help = "relay bulwark's stdin to the command (default: /dev/null)"},
    {.id = 't',
     .name = "tty",
     .help = "give the command a pseudo-terminal of its own (without it,\nstdout and stderr are "
	     "pipes that bulwark relays: never the\ncaller's terminal)"},
    {.id = OPT_INIT,
     .name = "init",
     .help =
	 "reap zombies and relay signals with an init as pid 1 (the\ndefault; undoes --no-init)"},
    {.id = OPT_NO_INIT,
     .name = "no-init",
     .help = "run the command as pid 1 (no zombie reaping; it gets only the\nsignals it handles)",
     .no_config = true},
    {.id = OPT_STOP_SIGNAL,
     .name = "stop-signal",
     .arg = CLI_ARG_VALUE,
     .metavar = "SIG",
     .help = "what a SIGTERM to bulwark becomes (default: the image's\nSTOPSIGNAL, else SIGTERM)"},
    {.id = OPT_STOP_TIMEOUT,
     .name = "stop-timeout",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "seconds from that signal to SIGKILL (default 10; -1 never)"},
    {.id = CLI_OPT_SECTION, .help = "filesystem:"},
    {.id = OPT_ROOTFS,
     .name = "rootfs",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "use DIR as the root filesystem (development and tests)",
     .no_config = true},
    {.id = OPT_READ_WRITE,
     .name = "read-write",
     .help = "writable root (in memory, discarded at exit; its size:\n--writable-size)",
     .no_config = true},
    {.id = OPT_READ_ONLY,
     .name = "read-only",
     .help = "the whole root read-only, /var/lib, /var/log, /var/cache,\n/var/spool and /var/tmp "
	     "too (by default they are writable,\nin memory, discarded at exit)"},
    {.id = 'v',
     .name = "volume",
     .arg = CLI_ARG_VALUE,
     .metavar = "SRC:DST[:ro|rw][,U]",
     .help = "bind mount, read-only unless :rw (SRC may be\nrelative: ./DIR, against the current "
	     "directory). As root, a\nSRC of another host user is shown as the container "
	     "user's\n(id-mapped); U chowns SRC to the container user's ids instead\n(unprivileged "
	     "too: the caller's own files)",
     .no_config = true},
    {.id = OPT_TMPFS,
     .name = "tmpfs",
     .arg = CLI_ARG_VALUE,
     .metavar = "DST[:OPTS]",
     .help = "a tmpfs at DST starting with the image's content there\n(OPTS: size=SIZE, "
	     "mode=OCTAL, noexec; default size:\n--writable-size)",
     .no_config = true},
    {.id = OPT_WRITABLE_SIZE,
     .name = "writable-size",
     .arg = CLI_ARG_VALUE,
     .metavar = "SIZE",
     .help = "size of the writable layer (/var's state directories, or\nthe root with "
	     "--read-write) and of each of the image's\nVOLUMEs (tmpfs, discarded at exit; default "
	     "512m; in memory,\ncounted in --memory)"},
    {.id = OPT_ALLOW_SENSITIVE,
     .name = "allow-sensitive-mount",
     .help = "permit /, /etc, /proc, docker.sock … as volume sources",
     .no_config = true},
    {.id = OPT_SECRET,
     .name = "secret",
     .arg = CLI_ARG_VALUE,
     .metavar = "NAME=FILE",
     .help = "FILE's content at /run/secrets/NAME (tmpfs, read-only)",
     .no_config = true},
    {.id = OPT_TMPFS_SIZE,
     .name = "tmpfs-size",
     .arg = CLI_ARG_VALUE,
     .metavar = "SIZE",
     .help = "size of /tmp and /dev/shm (default 64m; /run gets a quarter)"},
    {.id = CLI_OPT_SECTION, .help = "security:"},
    {.id = OPT_CAP_ADD,
     .name = "cap-add",
     .arg = CLI_ARG_VALUE,
     .metavar = "CAP",
     .help = "add a capability (CAP_ prefix optional; ALL)",
     .no_config = true},
    {.id = OPT_CAP_DROP,
     .name = "cap-drop",
     .arg = CLI_ARG_VALUE,
     .metavar = "CAP",
     .help = "drop a capability from the default set (ALL)"},
    {.id = OPT_SECCOMP,
     .name = "seccomp",
     .arg = CLI_ARG_FILE,
     .metavar = "FILE",
     .help = "a seccomp profile in Docker's JSON format, or 'unconfined'",
     .no_config = true},
    {.id = OPT_USERNS_RANGE,
     .name = "userns-range",
     .arg = CLI_ARG_VALUE,
     .metavar = "START:COUNT",
     .help = "(root) map container ids 0… to host ids START…\n(default: a free 65536-id slice of "
	     "bulwark's subuid range)",
     .no_config = true},
    {.id = CLI_OPT_SECTION, .help = "resources:"},
    {.id = 'm',
     .name = "memory",
     .arg = CLI_ARG_VALUE,
     .metavar = "SIZE",
     .help = "memory limit (default 512m; 'unlimited')",
     .no_config = true},
    {.id = OPT_ULIMIT,
     .name = "ulimit",
     .arg = CLI_ARG_VALUE,
     .metavar = "NAME=SOFT[:HARD]",
     .help = "a resource limit of the command, as Docker's (nofile,\nnproc, core, stack …; -1 "
	     "unlimited)"},
    {.id = OPT_PIDS,
     .name = "pids",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "process limit (default 512; 'unlimited')",
     .no_config = true},
    {.id = OPT_CPUS,
     .name = "cpus",
     .arg = CLI_ARG_VALUE,
     .metavar = "N",
     .help = "CPU quota, e.g. 0.5 (default: none, weight 50)"},
    {.id = CLI_OPT_SECTION, .help = "network:"},
    {.id = OPT_NET,
     .name = "net",
     .arg = CLI_ARG_VALUE,
     .metavar = "MODE",
     .help = "none (default: loopback only), bridge (as root a veth on\nbridge bulwark0 with the "
	     "kernel's NAT, else slirp4netns),\nslirp (slirp4netns), host, or a network NAME "
	     "(root: bridge\nbwk-NAME, its containers reach each other); the host's\n127.0.0.1 "
	     "stays unreachable (also --network)",
     .no_config = true},
    {.id = OPT_NET,
     .name = "network",
     .arg = CLI_ARG_VALUE,
     .metavar = "MODE",
     .help = "the same as --net",
     .choices = "none bridge slirp host",
     .no_config = true},
    {.id = 'p',
     .name = "publish",
     .arg = CLI_ARG_VALUE,
     .metavar = "[ADDR:]HOST:CONTAINER[/udp]",
     .help = "publish a port on ADDR (default\n127.0.0.1; implies --net bridge)",
     .no_config = true},
    {.id = CLI_OPT_SECTION, .help = "trust:"},
    {.id = OPT_SCAN,
     .name = "scan",
     .help =
	 "scan the image first; refuse to start on findings at or above\n--fail-on (default high)"},
    {.id = OPT_FAIL_ON,
     .name = "fail-on",
     .arg = CLI_ARG_VALUE,
     .metavar = "SEV",
     .help = "critical, high, medium, low, info or none"},
    {.id = OPT_CACHE,
     .name = "cache",
     .arg = CLI_ARG_DIR,
     .metavar = "DIR",
     .help = "layer cache (default $XDG_CACHE_HOME/bulwark, root:\n/var/lib/bulwark)"},
    {.id = OPT_PLATFORM,
     .name = "platform",
     .arg = CLI_ARG_VALUE,
     .metavar = "P",
     .help = "os/arch[/variant] to pick from a multi-platform index\n(default: the host's)"},
    {.id = CLI_OPT_SECTION,
     .help = "registry (IMAGE as REGISTRY/REPO:TAG or REPO@sha256:…; blobs kept in the cache):"},
    CLI_OPT_REGISTRY,
    {.id = CLI_OPT_SECTION, .help = "other:"},
    {.id = 'q', .name = "quiet", .help = "no warnings"},
    CLI_OPT_HELP,
    {.id = CLI_OPT_END},
};

typedef struct run_opts {
	bwk_container_spec spec;
	bwk_strv env_args; /* -e/--env-file, applied over the image's Env */
	const char *entrypoint;
	const char *rootfs;
	bool user_set, workdir_set, stop_signal_set;
	bool read_only; /* --read-only: /var's state directories read-only too */
	bool net_set;	/* --net/--network given (else -p picks the bridge network) */
	uint64_t cap_add, cap_drop;
	bool scan;
	bwk_severity fail_on;
	const char *cache;
	const char *platform;
	cli_registry reg;  /* --username, --ca-cert … for an image in a registry */
	cli_parser parser; /* owns the values of the environment and the config file */
	bwk_bind binds[BWK_MAX_BINDS];
	bwk_secret secrets[BWK_MAX_SECRETS];
	bwk_tmpfs tmpfs[BWK_MAX_TMPFS];
	size_t ntmpfs;
	bwk_image *img;
	int rootfs_fd; /* a root filesystem directory, opened once (-1: an image) */
	char *rootfs_path;
	char **layers;
	bwk_port ports[BWK_MAX_PORTS];
	bwk_oci_rlimit ulimits[BWK_MAX_RLIMITS];
	char ulimit_types[BWK_MAX_RLIMITS][24];
	size_t nulimits;
} run_opts;

static int parse_args(const cli_cmd *self, run_opts *o, int argc, char **argv)
{
	cleanup_error bwk_error *err = NULL;
	bwk_container_spec *s = &o->spec;
	/* in order: options stop at IMAGE, so the command's own flags reach it untouched */
	if (cli_parser_init_in_order(&o->parser, self, argc, argv, true))
		return EXIT_USAGE;
	const char *val;
	int opt;
	while ((opt = cli_next(&o->parser, &val)) != -1) {
		int reg = cli_registry_option(self, &o->reg, opt, val);
		if (reg != 0) {
			if (reg < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (opt) {
		case 'e':
			if (o->env_args.n >= BWK_MAX_ENV || env_arg(&o->env_args, val) < 0)
				return cli_usage_error(self, "bad --env '%s' (KEY=VALUE)", val);
			break;
		case OPT_ENV_FILE:
			if (env_file(&o->env_args, val, &err) < 0)
				return cli_fail(steal_pointer(&err), EXIT_USAGE);
			break;
		case 'u':
			s->user = val;
			o->user_set = true;
			break;
		case 'w':
			if (val[0] != '/')
				return cli_usage_error(self, "--workdir must be absolute");
			s->cwd = val;
			o->workdir_set = true;
			break;
		case OPT_ENTRYPOINT:
			o->entrypoint = val;
			break;
		case OPT_HOSTNAME:
			if (!val[0] || strlen(val) > 63)
				return cli_usage_error(self, "bad --hostname");
			s->hostname = val;
			break;
		case 'i':
			s->interactive = true;
			break;
		case 't':
			s->tty = true;
			break;
		case OPT_NO_INIT:
			s->no_init = true;
			break;
		case OPT_STOP_TIMEOUT:
			if (parse_stop_timeout(val, &s->stop_timeout_ms) < 0)
				return cli_usage_error(
				    self, "bad --stop-timeout '%s' (seconds, 0-86400, or -1)", val);
			break;
		case OPT_STOP_SIGNAL:
			if ((s->stop_signal = bwk_signal_from_name(val)) < 0)
				return cli_usage_error(self, "bad --stop-signal '%s'", val);
			o->stop_signal_set = true;
			break;
		case OPT_INIT:
			s->no_init = false;
			break;
		case OPT_ROOTFS:
			o->rootfs = val;
			break;
		case OPT_READ_WRITE: /* the later of the two wins (a config file's, then flags) */
			s->read_write = true;
			o->read_only = false;
			break;
		case OPT_READ_ONLY:
			o->read_only = true;
			s->read_write = false;
			break;
		case 'v':
			if (s->nbinds >= BWK_MAX_BINDS)
				return cli_usage_error(self, "more than %d volumes", BWK_MAX_BINDS);
			if (parse_volume(val, &o->binds[s->nbinds]) < 0)
				return cli_usage_error(
				    self,
				    "bad --volume '%s' (SRC:DST[:ro|rw][,U], SRC "
				    "absolute or ./relative, DST absolute)",
				    val);
			s->nbinds++;
			break;
		case OPT_ALLOW_SENSITIVE:
			s->allow_sensitive_mounts = true;
			break;
		case OPT_SECRET: {
			char *eq = strchr(val, '=');
			if (!eq || eq == val || !eq[1] || s->nsecrets >= BWK_MAX_SECRETS)
				return cli_usage_error(self, "bad --secret '%s' (NAME=FILE)", val);
			o->secrets[s->nsecrets].name = xstrndup(val, (size_t)(eq - val));
			o->secrets[s->nsecrets].file = eq + 1;
			s->nsecrets++;
			break;
		}
		case OPT_TMPFS:
			/* the runtime's own tmpfs: sized by their flag, never replaced */
			for (size_t k = 0; k < 3; k++) {
				static const char *const own[] = {"/tmp", "/run", "/dev/shm"};
				size_t l = strlen(own[k]);
				if (!strncmp(val, own[k], l) &&
				    (!val[l] || val[l] == ':' ||
				     (val[l] == '/' && (!val[l + 1] || val[l + 1] == ':'))))
					return cli_usage_error(
					    self,
					    "--tmpfs %s: %s is always a tmpfs (with the image's "
					    "content); size it with --tmpfs-size",
					    val, own[k]);
			}
			if (o->ntmpfs >= BWK_MAX_TMPFS ||
			    parse_tmpfs(val, &o->tmpfs[o->ntmpfs]) < 0)
				return cli_usage_error(
				    self,
				    "bad --tmpfs '%s' (DST[:size=SIZE,mode=OCTAL,"
				    "noexec], an absolute path)",
				    val);
			o->ntmpfs++;
			break;
		case OPT_WRITABLE_SIZE:
			if (parse_limit(val, true, &s->writable_size) < 0 ||
			    s->writable_size == BWK_UNLIMITED)
				return cli_usage_error(self, "bad --writable-size '%s'", val);
			break;
		case OPT_TMPFS_SIZE:
			if (parse_limit(val, true, &s->tmpfs_size) < 0 ||
			    s->tmpfs_size == BWK_UNLIMITED)
				return cli_usage_error(self, "bad --tmpfs-size '%s'", val);
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP: {
			uint64_t m;
			if (bwk_cap_from_name(val, &m) < 0)
				return cli_usage_error(self, "unknown capability '%s'", val);
			if (opt == OPT_CAP_ADD)
				o->cap_add |= m;
			else
				o->cap_drop |= m;
			break;
		}
		case OPT_SECCOMP:
			s->seccomp = val;
			break;
		case 'm':
			if (parse_limit(val, true, &s->memory) < 0)
				return cli_usage_error(self, "bad --memory '%s'", val);
			break;
		case OPT_PIDS:
			if (parse_limit(val, false, &s->pids) < 0)
				return cli_usage_error(self, "bad --pids '%s'", val);
			break;
		case OPT_CPUS:
			if (parse_cpus(val, &s->cpus_milli) < 0)
				return cli_usage_error(self, "bad --cpus '%s'", val);
			break;
		case OPT_NET:
			if (!strcmp(val, "none"))
				s->net = BWK_NET_NONE;
			else if (!strcmp(val, "host"))
				s->net = BWK_NET_HOST;
			else if (!strcmp(val, "slirp"))
				s->net = BWK_NET_SLIRP;
			else if (!strcmp(val, "bridge") || !strcmp(val, "bulwark")) {
				s->net = BWK_NET_BRIDGE;
				s->network = NULL;
			} else if (bwk_sandbox_network_name_ok(val)) {
				s->net = BWK_NET_BRIDGE;
				s->network = val;
			} else
				return cli_usage_error(
				    self,
				    "bad --net '%s' (none, bridge, slirp, host or "
				    "a network name: 1-11 of a-z 0-9 _ -)",
				    val);
			o->net_set = true;
			break;
		case 'p':
			if (s->nports >= BWK_MAX_PORTS)
				return cli_usage_error(self, "more than %d published ports",
						       BWK_MAX_PORTS);
			if (parse_port(val, &o->ports[s->nports]) < 0)
				return cli_usage_error(
				    self, "bad --publish '%s' ([ADDR:]HOST:CONTAINER[/udp])", val);
			s->nports++;
			break;
		case OPT_SCAN:
			o->scan = true;
			break;
		case OPT_FAIL_ON:
			if (bwk_severity_parse(val, &o->fail_on) < 0)
				return cli_usage_error(self, "bad --fail-on '%s'", val);
			break;
		case OPT_CACHE:
			o->cache = val;
			break;
		case OPT_PLATFORM:
			o->platform = val;
			break;
		case OPT_USERNS_RANGE:
			if (parse_userns_range(val, &s->userns_start, &s->userns_count) < 0)
				return cli_usage_error(
				    self, "bad --userns-range '%s' (START:COUNT)", val);
			break;
		case OPT_ULIMIT:
			if (o->nulimits >= BWK_MAX_RLIMITS ||
			    parse_ulimit(val, &o->ulimits[o->nulimits],
					 o->ulimit_types[o->nulimits],
					 sizeof o->ulimit_types[o->nulimits]) < 0)
				return cli_usage_error(
				    self,
				    "bad --ulimit '%s' (NAME=SOFT[:HARD], e.g. nofile=1024:2048)",
				    val);
			o->nulimits++;
			break;
		case 'q':
			s->quiet = true;
			break;
		case 'h':
			cli_print_help(self, stdout);
			return -2;
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	return 0;
}

static void run_notify(void *ctx, int kind, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "bulwark: %s%s\n", kind == BWK_NOTE_WARNING ? "warning: " : "", msg);
}

/* A runtime error from the library: its settings are already named as run's flags, by
 * bwk_setting() through the option table (output.c). */
static int run_fail(bwk_error *err)
{
	return cli_fail(err, EXIT_RUNT);
}

/* One line per relaxed default, so nothing is given up silently. `run`: the spec the sandbox
 * will execute (its seccomp setting as lowered: "default" is none). */
static void warn_relaxed(const run_opts *o, const bwk_container_spec *run)
{
	const bwk_container_spec *s = &o->spec;
	uint64_t extra = s->caps & ~bwk_sandbox_default_caps();
	for (int c = 0; c < 64; c++) {
		const char *name = bwk_cap_name(c) ? bwk_cap_name(c) : "?";
		if (!(extra & (1ull << c)))
			continue;
		/* the spec's lowering leaves out what the running kernel does not know (CAP_BPF
		 * before 5.8): bwk_caps_spec_mask() is that filter */
		if (!bwk_caps_spec_mask(&name, 1, NULL))
			bwk_warn(o->spec.quiet,
				 "--cap-add %s: not granted: this kernel does not have that "
				 "capability",
				 name);
		else
			bwk_warn(o->spec.quiet,
				 "--cap-add %s: the container gains a capability bulwark withholds "
				 "by default",
				 name);
	}
	if (s->read_write)
		bwk_warn(o->spec.quiet,
			 "--read-write: the root filesystem is writable (changes are discarded at "
			 "exit)");
	if (s->memory == BWK_UNLIMITED)
		bwk_warn(o->spec.quiet, "--memory unlimited: a memory hog can exhaust the host");
	if (s->pids == BWK_UNLIMITED)
		bwk_warn(o->spec.quiet, "--pids unlimited: a fork bomb can exhaust the host");
	if (s->net == BWK_NET_BRIDGE && !s->nports)
		bwk_warn(o->spec.quiet,
			 "--net %s: the container can open connections to other hosts (not to this "
			 "host's 127.0.0.1)",
			 s->network ? s->network : "bridge");
	if (s->net == BWK_NET_HOST)
		bwk_warn(o->spec.quiet,
			 "--net host: the container shares the host's network stack, "
			 "including services on 127.0.0.1");
	if (s->net == BWK_NET_SLIRP)
		bwk_warn(
		    o->spec.quiet,
		    "--net slirp: the container can open connections to other hosts (not to this "
		    "host's 127.0.0.1)");
	for (size_t i = 0; i < s->nports; i++)
		if (s->ports[i].host_addr[0] && strcmp(s->ports[i].host_addr, "127.0.0.1"))
			bwk_warn(o->spec.quiet,
				 "--publish %s:%u: reachable from other hosts, not only 127.0.0.1",
				 s->ports[i].host_addr, s->ports[i].host_port);
	if (s->no_init)
		bwk_warn(o->spec.quiet,
			 "--no-init: zombies are not reaped and signals without a handler are "
			 "ignored by pid 1");
	if (run->seccomp && !strcmp(run->seccomp, "unconfined"))
		bwk_warn(o->spec.quiet, "seccomp disabled (--seccomp unconfined): every system "
					"call reaches the kernel");
	else if (run->seccomp)
		bwk_warn(o->spec.quiet,
			 "custom seccomp profile %s replaces bulwark's default policy",
			 run->seccomp);
}

/* IMAGE through the image source table, as every command reads it. A root filesystem
 * directory (source "dir") is opened once and judged, scanned and run through that fd, so
 * that --scan looks at the directory that runs even if the path is swapped meanwhile: then
 * o->rootfs_fd is set and o->img closed. */
static int open_source(run_opts *o, const char *ref, bwk_error **err)
{
	bwk_image_opts io = {.verify = BWK_VERIFY_STRICT,
			     .platform = o->platform,
			     .accept_rootfs = true,
			     .cache = true,
			     .cache_dir = o->cache,
			     .registry = &o->reg.o};
	if (bwk_image_open(ref, &io, &o->img, err) < 0)
		return -1;
	int rfd = bwk_image_rootfs_fd(o->img);
	if (rfd < 0)
		return 0;
	o->rootfs_fd = fcntl(rfd, F_DUPFD_CLOEXEC, 3);
	bwk_image_close(o->img);
	o->img = NULL;
	if (o->rootfs_fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: dup", ref);
	return 0;
}

/* --scan: the scanner's verdict decides whether the container starts at all. It scans the
 * open image `img`, or the directory at `root` (/proc/self/fd/N): what was opened once, never
 * the path again. */
static int scan_gate(const run_opts *o, const char *ref, bwk_image *img, const char *root)
{
	cleanup_error bwk_error *err = NULL;
	bwk_findings *f = bwk_findings_new();
	bwk_scan_opts so = {.target = ref, .quiet = true, .platform = o->platform};
	int r;
	if (img) {
		r = bwk_scan_image(img, &so, f, &err);
	} else {
		bwk_scanner *sc = NULL;
		r = bwk_scanner_new(&so, f, &sc, &err);
		if (r == 0)
			r = bwk_rootfs_walk(root, NULL, bwk_scanner_visitor(sc), &err);
		bwk_scanner_free(sc);
	}
	if (r < 0) {
		bwk_findings_free(f);
		bwk_error_wrap(&err, "--scan");
		bwk_error_print(err, stderr);
		return -1;
	}
	int max = bwk_findings_max_severity(f);
	size_t n = bwk_findings_count(f);
	bwk_findings_free(f);
	if (max >= 0 && o->fail_on != BWK_SEV_NONE && max >= (int)o->fail_on) {
		fprintf(
		    stderr,
		    "bulwark: %s: scan found %zu finding(s), the worst %s (at or above --fail-on "
		    "%s): not starting it; see 'bulwark scan %s'\n",
		    ref, n, bwk_severity_name((bwk_severity)max), bwk_severity_name(o->fail_on),
		    ref);
		return -1;
	}
	return 0;
}

/* IMAGE (or --rootfs DIR): open it once through the image source table (open_image), --scan
 * it, and unpack an image's layers into the cache. The one place `run` touches its input: the root
 * filesystem comes back in o->spec (rootfs or lowers), the image's config in *cfgp (NULL for a
 * directory), the index of the command's first argument in *firstp. Returns 0 or the exit status.
 */
static int open_input(const cli_cmd *self, run_opts *o, int argc, char **argv, int *firstp,
		      const char **refp, const bwk_image_config **cfgp)
{
	cleanup_error bwk_error *err = NULL;
	bwk_container_spec *s = &o->spec;
	int first = *firstp;
	const char *ref = o->rootfs;
	*refp = ref;
	if (o->rootfs) {
		o->rootfs_fd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (o->rootfs_fd < 0) {
			bwk_error_set(&err, BWK_E_NOTFOUND, errno,
				      "root filesystem layer %s: cannot open the directory",
				      o->rootfs);
			return cli_fail(steal_pointer(&err), EXIT_RUNT);
		}
	} else {
		if (first >= argc)
			return cli_usage_error(self, "missing IMAGE");
		*refp = ref = argv[first++];
		if (first < argc && !strcmp(argv[first], "--"))
			first++;
		if (open_source(o, ref, &err) < 0)
			return cli_fail(steal_pointer(&err), EXIT_RUNT);
	}
	if (o->rootfs_fd >= 0) {
		o->rootfs_path = xasprintf("/proc/self/fd/%d", o->rootfs_fd);
		if (o->scan && scan_gate(o, ref, NULL, o->rootfs_path) < 0)
			return EXIT_RUNT;
		s->rootfs = o->rootfs_path;
	} else {
		if (o->scan && scan_gate(o, ref, o->img, NULL) < 0)
			return EXIT_RUNT;
		/* a layer is extracted on the image's first run only: so is this line */
		size_t stripped = 0;
		bwk_unpack_opts uo = {
		    .quiet = s->quiet, .for_run = true, .setuid_stripped = &stripped};
		if (bwk_image_cache_layers(o->img, o->cache, &uo, &o->layers, &err) < 0)
			return cli_fail(steal_pointer(&err), EXIT_RUNT);
		if (stripped)
			bwk_warn(s->quiet,
				 "removed the setuid/setgid bits of %zu file%s in the image: `run` "
				 "never "
				 "keeps them (su, sudo, passwd … cannot gain privileges)",
				 stripped, stripped == 1 ? "" : "s");
		s->lowers = (const char *const *)o->layers;
		*cfgp = bwk_image_get_config(o->img);
	}
	*firstp = first;
	return 0;
}

/* The flags as the library's run settings. */
static void run_settings(const run_opts *o, const char *ref, const char *const *args,
			 bwk_oci_run *r)
{
	const bwk_container_spec *s = &o->spec;
	*r = (bwk_oci_run){
	    .root_path = s->rootfs ? s->rootfs : ref,
	    .args = args,
	    .entrypoint = o->entrypoint,
	    .env = (const char *const *)o->env_args.v,
	    .user = o->user_set ? s->user : NULL,
	    .cwd = o->workdir_set ? s->cwd : NULL,
	    .hostname = s->hostname,
	    .tty = s->tty,
	    .read_write = s->read_write,
	    .read_only = o->read_only,
	    .caps = s->caps,
	    .binds = s->binds,
	    .nbinds = s->nbinds,
	    .net = s->net,
	    .network = s->network,
	    .memory = s->memory,
	    .pids = s->pids,
	    .cpus_milli = s->cpus_milli,
	    .seccomp = s->seccomp,
	    .stop_signal = o->stop_signal_set ? s->stop_signal : 0,
	    .rlimits = o->ulimits,
	    .nrlimits = o->nulimits,
	    .tmpfs = o->tmpfs,
	    .ntmpfs = o->ntmpfs,
	    .writable_size = s->writable_size,
	    .tmpfs_size = s->tmpfs_size, /* /dev/shm's, and so /tmp's (the lowering) */
	};
}

/* What no runtime spec says: the layers, secrets, ports, stdio and stop timing. */
static void add_extras(const bwk_container_spec *s, bwk_container_spec *c)
{
	c->lowers = s->lowers;
	if (s->lowers)
		c->rootfs = NULL;
	c->interactive = s->interactive;
	c->no_init = s->no_init;
	if (s->stop_timeout_ms) /* --stop-timeout, else the spec's default */
		c->stop_timeout_ms = s->stop_timeout_ms;
	c->allow_sensitive_mounts = s->allow_sensitive_mounts;
	c->secrets = s->secrets;
	c->nsecrets = s->nsecrets;
	c->ports = s->ports;
	c->nports = s->nports;
	if (s->writable_size) /* --writable-size, else the spec's default */
		c->writable_size = s->writable_size;
	c->userns_start = s->userns_start;
	c->userns_count = s->userns_count;
	c->quiet = s->quiet;
	c->notify = run_notify;
}

/* image → spec → sandbox */
static int run_spec(const cli_cmd *self, run_opts *o, const bwk_image_config *cfg, const char *ref,
		    const char *const *args)
{
	cleanup_error bwk_error *err = NULL;
	bwk_oci_run settings;
	run_settings(o, ref, args, &settings);
	bwk_oci_spec *spec = NULL;
	if (bwk_oci_spec_from_run(cfg, &settings, &spec, &err) < 0) {
		if (bwk_error_code(err) == BWK_E_USAGE)
			return cli_usage_error(self, "%s", err->msg);
		return cli_fail(steal_pointer(&err), EXIT_RUNT);
	}
	/* everything needed is copied out: the parsed image is not kept while the container
	 * runs (bulwark's own memory while it waits is part of the runtime's overhead) */
	if (o->img) {
		bwk_image_close(o->img);
		o->img = NULL;
	}
	bwk_oci_lowered low;
	int rc = EXIT_RUNT;
	if (bwk_oci_spec_validate("the run's spec", spec, &err) < 0 ||
	    bwk_oci_spec_lower(spec, &low, &err) < 0) {
		bwk_oci_spec_free(spec);
		return cli_fail(steal_pointer(&err), EXIT_RUNT);
	}
	add_extras(&o->spec, &low.spec);
	warn_relaxed(o, &low.spec);
	int status = 0;
	if (bwk_sandbox_run(&low.spec, &status, &err) < 0)
		rc = run_fail(steal_pointer(&err));
	else
		rc = status;
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(spec);
	return rc;
}

static int run_inner(const cli_cmd *self, run_opts *o, bwk_strv *args, int argc, char **argv)
{
	int r = parse_args(self, o, argc, argv);
	if (r != 0)
		return r == -2 ? EXIT_CLEAN : r;
	if (o->reg.password_stdin && o->spec.interactive)
		return cli_usage_error(self, "--password-stdin and -i both want standard input");
	if ((r = cli_registry_finish(self, &o->reg)) != 0)
		return r;
	bwk_container_spec *s = &o->spec;
	s->binds = o->binds;
	s->secrets = o->secrets;
	s->ports = o->ports;
	if (s->nports && !o->net_set)
		s->net = BWK_NET_BRIDGE; /* -p: the network it needs */
	if (s->nports && s->net != BWK_NET_SLIRP && s->net != BWK_NET_BRIDGE)
		return cli_usage_error(self, "--publish needs a network (--net bridge or slirp)");
	if (s->network && geteuid() != 0)
		return cli_usage_error(self,
				       "--network %s: named networks need root (as a normal user "
				       "use --net bridge, or --net host)",
				       s->network);
	s->caps = (bwk_sandbox_default_caps() | o->cap_add) & ~o->cap_drop;
	s->caps_set = true;
	int first = optind;
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	const char *ref = NULL;
	const bwk_image_config *cfg = NULL;
	if ((r = open_input(self, o, argc, argv, &first, &ref, &cfg)) != 0)
		return r;
	for (int i = first; i < argc; i++)
		if (bwk_strv_push(args, argv[i], NULL) < 0)
			return cli_usage_error(self, "more than %d arguments for the command",
					       BWK_STRV_MAX);
	return run_spec(self, o, cfg, ref, args->n ? (const char *const *)args->v : NULL);
}

int cmd_run(int argc, char **argv)
{
	const cli_cmd *self = cli_find("run");
	/* descriptors 0-2 must exist, or our own sockets would take their numbers and reach the
	 * container as its stdio */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			return EXIT_RUNT;
	{
		/* before anything else: never run from the host's binary while a container
		 * exists (CVE-2019-5736); returns only when already sealed */
		char **full = xcalloc((size_t)argc + 2, sizeof *full);
		full[0] = (char *)"bulwark";
		for (int i = 0; i < argc; i++)
			full[i + 1] = argv[i];
		cleanup_error bwk_error *err = NULL;
		int r = bwk_sandbox_ensure_sealed_exe(full, &err);
		free(full);
		if (r < 0)
			return cli_fail(steal_pointer(&err), EXIT_RUNT);
	}
	run_opts *o = xcalloc(1, sizeof *o);
	o->fail_on = BWK_SEV_HIGH;
	o->rootfs_fd = -1;
	cleanup_strv_clear bwk_strv args = {0};
	int rc = run_inner(self, o, &args, argc, argv);
	bwk_strv_clear(&o->env_args);
	for (size_t i = 0; i < o->spec.nbinds; i++) {
		free((char *)o->binds[i].src);
		free((char *)o->binds[i].dst);
	}
	for (size_t i = 0; i < o->spec.nsecrets; i++)
		free((char *)o->secrets[i].name);
	for (size_t i = 0; i < o->ntmpfs; i++)
		free((char *)o->tmpfs[i].dst);
	bwk_strv_free(o->layers);
	if (o->img)
		bwk_image_close(o->img);
	if (o->rootfs_fd >= 0)
		close(o->rootfs_fd);
	free(o->rootfs_path);
	cli_registry_free(&o->reg);
	cli_parser_free(&o->parser);
	free(o);
	return rc;
}
