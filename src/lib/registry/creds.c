/* Registry credentials the way the docker CLI keeps them: --username/--password-stdin, or
 * config.json's credHelpers[host], credsStore (docker-credential-NAME get, host on stdin,
 * {"Username","Secret"} on stdout) and auths[host].auth (base64 "user:password"). Secrets
 * are wiped when freed and never go into a message. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nettle/base64.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "registry/registry_private.h"

#define MAX_CONFIG (1u << 20)
#define MAX_HELPER (64u << 10)
#define HELPER_MS  10000

extern char **environ;

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void reg_creds_free(reg_creds *c)
{
	free(c->username);
	wipe_free(c->secret);
	memset(c, 0, sizeof(*c));
}

/* The keys config.json may use for a host: Docker Hub is stored under its v1 URL. */
static json_t *auth_entry(json_t *obj, const char *registry)
{
	if (!json_is_object(obj))
		return NULL;
	if (!strcmp(registry, "docker.io")) {
		static const char *const hub[] = {"https://index.docker.io/v1/", "index.docker.io",
						  "docker.io", "registry-1.docker.io", NULL};
		for (const char *const *k = hub; *k; k++) {
			json_t *e = json_object_get(obj, *k);
			if (e)
				return e;
		}
		return NULL;
	}
	json_t *e = json_object_get(obj, registry);
	if (e)
		return e;
	/* docker login writes "https://host" for some registries */
	cleanup_free char *u = xasprintf("https://%s", registry);
	return json_object_get(obj, u);
}

static int decode_auth(const char *b64, reg_creds *out, bwk_error **err)
{
	size_t n = strlen(b64);
	if (n > 8192)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "docker config: an auth entry is too "
				     "long");
	cleanup_free uint8_t *raw = xmalloc(BASE64_DECODE_LENGTH(n) + 1);
	struct base64_decode_ctx ctx;
	base64_decode_init(&ctx);
	size_t dn = BASE64_DECODE_LENGTH(n);
	if (!base64_decode_update(&ctx, &dn, raw, n, b64) || !base64_decode_final(&ctx))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "docker config: an auth entry is not base64 (run docker login "
				     "again)");
	raw[dn] = 0;
	char *colon = memchr(raw, ':', dn);
	if (!colon || memchr(raw, 0, dn)) {
		explicit_bzero(raw, dn);
		return bwk_error_set(
		    err, BWK_E_INPUT, 0,
		    "docker config: an auth entry is not user:password (run docker "
		    "login again)");
	}
	*colon = 0;
	out->username = xstrdup((char *)raw);
	out->secret = xstrdup(colon + 1);
	explicit_bzero(raw, dn);
	return 0;
}

