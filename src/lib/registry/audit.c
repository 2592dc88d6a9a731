/* `bulwark audit registry URL`: what a registry exposes to anyone who can reach it.
 *
 * A registry that anyone can read hands every credential baked into its images to the world;
 * one that anyone can write to serves whatever an attacker pushed. The probes are read-only
 * except one: whether an upload session can be started, which is cancelled at once with
 * DELETE (no blob is ever sent, so none can be left behind). */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bulwark/log.h"
#include "bulwark/audit.h"
#include "core/cleanup.h"
#include "registry/registry_private.h"

#define DIST "https://distribution.github.io/distribution/"
#define OCI  "https://github.com/opencontainers/distribution-spec/blob/main/spec.md"

/* The rule of --scan-all's listing step (bwk_registry_list_images below): not a check of the
 * audit's table, it runs only when the images are to be scanned. */
static const bwk_rule r_unlisted = BWK_RULE(
    "registry-images-not-listed", BWK_CAT_REGISTRY, BWK_SEV_MEDIUM,
    .title = "The registry's images could not be listed or reached to scan them all",
    .description =
	"The repositories could not be listed (the catalog is closed, missing or malformed) or "
	"the registry's certificate is not trusted: none of its images was scanned, so nothing "
	"is known about the credentials they hold.",
    .remediation =
	"Name the repositories to scan (the audit's repository list, or URL/REPOSITORY), give "
	"credentials that may list the catalog, or give the audit the CA certificate that "
	"signed the registry's certificate.",
    .references = BWK_REFS(OCI "#listing-repositories"));

typedef enum tls_kind { TLS_OK, TLS_SELF, TLS_EXPIRED, TLS_NAME, TLS_UNTRUSTED } tls_kind;

/* The WWW-Authenticate of /v2/: none, malformed, understood. */
typedef enum challenge { CH_NONE, CH_BAD, CH_OK } challenge;

typedef struct actx {
	const bwk_registry_opts *o;
	bwk_findings *out;
	const char *target;
	char *host, *repo;
	bool https_given, http_given;
	reg_client *anon, *user;
	/* what the first contact found, before the checks (first_contact) */
	bool tls_checked;    /* an HTTPS handshake got as far as the certificate */
	tls_kind tls_bad;    /* the certificate's problem, TLS_OK when it verified */
	char *tls_msg;	     /* the finding's message for it */
	bool plain_http;     /* the registry answered over HTTP */
	long http_status;    /* its status for /v2/ then */
	char *server;	     /* the Server header of /v2/, NULL when absent */
	challenge challenge; /* the /v2/ WWW-Authenticate */
	char *token_realm;   /* a bearer challenge's realm */
	/* set by the checks for the later ones, in table order */
	char *known_repo, *known_tag; /* catalog, pull */
	bool anon_push;		      /* push: the anonymous upload was accepted */
} actx;

/* A row: the rule and its check. The check records its status (pass, or skip when what it
 * needs is absent) and adds its findings; the audit runs the rows in order. */
typedef struct registry_rule {
	bwk_rule meta;
	int (*check)(actx *a, const bwk_rule *r, bwk_error **err);
} registry_rule;

static int add(actx *a, const bwk_rule *r, int sev, const char *key, const char *msg,
	       const char *evidence, bwk_error **err)
{
	bwk_finding_spec s = {.rule = r,
			      .loc = {.target = a->target, .layer_index = -1, .key = key},
			      .message = msg,
			      .evidence = evidence,
			      .severity = sev};
	return bwk_findings_add(a->out, &s, err);
}

static int parse_url(actx *a, const char *url, bwk_error **err)
{
	const char *p = url;
	if (!strncasecmp(p, "https://", 8)) {
		a->https_given = true;
		p += 8;
	} else if (!strncasecmp(p, "http://", 7)) {
		a->http_given = true;
		p += 7;
	} else if (strstr(p, "://")) {
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "registry URL '%.200s': only https:// and http:// are spoken",
				     url);
	}
	size_t hn = strcspn(p, "/");
	if (!hn || hn > 255)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "registry URL '%.200s': expected [https://]HOST[:PORT][/REPO]",
				     url);
	a->host = xstrndup(p, hn);
	const char *rest = p + hn;
	while (*rest == '/')
		rest++;
	if (!strncmp(rest, "v2/", 3) || !strcmp(rest, "v2"))
		rest += rest[2] ? 3 : 2;
	if (*rest) {
		size_t rn = strlen(rest);
		while (rn && rest[rn - 1] == '/')
			rn--;
		a->repo = xstrndup(rest, rn);
		/* validated like a reference's repository */
		cleanup_free char *probe = xasprintf("%s/%s", a->host, a->repo);
		bwk_registry_ref ref;
		if (bwk_registry_ref_parse(probe, &ref, err) < 0)
			return -1;
		bwk_registry_ref_free(&ref);
	}
	return 0;
}

static tls_kind classify(const char *why)
{
	if (strcasestr(why, "self-signed") || strcasestr(why, "self signed"))
		return TLS_SELF;
	if (strcasestr(why, "expired"))
		return TLS_EXPIRED;
	if (strcasestr(why, "subject name") || strcasestr(why, "does not match") ||
	    strcasestr(why, "host name") || strcasestr(why, "hostname"))
		return TLS_NAME;
	return TLS_UNTRUSTED;
}

static bool is_tls_verify_error(int rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
}

