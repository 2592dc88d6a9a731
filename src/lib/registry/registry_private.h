/* Private to src/lib/registry: the client's pieces (parsers, HTTP, credentials). */
#ifndef BWK_REGISTRY_PRIVATE_H
#define BWK_REGISTRY_PRIVATE_H
#ifndef BWK_IN_REGISTRY
#error "registry_private.h is private to src/lib/registry"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/registry.h"
#include "core/util.h"

#define REG_MAX_DESCS 1000 /* layers of a manifest, entries of an index */
#define REG_MAX_BLOB  (64ULL << 30)

#define MT_OCI_INDEX	   "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	   "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST	   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

/* ---- WWW-Authenticate (auth.c) ------------------------------------------------------------ */
typedef enum reg_scheme { REG_AUTH_NONE = 0, REG_AUTH_BASIC, REG_AUTH_BEARER } reg_scheme;
typedef struct reg_challenge {
	reg_scheme scheme;
	char *realm, *service, *scope; /* NULL when absent */
} reg_challenge;
/* Parse one header value (RFC 7235 auth-params, quoted strings with \-escapes). The first
 * Bearer or Basic challenge wins. BWK_E_INPUT/BWK_E_LIMIT on malformed or overlong input. */
int reg_challenge_parse(const char *s, size_t len, reg_challenge *out, bwk_error **err);
void reg_challenge_free(reg_challenge *c);

/* The "token" (or "access_token") of a token endpoint's JSON answer (caller frees). */
int reg_token_parse(const char *body, size_t len, char **token, bwk_error **err);

/* ---- credentials (creds.c) ---------------------------------------------------------------- */
typedef struct reg_creds {
	char *username, *secret; /* secret: password or identity token; wiped on free */
	bool identity_token;	 /* secret is an OAuth refresh token (docker login --oauth) */
} reg_creds;
/* Credentials for `registry` from o (username/password) or the docker config: auths[host],
 * credHelpers[host] or credsStore through docker-credential-NAME get. 0 with empty creds
 * when there are none. */
int reg_creds_lookup(const bwk_registry_opts *o, const char *registry, reg_creds *out,
		     bwk_error **err);
/* The same on a config.json already in memory (fuzzing, tests); helpers are not run. */
int reg_creds_from_config(const char *json, size_t len, const char *registry, reg_creds *out,
			  char **helper, bwk_error **err);
void reg_creds_free(reg_creds *c);

/* ---- manifests (manifest.c) --------------------------------------------------------------- */
typedef struct reg_desc {
	char *media_type, *digest;
	uint64_t size;
	char *os, *arch, *variant; /* index entries */
} reg_desc;
typedef struct reg_manifest {
	bool is_index;
	char *media_type;
	reg_desc config; /* manifests */
	reg_desc *descs; /* layers (manifest) or manifests (index) */
	size_t ndescs;
} reg_manifest;
/* Parse a manifest or index; content_type (may be NULL) is the response's Content-Type,
 * used when the document has no mediaType. Schema 1 and unknown types: BWK_E_UNSUPPORTED. */
int reg_manifest_parse(const char *body, size_t len, const char *content_type, reg_manifest *out,
		       bwk_error **err);
void reg_manifest_free(reg_manifest *m);
/* The index entry for platform "os/arch[/variant]" (NULL: linux/host arch), or NULL. */
const reg_desc *reg_index_select(const reg_manifest *idx, const char *platform);
/* The host's platform as "linux/GOARCH" (static string). */
const char *reg_host_platform(void);
/* "sha256:" + 64 lowercase hex. */
bool reg_digest_valid(const char *d);

/* ---- the HTTP client (client.c) ----------------------------------------------------------- */
typedef struct reg_client reg_client;

typedef struct reg_resp {
	long status;
	char *body; /* NUL-terminated, at most the request's bound (NULL when streamed) */
	size_t len;
	char *content_type, *digest, *location, *www_auth, *api_version, *server;
	long retry_after;
} reg_resp;
void reg_resp_free(reg_resp *r);

/* The run's manifest cache (mcache.c, bwk_registry_manifest_cache): keep a copy of a fetched
 * manifest under registry, repo and reference (NULL mc: nothing), and take one back if it is at
 * most `max` bytes (1: *out and *digest filled, the entry gone; 0: none). */
void reg_mcache_put(bwk_registry_manifest_cache *mc, const char *registry, const char *repo,
		    const char *reference, const reg_resp *r, const char *digest);
