/* Unit tests: every image best-practice rule (category config) with a true positive and a near
 * miss — the input one character of judgement away that must stay quiet — and the provenance
 * of a finding (the build step that added it). A rule of the table without a test here fails
 * test_every_rule_tested. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN /* the rules are tested one by one through the private table */
#include "bulwark/image.h"
#include "bulwark/scan.h"
#include "core/util.h"
#include "scan/scan_private.h"

static const char *tested[64];
static size_t ntested;

static const bwk_config_rule *row(const char *id)
{
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++)
		if (!strcmp((*r)->rule.id, id)) {
			bool seen = false;
			for (size_t i = 0; i < ntested && !seen; i++)
				seen = tested[i] == (*r)->rule.id;
			if (!seen && ntested < 64)
				tested[ntested++] = (*r)->rule.id;
			return *r;
		}
	fail_msg("no rule %s", id);
	return NULL;
}

/* ---- config rules ------------------------------------------------------------------------ */

typedef struct hits {
	int n;
	int severity;
	char key[128], msg[512];
} hits;

static int on_config_hit(void *hctx, const char *key, const char *message, int severity,
			 bwk_error **err)
{
	(void)err;
	hits *h = hctx;
	h->n++;
	h->severity = severity;
	snprintf(h->key, sizeof(h->key), "%s", key ? key : "");
	snprintf(h->msg, sizeof(h->msg), "%s", message ? message : "");
	return 0;
}

static hits run_config(const char *id, const bwk_image_config *c)
{
	hits h = {0};
	bwk_error *err = NULL;
	assert_int_equal(row(id)->config(c, on_config_hit, &h, &err), 0);
	return h;
}

static const char *const empty[] = {NULL};

static bwk_image_config cfg(void)
{
	bwk_image_config c = {.user = "",
			      .env = empty,
			      .cmd = empty,
			      .entrypoint = empty,
			      .exposed_ports = empty,
			      .volumes = empty,
			      .label_keys = empty,
			      .label_values = empty,
			      .healthcheck = empty,
			      .diff_ids = empty};
	return c;
}

static hits run_history(const char *id, const char *created_by)
{
	bwk_history_entry h[2] = {{.created_by = "/bin/sh -c #(nop) ADD file:ab in / "},
				  {.created_by = created_by}};
	bwk_image_config c = cfg();
	c.history = h;
	c.nhistory = 2;
	return run_config(id, &c);
}

static void test_user_root(void **state)
{
	(void)state;
	bwk_image_config c = cfg();
	c.user = "0:0";
	assert_int_equal(run_config("image-user-root", &c).n, 1);
	c.user = "10001:0"; /* group root is not user root */
	assert_int_equal(run_config("image-user-root", &c).n, 0);
}

static void test_admin_port(void **state)
{
	(void)state;
	bwk_image_config c = cfg();
	const char *const ssh[] = {"22/tcp", NULL}, *const pg[] = {"5432/tcp", NULL},
			  *const web[] = {"8022/tcp", "2222/tcp", NULL};
	c.exposed_ports = ssh;
	hits h = run_config("image-exposed-admin-port", &c);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.severity, -1);
	c.exposed_ports = pg; /* a database port: reported, lower */
	h = run_config("image-exposed-admin-port", &c);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.severity, BWK_SEV_LOW);
	c.exposed_ports = web;
	assert_int_equal(run_config("image-exposed-admin-port", &c).n, 0);
}

static void test_healthcheck(void **state)
{
	(void)state;
	bwk_image_config c = cfg();
	assert_int_equal(run_config("image-no-healthcheck", &c).n, 1);
	c.has_healthcheck = true;
	assert_int_equal(run_config("image-no-healthcheck", &c).n, 0);
}

static void test_add_remote(void **state)
{
	(void)state;
	hits h =
	    run_history("history-add-remote", "ADD https://example.com/x.tgz /opt/ # buildkit");
	assert_int_equal(h.n, 1);
	assert_string_equal(h.key, "history[1].created_by");
	assert_non_null(strstr(h.msg, "step 2 of 2: ADD https://example.com/x.tgz /opt/"));
	assert_int_equal(run_history("history-add-remote",
				     "ADD --checksum=sha256:00 https://example.com/x.tgz /opt/")
			     .n,
			 0);
	assert_int_equal(run_history("history-add-remote", "ADD http.tgz /opt/ # buildkit").n, 0);
}