static bool helper_name_ok(const char *h)
{
	if (!h || !*h || strlen(h) > 64)
		return false;
	for (const char *p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

int reg_creds_from_config(const char *json, size_t len, const char *registry, reg_creds *out,
			  char **helper, bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	*helper = NULL;
	json_error_t je;
	json_t *j = json_loadb(json, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "docker config: not a JSON object (line %d: %s)", je.line,
				     je.text);
	}
	int rc = 0;
	json_t *h = auth_entry(json_object_get(j, "credHelpers"), registry);
	const char *hs = json_string_value(h);
	if (!hs)
		hs = json_string_value(json_object_get(j, "credsStore"));
	json_t *a = auth_entry(json_object_get(j, "auths"), registry);
	if (hs && *hs) {
		if (!helper_name_ok(hs))
			rc = bwk_error_set(err, BWK_E_INPUT, 0,
					   "docker config: credential helper name '%.64s' is not "
					   "a plain name",
					   hs);
		else
			*helper = xstrdup(hs);
	} else if (json_is_object(a)) {
		const char *auth = json_string_value(json_object_get(a, "auth"));
		const char *idt = json_string_value(json_object_get(a, "identitytoken"));
		const char *u = json_string_value(json_object_get(a, "username"));
		const char *p = json_string_value(json_object_get(a, "password"));
		if (auth && *auth)
			rc = decode_auth(auth, out, err);
		else if (u && p) {
			out->username = xstrdup(u);
			out->secret = xstrdup(p);
		}
		if (rc == 0 && idt && *idt) {
			wipe_free(out->secret);
			out->secret = xstrdup(idt);
			out->identity_token = true;
			if (!out->username)
				out->username = xstrdup("<token>");
		}
	}
	json_decref(j);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* docker-credential-NAME get: the host on stdin, JSON on stdout; bounded in size and time. */
static int run_helper(const char *name, const char *registry, reg_creds *out, bwk_error **err)
{
	cleanup_free char *prog = xasprintf("docker-credential-%s", name);
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: pipe", prog);
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return bwk_error_set(err, BWK_E_IO, errno, "%s: pipe", prog);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	char *argv[] = {prog, (char *)"get", NULL};
	pid_t pid;
	int src = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(outp[1]);
	if (src != 0) {
		close(in[1]);
		close(outp[0]);
		return bwk_error_set(err, BWK_E_NOTFOUND, src,
				     "docker config names the credential helper '%s' for %s, but "
				     "%s cannot be run (install it, or pass %s and %s)",
				     name, registry, prog, bwk_setting("username", "a user name"),
				     bwk_setting("password-stdin", "a password"));
	}
	/* the host name is small: one write cannot block on an empty pipe */
	const char *host =
	    !strcmp(registry, "docker.io") ? "https://index.docker.io/v1/" : registry;
	ssize_t wr = write(in[1], host, strlen(host));
	(void)wr;
	close(in[1]);
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, MAX_HELPER);
	int64_t deadline = now_ms() + HELPER_MS;
	bool timed_out = false;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd pfd = {outp[0], POLLIN, 0};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			timed_out = pr == 0;
			break;
		}
		char buf[4096];
		ssize_t r = read(outp[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		bwk_strbuf_appendn(&sb, buf, (size_t)r);
		if (sb.truncated)
			break;
	}
	close(outp[0]);
	if (timed_out || sb.truncated)
		kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int rc = 0;
	if (timed_out)
		rc = bwk_error_set(err, BWK_E_IO, 0, "%s did not answer within %d s", prog,
				   HELPER_MS / 1000);
	else if (sb.truncated)
		rc = bwk_error_set(err, BWK_E_LIMIT, 0, "%s: answer larger than %u KiB", prog,
				   MAX_HELPER >> 10);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		/* "credentials not found in native keychain": anonymous, as docker does */
		rc = 0;
	else {
		json_error_t je;
		json_t *j = json_loadb(sb.s ? sb.s : "", sb.len, 0, &je);
		const char *u = json_string_value(json_object_get(j, "Username"));
		const char *s = json_string_value(json_object_get(j, "Secret"));
		if (!u || !s)
			rc =
			    bwk_error_set(err, BWK_E_INPUT, 0,
					  "%s: the answer is not {\"Username\", \"Secret\"}", prog);
		else if (*s) {
			out->identity_token = !strcmp(u, "<token>");
			out->username = xstrdup(u);
			out->secret = xstrdup(s);
		}
		json_decref(j);
	}
	if (sb.s)
		explicit_bzero(sb.s, sb.len);
	bwk_strbuf_free(&sb);
	return rc;
}

int reg_creds_lookup(const bwk_registry_opts *o, const char *registry, reg_creds *out,
		     bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	if (o->username && o->password) {
		out->username = xstrdup(o->username);
		out->secret = xstrdup(o->password);
		return 0;
	}
	cleanup_free char *path = NULL;
	if (o->docker_config) {
		path = xstrdup(o->docker_config);
	} else {
		const char *dc = getenv("DOCKER_CONFIG");
		const char *home = getenv("HOME");
		if (dc && *dc)
			path = xasprintf("%s/config.json", dc);
		else if (home && *home)
			path = xasprintf("%s/.docker/config.json", home);
		else
			return 0;
	}
	cleanup_free char *data = NULL;
	size_t len = 0;
	bwk_error *e = NULL;
	if (bwk_read_file_at(AT_FDCWD, path, MAX_CONFIG, true, &data, &len, &e) < 0) {
		bool missing = bwk_error_code(e) == BWK_E_NOTFOUND || e->errnum == ENOENT;
		if (missing && !o->docker_config) {
			bwk_error_free(e);
			return 0;
		}
		if (!err) {
			bwk_error_free(e);
			return -1;
		}
		*err = e;
		return bwk_error_wrap(err, "docker config %s", path);
	}
	cleanup_free char *helper = NULL;
	int rc = reg_creds_from_config(data, len, registry, out, &helper, err);
	explicit_bzero(data, len);
	if (rc < 0)
		return bwk_error_wrap(err, "%s", path);
	if (helper)
		return run_helper(helper, registry, out, err);
	return 0;
}
