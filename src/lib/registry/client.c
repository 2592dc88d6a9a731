/* The HTTP side of the distribution API: one curl handle per request, authentication through
 * the WWW-Authenticate challenge, retries, bounds and one-line errors.
 *
 * Threats: a registry (or whoever sits on the path when it is plain HTTP) controls every byte
 * we read — status, headers, redirects and bodies. Bodies are bounded per kind, transfers have
 * a total timeout (API calls) or a stall limit (blobs), redirects are bounded and never
 * downgrade the scheme, and curl drops our Authorization header when a redirect leaves the
 * registry's host (blob storage on another host gets a signed URL, not our token). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <nettle/base64.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "registry/registry_private.h"

#define DEFAULT_TIMEOUT_MS 30000
#define MAX_HEADER	   1024 /* a kept header value other than WWW-Authenticate */
#define STALL_BYTES_PER_S  1024 /* a blob transfer slower than this for the timeout stalls */

struct reg_client {
	char *host; /* as in the reference ("docker.io") */
	char *api;  /* host:port the API lives at ("registry-1.docker.io") */
	char *base; /* scheme://api */
	bool https, verify, plain_ok, loopback, pinged;
	char *ca_cert;
	int timeout_ms;
	bool quiet;
	reg_creds creds;
	bool have_creds;
	reg_challenge chal;
	char *auth_header; /* "Authorization: …" for the current scope; wiped on free */
	char *auth_scope;
	pthread_mutex_t lock; /* pinged, base, auth_header, auth_scope, chal */
};

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void wipe_freep(char **s)
{
	wipe_free(*s);
}

void reg_resp_free(reg_resp *r)
{
	free(r->body);
	free(r->content_type);
	free(r->digest);
	free(r->location);
	free(r->www_auth);
	free(r->api_version);
	free(r->server);
	memset(r, 0, sizeof(*r));
}

/* localhost, 127.0.0.0/8 and ::1: plain HTTP there never crosses a network */
static bool host_is_loopback(const char *hostport)
{
	char h[256];
	if (hostport[0] == '[') {
		size_t n = strcspn(hostport + 1, "]");
		snprintf(h, sizeof(h), "%.*s", (int)(n < 255 ? n : 255), hostport + 1);
	} else {
		size_t n = strcspn(hostport, ":");
		snprintf(h, sizeof(h), "%.*s", (int)(n < 255 ? n : 255), hostport);
	}
	if (!strcasecmp(h, "localhost"))
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool host_listed(const bwk_registry_opts *o, const char *hostport)
{
	if (!o->insecure)
		return false;
	size_t hn = hostport[0] == '[' ? strcspn(hostport, "]") + 1 : strcspn(hostport, ":");
	for (const char *const *p = o->insecure; *p; p++)
		if (!strcmp(*p, hostport) || (strlen(*p) == hn && !strncmp(*p, hostport, hn)))
			return true;
	return false;
}

int reg_client_new(const char *registry, const bwk_registry_opts *o, reg_client **out,
		   bwk_error **err)
{
	*out = NULL;
	if (!registry || !*registry || strlen(registry) > 255 || strpbrk(registry, "/?#@ \\"))
		return bwk_error_set(err, BWK_E_INPUT, 0, "registry '%.255s' is not a host[:port]",
				     registry ? registry : "");
	reg_client *c = xcalloc(1, sizeof(*c));
	c->host = xstrdup(registry);
	c->api = xstrdup(!strcmp(registry, "docker.io") ? "registry-1.docker.io" : registry);
	c->https = true;
	c->verify = !host_listed(o, registry);
	c->loopback = host_is_loopback(registry);
	c->plain_ok = c->loopback || host_listed(o, registry);
	c->base = xasprintf("https://%s", c->api);
	c->ca_cert = o->ca_cert ? xstrdup(o->ca_cert) : NULL;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->quiet = o->quiet;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void reg_client_set_transport(reg_client *c, bool https, bool verify)
{
	c->https = https;
	c->verify = verify;
	c->pinged = true;
	free(c->base);
	c->base = xasprintf("%s://%s", https ? "https" : "http", c->api);
}

void reg_client_set_creds(reg_client *c, reg_creds *cr)
{
	reg_creds_free(&c->creds);
	c->have_creds = false;
	if (cr && cr->username && cr->secret) {
		c->creds = *cr;
		memset(cr, 0, sizeof(*cr));
		c->have_creds = true;
	}
	wipe_free(c->auth_header);
	c->auth_header = NULL;
}

const char *reg_client_base(const reg_client *c)
{
	return c->base;
}

const char *reg_client_host(const reg_client *c)
{
	return c->host;
}

void reg_client_free(reg_client *c)
{
	if (!c)
		return;
	free(c->host);
	free(c->api);
	free(c->base);
	free(c->ca_cert);
	reg_creds_free(&c->creds);
	reg_challenge_free(&c->chal);
	wipe_free(c->auth_header);
	free(c->auth_scope);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- one transfer ------------------------------------------------------------------------- */
typedef struct xfer {
	CURL *curl;
	const reg_req *rq;
	size_t max;
	reg_resp *resp;
	bwk_strbuf body;
	bool overflow, sink_failed, stalled;
	/* stall detection of blob downloads: bytes received per window of stall_ms, not
	 * counting the time our sink kept curl waiting (a slow consumer is not a slow server) */
	int64_t stall_ms, win_start, win_blocked;
	curl_off_t win_bytes;
} xfer;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)ultotal, (void)ulnow;
	xfer *x = ud;
	if (x->rq->cancel && __atomic_load_n(x->rq->cancel, __ATOMIC_ACQUIRE))
		return 1; /* the reader went away: abort now, not at the next write */
	int64_t now = mono_ms();
	if (now - x->win_start - x->win_blocked < x->stall_ms)
		return 0;
	if ((dlnow - x->win_bytes) * 1000 < (curl_off_t)STALL_BYTES_PER_S * x->stall_ms) {
		x->stalled = true;
		return 1; /* CURLE_ABORTED_BY_CALLBACK */
	}
	x->win_start = now;
	x->win_blocked = 0;
	x->win_bytes = dlnow;
	return 0;
}

static char *header_value(const char *p, size_t n, size_t max)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	return xstrndup(p, n > max ? max : n);
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	reg_resp *r = x->resp;
	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100): forget the previous headers */
		long keep_status = r->status;
		char *body = r->body;
		r->body = NULL;
		reg_resp_free(r);
		r->body = body;
		r->status = keep_status;
		r->retry_after = -1;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t kn = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vn = len - kn - 1;
