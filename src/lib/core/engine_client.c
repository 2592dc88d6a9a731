/* The Docker Engine API endpoint and its curl handles (see engine_client.h). */
#define _GNU_SOURCE
#include "bulwark/log.h"
#include "core/engine_client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"

/* A CA bundle is a few hundred KiB at most; a certificate or key a few KiB. */
#define MAX_PEM ((size_t)1 << 20)

int bwk_endpoint_open(const char *host, bwk_endpoint *ep, bwk_error **err)
{
	memset(ep, 0, sizeof(*ep));
	if (!host || !*host)
		host = getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///var/run/docker.sock";
	if (!strncmp(host, "unix://", 7) && host[7]) {
		ep->host = xstrdup(host);
		ep->socket_path = xstrdup(host + 7);
		ep->base_url = xstrdup("http://localhost");
		return 0;
	}
	if (!strncmp(host, "tcp://", 6) && host[6] && host[6] != '/') {
		ep->host = xstrdup(host);
		/* like the docker CLI: any non-empty value turns verification on */
		const char *tv = getenv("DOCKER_TLS_VERIFY");
		ep->tls = tv && *tv;
		ep->hostport = xstrndup(host + 6, strcspn(host + 6, "/"));
		const char *rb = strrchr(ep->hostport, ']');
		if (!strchr(rb ? rb : ep->hostport, ':')) {
			/* the CLI's default ports, not HTTP's 80 and 443 */
			char *hp = xasprintf("%s:%d", ep->hostport, ep->tls ? 2376 : 2375);
			free(ep->hostport);
			ep->hostport = hp;
		}
		ep->base_url = xasprintf("%s://%s", ep->tls ? "https" : "http", ep->hostport);
		const char *cp = getenv("DOCKER_CERT_PATH");
		const char *home = getenv("HOME");
		ep->cert_dir = cp && *cp ? xstrdup(cp) : xasprintf("%s/.docker", home ? home : "");
		return 0;
	}
	return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
			     "engine endpoint '%s': only unix:// and tcp:// are supported "
			     "(unix:///path, tcp://host:port)",
			     host);
}

static void pem_free(bwk_pem *p)
{
	if (p->data)
		explicit_bzero(p->data, p->len);
	free(p->data);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

void bwk_endpoint_close(bwk_endpoint *ep)
{
	free(ep->host);
	free(ep->socket_path);
	free(ep->base_url);
	free(ep->hostport);
	free(ep->cert_dir);
	pem_free(&ep->ca);
	pem_free(&ep->cert);
	pem_free(&ep->key);
	memset(ep, 0, sizeof(*ep));
}

/* One PEM file of DOCKER_CERT_PATH: a regular file (O_NONBLOCK: a FIFO must not hang us),
 * bounded. Symlinks are followed, as ~/.docker often links to a managed location. */
static int pem_load(const bwk_endpoint *ep, const char *name, bwk_pem *p, bwk_error **err)
{
	p->path = xasprintf("%s/%s", ep->cert_dir, name);
	cleanup_close int fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return bwk_error_set(
		    err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno == ENOENT ? 0 : errno,
		    "engine %s: %s: %s (DOCKER_TLS_VERIFY needs ca.pem, cert.pem "
		    "and key.pem in DOCKER_CERT_PATH)",
		    ep->host, p->path, errno == ENOENT ? "missing" : "cannot open");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "engine %s: %s: cannot stat", ep->host,
				     p->path);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "engine %s: %s: not a regular file (DOCKER_CERT_PATH)",
				     ep->host, p->path);
	if ((size_t)st.st_size > MAX_PEM)
		return bwk_error_set(
		    err, BWK_E_LIMIT, 0,
		    "engine %s: %s: %lld bytes, larger than the %zu KiB a PEM file "
		    "may have (DOCKER_CERT_PATH)",
		    ep->host, p->path, (long long)st.st_size, MAX_PEM >> 10);
	p->data = xmalloc(MAX_PEM + 1);
	for (;;) {
		ssize_t r = read(fd, p->data + p->len, MAX_PEM + 1 - p->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "engine %s: %s: read failed",
					     ep->host, p->path);
		if (r == 0)
			break;
		p->len += (size_t)r;
		if (p->len > MAX_PEM)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "engine %s: %s: grew larger than the %zu KiB a PEM "
					     "file may have",
					     ep->host, p->path, MAX_PEM >> 10);
	}
	if (!p->len)
		return bwk_error_set(err, BWK_E_INPUT, 0, "engine %s: %s: empty (DOCKER_CERT_PATH)",
				     ep->host, p->path);
	return 0;
}

static int load_tls(bwk_endpoint *ep, bwk_error **err)
{
	if (ep->loaded)
		return 0;
	if (pem_load(ep, "ca.pem", &ep->ca, err) < 0 ||
	    pem_load(ep, "cert.pem", &ep->cert, err) < 0 ||
	    pem_load(ep, "key.pem", &ep->key, err) < 0) {
		/* nothing half-loaded stays behind; the failure is the user's setup */
		pem_free(&ep->ca);
		pem_free(&ep->cert);
		pem_free(&ep->key);
		ep->fatal = true;
		return -1;
	}
	ep->loaded = true;
	return 0;
}

