/* Unit tests: the secret detector. Every built-in rule's examples (rules/secrets.yaml: each
 * positive must be found by that rule with a secret taken from the example, each negative must
 * not), then the engine's behaviour on block boundaries, CRLF, long lines, the entropy gate,
 * allowlists, path-scoped rules, user rule files and nested archives. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BWK_IN_SCAN /* the tests read the rule table's examples through the private API */
#include "bulwark/scan.h"
#include "bulwark/secrets.h"
#include "core/util.h"
#include "scan/secrets_private.h"

typedef struct hits {
	size_t n;
	char ids[64][64];
	char secrets[64][256];
	unsigned lines[64];
	bwk_severity sev[64];
	char titles[64][128];
} hits;

static int collect(void *ctx, const bwk_secret_hit *h, bwk_error **err)
{
	(void)err;
	hits *x = ctx;
	if (x->n < 64) {
		snprintf(x->ids[x->n], sizeof(x->ids[0]), "%s", h->rule->id);
		snprintf(x->secrets[x->n], sizeof(x->secrets[0]), "%.*s",
			 (int)(h->secret_len < 255 ? h->secret_len : 255), h->secret);
		x->lines[x->n] = h->line;
		x->sev[x->n] = h->rule->severity;
		snprintf(x->titles[x->n], sizeof(x->titles[0]), "%s", h->rule->title);
	}
	x->n++;
	return 0;
}

static bool has(const hits *x, const char *id, const char *secret)
{
	for (size_t i = 0; i < x->n && i < 64; i++)
		if (strcmp(x->ids[i], id) == 0 && (!secret || strcmp(x->secrets[i], secret) == 0))
			return true;
	return false;
}

/* A path that a path-scoped rule accepts, so that its examples can be scanned as that file
 * (the canonical credential paths of tests/tools/check_secret_rules.py and a few more). */
static const char *const candidate_paths[] = {"root/.docker/config.json",
					      "home/app/.docker/config.json",
					      "run/containers/0/auth.json",
					      "root/.npmrc",
					      "app/.npmrc",
					      "app/.yarnrc.yml",
					      "root/.pypirc",
					      "root/.netrc",
					      "home/ci/_netrc",
					      "root/.git-credentials",
					      "root/.aws/credentials",
					      "root/.s3cfg",
					      "root/.kube/config",
					      "etc/kubernetes/admin.conf",
					      "app/.env",
					      "srv/app/.env.production",
					      "etc/shadow",
					      "etc/shadow-",
					      "etc/nginx/.htpasswd",
					      "var/www/.htpasswd",
					      "root/.pgpass",
					      "root/.my.cnf",
					      "etc/mysql/debian.cnf",
					      "etc/redis/redis.conf",
					      "root/.m2/settings.xml",
					      "app/gradle.properties",
					      "root/.nuget/NuGet/NuGet.Config",
					      "root/.composer/auth.json",
					      "usr/local/tomcat/conf/tomcat-users.xml",
					      "root/.azure/msal_token_cache.json",
					      "app/mysite/settings.py",
					      "app/config/master.key",
					      "app/config/credentials/production.key",
					      "etc/app/config.yaml",
					      "opt/app/application.properties",
					      "app/appsettings.json",
					      "etc/gshadow",
					      "app/config/database.yml",
					      "root/.config/gh/hosts.yml",
					      "root/.gem/credentials",
					      "root/.cargo/credentials.toml",
					      "app/terraform.tfvars",
					      "root/.terraformrc",
					      "root/.config/rclone/rclone.conf",
					      "app/wp-config.php",
					      "root/.ssh/id_rsa",
					      "root/.vault-token",
					      "root/.bash_history",
					      "etc/ppp/chap-secrets",
					      "app/kubeconfig",
					      ".npmrc",
					      ".netrc",
					      ".env",
					      NULL};

static const char *path_for(const sec_rule *r, pcre2_match_data *md)
{
	if (!r->path_re)
		return "app/config.txt";
	for (const char *const *p = candidate_paths; *p; p++)
		if (pcre2_match(r->path_re, (PCRE2_SPTR)*p, strlen(*p), 0, 0, md, NULL) >= 0)
			return *p;
	return NULL;
}

static void test_builtin_rule_examples(void **state)
{
	(void)state;
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	int r = bwk_secrets_new(NULL, &s, &err);
	if (r < 0)
		fail_msg("%s", err->msg);
	size_t n = bwk_secrets_rule_count(s);
	assert_true(n > 0);
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	size_t failures = 0, checked = 0;
	for (size_t i = 0; i < n; i++) {
		const sec_rule *rule = bwk_secrets_rule(s, i);
		const char *path = path_for(rule, md);
		if (!path) {
			print_error("rule %s: no test path matches its path regex %s\n", rule->id,
				    rule->path);
			failures++;
			continue;
		}
		if (!rule->positive.n) {
			print_error("rule %s: no positive example\n", rule->id);
			failures++;
		}
		for (size_t k = 0; k < rule->positive.n; k++) {
			const char *ex = rule->positive.v[k];
			hits h = {0};
			assert_int_equal(
			    bwk_secrets_scan(s, path, ex, strlen(ex), collect, &h, NULL), 0);
			bool ok = false;
			for (size_t j = 0; j < h.n && j < 64; j++)
				if (strcmp(h.ids[j], rule->id) == 0 && h.secrets[j][0] &&
				    strstr(ex, h.secrets[j]))
					ok = true;
			if (!ok) {
				print_error("rule %s: positive example %zu not found (%s)\n",
					    rule->id, k, path);
				failures++;
			}
			checked++;
		}
		for (size_t k = 0; k < rule->negative.n; k++) {
			const char *ex = rule->negative.v[k];
			hits h = {0};
			assert_int_equal(
			    bwk_secrets_scan(s, path, ex, strlen(ex), collect, &h, NULL), 0);
			if (has(&h, rule->id, NULL)) {
				print_error("rule %s: negative example %zu reported\n", rule->id,
					    k);
				failures++;
			}
			checked++;
		}
	}
	pcre2_match_data_free(md);
	bwk_secrets_free(s);
	print_message("%zu rules, %zu examples checked\n", n, checked);
	assert_int_equal(failures, 0);
}