#define IS(name) (kn == sizeof(name) - 1 && !strncasecmp(buf, name, kn))
	if (IS("content-type")) {
		free(r->content_type);
		r->content_type = header_value(v, vn, MAX_HEADER);
	} else if (IS("docker-content-digest")) {
		free(r->digest);
		r->digest = header_value(v, vn, MAX_HEADER);
	} else if (IS("location")) {
		free(r->location);
		r->location = header_value(v, vn, 8192);
	} else if (IS("www-authenticate")) {
		/* a second header (several schemes) is ignored: the first names the one used */
		if (!r->www_auth)
			r->www_auth = header_value(v, vn, BWK_REG_MAX_CHALLENGE + 1);
	} else if (IS("docker-distribution-api-version")) {
		free(r->api_version);
		r->api_version = header_value(v, vn, MAX_HEADER);
	} else if (IS("server")) {
		free(r->server);
		r->server = header_value(v, vn, MAX_HEADER);
	} else if (IS("retry-after")) {
		cleanup_free char *s = header_value(v, vn, 32);
		char *end = NULL;
		long secs = strtol(s, &end, 10);
		/* an HTTP date instead of seconds: treated as "later", the cap applies */
		r->retry_after =
		    end != s && !*end && secs >= 0 ? secs : BWK_REG_MAX_RETRY_AFTER + 1;
	}
#undef IS
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	long st = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &st);
	if (x->rq->sink && st >= 200 && st < 300) {
		if (x->rq->sink_status)
			*x->rq->sink_status = st;
		int64_t t0 = mono_ms();
		int rc = x->rq->sink(x->rq->sink_ctx, buf, len);
		x->win_blocked += mono_ms() - t0;
		if (rc < 0) {
			x->sink_failed = true;
			return 0;
		}
		return len;
	}
	/* error bodies are kept only for their message */
	size_t max = x->rq->sink || st >= 300 ? 16384 : x->max;
	if (x->body.len + len > max) {
		if (x->rq->sink || st >= 300)
			return len; /* the start of an error body is enough */
		x->overflow = true;
		return 0;
	}
	bwk_strbuf_appendn(&x->body, buf, len);
	return len;
}