int reg_mcache_take(bwk_registry_manifest_cache *mc, const char *registry, const char *repo,
		    const char *reference, size_t max, reg_resp *out, char **digest);

/* Where a streamed body goes: called with each chunk of a 2xx body; return <0 to abort. */
typedef int (*reg_sink_fn)(void *ctx, const void *data, size_t len);

typedef struct reg_req {
	const char *method; /* "GET" (default), "HEAD", "POST", "DELETE" */
	const char *path;   /* "/v2/…" or an absolute URL (upload locations) */
	const char *accept;
	size_t max_body;  /* bound on the buffered body (0: BWK_REG_MAX_JSON) */
	reg_sink_fn sink; /* stream a 2xx body here instead of buffering it */
	void *sink_ctx;
	bool blob;	     /* long download: stall limit instead of a total timeout */
	bool no_auth;	     /* never authenticate (audit probes of anonymous access) */
	const char *scope;   /* token scope, e.g. "repository:foo:pull" */
	const char *body;    /* POST: an x-www-form-urlencoded body (NULL: empty) */
	const int *cancel;   /* blob downloads: set (atomically) to abort the transfer */
	uint64_t range_from; /* > 0: ask for the bytes from this offset on (Range: N-) */
	long *sink_status;   /* set to the response's status before the sink sees its bytes */
} reg_req;

/* A client for one registry host. `https`: false only when allowed (loopback, insecure
 * list) — reg_client_new decides and says why in the error otherwise. verify=false turns TLS
 * verification off (the audit's probes after reporting the problem). */
int reg_client_new(const char *registry, const bwk_registry_opts *o, reg_client **out,
		   bwk_error **err);
void reg_client_free(reg_client *c);
/* Force the scheme and verification (audit). */
void reg_client_set_transport(reg_client *c, bool https, bool verify);
/* Credentials to use (owned by the client from now on; NULL: anonymous). */
void reg_client_set_creds(reg_client *c, reg_creds *cr);
const char *reg_client_base(const reg_client *c);
/* The registry's host as the reference spells it (for messages). */
const char *reg_client_host(const reg_client *c);

/* The first contact that every request makes (which scheme the registry speaks), made now:
 * 0, or -1 with *err; *tls_refused tells a certificate that did not verify (--ca-cert) from
 * the other failures. */
int reg_client_ping(reg_client *c, bool *tls_refused, bwk_error **err);
/* A bare HEAD of /v2/ (audit): `verify` on or off; old_tls offers TLS 1.0/1.1 only. Returns 0
 * when an HTTP answer came (status in *status), else libcurl's code with its message in why. */
int reg_probe(reg_client *c, bool verify, bool old_tls, long *status, char *why, size_t whylen);
bool reg_client_https(const reg_client *c);
bool reg_client_verify(const reg_client *c);

/* One request with authentication (challenge → basic or token, once), retries on 429/5xx
 * with backoff honouring Retry-After, redirects (bounded), timeouts and body bounds. HTTP
 * error statuses are returned in resp, not as errors: the caller names the object. Returns
 * -1 only for transport failures (with curl's reason and what to do) and exceeded bounds. */
int reg_request(reg_client *c, const reg_req *rq, reg_resp *resp, bwk_error **err);

/* The one-line error for an HTTP status on `what` ("manifest library/alpine:3.19"). */
int reg_status_error(reg_client *c, const reg_resp *r, const char *what, bwk_error **err);

/* Manifest of repo at reference (tag or digest): fetched with every supported Accept type,
 * bounded, its digest checked (against `ref` when it is a digest, else against the
 * Docker-Content-Digest header when present). *digest_out: the computed digest. */
int reg_get_manifest(reg_client *c, const char *repo, const char *reference, reg_resp *resp,
		     char **digest_out, bwk_error **err);
/* The same bounded by `max`; verify=false leaves the digest check to the caller and returns
 * in *digest_out the digest the document is known by (the reference's, else the
 * Docker-Content-Digest header's), or NULL. */
int reg_get_manifest_ex(reg_client *c, const char *repo, const char *reference, size_t max,
			bool verify, reg_resp *resp, char **digest_out, bwk_error **err);

/* Stream blob `digest` of repo into fd (a file or a socket), never more than `size` bytes
 * (0: unknown); verify: check the digest and the size at the end (else the reader does). */
int reg_get_blob_fd(reg_client *c, const char *repo, const char *digest, uint64_t size, int fd,
		    bool verify, const int *cancel, bwk_error **err);

