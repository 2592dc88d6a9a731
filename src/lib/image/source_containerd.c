/* Source "containerd": containerd:[NS/]NAME straight from containerd's content store, with no
 * export and no ctr.
 *
 * containerd keeps what it knows of images in a bbolt database, ROOT/io.containerd.metadata.
 * v1.bolt/meta.db (bucket v1 → NAMESPACE → images → NAME → target → digest, mediatype, size),
 * and their blobs as plain files named by digest, ROOT/io.containerd.content.v1.content/blobs/
 * sha256/HEX: an OCI layout's blob directory without its index.json. So the name is looked up
 * in the database (bolt.c, read without its lock: a consistent snapshot or a retry), and the
 * image is opened as an OCI layout whose root document is the target: the index, manifest,
 * config and every layer read by fd beneath the content directory and verified against their
 * digests as they stream, several layers at once.
 *
 * Which containerd: BULWARK_CONTAINERD_ROOT names its root directory outright; otherwise the
 * one listening on CONTAINERD_ADDRESS (ctr's variable; default /run/containerd/containerd.sock)
 * says where its root is through its command line (--root, or the `root` of its --config),
 * read through its own /proc/PID/root; with no containerd running, /etc/containerd/config.toml's
 * `root`, else /var/lib/containerd. The namespace is NS/ when NS is one of the store's
 * namespaces that holds NAME, else CONTAINERD_NAMESPACE (as ctr), else "default".
 *
 * A layer that containerd discarded after unpacking it into a snapshot (CRI's
 * discard_unpacked_layers) is not in the content store: the image cannot be read from it (nor
 * exported: `ctr images export` needs the same blobs), and the error says how to get it back. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "bulwark/registry.h"
#include "image/bolt.h"
#include "image/image_private.h"

#define NAME_MAX_LEN	    4096
#define NS_MAX_LEN	    76 /* containerd's identifiers.Validate */
#define CTD_CONFIG_MAX	    (256u << 10)
#define CTD_CMDLINE_MAX	    (64u << 10)
#define CTD_SNAPSHOT_TRIES  8
#define CTD_MAX_NAMESPACES  1000
#define CTD_DEFAULT_ROOT    "/var/lib/containerd"
#define CTD_DEFAULT_CONFIG  "/etc/containerd/config.toml"
#define CTD_DEFAULT_ADDRESS "/run/containerd/containerd.sock"
#define CTD_META_DB	    "io.containerd.metadata.v1.bolt/meta.db"
#define CTD_CONTENT	    "io.containerd.content.v1.content"

/* Where containerd's root is, and how it was found (for messages). */
typedef struct ctd_root {
	int fd;
	char *path, *how;
} ctd_root;

static void ctd_root_free(ctd_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r->how);
}

/* The pid of whoever listens on the unix socket `path` (connect, SO_PEERCRED, close: no
 * request is sent), or -errno (ENOENT, ECONNREFUSED: nobody; EACCES: not ours to ask). */
static pid_t socket_peer(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cleanup_close int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul) < 0)
		return -errno;
	return uc.pid > 0 ? uc.pid : -ESRCH;
}

/* Open `path` as the process whose /proc/PID/root is `proot` sees it (proot < 0: as we do). */
static int open_as(int proot, const char *path, int flags)
{
	if (proot >= 0 && path[0] == '/') {
		int fd = bwk_openat2(proot, path, (uint64_t)(flags | O_CLOEXEC), 0,
				     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		/* no openat2 (before 5.6, or filtered): its path as we see it, which is the
		 * same file unless containerd runs in a mount namespace of its own */
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != E2BIG))
			return fd;
	}
	return open(path, flags | O_CLOEXEC);
}

/* The top-level `root = "…"` of a containerd config (before its first [table]); NULL when
 * unset. Read bounded; only plain strings (no escapes) are taken. */
