/* The Docker Engine API endpoint, chosen and secured the way the docker CLI does it, shared by
 * the two clients (audit of a live daemon, the docker:NAME image reader) so that both build
 * their curl handles one way:
 *
 *   --host / DOCKER_HOST   unix:///path (default /var/run/docker.sock) or tcp://host[:port]
 *   DOCKER_TLS_VERIFY      any non-empty value (as in the docker CLI, even "0"): tcp:// uses
 *                          TLS, verifies the engine against DOCKER_CERT_PATH/ca.pem only (not
 *                          the system roots) and its name, and presents cert.pem + key.pem
 *   DOCKER_CERT_PATH       default ~/.docker
 *
 * The three PEM files are untrusted input: regular files of at most 1 MiB, opened without
 * blocking, read once into memory and handed to libcurl from there (what was checked is what
 * is used); the key is wiped when the endpoint is closed and never appears in a message. */
#ifndef BWK_CORE_ENGINE_CLIENT_H
#define BWK_CORE_ENGINE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "bulwark/error.h"
#include "core/cleanup.h"

typedef struct bwk_pem {
	char *path;
	char *data;
	size_t len;
} bwk_pem;

typedef struct bwk_endpoint {
	char *host;	   /* as given: unix:///… or tcp://…, for messages and reports */
	char *socket_path; /* unix:// */
	char *base_url;	   /* http://localhost, http://h:p or https://h:p (no trailing /) */
	char *hostport;	   /* tcp://: "h:p" as given */
	bool tls;
	char *cert_dir;
	bwk_pem ca, cert, key; /* read on first use */
	bool loaded;
	/* The last failure is the user's setup (TLS material, TLS spoken on one side only),
	 * not an absent engine: callers that tolerate an absent engine must still fail. */
	bool fatal;
} bwk_endpoint;

/* host: NULL or "" for DOCKER_HOST, else the default socket. Nothing is read or contacted. */
int bwk_endpoint_open(const char *host, bwk_endpoint *ep, bwk_error **err);
void bwk_endpoint_close(bwk_endpoint *ep);

/* A curl handle for GET base_url + path (path already URL-escaped) over the endpoint's
 * transport with its TLS material; errbuf (CURL_ERROR_SIZE) receives curl's details. The
 * caller sets the write callback and timeouts. */
BWK_DEFINE_CLEANUP(CURL *, curl_easy_cleanup)
int bwk_endpoint_curl(bwk_endpoint *ep, const char *path, char *errbuf, CURL **out,
		      bwk_error **err);

/* Why the transfer on handle c failed, as a sentence saying what to do (caller frees). Sets
 * ep->fatal for TLS trouble. */
char *bwk_endpoint_explain(bwk_endpoint *ep, CURL *c, CURLcode rc, const char *errbuf);

/* An HTTP error status that means the engine speaks TLS and we did not: the sentence saying
 * so (caller frees), else NULL. Sets ep->fatal. */
char *bwk_endpoint_explain_status(bwk_endpoint *ep, long status, const char *body);

#endif