/* Which scheme speaks, and how good its TLS is. */

/* ---- the first contact: what several checks judge, asked once before them ---------------- */

/* Which scheme speaks, and whether its certificate verifies. */
static int probe_transport(actx *a, bwk_error **err)
{
	reg_client *c = a->anon;
	char why[CURL_ERROR_SIZE + 64];
	long st = 0;
	int rc = CURLE_OK;
	if (!a->http_given) {
		reg_client_set_transport(c, true, true);
		rc = reg_probe(c, true, false, &st, why, sizeof(why));
		if (rc == CURLE_OK) {
			a->tls_checked = true;
			bwk_findings_fact(a->out, "registry.tls", "verified");
		} else if (is_tls_verify_error(rc)) {
			a->tls_checked = true;
			a->tls_bad = classify(why);
			bwk_findings_fact(a->out, "registry.tls", "not verified: %s", why);
			a->tls_msg = xasprintf("%s: %s", a->host, why);
			/* the remaining probes look past the certificate */
			reg_client_set_transport(c, true, false);
			rc = reg_probe(c, false, false, &st, why, sizeof(why));
		}
	}
	if (!a->http_given && rc == CURLE_OK) {
		bwk_findings_fact(a->out, "registry.scheme", "https");
		return 0;
	}
	char why2[CURL_ERROR_SIZE + 64];
	reg_client_set_transport(c, false, false);
	int rc2 = reg_probe(c, false, false, &st, why2, sizeof(why2));
	if (rc2 != CURLE_OK) {
		if (a->http_given)
			return bwk_error_set(err, BWK_E_IO, 0,
					     "registry %s: cannot talk to it over HTTP "
					     "(%s): is the registry running there?",
					     a->host, why2);
		return bwk_error_set(err, BWK_E_IO, 0,
				     "registry %s: neither HTTPS (%s) nor HTTP (%s) "
				     "answered: is the registry running there?",
				     a->host, why, why2);
	}
	a->plain_http = true;
	a->http_status = st;
	bwk_findings_fact(a->out, "registry.scheme", "http");
	return 0;
}

/* GET /v2/ anonymously: the API version, the server, the auth challenge. */
static int api_root(actx *a, bwk_error **err)
{
	reg_req rq = {.path = "/v2/", .no_auth = true};
	reg_resp r = {0};
	if (reg_request(a->anon, &rq, &r, err) < 0) {
		reg_resp_free(&r);
		return bwk_error_wrap(err, "audit of %s", a->host);
	}
	bwk_findings_fact(a->out, "registry.api_status", "%ld", r.status);
	if (r.api_version)
		bwk_findings_fact(a->out, "registry.api_version", "%s", r.api_version);
	if (r.server) {
		bwk_findings_fact(a->out, "registry.server", "%s", r.server);
		a->server = xstrdup(r.server);
	}
	reg_challenge ch = {0};
	bwk_error *e = NULL;
	if (r.www_auth && reg_challenge_parse(r.www_auth, strlen(r.www_auth), &ch, &e) == 0) {
		a->challenge = CH_OK;
		bwk_findings_fact(a->out, "registry.auth",
				  ch.scheme == REG_AUTH_BEARER	? "bearer"
				  : ch.scheme == REG_AUTH_BASIC ? "basic"
								: "other");
		if (ch.scheme == REG_AUTH_BEARER && ch.realm) {
			bwk_findings_fact(a->out, "registry.token_realm", "%s", ch.realm);
			a->token_realm = xstrdup(ch.realm);
		}
	} else {
		a->challenge = r.www_auth ? CH_BAD : CH_NONE;
		if (!r.www_auth)
			bwk_findings_fact(a->out, "registry.auth",
					  r.status == 200 ? "none" : "unknown");
	}
	bwk_error_free(e);
	reg_challenge_free(&ch);
	reg_resp_free(&r);
	return 0;
}

static int first_contact(actx *a, const char *url, bwk_error **err)
{
	if (parse_url(a, url, err) < 0 || reg_client_new(a->host, a->o, &a->anon, err) < 0)
		return -1;
	bwk_findings_fact(a->out, "registry.host", "%s", a->host);
	if (probe_transport(a, err) < 0 || api_root(a, err) < 0)
		return -1;
	reg_creds cr = {0};
	if (reg_creds_lookup(a->o, a->host, &cr, err) < 0) {
		reg_creds_free(&cr);
		return -1;
	}
	if (cr.username && reg_client_new(a->host, a->o, &a->user, err) == 0) {
		reg_client_set_transport(a->user, reg_client_https(a->anon),
					 reg_client_verify(a->anon));
		reg_client_set_creds(a->user, &cr);
	}
	reg_creds_free(&cr);
	return 0;
}

/* ---- the checks ---------------------------------------------------------------------------- */

/* The certificate's problem of kind k, when the handshake showed it. */
static int tls_check(actx *a, const bwk_rule *r, tls_kind k, bwk_error **err)
{
	if (a->tls_checked && a->tls_bad == k &&
	    add(a, r, -1, "tls.certificate", a->tls_msg, NULL, err) < 0)
		return -1;
	bwk_findings_check(a->out, r, a->tls_checked ? BWK_CHECK_PASS : BWK_CHECK_SKIP,
			   a->tls_checked ? "certificate of %s" : "%s: no HTTPS", a->host);
	return 0;
}

