/* Rules on how the image was built (its config's history: one entry per Dockerfile step) and
 * how it asks to be run (entrypoint, volumes, base image label). */
#define _GNU_SOURCE
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/sandbox.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/scan_private.h"

#define HISTORY_TEXT_MAX (64u << 10) /* of one step's command, for matching */

/* Report at history[i] with "step N of M: INSTRUCTION — what". */
static int history_hit(const bwk_image_config *c, size_t i, const char *what, bwk_config_hit_fn hit,
		       void *hctx, bwk_error **err)
{
	char key[64];
	snprintf(key, sizeof(key), "history[%zu].created_by", i);
	cleanup_free char *step = bwk_history_step_text(c->history[i].created_by, 100);
	cleanup_free char *msg =
	    xasprintf("step %zu of %zu: %s — %s", i + 1, c->nhistory, step ? step : "", what);
	return hit(hctx, key, msg, -1, err);
}

/* Is `w` a word of s (bounded by start/end, blanks or shell operators)? */
static const char *find_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = strstr(s, w); p; p = strstr(p + 1, w)) {
		bool left = p == s || strchr(" \t\n;&|()`'\"/", p[-1]);
		bool right = !p[n] || strchr(" \t\n;&|()`'\"", p[n]);
		if (left && right)
			return p;
	}
	return NULL;
}

/* A RUN step's command text (NULL for other instructions). Caller frees. */
static char *run_text(const bwk_history_entry *h)
{
	cleanup_free char *t = bwk_history_step_text(h->created_by, HISTORY_TEXT_MAX);
	if (!t || strncmp(t, "RUN ", 4) != 0)
		return NULL;
	return xstrdup(t + 4);
}