/* Why a transfer failed, as a sentence naming the registry and what to do. */
static int transport_error(reg_client *c, const char *url, CURLcode rc, const char *errbuf,
			   bool blob, bwk_error **err)
{
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return bwk_error_set(err, BWK_E_PERM, 0,
				     "registry %s: its TLS certificate did not verify (%s): pass "
				     "%s with the CA that signed it, or give the registry a "
				     "valid certificate",
				     c->host, why, bwk_setting("ca-cert", "a CA certificate"));
	case CURLE_OPERATION_TIMEDOUT:
		if (blob)
			return bwk_error_set(err, BWK_E_IO, 0,
					     "registry %s: the download stalled (less than %d "
					     "bytes/s for %d ms: %s); try again or raise %s",
					     c->host, STALL_BYTES_PER_S, c->timeout_ms, why,
					     bwk_setting("timeout", "the timeout"));
		return bwk_error_set(err, BWK_E_IO, 0,
				     "registry %s: no complete answer within %d ms from %s (%s); "
				     "check the registry or raise %s",
				     c->host, c->timeout_ms, url, why,
				     bwk_setting("timeout", "the timeout"));
	case CURLE_TOO_MANY_REDIRECTS:
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "registry %s: more than %d redirects for %s (a redirect "
				     "loop?): the registry is misconfigured",
				     c->host, BWK_REG_MAX_REDIRECTS, url);
	case CURLE_UNSUPPORTED_PROTOCOL:
		return bwk_error_set(err, BWK_E_UNSAFE, 0,
				     "registry %s: redirected to a scheme that is not allowed "
				     "(%s): a redirect from HTTPS to plain HTTP is refused",
				     c->host, why);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return bwk_error_set(err, BWK_E_IO, 0,
				     "cannot connect to registry %s (%s): is the host:port right "
				     "and the registry running?",
				     c->host, why);
	default:
		break;
	}
	if (!c->https || rc != CURLE_SSL_CONNECT_ERROR)
		return bwk_error_set(err, BWK_E_IO, 0, "registry %s: %s: %s", c->host, url, why);
	return bwk_error_set(err, BWK_E_IO, 0, "registry %s: TLS handshake failed (%s)%s", c->host,
			     why,
			     strstr(why, "wrong version number")
				 ? ": it seems to speak plain HTTP, which is allowed only for "
				   "loopback and insecure registries"
				 : "");
}

/* --ca-cert adds to the system's roots (a registry's blobs often redirect to public
 * storage): CAINFO names the user's file, CAPATH keeps the system directory. */
static void set_ca(CURL *h, const reg_client *c)
{
	if (!c->ca_cert)
		return;
	curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_cert);
	curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
}

/* ---- kept connections ----------------------------------------------------------------------
 * Idle curl handles, kept for the next request of any client in this process: a handle keeps
 * its connections open, so that the requests for an image — and those for the next image of
 * `audit registry --scan-all`, on whichever worker thread — reuse a connection instead of
 * connecting (and over TLS shaking hands) for each; the registry serves a kept connection for
 * less than a new one. A handle is used by one thread at a time: taken out, reset to no options
 * (curl_easy_reset keeps its connections), given back after a transfer that ended cleanly, and
 * destroyed otherwise. curl reuses a connection only for the same scheme, host, port and TLS
 * settings (verification, CA file), and the Authorization header is set per request, so nothing
 * of one request carries over to another but the socket. Sockets are close-on-exec: a kept
 * connection never reaches a process bulwark starts. */
#define POOL_MAX 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL_MAX];
static size_t npool;

static CURL *handle_take(void)
{
	CURL *h = NULL;
	pthread_mutex_lock(&pool_lock);
	if (npool)
		h = pool[--npool];
	pthread_mutex_unlock(&pool_lock);
	if (!h)
		return curl_easy_init();
	curl_easy_reset(h);
	return h;
}

static void handle_give(CURL *h, bool keep)
{
	pthread_mutex_lock(&pool_lock);
	if (keep && npool < POOL_MAX) {
		pool[npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)ud, (void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int perform(reg_client *c, const char *url, const reg_req *rq, const char *auth,
		   reg_resp *resp, bwk_error **err)
{
	CURL *h = handle_take();
	if (!h)
		return bwk_error_set(err, BWK_E_NOMEM, 0,
				     "registry %s: cannot create a curl handle (libcurl4)",
				     c->host);
	char errbuf[CURL_ERROR_SIZE] = "";
	xfer x = {.curl = h,
		  .rq = rq,
		  .max = rq->max_body ? rq->max_body : BWK_REG_MAX_JSON,
		  .resp = resp};
	bwk_strbuf_init(&x.body, x.max + 16384);
	struct curl_slist *hdrs = NULL;
	cleanup_free char *accept = rq->accept ? xasprintf("Accept: %s", rq->accept) : NULL;
	if (accept)
		hdrs = curl_slist_append(hdrs, accept);
	if (auth)
		hdrs = curl_slist_append(hdrs, auth);
	const char *method = rq->method ? rq->method : "GET";
	bool https = !strncmp(url, "https:", 6);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "bulwark");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, https ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, strcmp(method, "GET") ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)BWK_REG_MAX_REDIRECTS);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	if (rq->blob) {
		x.stall_ms = c->timeout_ms;
		x.win_start = mono_ms();
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	}
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->verify ? 2L : 0L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	set_ca(h, c);
	char range[32];
	if (rq->range_from) {
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)rq->range_from);
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET"))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(rq->body ? strlen(rq->body) : 0));
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	resp->retry_after = -1;
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	int ret = 0;
	if (x.overflow)
		ret = bwk_error_set(err, BWK_E_LIMIT, 0,
				    "registry %s: the answer to %s is larger than the %zu KiB "
				    "allowed for it",
				    c->host, rq->path, x.max >> 10);
	else if (x.sink_failed)
		ret = -1; /* the sink filled err */
	else if (x.stalled)
		ret = transport_error(c, url, CURLE_OPERATION_TIMEDOUT, "", true, err);
	else if (rc != CURLE_OK)
		ret = transport_error(c, url, rc, errbuf, rq->blob, err);
	curl_slist_free_all(hdrs);
	handle_give(h, rc == CURLE_OK && ret == 0);
	if (ret == 0) {
		free(resp->body);
		resp->len = x.body.len;
		resp->body = bwk_strbuf_steal(&x.body);
	}
	bwk_strbuf_free(&x.body);
	return ret;
}