static int ck_self(actx *a, const bwk_rule *r, bwk_error **err)
{
	return tls_check(a, r, TLS_SELF, err);
}

static int ck_expired(actx *a, const bwk_rule *r, bwk_error **err)
{
	return tls_check(a, r, TLS_EXPIRED, err);
}

static int ck_name(actx *a, const bwk_rule *r, bwk_error **err)
{
	return tls_check(a, r, TLS_NAME, err);
}

static int ck_untrusted(actx *a, const bwk_rule *r, bwk_error **err)
{
	return tls_check(a, r, TLS_UNTRUSTED, err);
}

static int ck_http(actx *a, const bwk_rule *r, bwk_error **err)
{
	if (a->plain_http) {
		cleanup_free char *msg =
		    xasprintf("%s answers the registry API over plain HTTP (HTTP %ld for /v2/)",
			      a->host, a->http_status);
		if (add(a, r, -1, "transport", msg, NULL, err) < 0)
			return -1;
	}
	bwk_findings_check(a->out, r, BWK_CHECK_PASS, "scheme of %s", a->host);
	return 0;
}

static int ck_oldtls(actx *a, const bwk_rule *r, bwk_error **err)
{
	reg_client *c = a->anon;
	if (!reg_client_https(c)) {
		bwk_findings_check(a->out, r, BWK_CHECK_SKIP, "plain HTTP");
		return 0;
	}
	long st = 0;
	char why[CURL_ERROR_SIZE + 64];
	if (reg_probe(c, false, true, &st, why, sizeof(why)) == CURLE_OK) {
		cleanup_free char *msg =
		    xasprintf("%s completed a handshake offering only TLS 1.0/1.1", a->host);
		if (add(a, r, -1, "tls.protocol", msg, NULL, err) < 0)
			return -1;
	}
	bwk_findings_check(a->out, r, BWK_CHECK_PASS, "TLS 1.0/1.1 offered to %s", a->host);
	return 0;
}

static int ck_tokhttp(actx *a, const bwk_rule *r, bwk_error **err)
{
	if (a->challenge != CH_OK) {
		bwk_findings_check(a->out, r, BWK_CHECK_SKIP,
				   a->challenge == CH_BAD ? "the challenge is malformed"
							  : "the registry asks for no token");
		return 0;
	}
	if (a->token_realm && !strncasecmp(a->token_realm, "http://", 7)) {
		cleanup_free char *msg =
		    xasprintf("token realm %.200s is plain HTTP", a->token_realm);
		if (add(a, r, -1, "auth.token.realm", msg, NULL, err) < 0)
			return -1;
	}
	bwk_findings_check(a->out, r, BWK_CHECK_PASS, "the /v2/ challenge");
	return 0;
}

/* The version in the Server header against data/registry-cves.yaml (the findings carry the
 * CVE ids). */
static int ck_cves(actx *a, const bwk_rule *r, bwk_error **err)
{
	const char *v = NULL;
	static const char *const products[] = {"distribution/", "docker-distribution/", "registry/",
					       NULL};
	for (const char *const *p = products; a->server && *p && !v; p++) {
		const char *s = strcasestr(a->server, *p);
		if (s)
			v = s + strlen(*p);
	}
	if (!v || !*v) {
		bwk_findings_check(a->out, r, BWK_CHECK_SKIP,
				   "the registry does not report its version");
		return 0;
	}
	char ver[64];
	snprintf(ver, sizeof(ver), "%.*s", (int)strcspn(v, " ;,()"), *v == 'v' ? v + 1 : v);
	bwk_findings_fact(a->out, "registry.version", "%s", ver);
	/* data/registry-cves.yaml (or --data), matched as the daemon audit matches engines */
	size_t n = 0;
	int hit = bwk_audit_cve_match("registry-cves.yaml", a->o->data_dir, "distribution", ver,
				      BWK_CAT_REGISTRY, a->target, "server", a->out, &n, err);
	if (hit < 0) {
		bwk_findings_check(a->out, r, BWK_CHECK_SKIP, "the CVE table did not load");
		return -1;
	}
	bwk_findings_check(a->out, r, hit ? BWK_CHECK_FAIL : BWK_CHECK_PASS,
			   "version %s against %zu CVEs", ver, n);
	return 0;
}

static int ck_catalog(actx *a, const bwk_rule *rule, bwk_error **err)
{
	reg_req rq = {.path = "/v2/_catalog?n=100", .scope = "registry:catalog:*"};
	reg_resp r = {0};
	if (reg_request(a->anon, &rq, &r, err) < 0) {
		reg_resp_free(&r);
		return bwk_error_wrap(err, "audit of %s: listing the catalog", a->host);
	}
	bwk_error *e = NULL;
	if (r.status == 200) {
		json_error_t je;
		json_t *j = json_loadb(r.body, r.len, 0, &je);
		json_t *repos = json_object_get(j, "repositories");
		size_t n = json_array_size(repos);
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 180);
		for (size_t i = 0; i < n; i++) {
			const char *name = json_string_value(json_array_get(repos, i));
			if (!name)
				continue;
			if (!a->known_repo && strlen(name) < 256)
				a->known_repo = xstrdup(name);
			bwk_strbuf_printf(&sb, "%s%s", sb.len ? ", " : "", name);
		}
		cleanup_free char *list = bwk_strbuf_steal(&sb);
		if (json_is_array(repos)) {
			bwk_findings_fact(a->out, "registry.catalog_repositories", "%zu%s", n,
					  n == 100 ? "+" : "");
			cleanup_free char *msg =
			    xasprintf("/v2/_catalog lists %zu%s repositories without credentials",
				      n, n == 100 ? " or more" : "");
			if (add(a, rule, -1, "/v2/_catalog", msg, *list ? list : NULL, &e) < 0)
				bwk_error_free(e);
		}
		json_decref(j);
	}
	bwk_findings_fact(a->out, "registry.catalog_status", "%ld", r.status);
	bwk_findings_check(a->out, rule, BWK_CHECK_PASS, "anonymous GET /v2/_catalog");
	reg_resp_free(&r);
	return 0;
}

