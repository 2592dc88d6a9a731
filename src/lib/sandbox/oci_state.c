/* The OCI lifecycle after create: state, start, kill, delete, list; the state directory, its
 * lock, state.json and the hooks. A container's status is never stored: it is computed from
 * the init's pid and start time (a pid the kernel gave to another process reads as stopped)
 * and from the exec fifo, which exists until `start` has released the init. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/oci_rt_private.h"

#define STATE_MAX ((size_t)1 << 20)

int ocirt_check_id(const char *id, bwk_error **err)
{
	size_t n = strlen(id);
	bool ok = n > 0 && n <= BWK_OCI_MAX_ID && strcmp(id, ".") && strcmp(id, "..");
	for (const char *p = id; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		     (*p >= '0' && *p <= '9') || strchr("_.+-", *p);
	if (!ok)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "container id '%.64s': use 1 to %d of A-Z a-z 0-9 _ . + -", id,
				     BWK_OCI_MAX_ID);
	return 0;
}

/* Whether this process is in a user namespace other than the host's: its uid_map is not the
 * initial namespace's identity map of every id (a rootless engine runs the runtime as 0 of a
 * user namespace of its own: rootless Podman). */
static bool in_child_userns(void)
{
	cleanup_file FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long in = 1, out = 1, len = 0;
	return f &&
	       (fscanf(f, "%lu %lu %lu", &in, &out, &len) != 3 || in || out || len != 4294967295UL);
}

/* Rootless OCI containers are not supported (docs/oci-runtime.md, "Rootless"): a user other
 * than root, and root of a user namespace that is not the host's, are refused with what to do
 * instead. */
int ocirt_require_root(const char *verb, bwk_error **err)
{
	bool user = geteuid() != 0;
	if (!user && !in_child_userns())
		return 0;
	return bwk_error_set(err, BWK_E_PERM, 0,
			     "bulwark %s: the OCI runtime commands need root (%s): rootless OCI "
			     "containers are not supported yet; run the engine as root (rootful "
			     "Docker, Podman or containerd), or `bulwark run IMAGE` for a rootless "
			     "container",
			     verb,
			     user ? "this is another user"
				  : "this is root of a user namespace, as under a rootless engine");
}

int ocirt_open_root(const char *root, bool create, bwk_error **err)
{
	if (create && mkdir(root, 0700) < 0 && errno != EEXIST) {
		/* its parents too, as runc makes them (0711: the engine's own paths) */
		char p[PATH_MAX];
		if (errno != ENOENT || snprintf(p, sizeof p, "%s", root) >= (int)sizeof p)
			return bwk_error_set(err, BWK_E_IO, errno, "state root %s", root);
		for (char *s = p + 1; *s; s++)
			if (*s == '/') {
				*s = 0;
				if (mkdir(p, 0711) < 0 && errno != EEXIST)
					return bwk_error_set(err, BWK_E_IO, errno, "state root %s",
							     p);
				*s = '/';
			}
		if (mkdir(root, 0700) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_IO, errno, "state root %s", root);
	}
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "state root %s", root);
	return fd;
}

int ocirt_open_container(int rootfd, const char *root, const char *id, bool exclusive,
			 bwk_error **err)
{
	if (ocirt_check_id(id, err) < 0)
		return -1;
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "container %s does not exist (state root %s)", id, root);
	if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		int e = errno;
		close(fd);
		return bwk_error_set(err, BWK_E_IO, e, "locking container %s", id);
	}
	return fd;
}

int ocirt_proc_start_time(pid_t pid, unsigned long long *t, char *state_char)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* after the comm's closing parenthesis: state (field 3) … starttime (field 22) */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	if (state_char)
		*state_char = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
		/* field 9, flags: PF_EXITING (0x4) — killed, waiting for the processes of its
		 * pid namespace to be reaped: as good as stopped */
		if (field + 1 == 9 && state_char && (strtoul(p, NULL, 10) & 0x4))
			*state_char = 'X';
	}
	*t = strtoull(p, NULL, 10);
	return 0;
}