static int config_root(int proot, const char *cfg, char **out, bwk_error **err)
{
	*out = NULL;
	cleanup_close int fd = open_as(proot, cfg, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT
			   ? 0
			   : bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", cfg);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a regular file", cfg);
	/* only the top of the file matters: the key is before the first table */
	cleanup_free char *buf = xmalloc(CTD_CONFIG_MAX + 1);
	size_t len = 0;
	while (len < CTD_CONFIG_MAX) {
		ssize_t n = pread(fd, buf + len, CTD_CONFIG_MAX - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", cfg);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	for (char *line = buf, *next; line && line < buf + len; line = next) {
		next = memchr(line, '\n', (size_t)(buf + len - line));
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '[')
			break;
		if (strncmp(line, "root", 4) != 0)
			continue;
		char *p = line + 4;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		char q = *p;
		char *end = (q == '"' || q == '\'') ? strchr(p + 1, q) : NULL;
		if (!end || end == p + 1 ||
		    (q == '"' && memchr(p + 1, '\\', (size_t)(end - p - 1))))
			return bwk_error_set(
			    err, BWK_E_INPUT, 0,
			    "%s: its root is not a plain quoted path: set "
			    "BULWARK_CONTAINERD_ROOT to containerd's root directory",
			    cfg);
		*out = xstrndup(p + 1, (size_t)(end - p - 1));
		return 0;
	}
	return 0;
}

/* --root and --config of containerd's command line (pid), as written there. */
static void cmdline_opts(pid_t pid, char **root, char **cfg)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, CTD_CMDLINE_MAX, true, &buf, &len, NULL) < 0)
		return;
	for (size_t i = 0; i < len;) {
		const char *a = buf + i;
		size_t al = strlen(a);
		const char *v = i + al + 1 < len ? a + al + 1 : NULL;
		char **dst = NULL;
		if (!strcmp(a, "--root") || !strcmp(a, "-root"))
			dst = root;
		else if (!strcmp(a, "--config") || !strcmp(a, "-c") || !strcmp(a, "-config"))
			dst = cfg;
		else if (!strncmp(a, "--root=", 7))
			dst = root, v = a + 7;
		else if (!strncmp(a, "--config=", 9))
			dst = cfg, v = a + 9;
		if (dst && v && *v) {
			free(*dst);
			*dst = xstrdup(v);
		}
		i += al + 1;
	}
}

static int root_open(ctd_root *r, int proot, const char *path, char *how, bwk_error **err)
{
	r->path = xstrdup(path);
	r->how = how;
	r->fd = open_as(proot, path, O_RDONLY | O_DIRECTORY);
	if (r->fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "containerd's root %s (%s): cannot open%s", path, how,
				     errno == EACCES ? " (containerd's store is readable by root)"
						     : "");
	return 0;
}

/* Find containerd's root (see the top of this file). */
static int find_root(ctd_root *r, bwk_error **err)
{
	const char *env = getenv("BULWARK_CONTAINERD_ROOT");
	if (env && *env)
		return root_open(r, -1, env, xstrdup("BULWARK_CONTAINERD_ROOT"), err);
	const char *addr = getenv("CONTAINERD_ADDRESS");
	if (!addr || !*addr)
		addr = CTD_DEFAULT_ADDRESS;
	if (!strncmp(addr, "unix://", 7))
		addr += 7;
	pid_t pid = addr[0] == '/' ? socket_peer(addr) : -ENOENT;
	/* a containerd we may not even talk to keeps a store we may not read: say so rather
	 * than guess at a default root */
	if (pid == -EACCES || pid == -EPERM)
		return bwk_error_set(
		    err, BWK_E_IO, -pid,
		    "the containerd socket %s: permission denied: containerd's "
		    "store is root's; run as root, or set BULWARK_CONTAINERD_ROOT to a "
		    "copy of its root that you can read",
		    addr);
	cleanup_free char *root = NULL, *cfg = NULL;
	cleanup_close int proot = -1;
	if (pid > 0) {
		char pr[64];
		snprintf(pr, sizeof(pr), "/proc/%d/root", (int)pid);
		proot = open(pr, O_PATH | O_DIRECTORY | O_CLOEXEC);
		cmdline_opts(pid, &root, &cfg);
		if (root)
			return root_open(r, proot, root,
					 xasprintf("--root of the containerd at %s", addr), err);
	}
	const char *c = cfg ? cfg : CTD_DEFAULT_CONFIG;
	if (config_root(proot, c, &root, err) < 0)
		return -1;
	if (root)
		return root_open(
		    r, proot, root,
		    pid > 0 ? xasprintf("root in %s, the config of the containerd at %s", c, addr)
			    : xasprintf("root in %s", c),
		    err);
	return root_open(r, proot, CTD_DEFAULT_ROOT,
			 pid > 0 ? xasprintf("the default root of the containerd at %s", addr)
				 : xstrdup("the default root; no containerd is listening"),
			 err);
}

