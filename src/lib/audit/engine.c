/* A small Docker Engine API client (libcurl): GET with a size cap over the endpoint that
 * core/engine_client.h picks and secures (unix socket, TCP, TLS with client certificates), and
 * a raw TCP probe that asks a configured listener whether it answers the API without
 * authentication. */
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
	e->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 5000;
	if (bwk_endpoint_open(o ? o->host : NULL, &e->ep, err) < 0)
		return -1;
	e->host = e->ep.host;
	e->socket_path = e->ep.socket_path;
	return 0;
}

void aud_engine_close(aud_engine *e)
{
	bwk_endpoint_close(&e->ep);
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

int aud_engine_get_json(aud_engine *e, const char *path, json_t **out, bwk_error **err)
{
	char errbuf[CURL_ERROR_SIZE];
	cleanup_with(curl_easy_cleanupp) CURL *c = NULL;
	if (bwk_endpoint_curl(&e->ep, path, errbuf, &c, err) < 0)
		return -1;
	body b;
	bwk_strbuf_init(&b.sb, MAX_BODY);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		bool big = b.sb.truncated;
		bwk_strbuf_free(&b.sb);
		if (big)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "engine %s: GET %s: response over %zu bytes", e->host,
					     path, MAX_BODY);
		cleanup_free char *why = bwk_endpoint_explain(&e->ep, c, rc, errbuf);
		return bwk_error_set(err, BWK_E_IO, 0, "engine %s: GET %s: %s", e->host, path, why);
	}
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	cleanup_free char *text = bwk_strbuf_steal(&b.sb);
	if (code != 200) {
		cleanup_free char *tls = bwk_endpoint_explain_status(&e->ep, code, text);
		if (tls)
			return bwk_error_set(err, BWK_E_INPUT, 0, "engine %s: GET %s: %s", e->host,
					     path, tls);
		int tl = (int)strcspn(text, "\r\n"); /* one line, bounded */
		return bwk_error_set(err, code == 404 ? BWK_E_NOTFOUND : BWK_E_IO, 0,
				     "engine %s: GET %s: HTTP %ld: %.*s", e->host, path, code,
				     tl > 200 ? 200 : tl, text);
	}
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

BWK_DEFINE_CLEANUP(struct addrinfo *, freeaddrinfo)

int aud_engine_probe_tcp(const char *addr, int port, int timeout_ms, char **detail)
{
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	cleanup_with(freeaddrinfop) struct addrinfo *res = NULL;
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
	/* Go's TLS server answers plain HTTP with a 400 that says so; others just close */
	bool tls_only = http && strstr(buf, "HTTPS server");
	if (docker)
		*detail = xasprintf("%s:%d answered GET /_ping without authentication", addr, port);
	else if (tls_only)
		*detail = xasprintf("%s:%d speaks TLS only (it refused a plain HTTP request)", addr,
				    port);
	else
		*detail =
		    xasprintf("%s:%d accepted a connection but %s", addr, port,
			      http ? "did not answer as the Docker API"
				   : "did not answer plain HTTP (TLS only, or not an engine)");
	return docker ? 1 : 0;
}