int bwk_endpoint_curl(bwk_endpoint *ep, const char *path, char *errbuf, CURL **out, bwk_error **err)
{
	*out = NULL;
	if (ep->tls && load_tls(ep, err) < 0)
		return -1;
	cleanup_with(curl_easy_cleanupp) CURL *c = curl_easy_init();
	if (!c)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "engine %s: cannot create a curl handle",
				     ep->host);
	cleanup_free char *url = xasprintf("%s%s", ep->base_url, path);
	errbuf[0] = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* never follow the engine elsewhere, never another scheme */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, ep->tls ? "https" : "http");
	if (ep->socket_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->socket_path);
	if (ep->tls) {
		/* the engine's CA only: no system roots, no default bundle */
		struct curl_blob ca = {ep->ca.data, ep->ca.len, CURL_BLOB_NOCOPY};
		struct curl_blob cert = {ep->cert.data, ep->cert.len, CURL_BLOB_NOCOPY};
		struct curl_blob key = {ep->key.data, ep->key.len, CURL_BLOB_NOCOPY};
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
		if (curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key) != CURLE_OK) {
			ep->fatal = true;
			return bwk_error_set(
			    err, BWK_E_UNSUPPORTED, 0,
			    "engine %s: this libcurl cannot take certificates from "
			    "memory (libcurl4 with OpenSSL, 7.77 or later, can)",
			    ep->host);
		}
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	*out = steal_pointer(&c);
	return 0;
}

char *bwk_endpoint_explain(bwk_endpoint *ep, CURL *c, CURLcode rc, const char *errbuf)
{
	const char *why = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		ep->fatal = true;
		return xasprintf("the engine's certificate did not verify against %s (%s): check "
				 "DOCKER_CERT_PATH and that the endpoint's name is in the "
				 "certificate",
				 ep->ca.path, why);
	case CURLE_SSL_CERTPROBLEM:
		ep->fatal = true;
		return xasprintf("the client certificate %s or its key %s is not usable (%s)",
				 ep->cert.path, ep->key.path, why);
	case CURLE_SSL_CACERT_BADFILE:
		ep->fatal = true;
		return xasprintf("%s is not a usable CA certificate (%s)", ep->ca.path, why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED: {
		if (!ep->tls)
			break;
		long hdr = 0;
		if (c && curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &hdr) == CURLE_OK && hdr > 0)
			break; /* the engine had answered: a transfer cut short, not the setup */
		ep->fatal = true;
		if (strstr(why, "wrong version number") || strstr(why, "packet length"))
			return xasprintf("TLS handshake failed (%s): the endpoint does not seem "
					 "to speak TLS; unset DOCKER_TLS_VERIFY if it is plain "
					 "HTTP (and audit it: that is root for anyone reaching it)",
					 why);
		/* Go's engine checks the client certificate after the handshake has completed
		 * for the client (TLS 1.3): the refusal is an alert, or just a reset, on the
		 * first read or write */
		if (rc != CURLE_SSL_CIPHER && rc != CURLE_SSL_ENGINE_INITFAILED)
			return xasprintf(
			    "the engine dropped the connection during TLS setup (%s): "
			    "most likely it refused the client certificate %s, which "
			    "must be signed by the CA that dockerd's --tlscacert names",
			    why, ep->cert.path);
		return xasprintf("TLS handshake failed (%s)", why);
	}
	default:
		break;
	}
	if (rc == CURLE_COULDNT_CONNECT && ep->socket_path) {
		/* curl names "localhost port 80" here: say what is wrong with the socket */
		const char *what = access(ep->socket_path, F_OK) ? "no socket there"
				   : access(ep->socket_path, R_OK | W_OK)
				       ? "permission denied (root or the docker group may use it)"
				       : "nothing accepts connections on it";
		return xasprintf("cannot talk to the engine at %s: %s (is dockerd running? set "
				 "DOCKER_HOST or %s)",
				 ep->socket_path, what, bwk_setting("host", "an engine address"));
	}
	return xasprintf("cannot talk to the engine: %s (is dockerd running? set DOCKER_HOST or "
			 "%s)",
			 why, bwk_setting("host", "an engine address"));
}

char *bwk_endpoint_explain_status(bwk_endpoint *ep, long status, const char *body)
{
	/* Go's TLS server answers a plain HTTP request with this 400 */
	if (ep->tls || status != 400 || !body || !strstr(body, "HTTPS server"))
		return NULL;
	ep->fatal = true;
	size_t n = strcspn(body, "\r\n");
	return xasprintf("the endpoint speaks TLS only: set DOCKER_TLS_VERIFY=1 "
			 "and DOCKER_CERT_PATH to a directory with ca.pem, cert.pem and key.pem "
			 "(the engine answered: HTTP %ld: %.*s)",
			 status, (int)(n > 100 ? 100 : n), body);
}