const char *ocirt_status(int dirfd, const ocirt_state *st)
{
	unsigned long long t;
	char c = 0;
	if (st->pid <= 0 || ocirt_proc_start_time(st->pid, &t, &c) < 0 || t != st->start_time ||
	    c == 'Z' || c == 'X')
		return "stopped";
	struct stat sb;
	if (fstatat(dirfd, OCIRT_FIFO, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return "created";
	return ocirt_cgroup_frozen(&st->cg) ? "paused" : "running";
}

char *ocirt_state_serialise(const ocirt_state *st, const char *status, bool internal)
{
	json_t *o = json_object();
	json_object_set_new(o, "ociVersion", json_string("1.2.0"));
	json_object_set_new(o, "id", json_string(st->id));
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "pid", json_integer(strcmp(status, "stopped") ? st->pid : 0));
	json_object_set_new(o, "bundle", json_string(st->bundle));
	json_t *ann = st->annotations_json ? json_loads(st->annotations_json, 0, NULL) : NULL;
	json_object_set_new(o, "annotations", ann && json_is_object(ann) ? ann : json_object());
	if (ann && !json_is_object(ann))
		json_decref(ann);
	if (st->created)
		json_object_set_new(o, "created", json_string(st->created));
	if (internal) {
		json_object_set_new(o, "pid", json_integer(st->pid));
		json_object_set_new(o, "bulwark.startTime",
				    json_integer((json_int_t)st->start_time));
		json_t *cg = json_array();
		for (size_t i = 0; i < st->cg.n; i++)
			json_array_append_new(cg, json_string(st->cg.dirs[i]));
		json_object_set_new(o, "bulwark.cgroups", cg);
		json_object_set_new(o, "bulwark.cgroupV2", json_boolean(st->cg.v2));
	}
	char *s = json_dumps(o, internal ? JSON_COMPACT : JSON_INDENT(2));
	json_decref(o);
	return s;
}

void ocirt_state_free(ocirt_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->created);
	free(st->annotations_json);
	ocirt_cgroup_free(&st->cg);
	memset(st, 0, sizeof *st);
}

int ocirt_state_read(int dirfd, const char *id, ocirt_state *st, bwk_error **err)
{
	memset(st, 0, sizeof *st);
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(dirfd, OCIRT_STATE, STATE_MAX, false, &data, &len, err) < 0) {
		if ((*err)->errnum == ENOENT) {
			bwk_error_free(*err);
			*err = NULL;
			return bwk_error_set(err, BWK_E_RUNTIME, ENOENT,
					     "container %s: its create did not finish; deleting it "
					     "with %s removes it",
					     id, bwk_setting("force", "force"));
		}
		return bwk_error_wrap(err, "container %s", id);
	}
	json_error_t je;
	json_t *o = json_loadb(data, len, 0, &je);
	json_t *cgs = o ? json_object_get(o, "bulwark.cgroups") : NULL;
	if (!o || !json_is_string(json_object_get(o, "bundle")) ||
	    !json_is_integer(json_object_get(o, "pid")) || !json_is_array(cgs) ||
	    json_array_size(cgs) > OCIRT_MAX_CGROUPS) {
		json_decref(o);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "container %s: state.json is damaged; deleting it with %s "
				     "removes it",
				     id, bwk_setting("force", "force"));
	}
	st->id = xstrdup(id);
	st->bundle = xstrdup(json_string_value(json_object_get(o, "bundle")));
	st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	st->start_time =
	    (unsigned long long)json_integer_value(json_object_get(o, "bulwark.startTime"));
	const char *created = json_string_value(json_object_get(o, "created"));
	st->created = created ? xstrdup(created) : NULL;
	st->cg.v2 = json_is_true(json_object_get(o, "bulwark.cgroupV2"));
	for (size_t i = 0; i < json_array_size(cgs); i++) {
		const char *d = json_string_value(json_array_get(cgs, i));
		if (d && !strncmp(d, "/sys/fs/cgroup/", 15) && !strstr(d, "/../"))
			st->cg.dirs[st->cg.n++] = xstrdup(d);
	}
	json_t *ann = json_object_get(o, "annotations");
	st->annotations_json = ann ? json_dumps(ann, JSON_COMPACT) : NULL;
	json_decref(o);
	return 0;
}

char *ocirt_annotations_json(const bwk_oci_spec *s)
{
	json_t *o = json_object();
	for (size_t i = 0; i < s->annotations.n; i++)
		json_object_set_new(o, s->annotations.v[i].key,
				    json_string(s->annotations.v[i].value));
	char *r = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return r;
}

/* ---- hooks ---- */

int ocirt_hook_timeout_s(const bwk_oci_hook *h)
{
	return h->timeout.set && h->timeout.v > 0 && h->timeout.v < 3600 ? (int)h->timeout.v : 30;
}