static void test_pipe_shell(void **state)
{
	(void)state;
	const char *id = "history-pipe-to-shell";
	assert_int_equal(run_history(id, "/bin/sh -c curl -fsSL https://x.io/i | sh").n, 1);
	assert_int_equal(run_history(id, "RUN /bin/sh -c wget -qO- https://x | sudo -E bash - "
					 "# buildkit")
			     .n,
			 1);
	assert_int_equal(run_history(id, "/bin/sh -c curl -sL https://x | /usr/bin/python3").n, 1);
	/* near misses: the download goes to tar, or the shell is in another command */
	assert_int_equal(run_history(id, "/bin/sh -c curl -fsSL https://x/a.tgz | tar -xz").n, 0);
	assert_int_equal(run_history(id, "/bin/sh -c curl -o i.sh https://x && echo ok | sh").n, 0);
	assert_int_equal(run_history(id, "/bin/sh -c curl -f https://x || sh -c true").n, 0);
}

static void test_update_alone(void **state)
{
	(void)state;
	const char *id = "history-update-alone";
	assert_int_equal(run_history(id, "/bin/sh -c apt-get update").n, 1);
	assert_int_equal(run_history(id, "RUN /bin/sh -c apk update # buildkit").n, 1);
	assert_int_equal(run_history(id, "/bin/sh -c apt-get update && apt-get install -y curl").n,
			 0);
	assert_int_equal(run_history(id, "/bin/sh -c #(nop)  ENV apt-get update").n, 0);
}

static void test_arg_secret(void **state)
{
	(void)state;
	const char *id = "history-build-arg-secret";
	hits h = run_history(id, "|2 GITHUB_TOKEN=ghp_abc VERSION=1 /bin/sh -c make");
	assert_int_equal(h.n, 1);
	assert_non_null(strstr(h.msg, "GITHUB_TOKEN"));
	assert_null(strstr(h.msg, "ghp_abc")); /* the name, never the value */
	assert_non_null(strstr(h.msg, "RUN make"));
	assert_int_equal(run_history(id, "RUN |1 DB_PASSWORD=x /bin/sh -c true # buildkit").n, 1);
	assert_int_equal(run_history(id, "|2 VERSION=1 PASSENGER_VERSION=6 /bin/sh -c make").n, 0);
	assert_int_equal(run_history(id, "|1 TOKEN= /bin/sh -c make").n, 0); /* empty value */
}

static hits run_label(const char *value)
{
	const char *const k[] = {"org.opencontainers.image.base.name", NULL};
	const char *const v[] = {value, NULL};
	bwk_image_config c = cfg();
	c.label_keys = k;
	c.label_values = v;
	return run_config("base-image-unpinned", &c);
}

static void test_base_latest(void **state)
{
	(void)state;
	assert_int_equal(run_label("docker.io/library/debian:latest").n, 1);
	assert_int_equal(run_label("localhost:5000/debian").n, 1); /* the port is not a tag */
	assert_int_equal(run_label("docker.io/library/debian:12").n, 0);
	assert_int_equal(run_label("debian@sha256:0123").n, 0);
}

static void test_shell_form(void **state)
{
	(void)state;
	bwk_image_config c = cfg();
	const char *const sh[] = {"/bin/sh", "-c", "node server.js", NULL};
	const char *const ex[] = {"/bin/sh", "-c", "exec node server.js", NULL};
	const char *const form[] = {"/bin/sh", "/entrypoint.sh", NULL};
	c.cmd = sh;
	hits h = run_config("entrypoint-shell-form", &c);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.key, "config.Cmd");
	c.cmd = ex;
	assert_int_equal(run_config("entrypoint-shell-form", &c).n, 0);
	c.cmd = sh;
	c.entrypoint = form; /* the entrypoint decides; CMD is its arguments */
	assert_int_equal(run_config("entrypoint-shell-form", &c).n, 0);
}