/* ---- authentication ----------------------------------------------------------------------- */
static char *basic_header(const reg_creds *cr)
{
	cleanup_free char *raw = xasprintf("%s:%s", cr->username, cr->secret);
	size_t n = strlen(raw);
	char *b64 = xmalloc(BASE64_ENCODE_RAW_LENGTH(n) + 1);
	base64_encode_raw(b64, n, (const uint8_t *)raw);
	b64[BASE64_ENCODE_RAW_LENGTH(n)] = 0;
	explicit_bzero(raw, n);
	char *h = xasprintf("Authorization: Basic %s", b64);
	wipe_free(b64);
	return h;
}

static char *url_escape(const char *s)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 16384);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			bwk_strbuf_appendn(&sb, (const char *)p, 1);
		else
			bwk_strbuf_printf(&sb, "%%%02X", *p);
	}
	return bwk_strbuf_steal(&sb);
}

/* A bearer token from the challenge's realm for `scope`. */
static int fetch_token(reg_client *c, const char *scope, bwk_error **err)
{
	const char *realm = c->chal.realm;
	bool realm_https = !strncasecmp(realm, "https://", 8);
	if (!realm_https && strncasecmp(realm, "http://", 7))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "registry %s: token realm '%.200s' is not an http(s) URL",
				     c->host, realm);
	if (!realm_https && c->have_creds) {
		const char *hp = realm + 7;
		char hostport[256];
		snprintf(hostport, sizeof(hostport), "%.*s", (int)strcspn(hp, "/?#"), hp);
		if (!host_is_loopback(hostport))
			return bwk_error_set(err, BWK_E_UNSAFE, 0,
					     "registry %s: its token endpoint %s is plain HTTP: "
					     "refusing to send credentials there (anyone on the "
					     "path would read them); fix the registry's token "
					     "realm",
					     c->host, hostport);
	}
	bwk_strbuf url;
	bwk_strbuf_init(&url, 16384);
	bwk_strbuf_append(&url, realm);
	char sep = strchr(realm, '?') ? '&' : '?';
	if (c->chal.service) {
		cleanup_free char *s = url_escape(c->chal.service);
		bwk_strbuf_printf(&url, "%cservice=%s", sep, s);
		sep = '&';
	}
	if (scope) {
		cleanup_free char *s = url_escape(scope);
		bwk_strbuf_printf(&url, "%cscope=%s", sep, s);
	}
	cleanup_free char *u = bwk_strbuf_steal(&url);
	cleanup_free char *auth =
	    c->have_creds && !c->creds.identity_token ? basic_header(&c->creds) : NULL;
	reg_req rq = {.path = "token endpoint", .max_body = BWK_REG_MAX_JSON};
	cleanup_free char *form = NULL;
	if (c->have_creds && c->creds.identity_token) {
		/* docker login's identity token is an OAuth2 refresh token: POSTed for an access
		 * token (the distribution token spec's OAuth2 flow) */
		cleanup_free char *svc = url_escape(c->chal.service ? c->chal.service : "");
		cleanup_free char *sc = url_escape(scope ? scope : "");
		cleanup_free char *rt = url_escape(c->creds.secret);
		form = xasprintf("grant_type=refresh_token&client_id=bulwark&service=%s&scope=%s&"
				 "refresh_token=%s",
				 svc, sc, rt);
		explicit_bzero(rt, strlen(rt));
		rq.method = "POST";
		rq.body = form;
	}
	reg_resp r = {0};
	int rc = perform(c, u, &rq, auth, &r, err);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	if (form)
		explicit_bzero(form, strlen(form));
	if (rc < 0) {
		reg_resp_free(&r);
		return bwk_error_wrap(err, "getting a token from %.200s", realm);
	}
	if (r.status == 401 || r.status == 403) {
		reg_resp_free(&r);
		return bwk_error_set(
		    err, BWK_E_PERM, 0, "registry %s: the token endpoint refused %s (HTTP %ld): %s",
		    c->host, c->have_creds ? "the credentials" : "anonymous access", r.status,
		    c->have_creds ? "check the user name and password"
				  : "log in with `docker login` or pass credentials");
	}
	if (r.status != 200) {
		long st = r.status;
		reg_resp_free(&r);
		return bwk_error_set(err, BWK_E_IO, 0,
				     "registry %s: the token endpoint %.200s answered HTTP %ld",
				     c->host, realm, st);
	}
	cleanup_free char *tok = NULL;
	rc = reg_token_parse(r.body, r.len, &tok, err);
	explicit_bzero(r.body, r.len);
	reg_resp_free(&r);
	if (rc < 0)
		return bwk_error_wrap(err, "registry %s", c->host);
	wipe_free(c->auth_header);
	c->auth_header = xasprintf("Authorization: Bearer %s", tok);
	explicit_bzero(tok, strlen(tok));
	free(c->auth_scope);
	c->auth_scope = scope ? xstrdup(scope) : NULL;
	return 0;
}