int ocirt_hooks_budget_ms(const bwk_oci_spec *s, bwk_oci_hook_kind kind)
{
	long long ms = 0;
	for (size_t i = 0; i < s->hooks.n[kind] && ms < INT_MAX / 2; i++)
		ms += ocirt_hook_timeout_s(&s->hooks.v[kind][i]) * 1000LL;
	return ms < INT_MAX / 2 ? (int)ms : INT_MAX / 2;
}

static int run_hook(const bwk_oci_hook *h, const char *kind, const char *state_json,
		    bwk_error **err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "hook %s: pipe", h->path);
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "hook %s: fork", h->path);
	}
	if (pid == 0) {
		dup2(in[0], 0);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1); /* stdout of the runtime belongs to the engine */
		char *empty[] = {NULL};
		char *argv0[] = {h->path, NULL};
		execve(h->path, h->args.n ? h->args.v : argv0, h->env.n ? h->env.v : empty);
		_exit(127);
	}
	close(in[0]);
	/* the state; a hook that does not read it must not block us. The disposition is put
	 * back: the container's init runs hooks too, and an ignored SIGPIPE would outlive its
	 * execve into the container's process. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	sigaction(SIGPIPE, &ign, &old);
	size_t len = strlen(state_json);
	if (write(in[1], state_json, len) < 0) {
	}
	close(in[1]);
	sigaction(SIGPIPE, &old, NULL);
	int timeout_ms = ocirt_hook_timeout_s(h) * 1000;
	int st = 0;
	for (int waited = 0;; waited += 5) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "%s hook %s", kind,
					     h->path);
		if (waited >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return bwk_error_set(err, BWK_E_RUNTIME, ETIMEDOUT,
					     "%s hook %s: no exit within %d s", kind, h->path,
					     timeout_ms / 1000);
		}
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "%s hook %s failed (status %d)", kind,
				     h->path, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

int ocirt_run_hooks(const bwk_oci_spec *s, bwk_oci_hook_kind kind, const char *state_json,
		    bwk_error **err)
{
	for (size_t i = 0; s && i < s->hooks.n[kind]; i++)
		if (run_hook(&s->hooks.v[kind][i], bwk_oci_hook_kind_name(kind), state_json, err) <
		    0)
			return -1;
	return 0;
}

void ocirt_run_hooks_warn(const bwk_oci_spec *s, bwk_oci_hook_kind kind, const char *state_json,
			  const char *id)
{
	for (size_t i = 0; s && i < s->hooks.n[kind]; i++) {
		bwk_error *herr = NULL;
		if (run_hook(&s->hooks.v[kind][i], bwk_oci_hook_kind_name(kind), state_json,
			     &herr) < 0) {
			bwk_error_wrap(&herr, "container %s", id);
			cleanup_free char *msg = bwk_error_format(herr);
			bwk_log(BWK_LOG_WARNING, "%s", msg ? msg : "a hook failed");
			bwk_error_free(herr);
		}
	}
}

bwk_oci_spec *ocirt_saved_config(int dirfd)
{
	cleanup_free char *data = NULL;
	size_t len;
	bwk_error *e = NULL;
	bwk_oci_spec *s = NULL;
	if (bwk_read_file_at(dirfd, OCIRT_CONFIG, BWK_OCI_MAX_BYTES, false, &data, &len, &e) < 0 ||
	    bwk_oci_spec_parse(OCIRT_CONFIG, data, len, &s, &e) < 0)
		s = NULL;
	bwk_error_free(e);
	return s;
}

/* ---- the commands ---- */

typedef struct opened {
	int rootfd, dirfd;
	ocirt_state st;
} opened;

static void opened_close(opened *o)
{
	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->rootfd >= 0)
		close(o->rootfd);
	ocirt_state_free(&o->st);
}
#define cleanup_opened cleanup_with(opened_close)

static int open_state(const char *root, const char *id, bool exclusive, bool need_state, opened *o,
		      bwk_error **err)
{
	o->rootfd = ocirt_open_root(root, false, err);
	if (o->rootfd < 0) {
		if (bwk_error_code(*err) == BWK_E_NOTFOUND) {
			bwk_error_free(*err);
			*err = NULL;
			return bwk_error_set(err, BWK_E_NOTFOUND, ENOENT,
					     "container %s does not exist (state root %s)", id,
					     root);
		}
		return -1;
	}
	o->dirfd = ocirt_open_container(o->rootfd, root, id, exclusive, err);
	if (o->dirfd < 0)
		return -1;
	if (ocirt_state_read(o->dirfd, id, &o->st, err) < 0)
		return need_state ? -1 : (bwk_error_free(*err), *err = NULL, 1);
	return 0;
}