/* A tag of repo, anonymously (NULL when none can be listed). */
static char *first_tag(actx *a, const char *repo)
{
	cleanup_free char *path = xasprintf("/v2/%s/tags/list?n=10", repo);
	cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
	reg_req rq = {.path = path, .scope = scope};
	reg_resp r = {0};
	bwk_error *e = NULL;
	char *tag = NULL;
	if (reg_request(a->anon, &rq, &r, &e) == 0 && r.status == 200) {
		json_error_t je;
		json_t *j = json_loadb(r.body, r.len, 0, &je);
		const char *t = json_string_value(json_array_get(json_object_get(j, "tags"), 0));
		if (t && strlen(t) <= 128 && !strpbrk(t, "/?#% "))
			tag = xstrdup(t);
		json_decref(j);
	}
	bwk_error_free(e);
	reg_resp_free(&r);
	return tag;
}

static int ck_pull(actx *a, const bwk_rule *rule, bwk_error **err)
{
	const char *repo = a->repo ? a->repo : a->known_repo;
	if (!repo) {
		bwk_findings_check(a->out, rule, BWK_CHECK_SKIP,
				   "no repository known (the catalog is not readable): name one "
				   "as %s/REPOSITORY",
				   a->host);
		return 0;
	}
	a->known_tag = first_tag(a, repo);
	if (!a->known_tag) {
		bwk_findings_check(a->out, rule, BWK_CHECK_PASS,
				   "anonymous tag list of %s refused or empty", repo);
		return 0;
	}
	reg_resp r = {0};
	cleanup_free char *digest = NULL;
	bwk_error *e = NULL;
	int rc = reg_get_manifest(a->anon, repo, a->known_tag, &r, &digest, &e);
	bwk_error_free(e);
	if (rc == 0) {
		/* a manifest alone could be a policy quirk: a blob proves the content is out */
		reg_manifest m = {0};
		bwk_error *pe = NULL;
		bool blob = false;
		if (reg_manifest_parse(r.body, r.len, r.content_type, &m, &pe) == 0 &&
		    !m.is_index) {
			cleanup_free char *path =
			    xasprintf("/v2/%s/blobs/%s", repo, m.config.digest);
			cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
			reg_req rq = {.path = path, .method = "HEAD", .scope = scope};
			reg_resp br = {0};
			blob = reg_request(a->anon, &rq, &br, &pe) == 0 && br.status == 200;
			reg_resp_free(&br);
		}
		bwk_error_free(pe);
		reg_manifest_free(&m);
		cleanup_free char *msg =
		    xasprintf("%s:%s: the manifest%s can be read without credentials", repo,
			      a->known_tag, blob ? " and its config blob" : "");
		cleanup_free char *key = xasprintf("%s:%s", repo, a->known_tag);
		if (add(a, rule, -1, key, msg, NULL, err) < 0) {
			reg_resp_free(&r);
			return -1;
		}
	}
	reg_resp_free(&r);
	bwk_findings_check(a->out, rule, BWK_CHECK_PASS, "anonymous pull of %s:%s", repo,
			   a->known_tag);
	return 0;
}

/* Start an upload session and cancel it: 1 when the registry accepted it. */
static int try_push(actx *a, reg_client *c, const char *repo, char **why)
{
	cleanup_free char *path = xasprintf("/v2/%s/blobs/uploads/", repo);
	cleanup_free char *scope = xasprintf("repository:%s:pull,push", repo);
	reg_req rq = {.path = path, .method = "POST", .scope = scope};
	reg_resp r = {0};
	bwk_error *e = NULL;
	int ok = 0;
	if (reg_request(c, &rq, &r, &e) < 0) {
		*why = bwk_error_format(e);
		bwk_error_free(e);
		reg_resp_free(&r);
		return -1;
	}
	if (r.status == 202 && r.location) {
		ok = 1;
		cleanup_free char *loc = r.location[0] == '/'
					     ? xasprintf("%s%s", reg_client_base(c), r.location)
					     : xstrdup(r.location);
		/* the session only, never a blob: DELETE cancels it */
		if (!strncmp(loc, reg_client_base(c), strlen(reg_client_base(c)))) {
			reg_req dq = {.path = loc, .method = "DELETE", .scope = scope};
			reg_resp dr = {0};
			if (reg_request(c, &dq, &dr, &e) < 0 || dr.status >= 300)
				bwk_warn(
				    a->o->quiet,
				    "registry %s: the upload session opened by the push probe "
				    "could not be cancelled (it expires on its own; no data was "
				    "sent)",
				    a->host);
			bwk_error_free(e);
			reg_resp_free(&dr);
		}
	} else {
		*why = xasprintf("HTTP %ld", r.status);
	}
	reg_resp_free(&r);
	return ok;
}