/* ---- images, streamed (the registry source of the image table) ----------------------------
 *
 * A reference resolved to one manifest (the platform's, out of an index), with a client that
 * reads its blobs as pull streams: nothing is stored on disk. */
typedef struct bwk_registry_image bwk_registry_image;

/* Resolve `ref`: credentials, manifest negotiation, platform selection, digests checked. */
int bwk_registry_image_open(const char *ref, const bwk_registry_opts *o, bwk_registry_image **out,
			    bwk_error **err);
void bwk_registry_image_close(bwk_registry_image *img);
/* The manifest as served (its bytes are what `digest` names) and its media type. */
const char *bwk_registry_image_manifest(const bwk_registry_image *img, size_t *len,
					const char **digest, const char **media_type);
/* "registry/repository:tag" (or @digest) as resolved, for messages and reports. */
const char *bwk_registry_image_name(const bwk_registry_image *img);

/* A blob of the image as a pull stream. Reading returns the bytes as they arrive; the end of
 * the stream (0) is returned only once the digest and the size (when size > 0) have been
 * checked, a mismatch is a BWK_E_INTEGRITY error instead. */
typedef struct bwk_registry_blob bwk_registry_blob;
int bwk_registry_blob_open(bwk_registry_image *img, const char *digest, uint64_t size,
			   bwk_registry_blob **out, bwk_error **err);
/* Up to len bytes: > 0, 0 at the verified end, -1 with *err on failure. */
long bwk_registry_blob_read(bwk_registry_blob *b, void *buf, size_t len, bwk_error **err);
/* Cancels an unfinished transfer. */
void bwk_registry_blob_close(bwk_registry_blob *b);
/* From another thread than the reader's: abort the transfer and make a read blocked on it (or
 * the next one) return at once, 0 or -1; the reader's results are then meaningless. The
 * close follows once the reader is done. */
void bwk_registry_blob_cancel(bwk_registry_blob *b);

/* A small blob (the config) whole, bounded by `max` bytes and verified. Caller frees. */
int bwk_registry_blob_get(bwk_registry_image *img, const char *digest, uint64_t size, size_t max,
			  char **data, size_t *len, bwk_error **err);

/* A blob stream on any client and repository; verify=false leaves the checks to the reader
 * (the image module's layer streams). `repo` and `name` are borrowed until the close. */
int reg_blob_open(reg_client *c, const char *repo, const char *name, const char *digest,
		  uint64_t size, bool verify, bwk_registry_blob **out, bwk_error **err);

/* ---- the blob cache of run and unpack (blobcache.c) ----------------------------------------
 * A directory of blobs named by their sha256 hex, each complete and verified; downloads in
 * progress or interrupted are HEX.partial and resume with a Range request. */
typedef struct reg_cache reg_cache;
/* `dir` must exist; max: bytes kept (0: BWK_REG_CACHE_MAX). */
int reg_cache_open(const char *dir, uint64_t max, reg_cache **out, bwk_error **err);
void reg_cache_free(reg_cache *c);
/* A cached blob opened for reading (marked used now and kept from this cache's trims), or -1. */
int reg_cache_open_blob(reg_cache *c, const char *digest);
/* A cached blob of at most `max` bytes, whole (caller frees): 1, or 0 when not cached. */
int reg_cache_read(reg_cache *c, const char *digest, size_t max, char **data, size_t *len);
/* Keep a document under the digest of its bytes (best effort, atomic). */
void reg_cache_put(reg_cache *c, const void *data, size_t len);
/* The blob `digest` of repo in the cache, downloaded (or resumed) and verified first when it
 * is not there yet; returns a read fd. A digest or size mismatch deletes the download and is
 * BWK_E_INTEGRITY; a transfer that fails keeps what arrived for the next call. */
int reg_cache_fetch(reg_cache *c, reg_client *cl, const char *repo, const char *digest,
		    uint64_t size, bwk_error **err);
/* Remove least recently used blobs that this cache's image does not use until the directory
 * holds at most its bound; returns the bytes left. */
uint64_t reg_cache_trim(reg_cache *c);

/* ---- a resolved image (image.c) ----------------------------------------------------------- */
const reg_manifest *reg_image_manifest(const bwk_registry_image *img);
reg_client *reg_image_client(bwk_registry_image *img);
const bwk_registry_ref *reg_image_ref(const bwk_registry_image *img);

#endif