/* containerd's identifiers.Validate: [A-Za-z0-9]+ joined by single '.', '_' or '-'. */
static bool ns_valid(const char *s, size_t n)
{
	if (n == 0 || n > NS_MAX_LEN || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 1; i < n; i++) {
		bool sep = s[i] == '.' || s[i] == '_' || s[i] == '-';
		if (!(isalnum((unsigned char)s[i]) || (sep && isalnum((unsigned char)s[i - 1]))))
			return false;
	}
	return true;
}

typedef struct ctd_target {
	char *ns, *name, *digest;
} ctd_target;

static void ctd_target_free(ctd_target *t)
{
	free(t->ns);
	free(t->name);
	free(t->digest);
	memset(t, 0, sizeof(*t));
}

/* A plain key of a bucket as a string (NULL: absent). */
static int get_string(bolt_db *db, const bolt_bucket *b, const char *key, char **out,
		      bwk_error **err)
{
	size_t vl;
	bool isb;
	*out = NULL;
	int r = bolt_get(db, b, key, strlen(key), out, &vl, &isb, err);
	if (r > 0 && (isb || strlen(*out) != vl)) {
		free(*out);
		*out = NULL;
	}
	return r < 0 ? -1 : 0;
}

/* NAME in namespace NS: 1 found (t filled), 0 not there, -1 error. */
static int lookup(bolt_db *db, const bolt_bucket *v1, const char *ns, const char *name,
		  ctd_target *t, bwk_error **err)
{
	bolt_bucket nsb = {0}, images = {0}, img = {0}, target = {0};
	int r = bolt_bucket_get(db, v1, ns, &nsb, err);
	if (r > 0)
		r = bolt_bucket_get(db, &nsb, "images", &images, err);
	if (r > 0)
		r = bolt_bucket_get(db, &images, name, &img, err);
	if (r > 0)
		r = bolt_bucket_get(db, &img, "target", &target, err);
	if (r > 0) {
		/* the digest names the root document; what it is (index or manifest) is read
		 * from the document itself, verified, not taken from "mediatype" */
		r = get_string(db, &target, "digest", &t->digest, err) < 0 ? -1 : 1;
		t->ns = xstrdup(ns);
		t->name = xstrdup(name);
	}
	bolt_bucket_free(&nsb);
	bolt_bucket_free(&images);
	bolt_bucket_free(&img);
	bolt_bucket_free(&target);
	return r;
}

/* NAME as written, then as the docker CLI spells it in full ("alpine" is
 * docker.io/library/alpine:latest, the name ctr and nerdctl give it). */
static int lookup_name(bolt_db *db, const bolt_bucket *v1, const char *ns, const char *name,
		       ctd_target *t, bwk_error **err)
{
	int r = lookup(db, v1, ns, name, t, err);
	if (r != 0)
		return r;
	bwk_registry_ref ref;
	if (bwk_registry_ref_parse(name, &ref, NULL) < 0)
		return 0;
	cleanup_free char *full = bwk_registry_ref_string(&ref);
	bwk_registry_ref_free(&ref);
	return strcmp(full, name) ? lookup(db, v1, ns, full, t, err) : 0;
}