/* Answer a 401: parse its challenge, then basic credentials or a token. */
static int authenticate(reg_client *c, const reg_resp *r, const char *scope, bwk_error **err)
{
	reg_challenge_free(&c->chal);
	if (!r->www_auth)
		return 1; /* no way to answer: the 401 stands, the caller names the object */
	if (reg_challenge_parse(r->www_auth, strlen(r->www_auth), &c->chal, err) < 0)
		return bwk_error_wrap(err, "registry %s", c->host);
	if (c->chal.scheme == REG_AUTH_BEARER)
		return fetch_token(c, c->chal.scope ? c->chal.scope : scope, err);
	if (c->chal.scheme == REG_AUTH_BASIC && c->have_creds) {
		wipe_free(c->auth_header);
		c->auth_header = basic_header(&c->creds);
		return 0;
	}
	return 1; /* nothing to answer with: the 401 stands */
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* First contact: HTTPS, or plain HTTP where allowed and HTTPS is not spoken. */
static void set_scheme(reg_client *c, bool https)
{
	free(c->base);
	c->base = xasprintf("%s://%s", https ? "https" : "http", c->api);
	c->https = https;
}

/* GET /v2/ over the current scheme: 0 when an HTTP answer came (its status in *status). */
static int try_v2(reg_client *c, long *status, bwk_error **err)
{
	reg_req rq = {.path = "/v2/"};
	reg_resp r = {0};
	cleanup_free char *url = xasprintf("%s/v2/", c->base);
	int rc = perform(c, url, &rq, NULL, &r, err);
	*status = r.status;
	reg_resp_free(&r);
	return rc;
}

/* What the first contact found, for the next clients of the same registry in this process
 * (the images of `audit registry --scan-all`, the layers of a pull): the scheme it speaks,
 * keyed by everything the answer depends on (where the API lives, whether plain HTTP is
 * allowed, TLS verification and the CA file). Only answers are kept: a registry that did not
 * answer is asked again. */
#define MEMO_MAX 16

static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static char *memo_key[MEMO_MAX];
static bool memo_https[MEMO_MAX];
static size_t nmemo;

static char *memo_key_of(const reg_client *c)
{
	return xasprintf("%s %d %d %s", c->api, c->plain_ok, c->verify,
			 c->ca_cert ? c->ca_cert : "");
}

static bool memo_find(const reg_client *c, bool *https)
{
	cleanup_free char *k = memo_key_of(c);
	bool found = false;
	pthread_mutex_lock(&memo_lock);
	for (size_t i = 0; i < nmemo && !found; i++)
		if (!strcmp(memo_key[i], k)) {
			*https = memo_https[i];
			found = true;
		}
	pthread_mutex_unlock(&memo_lock);
	return found;
}

static void memo_keep(const reg_client *c)
{
	bool https;
	if (memo_find(c, &https))
		return;
	char *k = memo_key_of(c);
	pthread_mutex_lock(&memo_lock);
	if (nmemo < MEMO_MAX) {
		memo_key[nmemo] = k;
		memo_https[nmemo++] = c->https;
		k = NULL;
	}
	pthread_mutex_unlock(&memo_lock);
	free(k);
}

/* First contact: which scheme the registry speaks.
 *
 * Loopback: plain HTTP first (allowed there, and nothing secret is sent to /v2/), HTTPS when
 * that fails or answers 400 (a TLS port answering a plain request). Asking HTTPS first of a
 * plain HTTP server costs up to half a second: Go's server answers the ClientHello with a 400
 * and lingers 500 ms before it closes, while the TLS client waits for the rest of what it
 * takes for a record. Other hosts: HTTPS, and plain HTTP only for --insecure-registry hosts
 * that do not speak TLS — a certificate that does not verify is never a reason to
 * downgrade. */
static int ping_once(reg_client *c, bwk_error **err);

/* MEMO: a scheme found before for this registry stands (a request's first contact); else
 * the registry is asked (the audit's, which judges the answer). */
static int ping(reg_client *c, bool memo, bwk_error **err)
{
	if (c->pinged)
		return 0;
	bool https;
	if (memo && memo_find(c, &https)) {
		c->pinged = true;
		set_scheme(c, https);
		return 0;
	}
	int rc = ping_once(c, err);
	if (rc == 0)
		memo_keep(c);
	return rc;
}

static int ping_once(reg_client *c, bwk_error **err)
{
	c->pinged = true;
	long st = 0;
	bwk_error *e = NULL;
	if (c->loopback) {
		set_scheme(c, false);
		if (try_v2(c, &st, &e) == 0 && st != 400) {
			bwk_error_free(e);
			return 0;
		}
		set_scheme(c, true);
		bwk_error *e2 = NULL;
		int rc2 = try_v2(c, &st, &e2);
		bool tls_server = rc2 < 0 && bwk_error_code(e2) != BWK_E_IO;
		if (rc2 == 0 || tls_server || e) {
			/* HTTPS answered, or a TLS server is there (its certificate did not
			 * verify: that error), or neither spoke (the HTTPS reason) */
			bwk_error_free(e);
			if (rc2 < 0 && err)
				*err = e2;
			else
				bwk_error_free(e2);
			return rc2;
		}
		/* plain HTTP answered 400 and nothing speaks TLS: a registry to be told so */
		bwk_error_free(e2);
		set_scheme(c, false);
		return 0;
	}
	int rc = try_v2(c, &st, &e);
	if (rc == 0 || !c->plain_ok || bwk_error_code(e) != BWK_E_IO) {
		if (rc < 0 && err)
			*err = e;
		else
			bwk_error_free(e);
		return rc;
	}
	/* --insecure-registry: plain HTTP when HTTPS is not spoken */
	set_scheme(c, false);
	bwk_error *e2 = NULL;
	if (try_v2(c, &st, &e2) < 0) {
		/* neither spoke: the HTTPS reason is the one to give */
		bwk_error_free(e2);
		set_scheme(c, true);
		if (err)
			*err = e;
		else
			bwk_error_free(e);
		return -1;
	}
	bwk_error_free(e);
	return 0;
}

int reg_client_ping(reg_client *c, bool *tls_refused, bwk_error **err)
{
	bwk_error *e = NULL;
	pthread_mutex_lock(&c->lock);
	int rc = ping(c, false, &e);
	pthread_mutex_unlock(&c->lock);
	/* transport_error's code for a certificate that did not verify, and for nothing else
	 * that the first contact can meet (no credentials are sent to /v2/ there) */
	*tls_refused = rc < 0 && bwk_error_code(e) == BWK_E_PERM;
	if (rc < 0 && err)
		*err = e;
	else
		bwk_error_free(e);
	return rc;
}

static bool retryable(long st)
{
	return st == 429 || st == 500 || st == 502 || st == 503 || st == 504;
}

int reg_request(reg_client *c, const reg_req *rq, reg_resp *resp, bwk_error **err)
{
	memset(resp, 0, sizeof(*resp));
	/* several layers stream at once: the first contact and the auth state are shared */
	pthread_mutex_lock(&c->lock);
	int p = ping(c, true, err);
	cleanup_free char *url =
	    !strncmp(rq->path, "https://", 8) || !strncmp(rq->path, "http://", 7)
		? xstrdup(rq->path)
		: xasprintf("%s%s", c->base, rq->path);
	pthread_mutex_unlock(&c->lock);
	if (p < 0)
		return -1;
	bool authed = false;
	for (int attempt = 0;;) {
		pthread_mutex_lock(&c->lock);
		cleanup_with(wipe_freep) char *auth = NULL;
		if (!rq->no_auth && c->auth_header &&
		    (!rq->scope || !c->auth_scope || !strcmp(rq->scope, c->auth_scope) ||
		     c->chal.scheme == REG_AUTH_BASIC))
			auth = xstrdup(c->auth_header);
		pthread_mutex_unlock(&c->lock);
		reg_resp_free(resp);
		if (perform(c, url, rq, auth, resp, err) < 0)
			return -1;
		if (resp->status == 401 && !rq->no_auth && !authed) {
			authed = true;
			pthread_mutex_lock(&c->lock);
			int a = authenticate(c, resp, rq->scope, err);
			pthread_mutex_unlock(&c->lock);
			if (a < 0)
				return -1;
			if (a == 0)
				continue;
			return 0;
		}
		if (!retryable(resp->status) || attempt >= BWK_REG_MAX_RETRIES)
			return 0;
		long wait = 500L << attempt;
		if (resp->retry_after >= 0) {
			if (resp->retry_after > BWK_REG_MAX_RETRY_AFTER)
				return bwk_error_set(err, BWK_E_IO, 0,
						     "registry %s: HTTP %ld for %s asks to retry "
						     "after more than %d s; try again later",
						     c->host, resp->status, rq->path,
						     BWK_REG_MAX_RETRY_AFTER);
			wait = resp->retry_after * 1000;
		}
		attempt++;
		sleep_ms(wait);
	}
}

/* The registry's own message ({"errors":[{"code","message"}]}), printable and short. */
static char *registry_message(const reg_resp *r)
{
	if (!r->body || !r->len)
		return NULL;
	json_error_t je;
	json_t *j = json_loadb(r->body, r->len, 0, &je);
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *m = json_string_value(json_object_get(e0, "message"));
	char *out = NULL;
	if (m && *m) {
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 160);
		for (const char *p = m; *p && sb.len < 150; p++)
			bwk_strbuf_appendn(&sb, (unsigned char)*p < 0x20 ? "?" : p, 1);
		out = bwk_strbuf_steal(&sb);
	}
	json_decref(j);
	return out;
}