int ocirt_read_container(const char *root, const char *id, ocirt_state *st, const char **status,
			 bwk_error **err)
{
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, false, true, &o, err) < 0)
		return -1;
	*status = ocirt_status(o.dirfd, &o.st);
	*st = o.st;
	memset(&o.st, 0, sizeof o.st);
	return 0;
}

char *bwk_oci_state(const char *root, const char *id, bwk_error **err)
{
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, false, true, &o, err) < 0)
		return NULL;
	return ocirt_state_serialise(&o.st, ocirt_status(o.dirfd, &o.st), false);
}

int bwk_oci_start(const char *root, const char *id, bwk_error **err)
{
	if (ocirt_require_root("start", err) < 0)
		return -1;
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, true, true, &o, err) < 0)
		return -1;
	const char *status = ocirt_status(o.dirfd, &o.st);
	if (strcmp(status, "created"))
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "container %s is %s: only a created container can be started",
				     id, status);
	cleanup_close int fifo = openat(o.dirfd, OCIRT_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "container %s: exec fifo", id);
	/* the init opens the fifo for writing once we hold it for reading, and writes one byte */
	for (;;) {
		struct pollfd p = {fifo, POLLIN, 0};
		int r = poll(&p, 1, 50);
		if (r > 0 && (p.revents & POLLIN)) {
			char c;
			if (read(fifo, &c, 1) == 1)
				break;
		}
		if (r < 0 && errno != EINTR)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "container %s: exec fifo",
					     id);
		if (!strcmp(ocirt_status(o.dirfd, &o.st), "stopped"))
			return bwk_error_set(err, BWK_E_RUNTIME, 0,
					     "container %s: its init exited before it was started",
					     id);
	}
	/* the init keeps its end open until it executes process.args (close-on-exec) or fails:
	 * wait for that (bounded), so that the process runs its program when start returns. A
	 * failed startContainer hook is written there ('E' and the error) before the init exits. */
	char hookerr[OCIRT_FIFO_ERR_MAX + 1];
	size_t nerr = 0;
	bwk_oci_spec *s = ocirt_saved_config(o.dirfd);
	/* 5 s, and what the startContainer hooks may take */
	int polls = 200 + (s ? ocirt_hooks_budget_ms(s, BWK_OCI_HOOK_START_CONTAINER) / 25 : 0);
	for (int t = 0; t < polls; t++) {
		struct pollfd p = {fifo, POLLIN, 0};
		int r = poll(&p, 1, 25);
		if (r > 0 && (p.revents & POLLHUP) && !(p.revents & POLLIN))
			break;
		if (r > 0 && (p.revents & POLLIN)) {
			ssize_t n = read(fifo, hookerr + nerr, OCIRT_FIFO_ERR_MAX - nerr);
			if (n <= 0)
				break;
			nerr += (size_t)n;
			if (nerr == OCIRT_FIFO_ERR_MAX)
				break;
			continue;
		}
		if (r < 0 && errno != EINTR)
			break;
		if (!strcmp(ocirt_status(o.dirfd, &o.st), "stopped"))
			break;
	}
	/* what the init wrote as it exited, after the last poll */
	ssize_t n;
	while (nerr < OCIRT_FIFO_ERR_MAX &&
	       (n = read(fifo, hookerr + nerr, OCIRT_FIFO_ERR_MAX - nerr)) > 0)
		nerr += (size_t)n;
	unlinkat(o.dirfd, OCIRT_FIFO, 0);
	if (nerr > 1 && hookerr[0] == 'E') {
		/* the container is stopped (its init exited): what else it started goes too, and
		 * `delete` finishes the lifecycle (poststop) */
		hookerr[nerr] = 0;
		ocirt_cgroup_signal(&o.st.cg, SIGKILL);
		bwk_oci_spec_free(s);
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s: %s", id, hookerr + 1);
	}
	cleanup_free char *sj = ocirt_state_serialise(&o.st, "running", false);
	/* poststart failures are logged, not fatal (runtime-spec): each hook runs */
	ocirt_run_hooks_warn(s, BWK_OCI_HOOK_POSTSTART, sj, id);
	bwk_oci_spec_free(s);
	return 0;
}

/* The kernel gives a pid namespace's init only the signals it has a handler for (SIGKILL and
 * SIGSTOP aside): one sent while its disposition is still the default is dropped, not queued.
 * Right after `start`, a shell init (sh -c "trap … TERM; …") has not installed its trap yet,
 * and `kill` would lose the signal although the spec says it MUST send it (runtime-tools'
 * killsig test then fails now and then; runc and crun send at once and lose it too). So for
 * an init younger than KILL_YOUNG_MS with no handler for `sig`, wait up to KILL_WAIT_MS for
 * one to appear; the signal is sent either way, only later. */