static int ns_list_cb(void *ctx, const unsigned char *key, size_t klen, bool is_bucket)
{
	if (is_bucket)
		bwk_strbuf_printf(ctx, "%s%.*s", ((bwk_strbuf *)ctx)->len ? ", " : "", (int)klen,
				  (const char *)key);
	return 0;
}

static int not_found(bolt_db *db, const bolt_bucket *v1, const char *arg, const char *ns,
		     const char *prefix_ns, bwk_error **err)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 512);
	if (v1->root || v1->page)
		(void)bolt_each(db, v1, CTD_MAX_NAMESPACES, ns_list_cb, &sb, NULL);
	cleanup_free char *list = bwk_strbuf_steal(&sb);
	cleanup_free char *also = prefix_ns ? xasprintf(" nor '%s' in namespace '%s'",
							arg + strlen(prefix_ns) + 1, prefix_ns)
					    : xstrdup("");
	return bwk_error_set(err, BWK_E_NOTFOUND, 0,
			     "image '%s' not found in containerd namespace '%s'%s (namespaces "
			     "in this store: %s): 'ctr -n NS images ls' lists the names; name "
			     "another namespace as containerd:NS/NAME or with "
			     "CONTAINERD_NAMESPACE",
			     arg, ns, also, list[0] ? list : "none");
}

/* Resolve [NS/]NAME in one snapshot of the database. */
static int resolve(bolt_db *db, const char *arg, ctd_target *t, bwk_error **err)
{
	bolt_bucket root, v1 = {0};
	bolt_root(db, &root);
	int r = bolt_bucket_get(db, &root, "v1", &v1, err);
	const char *ns = getenv("CONTAINERD_NAMESPACE");
	if (!ns || !*ns)
		ns = "default";
	cleanup_free char *pns = NULL;
	const char *slash = strchr(arg, '/');
	if (r > 0 && slash && slash[1] && ns_valid(arg, (size_t)(slash - arg))) {
		pns = xstrndup(arg, (size_t)(slash - arg));
		r = lookup_name(db, &v1, pns, slash + 1, t, err);
		if (r == 0) {
			bolt_bucket b = {0};
			r = bolt_bucket_get(db, &v1, pns, &b, err);
			bolt_bucket_free(&b);
			if (r == 0) { /* not a namespace: part of the name */
				free(pns);
				pns = NULL;
			}
			r = r < 0 ? -1 : 0;
		}
	} else if (r > 0) {
		r = 0;
	} else if (r == 0) { /* nothing written yet: no namespace at all */
		r = not_found(db, &v1, arg, ns, NULL, err);
	}
	if (r == 0)
		r = lookup_name(db, &v1, ns, arg, t, err);
	if (r == 0)
		r = not_found(db, &v1, arg, ns, pns, err);
	bolt_bucket_free(&v1);
	return r < 0 ? -1 : 0;
}

/* Resolve in a consistent snapshot: a write that committed while the tree was read (the
 * meta page moved on) may have reused pages we read; read again. */
static int resolve_snapshot(int dbfd, const char *what, const char *arg, ctd_target *t,
			    bwk_error **err)
{
	for (int i = 0; i < CTD_SNAPSHOT_TRIES; i++) {
		bolt_db *db = NULL;
		bwk_error *e = NULL;
		int r = bolt_open(dbfd, what, &db, &e);
		if (r == 0)
			r = resolve(db, arg, t, &e);
		/* no meta page at all is no race: both are never written at once */
		bool current = !db || bolt_snapshot_current(db);
		bolt_close(db);
		if (current || i + 1 == CTD_SNAPSHOT_TRIES) {
			if (r < 0) {
				*err = e;
				return -1;
			}
			if (current)
				return 0;
		}
		bwk_error_free(e);
		ctd_target_free(t);
		usleep(1000u << i);
	}
	return bwk_error_set(err, BWK_E_IO, 0,
			     "%s: changed by every one of %d reads: containerd is writing it "
			     "without pause; try again",
			     what, CTD_SNAPSHOT_TRIES);
}