/* ---- engine behaviour with a small rule table ------------------------------------------- */

static const char test_rules[] =
    "version: 1\n"
    "rules:\n"
    "  - id: test-token\n"
    "    title: Test token\n"
    "    severity: high\n"
    "    regex: '\\b(TSTK_[A-Z0-9]{20})\\b'\n"
    "    secret_group: 1\n"
    "    keywords: [tstk_]\n"
    "    allow: ['^TSTK_ALLOWED']\n"
    "  - id: test-assign\n"
    "    title: Assignment\n"
    "    severity: medium\n"
    "    regex: '(?i)secretval\\s*=\\s*(\\S+)$'\n"
    "    secret_group: 1\n"
    "    keywords: [secretval]\n"
    "    entropy: 3.5\n"
    "  - id: test-file-pass\n"
    "    title: Password in a test file\n"
    "    severity: low\n"
    "    regex: 'pass:(\\w{6,})'\n"
    "    secret_group: 1\n"
    "    keywords: ['pass:']\n"
    "    path: '(?:^|/)\\.testcreds$'\n"
    "  - id: test-pem\n"
    "    title: PEM\n"
    "    severity: critical\n"
    "    regex: '-----BEGIN TEST PRIVATE KEY-----[\\s\\S]{8,}?-----END TEST PRIVATE KEY-----'\n"
    "    keywords: ['-----begin test']\n";

#define TOK  "TSTK_ABCDEFGHIJ0123456789"
#define TOK2 "TSTK_ZYXWVUTSRQ9876543210"

static bwk_secrets *load(const char *user_path)
{
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	if (bwk_secrets_new_from(test_rules, strlen(test_rules), user_path, &s, &err) < 0)
		fail_msg("%s", err->msg);
	return s;
}

static hits scan(bwk_secrets *s, const char *path, const char *data, size_t len)
{
	hits h = {0};
	/* exact-size copy so that ASan sees an overread past the buffer */
	char *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	assert_int_equal(bwk_secrets_scan(s, path, copy, len, collect, &h, NULL), 0);
	free(copy);
	return h;
}

static void test_basic_and_lines(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	assert_int_equal(bwk_secrets_rule_count(s), 4);
	const char *t = "a\nb\nkey=" TOK "\nTSTK_SHORT\nx" TOK2 "\n" TOK2 "\n";
	hits h = scan(s, "a.txt", t, strlen(t));
	assert_int_equal(h.n, 2); /* xTSTK_… has no word boundary */
	assert_string_equal(h.secrets[0], TOK);
	assert_int_equal(h.lines[0], 3);
	assert_string_equal(h.secrets[1], TOK2);
	assert_int_equal(h.lines[1], 6);
	bwk_secrets_free(s);
}

static void test_crlf(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	const char *t = "x=1\r\nsecretval = Zq8#Lm2!Rt5@Kp9\r\nnext\r\n";
	hits h = scan(s, "a.ini", t, strlen(t));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.ids[0], "test-assign");
	assert_string_equal(h.secrets[0], "Zq8#Lm2!Rt5@Kp9"); /* no trailing CR */
	assert_int_equal(h.lines[0], 2);
	bwk_secrets_free(s);
}

static void test_entropy_gate(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	const char *low = "secretval = aaaaaaaabbbbbbbb\n";
	hits h = scan(s, NULL, low, strlen(low));
	assert_int_equal(h.n, 0);
	const char *high = "secretval = Zq8#Lm2!Rt5@Kp9\n";
	h = scan(s, NULL, high, strlen(high));
	assert_int_equal(h.n, 1);
	bwk_secrets_free(s);
}

static void test_rule_allowlist(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	const char *t = "TSTK_ALLOWED000000000000 " TOK "\n";
	hits h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.secrets[0], TOK);
	bwk_secrets_free(s);
}

static void test_path_rules(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	const char *t = "user: bob\npass:hunter22x\n";
	hits h = scan(s, "home/bob/.testcreds", t, strlen(t));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.secrets[0], "hunter22x");
	assert_int_equal(h.lines[0], 2);
	h = scan(s, "home/bob/notes.txt", t, strlen(t));
	assert_int_equal(h.n, 0);
	h = scan(s, NULL, t, strlen(t)); /* config values: no path, no path-scoped rules */
	assert_int_equal(h.n, 0);
	/* a worker remembers the path checks of the paths it saw (the images of --scan-all
	 * share paths): the same answers again, after others, and after more paths than it
	 * keeps (their slots taken by others) */
	char path[64];
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(path, sizeof(path), "home/u%d/%s", i,
				 i % 2 ? ".testcreds" : ".testcreds.txt");
			h = scan(s, path, t, strlen(t));
			assert_int_equal(h.n, i % 2 ? 1 : 0);
		}
	h = scan(s, "home/bob/.testcreds", t, strlen(t));
	assert_int_equal(h.n, 1);
	h = scan(s, "home/bob/.testcreds", t, strlen(t));
	assert_int_equal(h.n, 1);
	h = scan(s, "home/bob/notes.txt", t, strlen(t));
	assert_int_equal(h.n, 0);
	h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 0);
	bwk_secrets_free(s);
}