/* The repository the push probes start an upload to. */
static const char *push_repo(const actx *a)
{
	return a->repo ? a->repo : a->known_repo ? a->known_repo : "bulwark-audit-probe";
}

static int ck_push(actx *a, const bwk_rule *r, bwk_error **err)
{
	const char *repo = push_repo(a);
	cleanup_free char *why = NULL;
	a->anon_push = try_push(a, a->anon, repo, &why) == 1;
	if (a->anon_push) {
		cleanup_free char *msg =
		    xasprintf("an upload to %s was accepted without credentials (the session was "
			      "cancelled; nothing was written)",
			      repo);
		if (add(a, r, -1, repo, msg, NULL, err) < 0)
			return -1;
	}
	bwk_findings_check(a->out, r, BWK_CHECK_PASS, "anonymous upload to %s: %s", repo,
			   a->anon_push ? "accepted"
			   : why	? why
					: "refused");
	return 0;
}

static int ck_userpush(actx *a, const bwk_rule *r, bwk_error **err)
{
	if (!a->user) {
		bwk_findings_check(a->out, r, BWK_CHECK_SKIP,
				   "no credentials given (%s, docker config)",
				   bwk_setting("username", "user name"));
		return 0;
	}
	const char *repo = push_repo(a);
	cleanup_free char *why = NULL;
	int uok = try_push(a, a->user, repo, &why);
	if (uok == 1 && !a->anon_push) {
		cleanup_free char *msg = xasprintf(
		    "the given account can start an upload to %s (the session was cancelled)",
		    repo);
		if (add(a, r, -1, repo, msg, NULL, err) < 0)
			return -1;
	}
	bwk_findings_check(a->out, r, BWK_CHECK_PASS, "upload to %s as the given user: %s", repo,
			   uok == 1 ? "accepted"
			   : why    ? why
				    : "refused");
	return 0;
}

/* The registry rules, in the order the audit runs them (the certificate and the scheme first:
 * the other probes go over what they found; the catalog names the repository that the pull and
 * push probes use). */