int reg_status_error(reg_client *c, const reg_resp *r, const char *what, bwk_error **err)
{
	cleanup_free char *m = registry_message(r);
	cleanup_free char *said = m ? xasprintf(" (the registry says: %s)", m) : xstrdup("");
	switch (r->status) {
	case 401:
		return bwk_error_set(err, BWK_E_PERM, 0,
				     "registry %s requires authentication for %s (HTTP 401)%s: "
				     "run `docker login %s` or pass %s and %s",
				     c->host, what, said, c->host,
				     bwk_setting("username", "a user name"),
				     bwk_setting("password-stdin", "a password"));
	case 403:
		return bwk_error_set(err, BWK_E_PERM, 0,
				     "registry %s denies access to %s (HTTP 403)%s: the account "
				     "lacks the right, or log in with one that has it",
				     c->host, what, said);
	case 404:
		return bwk_error_set(err, BWK_E_NOTFOUND, 0,
				     "%s not found on registry %s (HTTP 404)%s: check the "
				     "repository name and the tag",
				     what, c->host, said);
	case 429:
		return bwk_error_set(err, BWK_E_IO, 0,
				     "registry %s rate-limits us (HTTP 429 for %s, still after %d "
				     "retries): wait, or log in for a higher limit",
				     c->host, what, BWK_REG_MAX_RETRIES);
	default:
		return bwk_error_set(err, BWK_E_IO, 0, "registry %s answered HTTP %ld for %s%s%s",
				     c->host, r->status, what, said,
				     retryable(r->status) ? ", still after retries: try again later"
							  : "");
	}
}