static void test_long_line(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	size_t n = 3u << 20;
	char *t = malloc(n);
	memset(t, 'a', n);
	for (size_t i = 1000; i < n; i += 1000)
		t[i] = ' ';
	memcpy(t + n / 2, " " TOK " ", strlen(TOK) + 2);
	memcpy(t + n - strlen(TOK) - 1, " " TOK, strlen(TOK) + 1);
	hits h = scan(s, NULL, t, n);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.lines[0], 1);
	assert_int_equal(h.lines[1], 1);
	free(t);
	bwk_secrets_free(s);
}

static void test_many_hits_one_rule(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 1 << 20);
	for (int i = 0; i < 50; i++)
		bwk_strbuf_printf(&sb, "k%d=TSTK_%020d\n", i, i * 7919 + 1);
	char *t = bwk_strbuf_steal(&sb);
	hits h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 50);
	assert_int_equal(h.lines[49], 50);
	free(t);
	bwk_secrets_free(s);
}

static char *write_tmp(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/bwk-test-rules-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	return path;
}

static void test_user_rules(void **state)
{
	(void)state;
	char *p = write_tmp("version: 1\n"
			    "disable: [test-assign]\n"
			    "allowlist:\n"
			    "  paths: ['^vendor/']\n"
			    "  values: ['^TSTK_ZYX']\n"
			    "rules:\n"
			    "  - id: user-code\n"
			    "    title: Internal code\n"
			    "    severity: critical\n"
			    "    regex: 'ACME-[0-9]{8}'\n"
			    "    keywords: [acme-]\n",
			    0600);
	bwk_secrets *s = load(p);
	assert_int_equal(bwk_secrets_rule_count(s), 4); /* 4 - 1 disabled + 1 added */
	const char *t = "ACME-12345678\nsecretval = Zq8#Lm2!Rt5@Kp9\n" TOK "\n" TOK2 "\n";
	hits h = scan(s, "app/x.txt", t, strlen(t));
	assert_int_equal(h.n, 2);
	assert_true(has(&h, "user-code", "ACME-12345678"));
	assert_true(has(&h, "test-token", TOK));
	h = scan(s, "vendor/x.txt", t, strlen(t));
	assert_int_equal(h.n, 0);
	bwk_secrets_free(s);
	unlink(p);
	free(p);
}

static void expect_error(const char *user, const char *needle)
{
	char *p = write_tmp(user, 0600);
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_secrets_new_from(test_rules, strlen(test_rules), p, &s, &err), -1);
	assert_non_null(err);
	char *msg = bwk_error_format(err);
	if (!strstr(msg, needle))
		fail_msg("expected '%s' in: %s", needle, msg);
	free(msg);
	bwk_error_free(err);
	unlink(p);
	free(p);
}

static void test_user_rules_errors(void **state)
{
	(void)state;
	expect_error("version: 1\ndisable: [no-such-rule]\n", "no-such-rule");
	expect_error("version: 2\n", "version");
	expect_error("version: 1\nrules:\n  - id: Bad_Id\n    regex: x\n", "kebab-case");
	expect_error("version: 1\nrules:\n  - id: bad-re\n    severity: low\n    regex: 'a(b'\n"
		     "    keywords: [a]\n",
		     "bad-re");
	expect_error("version: 1\nrules:\n  - id: nokw\n    severity: low\n    regex: 'abc'\n",
		     "keyword");
	expect_error("version: 1\nrules:\n  - id: k\n    severity: low\n    regex: 'abc'\n"
		     "    keywords: [a]\n    alow: [x]\n",
		     "alow");
	expect_error("version: 1\nrules:\n  - id: test-token\n    severity: low\n    regex: a\n"
		     "    keywords: [a]\n",
		     "duplicate");
	expect_error("version: 1\nrules:\n  - id: g\n    severity: low\n    regex: '(a)'\n"
		     "    secret_group: 2\n    keywords: [a]\n",
		     "secret_group");
	expect_error("version: 1\nrules: [ {", "YAML");
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_secrets_new_from(test_rules, strlen(test_rules),
					      "/nonexistent/rules.yaml", &s, &err),
			 -1);
	assert_int_equal(bwk_error_code(err), BWK_E_NOTFOUND);
	bwk_error_free(err);
}

/* ---- through the scanner: block boundaries, binaries, archives ---------------------------- */