#define KILL_YOUNG_MS 2000
#define KILL_WAIT_MS  100

/* from /proc/PID/status: whether PID is its pid namespace's init (NSpid ends in 1) and
 * catches `sig` (SigCgt); -1 if unreadable */
static int init_catches(pid_t pid, int sig, bool *is_init)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	const char *ns = strstr(buf, "\nNSpid:"), *cgt = strstr(buf, "\nSigCgt:");
	if (!ns || !cgt)
		return -1;
	const char *eol = strchr(ns + 1, '\n');
	if (!eol)
		eol = ns + strlen(ns);
	const char *last = ns + 8;
	for (const char *q = last; q < eol; q++)
		if (*q == '\t' || *q == ' ')
			last = q + 1;
	*is_init = strtol(last, NULL, 10) == 1;
	unsigned long long mask = strtoull(cgt + 9, NULL, 16);
	return (mask >> (sig - 1)) & 1;
}

static void wait_for_handler(pid_t pid, unsigned long long start_ticks, int sig)
{
	if (sig == SIGKILL || sig == SIGSTOP || sig == 0)
		return;
	struct timespec now;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &now) < 0)
		return;
	long long age_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 -
			   (long long)(start_ticks * 1000 / (unsigned long long)hz);
	if (age_ms > KILL_YOUNG_MS)
		return;
	bool is_init = false;
	for (int waited = 0; waited < KILL_WAIT_MS; waited += 2) {
		int c = init_catches(pid, sig, &is_init);
		if (c != 0 || !is_init)
			return;
		nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
	}
}

int bwk_oci_kill(const char *root, const char *id, int sig, bool all, bwk_error **err)
{
	if (ocirt_require_root("kill", err) < 0)
		return -1;
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, false, true, &o, err) < 0)
		return -1;
	if (sig < 0 || sig > 64)
		return bwk_error_set(err, BWK_E_USAGE, 0, "signal %d: not a signal", sig);
	if (all) {
		/* also once the init has exited: without a pid namespace of its own, what it
		 * started lives on in the cgroup (containerd's shim sends kill --all then). For
		 * SIGKILL the cgroup is frozen first, as runc does, so that nothing forks past it.
		 */
		bool thaw = sig == SIGKILL && !ocirt_cgroup_frozen(&o.st.cg) &&
			    ocirt_cgroup_freeze(&o.st.cg, true, NULL) == 0;
		ocirt_cgroup_signal(&o.st.cg, sig);
		if (thaw)
			ocirt_cgroup_freeze(&o.st.cg, false, NULL);
		return 0;
	}
	if (!strcmp(ocirt_status(o.dirfd, &o.st), "stopped"))
		return bwk_error_set(err, BWK_E_RUNTIME, ESRCH, "container %s is not running", id);
	/* through a pidfd checked against the start time: never a reused pid */
	cleanup_close int pfd = (int)syscall(SYS_pidfd_open, o.st.pid, 0);
	unsigned long long t;
	if (pfd < 0 || ocirt_proc_start_time(o.st.pid, &t, NULL) < 0 || t != o.st.start_time)
		return bwk_error_set(err, BWK_E_RUNTIME, ESRCH, "container %s is not running", id);
	wait_for_handler(o.st.pid, o.st.start_time, sig);
	if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "container %s: signal %d", id, sig);
	return 0;
}