int reg_get_manifest(reg_client *c, const char *repo, const char *reference, reg_resp *resp,
		     char **digest_out, bwk_error **err)
{
	return reg_get_manifest_ex(c, repo, reference, BWK_REG_MAX_MANIFEST, true, resp, digest_out,
				   err);
}

int reg_get_manifest_ex(reg_client *c, const char *repo, const char *reference, size_t max,
			bool verify, reg_resp *resp, char **digest_out, bwk_error **err)
{
	*digest_out = NULL;
	cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", repo, reference);
	cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
	reg_req rq = {.path = path,
		      .accept = MT_OCI_INDEX ", " MT_DOCKER_LIST ", " MT_OCI_MANIFEST
					     ", " MT_DOCKER_MANIFEST,
		      .max_body = max < BWK_REG_MAX_MANIFEST ? max : BWK_REG_MAX_MANIFEST,
		      .scope = scope};
	cleanup_free char *what =
	    xasprintf("manifest %s%s%s", repo, reg_digest_valid(reference) ? "@" : ":", reference);
	if (reg_request(c, &rq, resp, err) < 0)
		return bwk_error_wrap(err, "%s", what);
	if (resp->status != 200)
		return reg_status_error(c, resp, what, err);
	char hex[65];
	bwk_sha256_hex(resp->body, resp->len, hex);
	cleanup_free char *got = xasprintf("sha256:%s", hex);
	const char *want = reg_digest_valid(reference)			    ? reference
			   : resp->digest && reg_digest_valid(resp->digest) ? resp->digest
									    : NULL;
	if (!verify) {
		/* the caller checks: the digest the document is known by */
		*digest_out = want ? xstrdup(want) : NULL;
		return 0;
	}
	if (want && strcmp(want, got))
		return bwk_error_set(err, BWK_E_INTEGRITY, 0,
				     "registry %s: %s does not match its digest (expected %s, got "
				     "%s): the registry or something on the path altered it",
				     c->host, what, want, got);
	*digest_out = steal_pointer(&got);
	return 0;
}