static const registry_rule table[] = {
    {.meta = BWK_RULE(
	 "registry-tls-self-signed", BWK_CAT_REGISTRY, BWK_SEV_MEDIUM,
	 .title = "Registry certificate is self-signed",
	 .description =
	     "Clients cannot verify a self-signed certificate, so they are configured to skip "
	     "verification — and then accept anyone who intercepts the connection.",
	 .remediation = "Use a certificate from a CA the clients trust (an internal CA distributed "
			"to /etc/docker/certs.d/HOST/ca.crt, or a public one).",
	 .references = BWK_REFS("https://docs.docker.com/engine/security/certificates/")),
     .check = ck_self},
    {.meta =
	 BWK_RULE("registry-tls-expired", BWK_CAT_REGISTRY, BWK_SEV_HIGH,
		  .title = "Registry certificate has expired",
		  .description = "Clients either fail or are told to ignore certificate errors, "
				 "which lets anyone on the path impersonate the registry.",
		  .remediation = "Renew the certificate and automate its renewal.",
		  .references = BWK_REFS("https://docs.docker.com/engine/security/certificates/")),
     .check = ck_expired},
    {.meta = BWK_RULE(
	 "registry-tls-wrong-name", BWK_CAT_REGISTRY, BWK_SEV_HIGH,
	 .title = "Registry certificate does not name the registry",
	 .description =
	     "The certificate is valid for another host name: clients must skip host name checks "
	     "to connect, so any certificate from the same CA impersonates the registry.",
	 .remediation = "Issue a certificate whose subjectAltName lists the host name clients use.",
	 .references = BWK_REFS("https://docs.docker.com/engine/security/certificates/")),
     .check = ck_name},
    {.meta =
	 BWK_RULE("registry-tls-untrusted", BWK_CAT_REGISTRY, BWK_SEV_MEDIUM,
		  .title = "Registry certificate not trusted",
		  .description = "The certificate chain does not lead to a trusted CA: clients "
				 "have to disable verification to pull.",
		  .remediation = "Serve the full chain, signed by a CA the clients trust (or give "
				 "bulwark that CA's certificate when an internal CA signed it).",
		  .references = BWK_REFS("https://docs.docker.com/engine/security/certificates/")),
     .check = ck_untrusted},
    {.meta = BWK_RULE(
	 "registry-plain-http", BWK_CAT_REGISTRY, BWK_SEV_HIGH,
	 .title = "Registry served over plain HTTP",
	 .description = "Images, tokens and passwords cross the network in clear: anyone on the "
			"path can read the credentials and replace the images clients pull.",
	 .remediation = "Serve the registry over HTTPS only (distribution: http.tls.certificate "
			"and key) and remove it from every client's insecure-registries.",
	 .references =
	     BWK_REFS(DIST "about/deploying/", "https://docs.docker.com/registry/insecure/")),
     .check = ck_http},
    {.meta = BWK_RULE(
	 "registry-tls-old-protocol", BWK_CAT_REGISTRY, BWK_SEV_MEDIUM,
	 .title = "Registry accepts TLS 1.0 or 1.1",
	 .description = "TLS 1.0 and 1.1 are deprecated (RFC 8996): downgrade and padding-oracle "
			"attacks weaken the connection that carries tokens and passwords.",
	 .remediation = "Accept TLS 1.2 and 1.3 only (distribution: http.tls.minimumtls: tls1.2).",
	 .references =
	     BWK_REFS("https://www.rfc-editor.org/rfc/rfc8996", DIST "about/configuration/#tls")),
     .check = ck_oldtls},
    {.meta = BWK_RULE(
	 "registry-token-over-http", BWK_CAT_REGISTRY, BWK_SEV_HIGH,
	 .title = "Token endpoint over plain HTTP",
	 .description = "The registry sends clients to a token realm on http://: passwords sent to "
			"obtain tokens, and the tokens themselves, cross the network in clear.",
	 .remediation = "Serve the token endpoint over HTTPS and set the registry's "
			"auth.token.realm to its https:// URL.",
	 .references = BWK_REFS(DIST "spec/auth/token/")),
     .check = ck_tokhttp},
    {.meta = BWK_RULE("registry-version-cves", BWK_CAT_REGISTRY, BWK_SEV_HIGH,
		      .title = "Registry version has known CVEs",
		      .description = "The version the registry reports in its Server header is "
				     "matched against known vulnerabilities of the distribution "
				     "registry; each match is reported under its CVE id.",
		      .remediation = "Upgrade the registry to the fixed version the finding gives.",
		      .references = BWK_REFS(DIST)),
     .check = ck_cves},
    {.meta = BWK_RULE(
	 "registry-anonymous-catalog", BWK_CAT_REGISTRY, BWK_SEV_MEDIUM,
	 .title = "Anyone can list the registry's repositories",
	 .description = "/v2/_catalog answers without credentials: the names of every repository "
			"are public, the first step to pulling them all.",
	 .remediation =
	     "Require authentication for the catalog (distribution: auth htpasswd or token; with a "
	     "token server, grant registry:catalog:* to administrators only).",
	 .references = BWK_REFS(OCI "#listing-repositories", DIST "about/configuration/#auth")),
     .check = ck_catalog},
    {.meta = BWK_RULE(
	 "registry-anonymous-pull", BWK_CAT_REGISTRY, BWK_SEV_HIGH,
	 .title = "Anyone can pull images",
	 .description = "Manifests and blobs are served without credentials: every file of every "
			"image — including credentials and keys baked into a layer — is public.",
	 .remediation = "Require authentication for pulls, or keep only deliberately public images "
			"in this registry (and scan them: bulwark scan REGISTRY/REPO:TAG).",
	 .references = BWK_REFS(OCI "#pulling-manifests", DIST "about/configuration/#auth")),
     .check = ck_pull},
    {.meta = BWK_RULE(
	 "registry-anonymous-push", BWK_CAT_REGISTRY, BWK_SEV_CRITICAL,
	 .title = "Anyone can push images",
	 .description =
	     "The registry starts an upload for a client without credentials: anyone can replace a "
	     "tag with an image of their own, which every client then pulls and runs.",
	 .remediation = "Require authentication for every write (distribution: auth; a read-only "
			"mirror: storage.maintenance.readonly.enabled: true).",
	 .references = BWK_REFS(OCI "#pushing-blobs", DIST "about/configuration/#auth")),
     .check = ck_push},
    {.meta = BWK_RULE(
	 "registry-user-push", BWK_CAT_REGISTRY, BWK_SEV_MEDIUM,
	 .title = "The given account can push",
	 .description =
	     "The credentials given to the audit can start an upload: if this account is meant to "
	     "be read-only (a CI pull secret, a deploy key), whoever holds it can replace images.",
	 .remediation = "Give pull-only accounts pull-only rights in the token server or proxy in "
			"front of the registry.",
	 .references = BWK_REFS(OCI "#pushing-blobs")),
     .check = ck_userpush},
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

size_t bwk_registry_rules(const bwk_rule **out, size_t max)
{
	size_t i = 0;
	for (; out && i < NTABLE && i < max; i++)
		out[i] = &table[i].meta;
	if (out && i < max)
		out[i] = &r_unlisted;
	return NTABLE + 1;
}

int bwk_audit_registry(const char *url, const bwk_registry_opts *o, bwk_findings *out,
		       bwk_error **err)
{
	actx a = {.o = o, .out = out, .target = url};
	int rc = first_contact(&a, url, err);
	for (size_t i = 0; rc == 0 && i < NTABLE; i++)
		rc = table[i].check(&a, &table[i].meta, err);
	reg_client_free(a.anon);
	reg_client_free(a.user);
	free(a.host);
	free(a.repo);
	free(a.tls_msg);
	free(a.server);
	free(a.token_realm);
	free(a.known_repo);
	free(a.known_tag);
	return rc;
}

/* ---- --scan-all: every repository and tag the registry lists ---------------------------- */

#define LIST_PAGE      100
#define LIST_MAX_PAGES 10000

void bwk_registry_images_free(bwk_registry_images *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->refs[i]);
	free(l->refs);
	memset(l, 0, sizeof(*l));
}

/* One page of a paginated list: GET path?n=PAGE[&last=LAST], the strings of `field`. A name
 * that fails `valid` is skipped (counted in *bad). Returns the count, -1 on error (*status:
 * the HTTP status when the registry answered another than 200, else 0). */