void ocirt_remove_state(int rootfd, int dirfd, const char *id)
{
	unlinkat(dirfd, OCIRT_FIFO, 0);
	unlinkat(dirfd, OCIRT_CONFIG, 0);
	unlinkat(dirfd, OCIRT_STATE, 0);
	/* leftovers of an interrupted create (temporary files of an atomic write) */
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	for (struct dirent *e; d && (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd, e->d_name, 0);
	if (d)
		closedir(d);
	unlinkat(rootfd, id, AT_REMOVEDIR);
}

/* Until the init has exited, at most ms: on its pidfd, which becomes readable the moment
 * the init exits (an exact event, no polling interval); by its /proc status without one. */
static int wait_stopped(int dirfd, const ocirt_state *st, int pfd, int ms)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int left = ms; left > 0;) {
		if (!strcmp(ocirt_status(dirfd, st), "stopped"))
			return 0;
		int r = pfd < 0 ? -1 : poll(&(struct pollfd){pfd, POLLIN, 0}, 1, left);
		if (r > 0 || (r < 0 && errno != EINTR))
			pfd = -1; /* exited (or no pidfd): what remains is the status, rechecked */
		if (r < 0 && pfd < 0)
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
				  (now.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return strcmp(ocirt_status(dirfd, st), "stopped") ? -1 : 0;
}

/* Whether another container of the state root has `dir` among its cgroups. */
static bool cgroup_of_another(int rootfd, const char *id, const char *dir)
{
	int fd = dup(rootfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	bool found = false;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, id) ||
		    ocirt_check_id(e->d_name, NULL) < 0)
			continue;
		cleanup_opened opened o = {-1, -1, {0}};
		o.dirfd =
		    openat(rootfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bwk_error *e2 = NULL;
		if (o.dirfd < 0 || ocirt_state_read(o.dirfd, e->d_name, &o.st, &e2) < 0) {
			bwk_error_free(e2);
			continue;
		}
		for (size_t i = 0; i < o.st.cg.n; i++)
			found |= !strcmp(o.st.cg.dirs[i], dir);
	}
	if (d)
		closedir(d);
	return found;
}

/* A create killed after it made the cgroup but before its first state.json: the cgroup it was
 * to have, as its saved config (written before the cgroup) names it. No init was started
 * before that state, so nothing in it is this container's: a cgroup that holds processes or
 * cgroups, or that another container of the root names, is left alone. Without a saved
 * config, no cgroup was made. */
static int remove_planned_cgroup(int rootfd, int dirfd, const char *id, bwk_error **err)
{
	bwk_oci_spec *s = ocirt_saved_config(dirfd);
	if (!s)
		return 0;
	const char *p = s->linux_.cgroups_path;
	ocirt_cgroup cg;
	bwk_error *e = NULL; /* a path create would have refused: nothing made */
	int r = ocirt_cgroup_plan(s, id, p && strchr(p, ':'), &cg, &e);
	bwk_oci_spec_free(s);
	bwk_error_free(e);
	if (r < 0)
		return 0;
	size_t keep = 0;
	for (size_t i = 0; i < cg.n; i++) {
		if (cgroup_of_another(rootfd, id, cg.dirs[i]))
			free(cg.dirs[i]);
		else
			cg.dirs[keep++] = cg.dirs[i];
	}
	cg.n = keep;
	if (ocirt_cgroup_remove(&cg, false, err) < 0)
		return bwk_error_wrap(err, "container %s (half-created)", id);
	return 0;
}

int bwk_oci_delete(const char *root, const char *id, bool force, bwk_error **err)
{
	if (ocirt_require_root("delete", err) < 0)
		return -1;
	cleanup_opened opened o = {-1, -1, {0}};
	int r = open_state(root, id, true, !force, &o, err);
	if (r < 0)
		return -1;
	if (r == 1) { /* half-created: no state to go by; what is left is the directory */
		if (remove_planned_cgroup(o.rootfd, o.dirfd, id, err) < 0)
			return -1;
		ocirt_remove_state(o.rootfd, o.dirfd, id);
		return 0;
	}
	const char *status = ocirt_status(o.dirfd, &o.st);
	if (!strcmp(status, "paused") && force)
		ocirt_cgroup_freeze(&o.st.cg, false, NULL);
	if ((!strcmp(status, "running") || !strcmp(status, "paused")) && !force)
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "container %s is %s: stop it first (bulwark kill %s KILL) "
				     "or delete it with %s",
				     id, status, id, bwk_setting("force", "force"));
	if (strcmp(status, "stopped")) {
		unsigned long long t;
		cleanup_close int pfd = (int)syscall(SYS_pidfd_open, o.st.pid, 0);
		if (pfd >= 0 && ocirt_proc_start_time(o.st.pid, &t, NULL) == 0 &&
		    t == o.st.start_time)
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		else if (pfd >= 0) { /* a reused pid: not the init, whose status says stopped */
			close(pfd);
			pfd = -1;
		}
		ocirt_cgroup_signal(&o.st.cg, SIGKILL);
		if (wait_stopped(o.dirfd, &o.st, pfd, 10000) < 0)
			return bwk_error_set(err, BWK_E_RUNTIME, 0,
					     "container %s: its init (pid %d) survived SIGKILL for "
					     "10 s",
					     id, (int)o.st.pid);
	}
	ocirt_cgroup_signal(&o.st.cg, SIGKILL);
	/* a cgroup that stays keeps the state: another delete can finish the job */
	if (ocirt_cgroup_remove(&o.st.cg, true, err) < 0)
		return bwk_error_wrap(err, "container %s: not deleted (its state is kept)", id);
	bwk_oci_spec *s = ocirt_saved_config(o.dirfd);
	cleanup_free char *sj = ocirt_state_serialise(&o.st, "stopped", false);
	ocirt_run_hooks_warn(s, BWK_OCI_HOOK_POSTSTOP, sj, id);
	bwk_oci_spec_free(s);
	ocirt_remove_state(o.rootfd, o.dirfd, id);
	return 0;
}