/* ---- blobs -------------------------------------------------------------------------------- */
typedef struct blob_sink {
	int fd;
	bool sock;
	bwk_sha256 *h;
	uint64_t n, max;
	const char *digest;
	bwk_error **err;
	const char *host;
} blob_sink;

static int blob_write(void *ctx, const void *data, size_t len)
{
	blob_sink *b = ctx;
	b->n += len;
	if (b->max && b->n > b->max)
		return bwk_error_set(b->err, BWK_E_INTEGRITY, 0,
				     "registry %s: blob %s is larger than the %llu bytes its "
				     "manifest gives",
				     b->host, b->digest, (unsigned long long)b->max);
	if (b->n > REG_MAX_BLOB)
		return bwk_error_set(b->err, BWK_E_LIMIT, 0,
				     "registry %s: blob %s exceeds %llu GiB", b->host, b->digest,
				     (unsigned long long)(REG_MAX_BLOB >> 30));
	if (b->h) /* NULL: the reader verifies (hashing twice cost a quarter of a scan's CPU) */
		bwk_sha256_update(b->h, data, len);
	const char *p = data;
	while (len) {
		/* a socket (the pull stream): a reader that went away is EPIPE, not SIGPIPE */
		ssize_t w = b->sock ? send(b->fd, p, len, MSG_NOSIGNAL) : write(b->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return bwk_error_set(b->err, BWK_E_IO, errno, "writing blob %s", b->digest);
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int reg_get_blob_fd(reg_client *c, const char *repo, const char *digest, uint64_t size, int fd,
		    bool verify, const int *cancel, bwk_error **err)
{
	cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", repo, digest);
	cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
	struct stat st;
	blob_sink b = {.fd = fd,
		       .sock = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode),
		       .h = verify ? bwk_sha256_new() : NULL,
		       .max = size,
		       .digest = digest,
		       .err = err,
		       .host = c->host};
	reg_req rq = {.path = path,
		      .sink = blob_write,
		      .sink_ctx = &b,
		      .blob = true,
		      .scope = scope,
		      .cancel = cancel};
	reg_resp r = {0};
	int rc = reg_request(c, &rq, &r, err);
	cleanup_free char *what = xasprintf("blob %s of %s", digest, repo);
	if (rc == 0 && r.status != 200)
		rc = reg_status_error(c, &r, what, err);
	char hex[65] = "";
	if (b.h) {
		bwk_sha256_final_hex(b.h, hex);
		bwk_sha256_free(b.h);
	}
	if (rc == 0 && verify && strcmp(digest + 7, hex))
		rc = bwk_error_set(err, BWK_E_INTEGRITY, 0,
				   "registry %s: %s does not match its digest (got sha256:%s): the "
				   "registry or something on the path altered it",
				   c->host, what, hex);
	else if (rc == 0 && verify && size && b.n != size)
		rc =
		    bwk_error_set(err, BWK_E_INTEGRITY, 0,
				  "registry %s: %s has %llu bytes, its manifest says %llu", c->host,
				  what, (unsigned long long)b.n, (unsigned long long)size);
	reg_resp_free(&r);
	return rc;
}

int reg_probe(reg_client *c, bool verify, bool old_tls, long *status, char *why, size_t whylen)
{
	*status = 0;
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(why, whylen, "cannot create a curl handle");
		return CURLE_FAILED_INIT;
	}
	char errbuf[CURL_ERROR_SIZE] = "";
	cleanup_free char *url = xasprintf("%s/v2/", c->base);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "bulwark");
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->https ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	set_ca(h, c);
	if (old_tls) {
		/* offer only TLS 1.0 and 1.1, with OpenSSL's floor lowered so that it may */
		curl_easy_setopt(h, CURLOPT_SSLVERSION,
				 (long)(CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1));
		curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
		/* the handshake is the question; what the server says after it is not */
		curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	}
	CURLcode rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	snprintf(why, whylen, "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_easy_cleanup(h);
	return (int)rc;
}

bool reg_client_https(const reg_client *c)
{
	return c->https;
}

bool reg_client_verify(const reg_client *c)
{
	return c->verify;
}