static long list_page(reg_client *c, const char *base, const char *scope, const char *last,
		      const char *field, bool (*valid)(const char *), char ***names, size_t *bad,
		      long *status, bwk_error **err)
{
	cleanup_free char *path = last ? xasprintf("%s?n=%d&last=%s", base, LIST_PAGE, last)
				       : xasprintf("%s?n=%d", base, LIST_PAGE);
	reg_req rq = {.path = path, .scope = scope};
	reg_resp r = {0};
	if (reg_request(c, &rq, &r, err) < 0) {
		reg_resp_free(&r);
		return -1;
	}
	if (r.status != 200) {
		*status = r.status;
		reg_status_error(c, &r, base, err);
		reg_resp_free(&r);
		return -1;
	}
	json_error_t je;
	json_t *j = json_loadb(r.body, r.len, 0, &je);
	reg_resp_free(&r);
	if (!json_is_object(j)) {
		json_decref(j);
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: the answer is not a JSON object",
				     base);
	}
	json_t *arr = json_object_get(j, field);
	if (!json_is_array(arr) && !json_is_null(arr)) {
		json_decref(j);
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: '%s' is %s", base, field,
				     arr ? "not a list" : "missing");
	}
	size_t n = json_array_size(arr);
	if (n > LIST_PAGE * 10) /* a server that ignores n: still bounded by the JSON limit */
		n = LIST_PAGE * 10;
	*names = xcalloc(n + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s && valid(s))
			(*names)[k++] = xstrdup(s);
		else
			(*bad)++;
	}
	json_decref(j);
	return (long)n;
}

static bool valid_repo(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 255 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-/") != n ||
	    s[0] == '/' || s[n - 1] == '/' || strstr(s, "//") || strstr(s, ".."))
		return false;
	return true;
}