static void test_stopsignal(void **state)
{
	(void)state;
	bwk_image_config c = cfg();
	const char *const sh[] = {"/bin/sh", "-c", "nginx -g 'daemon off;'", NULL};
	const char *const ex[] = {"/bin/sh", "-c", "exec nginx -g 'daemon off;'", NULL};
	const char *const argv[] = {"nginx", "-g", "daemon off;", NULL};
	/* an explicit STOPSIGNAL that a shell as PID 1 receives and drops */
	c.cmd = sh;
	c.stop_signal = "SIGQUIT";
	hits h = run_config("stopsignal-ignored", &c);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.key, "config.StopSignal");
	assert_non_null(strstr(h.msg, "SIGQUIT goes to `/bin/sh -c` (PID 1, CMD)"));
	/* near misses: exec inside the string, exec form, no STOPSIGNAL (entrypoint-shell-form's)
	 */
	c.cmd = ex;
	assert_int_equal(run_config("stopsignal-ignored", &c).n, 0);
	c.cmd = argv;
	assert_int_equal(run_config("stopsignal-ignored", &c).n, 0);
	c.stop_signal = "SIGWINCH"; /* httpd's graceful stop: the program handles it */
	assert_int_equal(run_config("stopsignal-ignored", &c).n, 0);
	c.cmd = sh;
	c.stop_signal = NULL;
	assert_int_equal(run_config("stopsignal-ignored", &c).n, 0);
	/* the entrypoint decides when there is one */
	c.stop_signal = "3";
	c.entrypoint = argv;
	assert_int_equal(run_config("stopsignal-ignored", &c).n, 0);
	c.entrypoint = sh;
	c.cmd = empty;
	h = run_config("stopsignal-ignored", &c);
	assert_int_equal(h.n, 1);
	assert_non_null(strstr(h.msg, "ENTRYPOINT"));
	/* a job-control signal pauses instead of ending, whatever the entrypoint */
	c.entrypoint = argv;
	c.stop_signal = "SIGTSTP";
	h = run_config("stopsignal-ignored", &c);
	assert_int_equal(h.n, 1);
	assert_non_null(strstr(h.msg, "pauses"));
	/* not a signal at all */
	c.stop_signal = "SIGNOPE";
	h = run_config("stopsignal-ignored", &c);
	assert_int_equal(h.n, 1);
	assert_non_null(strstr(h.msg, "'SIGNOPE' is not a signal"));
}

static void test_volume_system(void **state)
{
	(void)state;
	bwk_image_config c = cfg();
	const char *const etc[] = {"/data", "/etc/", NULL};
	const char *const data[] = {"/var/lib/mysql", "/etc/nginx/conf.d", NULL};
	c.volumes = etc;
	hits h = run_config("volume-system-path", &c);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.key, "config.Volumes[/etc/]");
	c.volumes = data;
	assert_int_equal(run_config("volume-system-path", &c).n, 0);
}

/* ---- entry rules -------------------------------------------------------------------------- */

static int run_entry(bwk_cfgscan *cs, const char *id, const bwk_entry *e, int *severity)
{
	bwk_cfg_hit h = {.severity = -1};
	int r = row(id)->entry(cs, e, &h);
	if (severity)
		*severity = h.severity;
	if (h.owned)
		free(h.detail);
	return r;
}

static bwk_entry file(const char *path, uint32_t mode)
{
	bwk_entry e = {
	    .path = path, .type = BWK_ENTRY_FILE, .mode = mode, .size = 10, .hidden_by = -1};
	return e;
}

static void test_setuid(void **state)
{
	(void)state;
	bwk_cfgscan *cs = bwk_cfgscan_new();
	int sev;
	bwk_entry e = file("usr/local/bin/helper", 04755);
	assert_int_equal(run_entry(cs, "setuid-file", &e, &sev), 1);
	assert_int_equal(sev, -1);
	e = file("usr/bin/passwd", 04755); /* known-needed: lower */
	assert_int_equal(run_entry(cs, "setuid-file", &e, &sev), 1);
	assert_int_equal(sev, BWK_SEV_LOW);
	e = file("usr/local/bin/helper", 04644); /* no exec bit: cannot be run */
	assert_int_equal(run_entry(cs, "setuid-file", &e, NULL), 0);
	bwk_cfgscan_free(cs);
}