/* ---- history-add-remote ------------------------------------------------------------------- */
static int check_add_remote(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			    bwk_error **err)
{
	for (size_t i = 0; i < c->nhistory; i++) {
		cleanup_free char *t = bwk_history_step_text(c->history[i].created_by, 4096);
		if (!t || strncmp(t, "ADD ", 4) != 0 || strstr(t, "--checksum="))
			continue;
		if (!strstr(t, "http://") && !strstr(t, "https://") && !strstr(t, "git@") &&
		    !strstr(t, "git://"))
			continue;
		if (history_hit(c, i, "a remote URL with no --checksum", hit, hctx, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_add_remote = {
    .rule = BWK_RULE(
	"history-add-remote", BWK_CAT_CONFIG, BWK_SEV_MEDIUM, .title = "ADD downloads from a URL",
	.description = "An ADD step fetched a remote URL at build time with no checksum: whoever "
		       "controls that server (or the network path to it) decides what goes into "
		       "the image, and rebuilding the same Dockerfile can give a different image.",
	.remediation = "Pin the download: `ADD --checksum=sha256:… URL DEST`, or fetch it with "
		       "curl in a RUN step that verifies a checksum or signature.",
	.references = BWK_REFS("CIS Docker Benchmark 4.9", "Dockle CIS-DI-0009",
			       "https://docs.docker.com/reference/dockerfile/#add")),
    .config = check_add_remote,
};

/* ---- history-pipe-to-shell ---------------------------------------------------------------- */
static bool shell_word(const char *p)
{
	static const char *const shells[] = {"sh",   "bash",   "zsh",	  "dash", "ash",  "ksh",
					     "fish", "python", "python3", "perl", "ruby", NULL};
	for (;;) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t;&|");
		const char *base = p;
		for (const char *q = p; q < p + n; q++)
			if (*q == '/')
				base = q + 1;
		size_t bn = (size_t)(p + n - base);
		/* "sudo -E bash", "env X=1 sh": the program is further on */
		if ((bn == 4 && !strncmp(base, "sudo", 4)) ||
		    (bn == 3 && !strncmp(base, "env", 3)) ||
		    (n && (*p == '-' || memchr(p, '=', n)))) {
			p += n;
			if (!n)
				return false;
			continue;
		}
		for (const char *const *s = shells; *s; s++)
			if (strlen(*s) == bn && !strncmp(base, *s, bn))
				return true;
		return false;
	}
}

/* Within each command list element (split at ; && || newlines), a stage after a curl/wget
 * stage that is a shell or interpreter. */
static bool pipes_to_shell(const char *t)
{
	bool fetch = false;
	for (const char *p = t; *p;) {
		size_t n = strcspn(p, "|;&\n");
		cleanup_free char *stage = xstrndup(p, n);
		if (find_word(stage, "curl") || find_word(stage, "wget"))
			fetch = true;
		p += n;
		if (!*p)
			break;
		if (p[0] == '|' && p[1] != '|') {
			p++;
			if (fetch && shell_word(p))
				return true;
			continue;
		}
		fetch = false; /* ; && || & newline end a pipeline */
		p += p[0] == p[1] ? 2 : 1;
	}
	return false;
}

static int check_pipe_shell(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			    bwk_error **err)
{
	for (size_t i = 0; i < c->nhistory; i++) {
		cleanup_free char *t = run_text(&c->history[i]);
		if (!t || !pipes_to_shell(t))
			continue;
		if (history_hit(c, i, "a download runs unverified", hit, hctx, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_pipe_shell = {
    .rule = BWK_RULE(
	"history-pipe-to-shell", BWK_CAT_CONFIG, BWK_SEV_HIGH,
	.title = "A download is piped into a shell",
	.description = "A build step ran `curl … | sh` (or wget, bash, python…): whatever the "
		       "server returned at that moment ran as root in the build with no check. A "
		       "compromised or spoofed server, or a truncated download, puts anything into "
		       "the image, and nothing records what ran.",
	.remediation = "Download to a file, verify its checksum or signature, then run it: `curl "
		       "-fsSLo install.sh URL && echo 'SHA256  install.sh' | sha256sum -c && sh "
		       "install.sh`; better, install from a package with a signed index.",
	.references =
	    BWK_REFS("CIS Docker Benchmark 4.11",
		     "https://docs.docker.com/build/building/best-practices/#using-pipes")),
    .config = check_pipe_shell,
};

/* ---- history-update-alone ----------------------------------------------------------------- */
static int check_update_alone(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			      bwk_error **err)
{
	for (size_t i = 0; i < c->nhistory; i++) {
		cleanup_free char *t = run_text(&c->history[i]);
		if (!t)
			continue;
		bool update = strstr(t, "apt-get update") || strstr(t, "apt update") ||
			      strstr(t, "apk update") || strstr(t, "aptitude update");
		bool install = find_word(t, "install") || find_word(t, "upgrade") ||
			       strstr(t, "apk add") || strstr(t, "dist-upgrade");
		if (!update || install)
			continue;
		if (history_hit(c, i, "update without install", hit, hctx, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_update_alone = {
    .rule = BWK_RULE(
	"history-update-alone", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "Package index updated in a step of its own",
	.description = "A step ran `apt-get update` (or `apk update`) without installing in the "
		       "same step. The build cache keeps that layer, so later builds install from "
		       "a stale index: packages miss their security fixes, or installs fail once "
		       "the mirror drops the old versions.",
	.remediation = "Update and install in one RUN step: `RUN apt-get update && apt-get install "
		       "-y --no-install-recommends PKG && rm -rf /var/lib/apt/lists/*` (or `apk "
		       "add --no-cache PKG`).",
	.references = BWK_REFS("CIS Docker Benchmark 4.7", "Dockle CIS-DI-0007",
			       "https://docs.docker.com/build/building/best-practices/#apt-get")),
    .config = check_update_alone,
};

/* ---- history-build-arg-secret ------------------------------------------------------------- */
static bool secret_name(const char *k, size_t n)
{
	static const char *const words[] = {"PASSWORD",	  "PASSWD", "SECRET",	  "TOKEN",
					    "API_KEY",	  "APIKEY", "ACCESS_KEY", "PRIVATE_KEY",
					    "CREDENTIAL", "AUTH",   "PASS",	  NULL};
	char up[128];
	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (size_t i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)k[i]);
	up[n] = '\0';
	for (const char *const *w = words; *w; w++) {
		const char *p = strstr(up, *w);
		if (!p)
			continue;
		/* PASS as a word only: not PASSENGER, BYPASS_CACHE … */
		size_t wn = strlen(*w);
		if (!strcmp(*w, "PASS") &&
		    ((p > up && isalnum((unsigned char)p[-1])) || isalnum((unsigned char)p[wn])))
			continue;
		return true;
	}
	return false;
}

static int check_arg_secret(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			    bwk_error **err)
{
	for (size_t i = 0; i < c->nhistory; i++) {
		const char *p = c->history[i].created_by;
		if (!p)
			continue;
		if (!strncmp(p, "RUN ", 4))
			p += 4;
		unsigned nargs;
		if (bwk_history_skip_args(p, &nargs) == p || !nargs)
			continue;
		p = strchr(p, ' ') + 1;
		for (unsigned a = 0; a < nargs && *p; a++) {
			size_t tok = strcspn(p, " ");
			const char *eq = memchr(p, '=', tok);
			if (eq && eq + 1 < p + tok && secret_name(p, (size_t)(eq - p))) {
				/* the name only: the value is the secret (the secret scan redacts
				 * it where its rules recognise the shape) */
				cleanup_free char *what =
				    xasprintf("build argument %.*s has a value", (int)(eq - p), p);
				if (history_hit(c, i, what, hit, hctx, err) < 0)
					return -1;
			}
			p += tok;
			p += strspn(p, " ");
		}
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_arg_secret = {
    .rule = BWK_RULE(
	"history-build-arg-secret", BWK_CAT_CONFIG, BWK_SEV_HIGH,
	.title = "A secret was passed as a build argument",
	.description = "A build step received a build argument named like a credential (TOKEN, "
		       "PASSWORD, SECRET, …). Build arguments used by RUN steps are written into "
		       "the image's history in clear text: anyone who can pull the image can read "
		       "them with `docker history --no-trunc`.",
	.remediation =
	    "Pass credentials as build secrets (`RUN --mount=type=secret,id=token …` with `docker "
	    "build --secret id=token,env=TOKEN`), rotate the exposed one, and rebuild.",
	.references = BWK_REFS("CIS Docker Benchmark 4.10", "Dockle CIS-DI-0010",
			       "https://docs.docker.com/build/building/secrets/")),
    .config = check_arg_secret,
};

/* ---- base-image-unpinned ------------------------------------------------------------------ */
static int check_base_latest(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			     bwk_error **err)
{
	for (size_t i = 0; c->label_keys && c->label_keys[i]; i++) {
		if (strcmp(c->label_keys[i], "org.opencontainers.image.base.name") != 0)
			continue;
		const char *v = c->label_values ? c->label_values[i] : NULL;
		if (!v || !*v || strchr(v, '@'))
			continue; /* a digest pins it, whatever the tag */
		const char *last = strrchr(v, '/');
		const char *tag = strchr(last ? last : v, ':');
		if (tag && strcmp(tag, ":latest") != 0)
			continue;
		cleanup_free char *key = xasprintf("config.Labels[%.200s]", c->label_keys[i]);
		cleanup_free char *msg =
		    xasprintf("base image %.200s%s", v, tag ? "" : " (no tag: latest)");
		if (hit(hctx, key, msg, -1, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_base_latest = {
    .rule = BWK_RULE(
	"base-image-unpinned", BWK_CAT_CONFIG, BWK_SEV_LOW,
	.title = "Base image is `latest` or untagged",
	.description = "The image records its base as `latest` or with no tag "
		       "(org.opencontainers.image.base.name). Each rebuild takes whatever the tag "
		       "points at that day: a new major version, or an image someone pushed over "
		       "it, enters without review.",
	.remediation = "Pin the base in FROM to a version tag and, better, a digest: `FROM "
		       "debian:12.5@sha256:…`, updated by a bot that opens reviewable changes.",
	.references =
	    BWK_REFS("CIS Docker Benchmark 4.2", "Dockle DKL-DI-0006",
		     "https://github.com/opencontainers/image-spec/blob/main/annotations.md")),
    .config = check_base_latest,
};

/* ---- entrypoint-shell-form ---------------------------------------------------------------- */
static bool shell_form(const char *const *argv)
{
	if (!argv || !argv[0] || !argv[1] || !argv[2] || strcmp(argv[1], "-c") != 0)
		return false;
	const char *b = strrchr(argv[0], '/');
	b = b ? b + 1 : argv[0];
	if (strcmp(b, "sh") && strcmp(b, "bash") && strcmp(b, "ash") && strcmp(b, "dash"))
		return false;
	const char *cmd = argv[2] + strspn(argv[2], " \t");
	return strncmp(cmd, "exec ", 5) != 0;
}

static int check_shell_form(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			    bwk_error **err)
{
	bool ep = c->entrypoint && c->entrypoint[0];
	const char *const *argv = ep ? c->entrypoint : c->cmd;
	if (!shell_form(argv))
		return 0;
	cleanup_free char *msg =
	    xasprintf("%s runs `%.100s` under %s", ep ? "ENTRYPOINT" : "CMD", argv[2], argv[0]);
	return hit(hctx, ep ? "config.Entrypoint" : "config.Cmd", msg, -1, err);
}

const bwk_config_rule bwk_rule_row_shell_form = {
    .rule = BWK_RULE(
	"entrypoint-shell-form", BWK_CAT_CONFIG, BWK_SEV_LOW, .title = "Entrypoint in shell form",
	.description =
	    "The container starts as `/bin/sh -c \"…\"`: the shell is PID 1 and does not pass "
	    "SIGTERM on, so `docker stop` waits its timeout and kills the service without a clean "
	    "shutdown (lost writes, half-finished requests), and zombies are never reaped.",
	.remediation = "Use the exec form (`ENTRYPOINT [\"/app/server\", \"--flag\"]`), or start "
		       "the command with `exec` inside the shell string; add an init (`docker run "
		       "--init`, tini) when the process spawns children.",
	.references = BWK_REFS("https://docs.docker.com/reference/dockerfile/#shell-and-exec-form",
			       "https://docs.docker.com/reference/dockerfile/#entrypoint")),
    .config = check_shell_form,
};

/* ---- stopsignal-ignored ------------------------------------------------------------------- */
static int check_stopsignal(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			    bwk_error **err)
{
	/* only an explicit STOPSIGNAL: the default SIGTERM under a shell is entrypoint-shell-form
	 */
	if (!c->stop_signal || !*c->stop_signal)
		return 0;
	int sig = bwk_signal_from_name(c->stop_signal);
	cleanup_free char *msg = NULL;
	if (sig < 0) {
		msg = xasprintf("STOPSIGNAL '%.32s' is not a signal", c->stop_signal);
	} else if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
		msg = xasprintf("STOPSIGNAL %.32s stops (pauses) the process, it does not end it",
				c->stop_signal);
	} else {
		bool ep = c->entrypoint && c->entrypoint[0];
		const char *const *argv = ep ? c->entrypoint : c->cmd;
		if (!shell_form(argv))
			return 0;
		msg = xasprintf("STOPSIGNAL %.32s goes to `%s -c` (PID 1, %s), which ignores it: "
				"`%.80s` never sees it",
				c->stop_signal, argv[0], ep ? "ENTRYPOINT" : "CMD", argv[2]);
	}
	return hit(hctx, "config.StopSignal", msg, -1, err);
}

const bwk_config_rule bwk_rule_row_stopsignal = {
    .rule = BWK_RULE(
	"stopsignal-ignored", BWK_CAT_CONFIG, BWK_SEV_INFO,
	.title = "STOPSIGNAL that the container's first process ignores",
	.description =
	    "The image names the signal that `docker stop` sends (STOPSIGNAL), but the process "
	    "that receives it cannot act on it: a shell running a command string as PID 1 gets it, "
	    "and the kernel drops a signal PID 1 has no handler for, so the service never sees it; "
	    "a job-control signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) pauses the process instead "
	    "of ending it; a name that is no signal makes the engine refuse the container. Either "
	    "way `docker stop` waits out its timeout and kills the service with SIGKILL: no clean "
	    "shutdown, lost writes.",
	.remediation =
	    "Start the service in exec form (`ENTRYPOINT [\"nginx\", \"-g\", \"daemon off;\"]`) or "
	    "with `exec` inside the shell string, so the STOPSIGNAL reaches it; name a signal the "
	    "service shuts down on (`STOPSIGNAL SIGQUIT` for nginx, SIGTERM by default).",
	.references = BWK_REFS(
	    "https://docs.docker.com/reference/dockerfile/#stopsignal",
	    "https://docs.docker.com/reference/cli/docker/container/stop/",
	    "https://man7.org/linux/man-pages/man2/kill.2.html (signals to PID 1 of a namespace)")),
    .config = check_stopsignal,
};

/* ---- volume-system-path ------------------------------------------------------------------- */
static bool system_path(const char *v)
{
	static const char *const sys[] = {"/",
					  "/bin",
					  "/boot",
					  "/dev",
					  "/etc",
					  "/lib",
					  "/lib32",
					  "/lib64",
					  "/proc",
					  "/root",
					  "/run",
					  "/sbin",
					  "/sys",
					  "/usr",
					  "/usr/bin",
					  "/usr/lib",
					  "/usr/sbin",
					  "/usr/local/bin",
					  "/var/run",
					  "/var/lib/docker",
					  "/var/run/docker.sock",
					  "/etc/ssh",
					  "/etc/ssl",
					  NULL};
	char buf[256];
	size_t n = strlen(v);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, v, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (const char *const *s = sys; *s; s++)
		if (!strcmp(buf, *s))
			return true;
	return false;
}

static int check_volume_system(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
			       bwk_error **err)
{
	for (size_t i = 0; c->volumes && c->volumes[i]; i++) {
		if (!system_path(c->volumes[i]))
			continue;
		cleanup_free char *key = xasprintf("config.Volumes[%.200s]", c->volumes[i]);
		cleanup_free char *msg = xasprintf("VOLUME %.200s", c->volumes[i]);
		if (hit(hctx, key, msg, -1, err) < 0)
			return -1;
	}
	return 0;
}

const bwk_config_rule bwk_rule_row_volume_system = {
    .rule = BWK_RULE(
	"volume-system-path", BWK_CAT_CONFIG, BWK_SEV_MEDIUM,
	.title = "VOLUME over a system directory",
	.description =
	    "The image declares a volume over a system directory (/etc, /usr, /bin, /root, /run "
	    "…). Its content then lives outside the image: it survives upgrades of the image (old "
	    "binaries and configuration keep running), is shared by every container that mounts "
	    "the volume, and a host path mounted there replaces the system's own files.",
	.remediation = "Declare volumes only for data (`VOLUME /var/lib/app`), never over "
		       "directories the image ships.",
	.references = BWK_REFS("CIS Docker Benchmark 5.5", "Dockle DKL-DI-0002",
			       "https://docs.docker.com/reference/dockerfile/#volume")),
    .config = check_volume_system,
};