/* runc list's fields beyond the state: `rootfs` (root.path of the saved config, against the
 * bundle when relative) and `owner` (the user owning the state directory, "#UID" when it has
 * no name) */
static void list_extras(json_t *c, const opened *o)
{
	bwk_oci_spec *s = ocirt_saved_config(o->dirfd);
	if (s && s->root_path) {
		char *p = s->root_path[0] == '/' ? xstrdup(s->root_path)
						 : xasprintf("%s/%s", o->st.bundle, s->root_path);
		json_object_set_new(c, "rootfs", json_string(p));
		free(p);
	}
	bwk_oci_spec_free(s);
	struct stat st;
	if (fstat(o->dirfd, &st) < 0)
		return;
	struct passwd pw, *res = NULL;
	char buf[1024];
	char owner[32];
	if (getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &res) == 0 && res)
		json_object_set_new(c, "owner", json_string(res->pw_name));
	else {
		snprintf(owner, sizeof owner, "#%u", (unsigned)st.st_uid);
		json_object_set_new(c, "owner", json_string(owner));
	}
}

char *bwk_oci_list(const char *root, bwk_error **err)
{
	json_t *arr = json_array();
	cleanup_close int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 && errno != ENOENT) {
		json_decref(arr);
		bwk_error_set(err, BWK_E_IO, errno, "state root %s", root);
		return NULL;
	}
	int fd = rootfd >= 0 ? dup(rootfd) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.' || ocirt_check_id(e->d_name, NULL) < 0)
			continue;
		cleanup_opened opened o = {-1, -1, {0}};
		o.dirfd =
		    openat(rootfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (o.dirfd < 0 || flock(o.dirfd, LOCK_SH | LOCK_NB) < 0)
			continue; /* being created or deleted */
		bwk_error *e2 = NULL;
		if (ocirt_state_read(o.dirfd, e->d_name, &o.st, &e2) < 0) {
			bwk_error_free(e2);
			continue;
		}
		char *s = ocirt_state_serialise(&o.st, ocirt_status(o.dirfd, &o.st), false);
		json_t *c = json_loads(s, 0, NULL);
		free(s);
		list_extras(c, &o);
		json_array_append_new(arr, c);
	}
	if (d)
		closedir(d);
	char *s = json_dumps(arr, JSON_INDENT(2));
	json_decref(arr);
	return s;
}

int bwk_oci_ps(const char *root, const char *id, pid_t **pids, size_t *n, bwk_error **err)
{
	*pids = NULL;
	*n = 0;
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, false, true, &o, err) < 0)
		return -1;
	*pids = xcalloc(BWK_OCI_MAX_PIDS, sizeof **pids);
	*n = ocirt_cgroup_pids(&o.st.cg, *pids, BWK_OCI_MAX_PIDS);
	return 0;
}

int bwk_oci_pause(const char *root, const char *id, bool pause, bwk_error **err)
{
	if (ocirt_require_root(pause ? "pause" : "resume", err) < 0)
		return -1;
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, true, true, &o, err) < 0)
		return -1;
	const char *status = ocirt_status(o.dirfd, &o.st);
	if (strcmp(status, pause ? "running" : "paused"))
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s is %s: cannot %s it", id,
				     status, pause ? "pause" : "resume");
	return ocirt_cgroup_freeze(&o.st.cg, pause, err);
}

/* `over` merged into object `base`: objects member by member, any other value replaced but
 * a 0 (runc's "unchanged": engines send whole objects with zeros for what they leave alone;
 * a swappiness, a CPU burst or idle of 0 means 0: runc's pointers, set or not) */