static void test_world_writable(void **state)
{
	(void)state;
	bwk_cfgscan *cs = bwk_cfgscan_new();
	bwk_entry d = {.path = "srv/pub", .type = BWK_ENTRY_DIR, .mode = 0777};
	assert_int_equal(run_entry(cs, "world-writable-dir", &d, NULL), 1);
	d.mode = 01777; /* sticky, as /tmp */
	assert_int_equal(run_entry(cs, "world-writable-dir", &d, NULL), 0);
	bwk_entry f = file("app/run.sh", 0777);
	assert_int_equal(run_entry(cs, "world-writable-file", &f, NULL), 1);
	f.mode = 0775;
	assert_int_equal(run_entry(cs, "world-writable-file", &f, NULL), 0);
	bwk_entry l = {.path = "bin/sh", .type = BWK_ENTRY_SYMLINK, .mode = 0777};
	assert_int_equal(run_entry(cs, "world-writable-file", &l, NULL), 0);
	bwk_cfgscan_free(cs);
}

static void test_pkg_cache(void **state)
{
	(void)state;
	bwk_cfgscan *cs = bwk_cfgscan_new();
	const char *id = "package-cache-left";
	bwk_entry e = file("var/lib/apt/lists/deb.debian.org_debian_dists_main_Packages.lz4", 0644);
	assert_int_equal(run_entry(cs, id, &e, NULL), 1);
	e.path = "var/lib/apt/lists/other_Packages"; /* once per cache and layer */
	assert_int_equal(run_entry(cs, id, &e, NULL), 0);
	e.layer_index = 3;
	assert_int_equal(run_entry(cs, id, &e, NULL), 1);
	e.path = "home/dev/.cache/pip/http/ab/cd";
	assert_int_equal(run_entry(cs, id, &e, NULL), 1);
	e.path = "var/lib/apt/lists/lock"; /* what apt itself leaves, empty */
	e.layer_index = 4;
	assert_int_equal(run_entry(cs, id, &e, NULL), 0);
	e.path = "var/lib/apt/extended_states";
	assert_int_equal(run_entry(cs, id, &e, NULL), 0);
	e.path = "home/dev/.npmrc";
	assert_int_equal(run_entry(cs, id, &e, NULL), 0);
	bwk_cfgscan_free(cs);
}

static void test_sudo_sshd(void **state)
{
	(void)state;
	bwk_cfgscan *cs = bwk_cfgscan_new();
	bwk_entry e = file("usr/bin/sudo", 04755);
	assert_int_equal(run_entry(cs, "sudo-installed", &e, NULL), 1);
	e.path = "usr/bin/sudoreplay";
	assert_int_equal(run_entry(cs, "sudo-installed", &e, NULL), 0);
	e = file("usr/sbin/sshd", 0755);
	assert_int_equal(run_entry(cs, "ssh-server-installed", &e, NULL), 1);
	e.path = "usr/bin/ssh"; /* the client is not a way in */
	assert_int_equal(run_entry(cs, "ssh-server-installed", &e, NULL), 0);
	bwk_cfgscan_free(cs);
}

/* ---- final rules: accounts and owners ---------------------------------------------------- */

typedef struct final_hits {
	int n;
	int severity;
	char path[128], msg[512];
} final_hits;

static int on_final_hit(void *hctx, const bwk_location *loc, const char *message, int severity,
			bwk_error **err)
{
	(void)err;
	final_hits *h = hctx;
	h->n++;
	h->severity = severity;
	snprintf(h->path, sizeof(h->path), "%s", loc->path ? loc->path : "");
	snprintf(h->msg, sizeof(h->msg), "%s", message ? message : "");
	return 0;
}

static const char base_passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
				  "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				  "app:x:10001:10001::/home/app:/bin/sh\n";

static void put(bwk_cfgscan *cs, const char *path, const char *text, int layer)
{
	bwk_entry e = file(path, 0644);
	e.layer_index = layer;
	bwk_cfgscan_content(cs, &e, text, strlen(text));
}

static final_hits run_final(const char *id, const char *passwd, const char *shadow,
			    const bwk_image_config *c)
{
	bwk_cfgscan *cs = bwk_cfgscan_new();
	if (passwd)
		put(cs, "etc/passwd", passwd, 0);
	if (shadow)
		put(cs, "etc/shadow", shadow, 0);
	final_hits h = {0};
	bwk_error *err = NULL;
	assert_int_equal(row(id)->final(cs, c, on_final_hit, &h, &err), 0);
	bwk_cfgscan_free(cs);
	return h;
}