static bool valid_tag(const char *s)
{
	size_t n = strlen(s);
	return n && n <= 128 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
		   n &&
	       s[0] != '.' && s[0] != '-';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name of a paginated list (bounded by max and LIST_MAX_PAGES); *more when cut. */
static int list_all(reg_client *c, const char *base, const char *scope, const char *field,
		    bool (*valid)(const char *), size_t max, char ***out, size_t *nout, bool *more,
		    long *status, bwk_error **err)
{
	char **all = NULL;
	size_t n = 0, bad = 0;
	for (int page = 0;; page++) {
		if (page == LIST_MAX_PAGES) {
			*more = true;
			break;
		}
		char **names = NULL;
		long got = list_page(c, base, scope, n ? all[n - 1] : NULL, field, valid, &names,
				     &bad, status, err);
		if (got < 0 || !names) {
			bwk_strv_free(names);
			for (size_t i = 0; i < n; i++)
				free(all[i]);
			free(all);
			return -1;
		}
		size_t added = 0, nn = 0;
		while (names[nn])
			nn++;
		qsort(names, nn, sizeof(char *), cmp_str); /* the bound keeps the first by name */
		for (char **p = names; *p; p++) {
			/* a server that ignores last= repeats itself: stop on no progress */
			bool seen = false;
			for (size_t k = n; k-- > 0 && !seen;)
				seen = !strcmp(all[k], *p);
			if (seen)
				continue;
			if (n == max) {
				*more = true;
				break;
			}
			all = xrealloc(all, (n + 1) * sizeof(char *));
			all[n++] = xstrdup(*p);
			added++;
		}
		bwk_strv_free(names);
		if (*more || got < LIST_PAGE || !added)
			break;
	}
	/* the report lists images in a stable order, whatever order the server used */
	if (n)
		qsort(all, n, sizeof(char *), cmp_str);
	*out = all;
	*nout = n;
	return 0;
}

/* A --repo NAME[:TAG]: split and checked as a listed name would be. */
static int named_repo(const char *url, const char *s, char **repo, char **tag, bwk_error **err)
{
	const char *colon = strrchr(s, ':');
	*repo = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
	*tag = colon ? xstrdup(colon + 1) : NULL;
	if (valid_repo(*repo) && (!*tag || valid_tag(*tag)))
		return 0;
	free(*repo);
	free(*tag);
	*repo = *tag = NULL;
	return bwk_error_set(err, BWK_E_USAGE, 0,
			     "%s '%.200s' (for %.200s): expected NAME[:TAG], NAME as a "
			     "repository path (lower case, digits, '._-/'), without the host",
			     bwk_setting("repo", "a repository to scan"), s, url);
}

/* One finding of r_unlisted: --scan-all could not get at the images. */
static int unlisted(actx *a, const char *key, const char *msg, bwk_error **err)
{
	return a->out ? add(a, &r_unlisted, -1, key, msg, NULL, err) : 0;
}

/* The first contact before any list: a certificate that does not verify would otherwise fail
 * the catalog, then every tag list and every image one by one. One finding says it. */
static int scan_all_reachable(actx *a, reg_client *c, bool *ok, bwk_error **err)
{
	bool tls = false;
	bwk_error *e = NULL;
	*ok = true;
	if (reg_client_ping(c, &tls, &e) == 0)
		return 0;
	if (!tls || !a->out) {
		*err = e;
		return bwk_error_wrap(err, "registry %s: %s", a->host,
				      bwk_setting("scan-all", "scanning all its images"));
	}
	*ok = false;
	bwk_error_free(e);
	/* curl's reason alone (the error is a sentence too long for a finding's message) */
	char why[CURL_ERROR_SIZE + 64];
	long st = 0;
	reg_probe(c, true, false, &st, why, sizeof(why));
	cleanup_free char *msg = xasprintf("images not scanned: the registry's certificate is not "
					   "trusted (%s): give %s FILE",
					   why, bwk_setting("ca-cert", "its CA certificate"));
	return unlisted(a, "tls.certificate", msg, err);
}

/* The catalog could not be listed (error e, HTTP status st or 0): an error without a findings
 * list, else a finding — a closed catalog is no reason to lose the audit's findings. The
 * message is short (findings bound it): the status or the malformation, and what to do; the
 * registry's own sentence (its message, how to log in) is the evidence. */
static int catalog_unlisted(actx *a, bwk_error *e, long st, bwk_error **err)
{
	if (!a->out) {
		*err = e;
		return bwk_error_wrap(err, "registry %s: listing the repositories for %s", a->host,
				      bwk_setting("scan-all", "scanning them all"));
	}
	cleanup_free char *full = bwk_error_format(e);
	bwk_error_free(e);
	cleanup_free char *why = st ? xasprintf("HTTP %ld", st) : xstrdup(full);
	cleanup_free char *msg =
	    xasprintf("images not scanned: the catalog could not be listed (%s): name them with "
		      "%s NAME[:TAG] or as %s/REPOSITORY",
		      why, bwk_setting("repo", "the repository list"), a->host);
	bwk_finding_spec s = {
	    .rule = &r_unlisted,
	    .loc = {.target = a->target, .layer_index = -1, .key = "/v2/_catalog"},
	    .message = msg,
	    .evidence = st ? full : NULL,
	    .severity = -1};
	return bwk_findings_add(a->out, &s, err);
}

int bwk_registry_list_images(const char *url, const bwk_registry_opts *o, const char *const *named,
			     size_t max, bwk_registry_images *out, bwk_findings *findings,
			     bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	actx a = {.o = o, .target = url, .out = findings};
	reg_client *c = NULL;
	reg_creds cr = {0};
	char **repos = NULL, **tags_named = NULL;
	size_t nrepos = 0, nnamed = 0;
	bool reachable = true;
	for (const char *const *p = named; p && *p; p++)
		nnamed++;
	int rc = parse_url(&a, url, err);
	if (rc == 0)
		rc = reg_client_new(a.host, o, &c, err);
	if (rc == 0)
		rc = reg_creds_lookup(o, a.host, &cr, err);
	if (rc == 0 && cr.username)
		reg_client_set_creds(c, &cr);
	if (rc == 0 && (a.repo || nnamed)) {
		repos = xcalloc(nnamed + 2, sizeof(char *));
		tags_named = xcalloc(nnamed + 2, sizeof(char *));
		if (a.repo)
			repos[nrepos++] = xstrdup(a.repo);
		for (size_t i = 0; rc == 0 && i < nnamed; i++, nrepos++)
			rc = named_repo(url, named[i], &repos[nrepos], &tags_named[nrepos], err);
	}
	if (rc == 0)
		rc = scan_all_reachable(&a, c, &reachable, err);
	if (rc == 0 && reachable && !repos) {
		bwk_error *e = NULL;
		long st = 0;
		if (list_all(c, "/v2/_catalog", "registry:catalog:*", "repositories", valid_repo,
			     max, &repos, &nrepos, &out->truncated, &st, &e) < 0)
			rc = catalog_unlisted(&a, e, st, err);
	}
	for (size_t i = 0; rc == 0 && reachable && i < nrepos && out->n < max; i++) {
		if (tags_named && tags_named[i]) {
			out->refs = xrealloc(out->refs, (out->n + 1) * sizeof(char *));
			out->refs[out->n++] =
			    xasprintf("%s/%s:%s", a.host, repos[i], tags_named[i]);
			continue;
		}
		cleanup_free char *base = xasprintf("/v2/%s/tags/list", repos[i]);
		cleanup_free char *scope = xasprintf("repository:%s:pull", repos[i]);
		char **tags = NULL;
		size_t ntags = 0;
		bool more = false;
		bwk_error *e = NULL;
		long st = 0;
		if (list_all(c, base, scope, "tags", valid_tag, max - out->n, &tags, &ntags, &more,
			     &st, &e) < 0) {
			/* one repository that cannot be listed: named, the others go on */
			char *msg = bwk_error_format(e);
			bwk_error_free(e);
			bwk_warn(o && o->quiet, "registry %s: %s", a.host, msg);
			free(msg);
			out->unlisted++;
			continue;
		}
		if (more)
			out->truncated = true;
		for (size_t t = 0; t < ntags; t++) {
			out->refs = xrealloc(out->refs, (out->n + 1) * sizeof(char *));
			out->refs[out->n++] = xasprintf("%s/%s:%s", a.host, repos[i], tags[t]);
			free(tags[t]);
		}
		free(tags);
		if (out->n == max && i + 1 < nrepos)
			out->truncated = true;
	}
	if (rc == 0 && findings)
		bwk_findings_check(findings, &r_unlisted, BWK_CHECK_PASS,
				   "%s the images to scan them all",
				   repos ? "listing" : "reaching");
	for (size_t i = 0; repos && i < nrepos; i++) {
		free(repos[i]);
		free(tags_named ? tags_named[i] : NULL);
	}
	free(repos);
	free(tags_named);
	reg_creds_free(&cr);
	reg_client_free(c);
	free(a.host);
	free(a.repo);
	if (rc < 0)
		bwk_registry_images_free(out);
	return rc;
}