static char *mkroot(void)
{
	char *d = strdup("/tmp/bwk-test-secroot-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void put(const char *root, const char *name, const void *data, size_t len)
{
	char *p = xasprintf("%s/%s", root, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	free(p);
}

static size_t count_rule(const bwk_findings *f, const char *id, const char *path, unsigned *line)
{
	size_t c = 0;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (strcmp(x->rule->id, id) == 0 && (!path || strcmp(x->path, path) == 0)) {
			c++;
			if (line)
				*line = x->line;
		}
	}
	return c;
}

static bwk_findings *scan_root(const char *root, const char *rules)
{
	bwk_scan_opts o = {.target = root, .quiet = true, .rules_file = rules};
	bwk_findings *f = bwk_findings_new();
	bwk_error *err = NULL;
	if (bwk_scan_target(root, &o, f, &err) < 0)
		fail_msg("%s", err->msg);
	return f;
}

static void test_block_boundaries(void **state)
{
	(void)state;
	/* the token rule is added as a user rule next to the built-in table */
	char *rules = write_tmp("version: 1\nrules:\n"
				"  - id: blk-token\n    severity: high\n"
				"    regex: '\\b(BLKT_[A-Z0-9]{20})\\b'\n    secret_group: 1\n"
				"    keywords: [blkt_]\n",
				0600);
	char *root = mkroot();
	const size_t block = 2u << 20, ov = SEC_MAX_MATCH + SEC_CONTEXT;
	/* one file per position of interest around the first block's end and ownership edge */
	const size_t pos[] = {block - ov - 30,
			      block - ov - 5,
			      block - ov,
			      block - SEC_MAX_MATCH - 10,
			      block - SEC_MAX_MATCH,
			      block - 20,
			      block - 3,
			      block,
			      block + 5,
			      2 * block - ov - 12,
			      2 * block - ov - SEC_MAX_MATCH - 5};
	const char *tok = "BLKT_ABCDEFGHIJ0123456789";
	for (size_t k = 0; k < sizeof(pos) / sizeof(pos[0]); k++) {
		size_t n = 5u << 20;
		char *t = malloc(n);
		memset(t, 'z', n);
		for (size_t i = 99; i < n; i += 100)
			t[i] = '\n';
		t[pos[k] - 1] = ' ';
		memcpy(t + pos[k], tok, strlen(tok));
		t[pos[k] + strlen(tok)] = ' ';
		/* lines: count newlines before pos */
		char name[32];
		snprintf(name, sizeof(name), "f%02zu.txt", k);
		put(root, name, t, n);
		free(t);
	}
	bwk_findings *f = scan_root(root, rules);
	for (size_t k = 0; k < sizeof(pos) / sizeof(pos[0]); k++) {
		char name[32];
		snprintf(name, sizeof(name), "f%02zu.txt", k);
		unsigned line = 0;
		size_t c = count_rule(f, "blk-token", name, &line);
		if (c != 1)
			fail_msg("position %zu (%s): %zu findings", pos[k], name, c);
		assert_int_equal(line, pos[k] / 100 + 1);
	}
	bwk_findings_free(f);
	char *cmd = xasprintf("rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(root);
	unlink(rules);
	free(rules);
}

static void test_binary_and_archive(void **state)
{
	(void)state;
	char *rules = write_tmp("version: 1\nrules:\n"
				"  - id: blk-token\n    severity: high\n"
				"    regex: '\\b(BLKT_[A-Z0-9]{20})\\b'\n    secret_group: 1\n"
				"    keywords: [blkt_]\n",
				0600);
	char *root = mkroot();
	/* a binary: the token is not reported in it */
	char bin[4096] = {0x7f, 'E', 'L', 'F', 0};
	memcpy(bin + 100, " BLKT_ABCDEFGHIJ0123456789 ", 27);
	put(root, "prog", bin, sizeof(bin));
	/* the same text in a text file, in a tar.gz, and in a zip inside a tar */
	const char *txt = "x\ny = BLKT_ABCDEFGHIJ0123456789\n";
	put(root, "plain.txt", txt, strlen(txt));
	char *cmd = xasprintf("set -e; cd %s; mkdir -p s/META-INF; printf 'x\\ny = "
			      "BLKT_ABCDEFGHIJ0123456789\\n' > s/META-INF/c.properties; "
			      "tar -C s -czf inner.tgz META-INF; (cd s && zip -qr ../app.jar "
			      "META-INF); mkdir t; cp app.jar t/; tar -C t -cf outer.tar app.jar; "
			      "rm -rf s t",
			      root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	bwk_findings *f = scan_root(root, rules);
	assert_int_equal(count_rule(f, "blk-token", "prog", NULL), 0);
	unsigned line = 0;
	assert_int_equal(count_rule(f, "blk-token", "plain.txt", &line), 1);
	assert_int_equal(line, 2);
	assert_int_equal(count_rule(f, "blk-token", "inner.tgz!/META-INF/c.properties", &line), 1);
	assert_int_equal(line, 2);
	assert_int_equal(count_rule(f, "blk-token", "app.jar!/META-INF/c.properties", NULL), 1);
	assert_int_equal(
	    count_rule(f, "blk-token", "outer.tar!/app.jar!/META-INF/c.properties", NULL), 1);
	bwk_findings_free(f);
	cmd = xasprintf("rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(root);
	unlink(rules);
	free(rules);
}

static void test_database_cache(void **state)
{
	(void)state;
	char *dir = mkroot();
	setenv("BULWARK_CACHE_DIR", dir, 1);
	const char *t = "k=" TOK "\n";
	bwk_secrets *s = load(NULL); /* compiles and stores */
	bwk_secrets_free(s);
	char *cmd = xasprintf("ls %s/hs/*.db >/dev/null", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	s = load(NULL); /* loads */
	hits h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 1);
	bwk_secrets_free(s);
	/* a corrupt cache file is ignored and replaced */
	cmd = xasprintf("for f in %s/hs/*.db; do head -c 100 /dev/urandom > $f; done", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	s = load(NULL);
	h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 1);
	bwk_secrets_free(s);
	cmd = xasprintf("test $(stat -c %%s %s/hs/*.db) -gt 1000", dir); /* rewritten */
	assert_int_equal(system(cmd), 0);
	free(cmd);
	/* a cache file others can write is not trusted: compiled again and replaced */
	cmd = xasprintf("chmod 666 %s/hs/*.db", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	s = load(NULL);
	h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 1);
	bwk_secrets_free(s);
	cmd = xasprintf("test $(stat -c %%a %s/hs/*.db) = 600", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	unsetenv("BULWARK_CACHE_DIR");
	cmd = xasprintf("rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
}

static size_t builtin_rule_count(void)
{
	bwk_rule_list *l = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_secrets_rule_list(NULL, &l, &err), 0);
	size_t n = bwk_rule_list_count(l);
	bwk_rule_list_free(l);
	return n;
}

/* bwk_secrets_rule_list: metadata without compiling, user rules added, disable applied. */
static void test_rule_list(void **state)
{
	(void)state;
	bwk_rule_list *l = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_secrets_rule_list(NULL, &l, &err), 0);
	size_t n = bwk_rule_list_count(l);
	assert_true(n >= 300);
	for (size_t i = 0; i < n; i++) {
		const bwk_rule *r = bwk_rule_list_get(l, i);
		assert_int_equal(r->category, BWK_CAT_SECRET);
		assert_true(r->severity <= BWK_SEV_CRITICAL);
		assert_true(*r->title && *r->description && *r->remediation);
	}
	const bwk_rule *aws = bwk_rule_list_find(l, "aws-access-key-id");
	assert_non_null(aws);
	assert_non_null(aws->references);
	assert_non_null(aws->references[0]);
	bwk_rule_list_free(l);

	char *p = write_tmp("version: 1\n"
			    "disable: [aws-access-key-id]\n"
			    "rules:\n"
			    "  - id: user-code\n"
			    "    title: Internal code\n"
			    "    description: An internal code.\n"
			    "    severity: critical\n"
			    "    regex: 'ACME-[0-9]{8}'\n"
			    "    keywords: [acme-]\n",
			    0600);
	assert_int_equal(bwk_secrets_rule_list(p, &l, &err), 0);
	unlink(p); /* the list owns its strings */
	free(p);
	assert_int_equal(bwk_rule_list_count(l), n); /* one disabled, one added */
	assert_null(bwk_rule_list_find(l, "aws-access-key-id"));
	const bwk_rule *u = bwk_rule_list_find(l, "user-code");
	assert_non_null(u);
	assert_string_equal(u->title, "Internal code");
	assert_string_equal(u->description, "An internal code.");
	assert_int_equal(u->severity, BWK_SEV_CRITICAL);
	assert_true(*u->remediation); /* the default fix */
	bwk_rule_list_free(l);

	/* the same errors as a scan would give */
	const char *bad[][2] = {
	    {"version: 1\ndisable: [no-such-rule]\n", "no-such-rule"},
	    {"version: 1\nrules:\n  - id: aws-access-key-id\n    severity: high\n"
	     "    regex: 'x'\n    keywords: [x]\n",
	     "duplicate id"},
	    {"version: 1\nrules:\n  - id: no-regex\n    severity: high\n    keywords: [x]\n",
	     "no 'regex'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = write_tmp(bad[i][0], 0600);
		l = NULL;
		assert_int_equal(bwk_secrets_rule_list(p, &l, &err), -1);
		assert_null(l);
		char *msg = bwk_error_format(err);
		if (!strstr(msg, bad[i][1]))
			fail_msg("expected '%s' in: %s", bad[i][1], msg);
		free(msg);
		bwk_error_free(err);
		err = NULL;
		unlink(p);
		free(p);
	}
	assert_int_equal(bwk_secrets_rule_list("/nonexistent/rules.yaml", &l, &err), -1);
	bwk_error_free(err);
}

/* Every scan rule: the fixed tables plus the secret rules. */
/* ---- the shared name–value context ({{assign}}) ------------------------------------------ */

static const char assign_rules[] =
    "version: 1\n"
    "rules:\n"
    "  - id: test-vendor\n"
    "    severity: high\n"
    "    regex: "
    "'(?i)(?:^|[^a-z0-9])(?:zorp)[\\w.-]{0,30}{{assign}}([A-Za-z0-9]{20})(?:[^\\w.+/=-]|$)'\n"
    "    secret_group: 1\n"
    "    keywords: ['zorp']\n";

#define ZV "Zqumpm08hsE8JNpjJOQG"

static void test_assign_expansion(void **state)
{
	(void)state;
	char *x = sec_expand_regex("a{{assign}}b{{assign}}c");
	/* both occurrences replaced, the text around them kept in order */
	assert_null(strstr(x, "{{assign}}"));
	assert_true(x[0] == 'a' && x[strlen(x) - 1] == 'c');
	assert_non_null(strstr(x, ":{1,3}="));
	free(x);
	x = sec_expand_regex("plain(x)");
	assert_string_equal(x, "plain(x)");
	free(x);
	x = sec_expand_regex("");
	assert_string_equal(x, "");
	free(x);
}

/* The prefilter's reading of a rule: wide bounded repeats open (a gap of 600 took Hyperscan
 * 36 s to compile), narrow ones, classes and escaped braces untouched, `$` CRLF-tolerant. */
static void test_prefilter_expression(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"curl(?:[^\\n]|x){0,600}-H([A-Z]{10,2000})'", "curl(?:[^\\n]|x){0,}-H([A-Z]{10,})'"},
	    {"a{0,128}b{3,129}?c{12}d{2,}", "a{0,128}b{3,}?c{12}d{2,}"},
	    {"[{0,600}]\\{0,600}", "[{0,600}]\\{0,600}"},
	    {"[]{0,999}]x{1,99999999999999999999}", "[]{0,999}]x{1,}"},
	    {"k=(v)$", "k=(v)(?:\\r?$)"},
	    {"{,600}{a,700}", "{,600}{a,700}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned flags = 0;
		char *x = sec_hs_expression(cases[i][0], &flags);
		assert_string_equal(x, cases[i][1]);
		free(x);
	}
	unsigned flags = 0;
	char *x = sec_hs_expression("(?i)ab{1,500}", &flags);
	assert_string_equal(x, "ab{1,}");
	assert_true(flags & HS_FLAG_CASELESS);
	free(x);
}

/* The rule keeps its real bound although its prefilter has none: PCRE2 confirms. */
static void test_wide_gap_bound_kept(void **state)
{
	(void)state;
	char *p = write_tmp("version: 1\n"
			    "rules:\n"
			    "  - id: gap-rule\n"
			    "    title: Gap\n"
			    "    severity: high\n"
			    "    regex: 'GAPKEY[ a-z]{0,200}=(Q[0-9]{6})'\n"
			    "    secret_group: 1\n"
			    "    keywords: [gapkey]\n",
			    0600);
	bwk_secrets *s = load(p);
	char near[512], far[512];
	snprintf(near, sizeof(near), "GAPKEY%*s=Q123456\n", 150, "");
	snprintf(far, sizeof(far), "GAPKEY%*s=Q654321\n", 300, "");
	hits h = scan(s, "app/x.txt", near, strlen(near));
	assert_true(has(&h, "gap-rule", "Q123456"));
	h = scan(s, "app/x.txt", far, strlen(far));
	assert_false(has(&h, "gap-rule", "Q654321"));
	bwk_secrets_free(s);
	unlink(p);
	free(p);
}

/* Every assignment syntax the shared context accepts, read by a rule that only names it. */
static void test_assign_syntaxes(void **state)
{
	(void)state;
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	if (bwk_secrets_new_from(assign_rules, strlen(assign_rules), NULL, &s, &err) < 0)
		fail_msg("%s", err->msg);
	static const char *const found[] = {
	    "ZORP_TOKEN=" ZV "\n",
	    "zorp_token: " ZV "\n",
	    "zorpToken := \"" ZV "\"\n",
	    "'zorp_key' => '" ZV "',\n",
	    "ZORP_KEY ?= " ZV "\n",
	    "ZORP_KEY ::= " ZV "\n",
	    "ZORP_KEY :::= " ZV "\n",
	    "ZORP_KEY += " ZV "\n",
	    "$zorp_key .= '" ZV "';\n",
	    "var zorpToken string = \"" ZV "\"\n",
	    "val zorpKey: String = \"" ZV "\"\n",
	    "System.setProperty(\"ZORP_TOKEN\", \"" ZV "\");\n",
	    "{\"zorp_key\", \"" ZV "\"},\n",
	    "<add key=\"zorpKey\" value=\"" ZV "\" />\n",
	    "<zorpToken>" ZV "</zorpToken>\n",
	    "<zorpToken>\n      " ZV "\n</zorpToken>\n",
	    "  <zorpToken>\r\n\t" ZV "\r\n  </zorpToken>\r\n",
	    "export ZORP_TOKEN=`" ZV "`\n",
	};
	for (size_t i = 0; i < sizeof(found) / sizeof(*found); i++) {
		hits h = scan(s, "app/x.conf", found[i], strlen(found[i]));
		if (!has(&h, "test-vendor", ZV))
			fail_msg("not found: %s", found[i]);
	}
	/* near misses: comparison, a name without its quote before the comma, prose, a
	 * keyword inside another word, a self-closing element, two blank lines in XML */
	static const char *const quiet[] = {
	    "if zorp_token == \"" ZV "\" {\n",
	    "zorp_token != \"" ZV "\"\n",
	    "zorp, " ZV "\n",
	    "call(zorp_token, " ZV ")\n",
	    "SetZorpKey = \"" ZV "\"\n",
	    "bizorp_key=" ZV "\n",
	    "<zorpToken/>" ZV "\n",
	    "<zorpToken>\n\n\n" ZV "\n",
	    "zorp_token string " ZV "\n",
	    "zorp_token = " ZV "x\n",
	    "{\"zorp_key\", " ZV "},\n",
	};
	for (size_t i = 0; i < sizeof(quiet) / sizeof(*quiet); i++) {
		hits h = scan(s, "app/x.conf", quiet[i], strlen(quiet[i]));
		if (h.n)
			fail_msg("reported: %s", quiet[i]);
	}
	bwk_secrets_free(s);
}

/* The built-in table: the generic rules read source code, Makefiles, Dockerfiles and .tf with
 * the same context and gates; credentials on curl command lines; base64-wrapped JWTs; vendor
 * keywords only at a word start; short legacy Slack tokens. */
static void test_builtin_contexts(void **state)
{
	(void)state;
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	if (bwk_secrets_new(NULL, &s, &err) < 0)
		fail_msg("%s", err->msg);
	static const struct {
		const char *path, *text, *id; /* id NULL: nothing at all */
	} cases[] = {
	    {"srv/app/settings.py", "API_SECRET = \"5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\"\n",
	     "generic-api-secret"},
	    {"src/app/main.go", "var apiToken string = \"5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\"\n",
	     "generic-api-secret"},
	    {"src/Config.java", "props.setProperty(\"db.password\", \"Wq7!mT2#xZ9k\");\n",
	     "generic-password"},
	    {"app/Makefile", "DEPLOY_TOKEN ?= 5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\n",
	     "generic-api-secret"},
	    {"app/Dockerfile", "ENV SERVICE_API_KEY=5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\n",
	     "generic-api-secret"},
	    {"infra/main.tf", "  client_secret = \"5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\"\n",
	     "generic-api-secret"},
	    {"etc/app/app.xml", "<dbPassword>\n    Wq7!mT2#xZ9k\n</dbPassword>\n",
	     "generic-password"},
	    /* source code: identifiers and calls are not values */
	    {"src/app/main.go", "apiToken = cfg.LoadAPIToken2(ctx)\n", NULL},
	    {"srv/app/settings.py", "SECRET_KEY = os.environ[\"SECRET_KEY\"]\n", NULL},
	    {"srv/app/settings.py", "password = self.password_hash\n", NULL},
	    {"etc/app/config.yaml", "service_token: k3j9x.Zx9Qw3Er5Ty7Ui9Op1As2Df\n",
	     "generic-api-secret"}, /* dotted, but not an object's attribute */
	    {"srv/app/ast.py", "        self.token = self.token.astOperand2\n", NULL},
	    {"srv/app/cli.py", "    parser.add('--smtp_password', default='')\n", NULL},
	    {"srv/app/cli.py", "    ('OAUTH2_CLIENT_SECRET', 'oauth2ClientSecret2'),\n", NULL},
	    {"srv/app/doc.py", "    \"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\n", NULL},
	    {"srv/app/aws.py", "    session_token = imdsv2_session_token_response.data\n", NULL},
	    /* still not C sources or prose */
	    {"src/lib/x.c", "static const char *api_token = \"5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\";\n",
	     NULL},
	    {"app/scripts/get.sh", "curl -fsS -u deploy:Kp4vN8qLw2Zr https://repo.internal/a.tgz\n",
	     "curl-auth-user"},
	    {"app/Dockerfile",
	     "RUN curl -X POST https://h.internal/x \\\n  -H \"Authorization: Bearer "
	     "5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\" -d @a\n",
	     "curl-auth-header"},
	    {"app/scripts/get.sh", "curl -u \"$USER:$PASS\" https://repo.internal/a.tgz\n", NULL},
	    {"app/scripts/get.sh", "curl -H 'Authorization: Bearer $TOKEN' https://h.internal/\n",
	     NULL},
	    {"app/notes.txt", "curl https://h.internal/a.tgz | sort -u deploy:Kp4vN8qLw2Zr\n",
	     NULL},
	    /* keyword at a word start only */
	    {"app/config.yaml", "ETSY_KEY: arb5lm6ylvuhf9q84nomefm9\n", "etsy-api-key"},
	    {"app/config.yaml", "SetSysctl: arb5lm6ylvuhf9q84nomefm9\n", NULL},
	    {"app/.env.sample", "SLACK_TOKEN=xoxs-4120958871-5512094471-6681230192-0a7e4c91d2\n",
	     "slack-legacy-token"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		hits h = scan(s, cases[i].path, cases[i].text, strlen(cases[i].text));
		if (cases[i].id ? !has(&h, cases[i].id, NULL) : h.n != 0)
			fail_msg("case %zu (%s): %zu hits, first %s", i, cases[i].text, h.n,
				 h.n ? h.ids[0] : "-");
	}
	bwk_secrets_free(s);
}

/* Key material in a package's test data or documentation examples is a public test key: the
 * same finding at info severity, never skipped; the same key anywhere else keeps its severity. */
static void test_public_test_key_paths(void **state)
{
	(void)state;
	bwk_secrets *s = NULL;
	bwk_error *err = NULL;
	if (bwk_secrets_new(NULL, &s, &err) < 0)
		fail_msg("%s", err->msg);
	const char *pem = "-----BEGIN RSA PRIVATE KEY-----\n"
			  "MIIEpQIBAAKCAQEAx8Rq2vLm0PzT4kWn7aYcJ3uHbN5sGfE9dQ1oVtXy6iKpLr2Z\n"
			  "-----END RSA PRIVATE KEY-----\n";
	static const struct {
		const char *path;
		bwk_severity sev;
	} cases[] = {
	    {"usr/lib/python3/dist-packages/google/auth/tests/data/privatekey.pem", BWK_SEV_INFO},
	    {"usr/share/java/netty.jar!/io/netty/testdata/server.key", BWK_SEV_INFO},
	    {"usr/share/doc/libxmlsec1/examples/rsakey.pem", BWK_SEV_INFO},
	    {"usr/share/doc/pkg/html/examples/k.pem", BWK_SEV_INFO},
	    {"srv/app/Fixtures/k.pem", BWK_SEV_INFO},
	    /* near misses: a real key dropped into /usr/share, a directory that only looks
	     * like test data, the examples directory of something that is not share/doc */
	    {"usr/share/server.key", BWK_SEV_HIGH},
	    {"opt/contest/server.key", BWK_SEV_HIGH},
	    {"etc/ssl/private/pytest-runner.key", BWK_SEV_HIGH},
	    {"srv/app/examples/prod.key", BWK_SEV_HIGH},
	    {"srv/tests.d/k.pem", BWK_SEV_HIGH},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		hits h = scan(s, cases[i].path, pem, strlen(pem));
		assert_int_equal(h.n, 1);
		assert_string_equal(h.ids[0], "private-key-rsa");
		if (h.sev[0] != cases[i].sev)
			fail_msg("%s: severity %d, want %d", cases[i].path, h.sev[0], cases[i].sev);
		assert_int_equal(strstr(h.titles[0], "Public test key") != NULL,
				 cases[i].sev == BWK_SEV_INFO);
	}
	/* a generic rule's value in test code or test data is a fixture: info */
	static const struct {
		const char *path;
		bwk_severity sev;
	} gcases[] = {
	    {"srv/app/tests/settings.py", BWK_SEV_INFO},
	    {"srv/app/test_settings.py", BWK_SEV_INFO},
	    {"srv/app/settings_test.go", BWK_SEV_INFO},
	    {"srv/app/web/login.spec.ts", BWK_SEV_INFO},
	    {"srv/app/settings.py", BWK_SEV_MEDIUM},
	    {"srv/app/latest_settings.py", BWK_SEV_MEDIUM},
	    {"srv/app/attest/settings.py", BWK_SEV_MEDIUM},
	};
	const char *gen = "API_SECRET = \"5CMTIeg1ZTVnVv2fgKD0f6YYIgrC\"\n";
	for (size_t i = 0; i < sizeof(gcases) / sizeof(*gcases); i++) {
		hits g = scan(s, gcases[i].path, gen, strlen(gen));
		assert_int_equal(g.n, 1);
		assert_string_equal(g.ids[0], "generic-api-secret");
		if (g.sev[0] != gcases[i].sev)
			fail_msg("%s: severity %d, want %d", gcases[i].path, g.sev[0],
				 gcases[i].sev);
	}
	/* only key material and generic values are demoted: a vendor token in a test
	 * directory is still that vendor's token */
	const char *tok = "ETSY_KEY: arb5lm6ylvuhf9q84nomefm9\n";
	hits h = scan(s, "srv/app/tests/config.yaml", tok, strlen(tok));
	assert_true(has(&h, "etsy-api-key", NULL));
	assert_int_not_equal(h.sev[0], BWK_SEV_INFO);
	bwk_secrets_free(s);
}

/* A secret in the example-key table (data/secrets-example-keys.txt: example values that public
 * SDKs and documentation publish) is not reported at all; one character changed, it is. */
static void test_example_keys_dropped(void **state)
{
	(void)state;
	bwk_secrets *s = load(NULL);
	assert_int_not_equal(s->nexample_keys, 0); /* the built-in table is embedded */
	const char *t = "x " TOK "\n", *t2 = "x " TOK2 "\n";
	hits h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 1);
	char table[80];
	bwk_sha256_hex(TOK, strlen(TOK), table);
	snprintf(table + 64, sizeof(table) - 64, " test-token\n");
	free(s->example_keys);
	s->example_keys = NULL;
	bwk_error *err = NULL;
	assert_int_equal(
	    sec_public_keys_parse(table, strlen(table), &s->example_keys, &s->nexample_keys, &err),
	    0);
	assert_int_equal(s->nexample_keys, 1);
	h = scan(s, NULL, t, strlen(t));
	assert_int_equal(h.n, 0);
	h = scan(s, NULL, t2, strlen(t2));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.secrets[0], TOK2);
	bwk_secrets_free(s);
}

/* The PKCS#12 sniff: DER PFX version 3 with short and long length forms; near misses (version
 * 2, BER indefinite length, a truncated header, a PEM file) are not keystores, and bytes that
 * sniff as one but do not parse are not reported. */
static void test_keystore_sniff(void **state)
{
	(void)state;
	static const struct {
		const char *b;
		size_t n;
		bool want;
	} cases[] = {
	    {"\x30\x82\x0a\x10\x02\x01\x03\x30\x82", 9, true},
	    {"\x30\x81\xf0\x02\x01\x03\x30\x81", 8, true},
	    {"\x30\x7f\x02\x01\x03\x30\x7d\x06", 8, true},
	    {"\x30\x82\x0a\x10\x02\x01\x02\x30\x82", 9, false},
	    {"\x30\x80\x02\x01\x03\x30\x80\x06", 8, false},
	    {"\x30\x85\x01\x02\x03\x04\x05\x02\x01\x03\x30", 11, false},
	    {"\x30\x82\x0a\x10\x02\x01\x03", 7, false},
	    {"-----BEGIN PKCS12-----\n", 23, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *b = malloc(cases[i].n); /* exact size: ASan sees an overread */
		memcpy(b, cases[i].b, cases[i].n);
		if (sec_keystore_sniff(b, cases[i].n) != cases[i].want)
			fail_msg("case %zu: sniff %d", i, !cases[i].want);
		sec_keystore_result r;
		assert_int_equal(sec_keystore_check(b, cases[i].n, &r), 0);
		assert_int_equal(r.keys, 0);
		free(b);
	}
	/* Java keystores: magic and version 1/2 with room for the digest; an entry count that
	 * runs past the end is read no further than the bytes (ASan: exact-size buffer) */
	static const struct {
		const char *b;
		bool want;
	} jcases[] = {
	    {"\xfe\xed\xfe\xed\x00\x00\x00\x02\xff\xff\xff\xff\x00\x00\x00\x02", true},
	    {"\xce\xce\xce\xce\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02", true},
	    {"\xfe\xed\xfe\xed\x00\x00\x00\x03\x00\x00\x00\x01\x00\x00\x00\x02", false},
	    {"\xfe\xed\xfe\xee\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x02", false},
	};
	for (size_t i = 0; i < sizeof(jcases) / sizeof(*jcases); i++) {
		size_t n = 16 + 20; /* header, one tag, a zero "digest" */
		char *b = calloc(1, n);
		memcpy(b, jcases[i].b, 16);
		if (sec_jks_sniff(b, n) != jcases[i].want)
			fail_msg("jks case %zu: sniff %d", i, !jcases[i].want);
		sec_keystore_result r;
		assert_int_equal(sec_jks_check(b, n, &r),
				 0); /* tag 2 with no body, no digest match */
		assert_false(sec_jks_sniff(b, 31));
		free(b);
	}
}

static void test_scan_rule_list(void **state)
{
	(void)state;
	size_t nfixed = bwk_scan_rules(NULL, 0);
	assert_true(nfixed >= 6);
	const bwk_rule *fixed[64];
	assert_int_equal(bwk_scan_rules(fixed, 64), nfixed);
	bwk_rule_list *l = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_scan_rule_list(NULL, &l, &err), 0);
	assert_int_equal(bwk_rule_list_count(l), nfixed + builtin_rule_count());
	for (size_t i = 0; i < nfixed; i++)
		assert_non_null(bwk_rule_list_find(l, fixed[i]->id));
	assert_non_null(bwk_rule_list_find(l, "setuid-file"));
	assert_non_null(bwk_rule_list_find(l, "layer-digest-mismatch"));
	assert_non_null(bwk_rule_list_find(l, "private-key-rsa"));
	bwk_rule_list_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_rule_examples),
	    cmocka_unit_test(test_prefilter_expression),
	    cmocka_unit_test(test_wide_gap_bound_kept),
	    cmocka_unit_test(test_basic_and_lines),
	    cmocka_unit_test(test_crlf),
	    cmocka_unit_test(test_entropy_gate),
	    cmocka_unit_test(test_rule_allowlist),
	    cmocka_unit_test(test_path_rules),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_many_hits_one_rule),
	    cmocka_unit_test(test_user_rules),
	    cmocka_unit_test(test_user_rules_errors),
	    cmocka_unit_test(test_block_boundaries),
	    cmocka_unit_test(test_binary_and_archive),
	    cmocka_unit_test(test_database_cache),
	    cmocka_unit_test(test_rule_list),
	    cmocka_unit_test(test_scan_rule_list),
	    cmocka_unit_test(test_assign_expansion),
	    cmocka_unit_test(test_assign_syntaxes),
	    cmocka_unit_test(test_builtin_contexts),
	    cmocka_unit_test(test_public_test_key_paths),
	    cmocka_unit_test(test_example_keys_dropped),
	    cmocka_unit_test(test_keystore_sniff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