static void test_empty_password(void **state)
{
	(void)state;
	const char *id = "account-empty-password";
	final_hits h = run_final(id, base_passwd, "root::19000:0:99999:7:::\n", NULL);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.path, "etc/shadow");
	assert_int_equal(run_final(id, base_passwd, "root:!:19000:0:99999:7:::\n", NULL).n, 0);
	/* no shadow: passwd's own field decides, "x" is not empty */
	assert_int_equal(run_final(id, "root::0:0::/root:/bin/sh\n", NULL, NULL).n, 1);
	assert_int_equal(run_final(id, base_passwd, NULL, NULL).n, 0);
}

static void test_extra_uid0(void **state)
{
	(void)state;
	const char *id = "account-extra-uid0";
	char pw[512];
	snprintf(pw, sizeof(pw), "%stoor:x:0:0::/root:/bin/sh\n", base_passwd);
	final_hits h = run_final(id, pw, NULL, NULL);
	assert_int_equal(h.n, 1);
	assert_non_null(strstr(h.msg, "toor"));
	snprintf(pw, sizeof(pw), "%stoor:x:100:0::/root:/bin/sh\n", base_passwd); /* gid 0 */
	assert_int_equal(run_final(id, pw, NULL, NULL).n, 0);
}

static void test_duplicate_uid(void **state)
{
	(void)state;
	char pw[512];
	snprintf(pw, sizeof(pw), "%sbuild:x:10001:10001::/:/bin/sh\n", base_passwd);
	assert_int_equal(run_final("account-duplicate-uid", pw, NULL, NULL).n, 1);
	snprintf(pw, sizeof(pw), "%sbuild:x:10002:10001::/:/bin/sh\n", base_passwd);
	assert_int_equal(run_final("account-duplicate-uid", pw, NULL, NULL).n, 0);
}

static void test_service_password(void **state)
{
	(void)state;
	const char *id = "account-service-password";
	final_hits h = run_final(id, base_passwd, "daemon:$6$salt$hash:19000::::::\n", NULL);
	assert_int_equal(h.n, 1);
	assert_non_null(strstr(h.msg, "$6$"));
	assert_null(strstr(h.msg, "hash:")); /* the kind, not the hash */
	/* a locked hash, and a human account's password, are not this rule's */
	assert_int_equal(run_final(id, base_passwd, "daemon:!$6$salt$hash:19000::::::\n", NULL).n,
			 0);
	assert_int_equal(run_final(id, base_passwd, "app:$6$salt$hash:19000::::::\n", NULL).n, 0);
}

static void test_user_unknown(void **state)
{
	(void)state;
	const char *id = "image-user-unknown";
	bwk_image_config c = cfg();
	c.user = "web";
	final_hits h = run_final(id, base_passwd, NULL, &c);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.severity, BWK_SEV_MEDIUM);
	c.user = "4242:4242";
	h = run_final(id, base_passwd, NULL, &c);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.severity, -1);
	c.user = "app:app";
	assert_int_equal(run_final(id, base_passwd, NULL, &c).n, 0);
	c.user = "10001";
	assert_int_equal(run_final(id, base_passwd, NULL, &c).n, 0);
	/* no passwd at all (scratch): nothing to judge by */
	c.user = "4242";
	assert_int_equal(run_final(id, NULL, NULL, &c).n, 0);
}

static void test_owner_unknown(void **state)
{
	(void)state;
	bwk_findings *f = bwk_findings_new();
	bwk_scan_opts o = {.target = "t", .quiet = true, .inventory_only = true};
	bwk_scanner *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_scanner_new(&o, f, &s, &err), 0);
	put(s->cfg, "etc/passwd", base_passwd, 0);
	bwk_entry a = file("app/main.py", 0644), b = file("app/lib.py", 0644);
	a.uid = b.uid = 1000; /* the build machine's user */
	bwk_entry ok = file("home/app/x", 0644);
	ok.uid = 10001;
	assert_int_equal(bwk_cfgscan_entry(s->cfg, s, &a, &err), 0);
	assert_int_equal(bwk_cfgscan_entry(s->cfg, s, &b, &err), 0);
	assert_int_equal(bwk_cfgscan_entry(s->cfg, s, &ok, &err), 0);
	final_hits h = {0};
	assert_int_equal(row("file-owner-unknown")->final(s->cfg, NULL, on_final_hit, &h, &err), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.path, "app/main.py");
	assert_non_null(strstr(h.msg, "2 entries owned by uid 1000"));
	bwk_scanner_free(s);
	bwk_findings_free(f);
}