static int open_beneath(int dirfd, const char *path, int flags)
{
	int fd = bwk_openat2(dirfd, path, (uint64_t)(flags | O_CLOEXEC | O_NOCTTY), 0,
			     RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
		fd = openat(dirfd, path, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	return fd;
}

/* Every layer blob is in the content store (before anything is scanned): a discarded one is
 * said with its remedy. */
static int check_layers(const bwk_image *img, const ctd_target *t, const ctd_root *root,
			bwk_error **err)
{
	for (size_t i = 0; i < img->nlayers; i++) {
		struct stat st;
		if (fstatat(img->src.dirfd, img->layers[i].blob, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    errno != ENOENT)
			continue;
		return bwk_error_set(
		    err, BWK_E_NOTFOUND, 0,
		    "layer %zu (%s) of '%s' is not in containerd's content store (%s/" CTD_CONTENT
		    "): containerd drops the layers it has unpacked into a snapshot when "
		    "discard_unpacked_layers is set; fetch them again with 'ctr -n %s content "
		    "fetch %s', or scan the image from its registry",
		    i + 1, img->layers[i].digest, t->name, root->path, t->ns, t->name);
	}
	return 0;
}

static int open_store(bwk_image *img, const char *arg, ctd_root *root, bwk_error **err)
{
	cleanup_close int dbfd = open_beneath(root->fd, CTD_META_DB, O_RDONLY | O_NONBLOCK);
	if (dbfd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "no containerd metadata at %s/" CTD_META_DB
				     " (%s)%s: set BULWARK_CONTAINERD_ROOT to containerd's root",
				     root->path, root->how,
				     errno == EACCES ? ": containerd's store is readable by root"
						     : "");
	struct stat st;
	if (fstat(dbfd, &st) < 0 || !S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s/" CTD_META_DB ": not a regular file",
				     root->path);
	cleanup_free char *what = xasprintf("containerd's metadata %s/" CTD_META_DB, root->path);
	ctd_target t = {0};
	if (resolve_snapshot(dbfd, what, arg, &t, err) < 0)
		return -1;
	int r = 0;
	if (!bwk_digest_valid(t.digest))
		r = bwk_error_set(err, BWK_E_INPUT, 0,
				  "image '%s' in namespace '%s': its target digest '%.80s' is not "
				  "sha256:<64 hex>",
				  t.name, t.ns, t.digest ? t.digest : "(none)");
	if (r == 0) {
		img->src.dirfd = open_beneath(root->fd, CTD_CONTENT, O_RDONLY | O_DIRECTORY);
		if (img->src.dirfd < 0)
			r = bwk_error_set(err, BWK_E_IO, errno, "%s/" CTD_CONTENT ": cannot open",
					  root->path);
	}
	cleanup_free char *blob = r == 0 ? xasprintf("blobs/sha256/%s", t.digest + 7) : NULL;
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (r == 0 && blob_src_read_all(&img->src, blob, BWK_MAX_JSON_SMALL, &buf, &len, err) < 0)
		r = bwk_error_wrap(err, "the target of '%s' in containerd's content store", t.name);
	if (r == 0)
		r = image_open_root_doc(img, buf, len, t.digest, err);
	if (r == 0)
		r = check_layers(img, &t, root, err);
	ctd_target_free(&t);
	return r;
}

static int containerd_open(bwk_image *img, const char *name, const char *refname, bwk_error **err)
{
	(void)refname;
	if (!*name || name[0] == '-' || strlen(name) > NAME_MAX_LEN)
		return bwk_error_set(err, BWK_E_USAGE, 0, "containerd:%.64s: not an image name",
				     name);
	ctd_root root = {.fd = -1};
	int r = find_root(&root, err);
	if (r == 0)
		r = open_store(img, name, &root, err);
	ctd_root_free(&root);
	return r < 0 ? bwk_error_wrap(err, "containerd:%s", name) : 0;
}

const image_source bwk_source_containerd = {
    .name = "containerd",
    .what = "an image of containerd's content store",
    .forms = SRC_NAME,
    .open = containerd_open,
};
