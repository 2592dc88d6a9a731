/* A small Docker Engine API client (libcurl): GET with a size cap over the unix socket or TCP
 * (TLS with client certificates when DOCKER_TLS_VERIFY is set), and a raw TCP probe that asks
 * a configured listener whether it answers the API without authentication. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"

#define MAX_BODY ((size_t)32 << 20)

int aud_engine_open(const bwk_audit_opts *o, aud_engine *e, bwk_error **err)
{
	memset(e, 0, sizeof(*e));
	const char *host = o && o->host ? o->host : getenv("DOCKER_HOST");
	if (!host || !*host)
		host = "unix:///var/run/docker.sock";
	e->host = xstrdup(host);
	e->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 5000;
	if (!strncmp(host, "unix://", 7)) {
		e->socket_path = xstrdup(host + 7);
		e->base_url = xstrdup("http://localhost");
		return 0;
	}
	if (!strncmp(host, "tcp://", 6)) {
		const char *tv = getenv("DOCKER_TLS_VERIFY");
		e->tls = tv && *tv && strcmp(tv, "0");
		e->base_url = xasprintf("%s://%s", e->tls ? "https" : "http", host + 6);
		size_t n = strlen(e->base_url);
		if (n && e->base_url[n - 1] == '/')
			e->base_url[n - 1] = 0;
		const char *cp = getenv("DOCKER_CERT_PATH");
		const char *home = getenv("HOME");
		e->cert_dir = cp && *cp ? xstrdup(cp) : xasprintf("%s/.docker", home ? home : "");
		return 0;
	}
	aud_engine_close(e);
	return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
			     "engine endpoint '%s': only unix:// and tcp:// are supported", host);
}

void aud_engine_close(aud_engine *e)
{
	free(e->host);
	free(e->socket_path);
	free(e->base_url);
	free(e->cert_dir);
	memset(e, 0, sizeof(*e));
}

typedef struct body {
	bwk_strbuf sb;
} body;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	body *b = ud;
	bwk_strbuf_appendn(&b->sb, p, sz * n);
	return b->sb.truncated ? 0 : sz * n; /* 0 aborts the transfer */
}

static void curl_cleanupp(CURL **c)
{
	if (*c)
		curl_easy_cleanup(*c);
}

int aud_engine_get_json(aud_engine *e, const char *path, json_t **out, bwk_error **err)
{
	__attribute__((cleanup(curl_cleanupp))) CURL *c = curl_easy_init();
	if (!c)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "cannot create a curl handle");
	cleanup_free char *url = xasprintf("%s%s", e->base_url, path);
	body b;
	bwk_strbuf_init(&b.sb, MAX_BODY);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (e->socket_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (e->tls) {
		cleanup_free char *ca = xasprintf("%s/ca.pem", e->cert_dir);
		cleanup_free char *cert = xasprintf("%s/cert.pem", e->cert_dir);
		cleanup_free char *key = xasprintf("%s/key.pem", e->cert_dir);
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		bool big = b.sb.truncated;
		bwk_strbuf_free(&b.sb);
		if (big)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "engine %s: GET %s: response over %zu bytes", e->host,
					     path, MAX_BODY);
		return bwk_error_set(err, BWK_E_IO, 0,
				     "engine %s: GET %s: %s (is dockerd running? set --host or "
				     "DOCKER_HOST)",
				     e->host, path, curl_easy_strerror(rc));
	}
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	cleanup_free char *text = bwk_strbuf_steal(&b.sb);
	if (code != 200)
		return bwk_error_set(err, code == 404 ? BWK_E_NOTFOUND : BWK_E_IO, 0,
				     "engine %s: GET %s: HTTP %ld: %.200s", e->host, path, code,
				     text);
	json_error_t je;
	*out = json_loads(text, JSON_ALLOW_NUL, &je);
	if (!*out)
		return bwk_error_set(err, BWK_E_INPUT, 0, "engine %s: GET %s: invalid JSON: %s",
				     e->host, path, je.text);
	return 0;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void freeaddrinfop(struct addrinfo **a)
{
	if (*a)
		freeaddrinfo(*a);
}

int aud_engine_probe_tcp(const char *addr, int port, int timeout_ms, char **detail)
{
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	__attribute__((cleanup(freeaddrinfop))) struct addrinfo *res = NULL;
	if (getaddrinfo(addr, portbuf, &hints, &res) != 0 || !res) {
		*detail = xasprintf("%s:%d does not resolve", addr, port);
		return 0;
	}
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	cleanup_close int fd =
	    socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*detail = xasprintf("%s:%d: socket: %s", addr, port, strerror(errno));
		return 0;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		*detail = xasprintf("%s:%d did not accept a connection (%s)", addr, port,
				    strerror(errno));
		return 0;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&pfd, 1, (int)(ms_left(&deadline) > 0 ? ms_left(&deadline) : 0)) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		*detail = xasprintf("%s:%d did not accept a connection%s%s", addr, port,
				    soerr ? ": " : "", soerr ? strerror(soerr) : "");
		return 0;
	}
	static const char req[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		*detail = xasprintf("%s:%d accepted but closed the connection", addr, port);
		return 0;
	}
	char buf[4096];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		long left = ms_left(&deadline);
		pfd = (struct pollfd){.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			break;
		ssize_t r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	bool http = !strncmp(buf, "HTTP/1.", 7);
	bool docker = http && (strcasestr(buf, "\nApi-Version:") || strstr(buf, "\r\n\r\nOK"));
	if (docker)
		*detail = xasprintf("%s:%d answered GET /_ping without authentication", addr, port);
	else
		*detail = xasprintf("%s:%d accepted a connection but %s", addr, port,
				    http ? "did not answer as the Docker API"
					 : "did not answer plain HTTP (TLS?)");
	return docker ? 1 : 0;
}