static void json_merge(json_t *base, json_t *over)
{
	const char *k;
	json_t *v;
	json_object_foreach(over, k, v)
	{
		json_t *b = json_object_get(base, k);
		if (json_is_integer(v) && json_integer_value(v) == 0 && strcmp(k, "swappiness") &&
		    strcmp(k, "burst") && strcmp(k, "idle"))
			continue;
		if (json_is_object(b) && json_is_object(v))
			json_merge(b, v);
		else
			json_object_set(base, k, v);
	}
}

/* `text` as file `name` of directory `dirfd`, atomically: a temporary file, fsync, rename */
static int write_at_atomic(int dirfd, const char *name, const char *text, bwk_error **err)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".%s.%d.tmp", name, (int)getpid());
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: writing the new config", tmp);
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	int e = off == len && fsync(fd) == 0 ? 0 : (errno ? errno : EIO);
	close(fd);
	if (e || renameat(dirfd, tmp, dirfd, name) < 0) {
		e = e ? e : errno;
		unlinkat(dirfd, tmp, 0);
		return bwk_error_set(err, BWK_E_IO, e, "%s: writing the new config", name);
	}
	return 0;
}

int bwk_oci_update(const char *root, const char *id, const char *json, size_t len, bwk_error **err)
{
	if (ocirt_require_root("update", err) < 0)
		return -1;
	cleanup_opened opened o = {-1, -1, {0}};
	if (open_state(root, id, true, true, &o, err) < 0)
		return -1;
	if (!strcmp(ocirt_status(o.dirfd, &o.st), "stopped"))
		return bwk_error_set(err, BWK_E_RUNTIME, 0, "container %s is stopped", id);
	json_error_t je;
	json_t *r = bwk_oci_json_loadb(json, len, &je);
	if (!r || !json_is_object(r)) {
		json_decref(r);
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a JSON object (linux.resources)",
				     bwk_setting("resources", "the resources"));
	}
	json_t *mem = json_object_get(r, "memory");
	json_int_t kmem = json_integer_value(json_object_get(mem, "kernel")),
		   ktcp = json_integer_value(json_object_get(mem, "kernelTCP"));
	if (kmem > 0 || ktcp > 0) {
		json_decref(r);
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "memory.kernel%s: kernel memory limits are not supported "
				     "(deprecated; kernels since 5.16 refuse them)",
				     kmem > 0 ? "" : "TCP");
	}
	/* the new values over the config's resources, as runc merges them: what is not given
	 * stays; the merged config is checked by the config.json parser, applied, then saved */
	cleanup_free char *data = NULL;
	size_t dlen;
	json_t *cfg = NULL;
	if (bwk_read_file_at(o.dirfd, OCIRT_CONFIG, BWK_OCI_MAX_BYTES, false, &data, &dlen, err) <
		0 ||
	    !(cfg = bwk_oci_json_loadb(data, dlen, &je)) || !json_is_object(cfg)) {
		json_decref(r);
		json_decref(cfg);
		if (err && !*err)
			bwk_error_set(err, BWK_E_RUNTIME, 0,
				      "container %s: its config is unreadable", id);
		return -1;
	}
	json_t *lin = json_object_get(cfg, "linux");
	if (!json_is_object(lin)) {
		lin = json_object();
		json_object_set_new(cfg, "linux", lin);
	}
	json_t *cur = json_object_get(lin, "resources");
	if (!json_is_object(cur)) {
		cur = json_object();
		json_object_set_new(lin, "resources", cur);
	}
	json_merge(cur, r);
	json_decref(r);
	char *text = bwk_oci_json_dumps(cfg, JSON_COMPACT);
	json_decref(cfg);
	bwk_oci_spec *s = NULL;
	int rc = text ? bwk_oci_spec_parse("resources", text, strlen(text), &s, err) : -1;
	if (rc == 0) { /* the kernel's EINVAL would not say which limit is wrong */
		const bwk_oci_i64 *lim = &s->linux_.resources.memory.limit,
				  *swap = &s->linux_.resources.memory.swap;
		if (lim->set && swap->set && lim->v > 0 && swap->v > 0 && lim->v > swap->v)
			rc = bwk_error_set(err, BWK_E_USAGE, 0,
					   "container %s: memory limit %" PRId64
					   " is above its memory+swap limit %" PRId64
					   ": raise %s too",
					   id, lim->v, swap->v,
					   bwk_setting("memory-swap", "the memory+swap limit"));
	}
	if (rc == 0)
		rc = ocirt_cgroup_update(&o.st.cg, &s->linux_.resources, err);
	if (rc == 0)
		rc = write_at_atomic(o.dirfd, OCIRT_CONFIG, text, err);
	free(text);
	bwk_oci_spec_free(s);
	return rc;
}