static void test_every_rule_tested(void **state)
{
	(void)state;
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++) {
		bool found = false;
		for (size_t i = 0; i < ntested && !found; i++)
			found = !strcmp(tested[i], (*r)->rule.id);
		if (!found)
			fail_msg("rule %s has no test in test_config_rules.c", (*r)->rule.id);
		int checks = !!(*r)->entry + !!(*r)->config + !!(*r)->final;
		assert_int_equal(checks, 1);
		assert_non_null((*r)->rule.references);
		assert_true((*r)->rule.category == BWK_CAT_CONFIG);
	}
}

/* ---- provenance ----------------------------------------------------------------------------- */

static void test_step_text(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"/bin/sh -c #(nop) COPY dir:ab12 in /app ", "COPY dir:ab12 in /app"},
	    {"/bin/sh -c apt-get update &&     apt-get install -y curl",
	     "RUN apt-get update && apt-get install -y curl"},
	    {"|2 TOKEN=secret V=1 /bin/sh -c make", "RUN make"},
	    {"RUN |1 TOKEN=secret /bin/sh -c make # buildkit", "RUN make"},
	    {"COPY . /app # buildkit", "COPY . /app"},
	    {"RUN /bin/sh -c set -e\n  echo hi # buildkit", "RUN set -e echo hi"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = bwk_history_step_text(cases[i].in, 100);
		assert_string_equal(t, cases[i].out);
		free(t);
	}
	char *t = bwk_history_step_text("/bin/sh -c echo 0123456789", 8);
	assert_string_equal(t, "RUN echo 012…");
	free(t);
}

static void test_layer_step(void **state)
{
	(void)state;
	bwk_history_entry h[] = {
	    {.created_by = "/bin/sh -c #(nop) ADD file:ab in / "},
	    {.created_by = "/bin/sh -c #(nop)  CMD [\"bash\"]", .empty_layer = true},
	    {.created_by = "WORKDIR /app # buildkit", .empty_layer = true},
	    {.created_by = "COPY . /app # buildkit"},
	};
	const char *const diff[] = {"sha256:a", "sha256:b", NULL};
	bwk_image_config c = cfg();
	c.history = h;
	c.nhistory = 4;
	c.diff_ids = diff;
	char *s = bwk_provenance_step(&c, 1);
	assert_string_equal(s, "COPY . /app (step 4 of 4)");
	free(s);
	s = bwk_provenance_step(&c, 0);
	assert_string_equal(s, "ADD file:ab in / (step 1 of 4)");
	free(s);
	/* history that does not align with the layers names nothing rather than a wrong step */
	h[3].empty_layer = true;
	assert_null(bwk_provenance_step(&c, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_root),	     cmocka_unit_test(test_admin_port),
	    cmocka_unit_test(test_healthcheck),	     cmocka_unit_test(test_add_remote),
	    cmocka_unit_test(test_pipe_shell),	     cmocka_unit_test(test_update_alone),
	    cmocka_unit_test(test_arg_secret),	     cmocka_unit_test(test_base_latest),
	    cmocka_unit_test(test_shell_form),	     cmocka_unit_test(test_stopsignal),
	    cmocka_unit_test(test_volume_system),    cmocka_unit_test(test_setuid),
	    cmocka_unit_test(test_world_writable),   cmocka_unit_test(test_pkg_cache),
	    cmocka_unit_test(test_sudo_sshd),	     cmocka_unit_test(test_empty_password),
	    cmocka_unit_test(test_extra_uid0),	     cmocka_unit_test(test_duplicate_uid),
	    cmocka_unit_test(test_service_password), cmocka_unit_test(test_user_unknown),
	    cmocka_unit_test(test_owner_unknown),    cmocka_unit_test(test_step_text),
	    cmocka_unit_test(test_layer_step),	     cmocka_unit_test(test_every_rule_tested),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
