/* The source table: what an IMAGE argument is, decided once for every command.
 *
 * Sources as a table (libarchive's format table, Trivy's image sources): each row recognises
 * its input (a bid over the opened directory or file), opens it, and says how its layers are
 * read. An explicit prefix ("oci:", "docker-archive:" … as skopeo and Grype spell them)
 * selects a row and skips the guess; without one the highest bid wins. Adding a source is one
 * row below and one file (source_*.c). The rules are written down in bulwark/image.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "bulwark/registry.h"
#include "image/image_private.h"

/* Bid order decides ties: the docker view of a Docker 25 archive (manifest.json and
 * index.json) wins, as `docker load` reads it; "dir" bids lowest, it fits any directory. */
const image_source *const bwk_image_sources[] = {&bwk_source_docker_archive, &bwk_source_oci,
						 &bwk_source_oci_archive,    &bwk_source_dir,
						 &bwk_source_docker,	     &bwk_source_podman,
						 &bwk_source_containerd,     &bwk_source_registry,
						 &bwk_source_sbom,	     NULL};

static const image_source *source_by_prefix(const char *ref, size_t *len)
{
	const char *colon = strchr(ref, ':');
	if (!colon)
		return NULL;
	size_t n = (size_t)(colon - ref);
	for (const image_source *const *s = bwk_image_sources; *s; s++)
		if (strlen((*s)->name) == n && !strncmp((*s)->name, ref, n)) {
			*len = n + 1;
			return *s;
		}
	return NULL;
}

void source_ref_free(source_ref *r)
{
	free(r->arg);
	memset(r, 0, sizeof(*r));
}

int source_ref_parse(const char *ref, source_ref *out, bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	size_t skip = 0;
	out->prefix = source_by_prefix(ref, &skip);
	out->arg = xstrdup(ref + skip);
	if (!*out->arg) {
		source_ref_free(out);
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "%s: empty after the prefix (expected %.*sPATH or NAME)", ref,
				     (int)skip, ref);
	}
	if ((out->prefix && (out->prefix->forms & SRC_NAME)) || !strcmp(out->arg, "-"))
		return 0;
	/* PATH:REF, where REF may hold ':' itself (name:tag): the whole argument when it
	 * exists, else the shortest existing PATH */
	struct stat st;
	if (stat(out->arg, &st) == 0)
		return 0;
	for (char *c = strchr(out->arg + 1, ':'); c; c = strchr(c + 1, ':')) {
		*c = '\0';
		if (stat(out->arg, &st) == 0) {
			out->refname = c + 1;
			return 0;
		}
		*c = ':';
	}
	return 0;
}

/* stdin as an archive: spooled to an unlinked temporary file (the member index needs to
 * seek), bounded like a decompression; a redirected regular file is read in place. */
static int open_stdin(const bwk_image *img, bwk_error **err)
{
	struct stat st;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
		int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "stdin: dup");
		return fd;
	}
	if (isatty(0))
		return bwk_error_set(
		    err, BWK_E_USAGE, 0,
		    "-: stdin is a terminal (pipe an archive in: 'docker save NAME "
		    "| bulwark … -')");
	return bwk_decompress_to_tmp(
	    0, BWK_COMP_NONE, "stdin",
	    img->opts.max_total_bytes ? img->opts.max_total_bytes : BWK_DEFAULT_MAX_TOTAL, 0, err);
}

/* An explicit prefix still has to fit the form of what it names. */
static int check_form(const image_source *s, const char *path, bool is_dir, bwk_error **err)
{
	if (s->forms & (is_dir ? SRC_DIR : SRC_FILE | SRC_DOC))
		return 0;
	const char *hint = !strcmp(s->name, "oci") ? " (a tar of a layout is oci-archive:PATH)"
			   : !strcmp(s->name, "oci-archive") ? " (a layout directory is oci:PATH)"
							     : "";
	return bwk_error_set(err, BWK_E_USAGE, 0, "%s:%s: %s, but %s takes %s%s", s->name, path,
			     is_dir ? "a directory" : "a file", s->name, s->what, hint);
}

/* The SRC_DOC row that bids highest on the first bytes of fd; NULL: none (a tar, say). */
static const image_source *detect_doc(int fd)
{
	char head[65536];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n <= 0)
		return NULL;
	const image_source *best = NULL;
	int score = 0;
	for (const image_source *const *s = bwk_image_sources; *s; s++) {
		if (!(*s)->bid_doc)
			continue;
		int b = (*s)->bid_doc(head, (size_t)n);
		if (b > score) {
			score = b;
			best = *s;
		}
	}
	return best;
}

/* Open PATH (or stdin) into img->src: a directory as src.dirfd, a file (decompressed if
 * gzip/zstd) as src.tarfd with its member index. *is_dir says which. An explicit `prefix` is
 * checked against the form before anything is read. */
static int open_path(bwk_image *img, const image_source *prefix, const char *path, bool *is_dir,
		     const image_source **doc, bwk_error **err)
{
	cleanup_close int fd = -1;
	if (!strcmp(path, "-")) {
		fd = open_stdin(img, err);
		if (fd < 0)
			return -1;
	} else {
		/* O_NONBLOCK: IMAGE may be a FIFO, which must be refused, not waited on */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO,
					     errno, "%s: cannot open", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot stat", path);
	*is_dir = S_ISDIR(st.st_mode);
	if (prefix && (*is_dir || S_ISREG(st.st_mode)) &&
	    check_form(prefix, path, *is_dir, err) < 0)
		return -1;
	if (*is_dir) {
		img->src.dirfd = steal_fd(&fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not a regular file or directory (an image is a tar file "
				     "or a directory)",
				     path);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: fcntl", path);
	unsigned char head[8];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", path);
	bwk_comp c = bwk_sniff_comp(head, (size_t)n);
	if (c != BWK_COMP_NONE) {
		int t = bwk_decompress_to_tmp(
		    fd, c, path,
		    img->opts.max_total_bytes ? img->opts.max_total_bytes : BWK_DEFAULT_MAX_TOTAL,
		    img->opts.max_ratio ? img->opts.max_ratio : BWK_DEFAULT_MAX_RATIO, err);
		if (t < 0)
			return -1;
		close(fd);
		fd = t;
	}
	/* a document (an SBOM) is no tar: recognised, or named by its prefix, before indexing */
	*doc = prefix ? (prefix->forms & SRC_DOC ? prefix : NULL) : detect_doc(fd);
	if (*doc) {
		img->doc_fd = steal_fd(&fd);
		return 0;
	}
	if (tar_index_build(fd, path, &img->src.idx, err) < 0)
		return -1;
	img->src.tarfd = steal_fd(&fd);
	return 0;
}

const image_source *source_detect(const blob_src *src, bool is_dir)
{
	unsigned form = is_dir ? SRC_DIR : SRC_FILE;
	const image_source *best = NULL;
	int score = 0;
	for (const image_source *const *s = bwk_image_sources; *s; s++) {
		if (!(*s)->bid || !((*s)->forms & form))
			continue;
		int b = (*s)->bid(src);
		if (b > score) {
			score = b;
			best = *s;
		}
	}
	return best;
}

static int open_ref(bwk_image *img, const char *ref, bwk_error **err)
{
	source_ref sr;
	if (source_ref_parse(ref, &sr, err) < 0)
		return -1;
	const image_source *s = sr.prefix;
	int r;
	if (s && s->reserved) {
		r = bwk_error_set(err, BWK_E_UNSUPPORTED, 0, "%s: %s", ref, s->reserved);
	} else if (s && (s->forms & SRC_NAME)) {
		img->source = s;
		r = s->open(img, sr.arg, NULL, err);
	} else if (!s && !sr.refname && access(sr.arg, F_OK) < 0 && errno == ENOENT &&
		   bwk_registry_ref_is_explicit(sr.arg)) {
		/* no such path, but HOST.DOMAIN/REPO… or HOST:PORT/REPO…: a registry reference */
		img->source = &bwk_source_registry;
		r = img->source->open(img, sr.arg, NULL, err);
		if (r < 0)
			bwk_error_wrap(err, "%s (no such file: taken for a registry reference)",
				       sr.arg);
	} else {
		bool is_dir = false;
		const image_source *doc = NULL;
		r = open_path(img, s, sr.arg, &is_dir, &doc, err);
		if (r == 0 && doc)
			s = doc;
		if (r == 0 && !s && !(s = source_detect(&img->src, is_dir)))
			r = bwk_error_set(
			    err, BWK_E_INPUT, 0,
			    "%s: not an image (expected a docker save archive, an OCI "
			    "layout directory or tar, or docker:NAME)",
			    sr.arg);
		if (r == 0) {
			img->source = s;
			r = s->open(img, sr.arg, sr.refname, err);
			if (r < 0)
				bwk_error_wrap(err, "%s", sr.arg);
		}
	}
	source_ref_free(&sr);
	return r;
}

uint64_t bwk_image_size_hint(const char *ref, const bwk_image_opts *opts)
{
	static const bwk_image_opts defaults = {0};
	if (!opts)
		opts = &defaults;
	source_ref sr;
	bwk_error *e = NULL;
	if (source_ref_parse(ref, &sr, &e) < 0) {
		bwk_error_free(e);
		return 0;
	}
	/* the same decision as open_ref: a name for its row, else a path */
	const image_source *s = sr.prefix;
	uint64_t size = 0;
	struct stat st;
	if (s && s->reserved) {
		size = 0;
	} else if (s && (s->forms & SRC_NAME)) {
		size = s->size ? s->size(sr.arg, opts) : 0;
	} else if (!s && !sr.refname && access(sr.arg, F_OK) < 0 && errno == ENOENT &&
		   bwk_registry_ref_is_explicit(sr.arg)) {
		size = bwk_source_registry.size(sr.arg, opts);
	} else if (strcmp(sr.arg, "-") != 0 && stat(sr.arg, &st) == 0 && S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	}
	source_ref_free(&sr);
	return size;
}

int bwk_image_open(const char *ref, const bwk_image_opts *opts, bwk_image **out, bwk_error **err)
{
	*out = NULL;
	bwk_image *img = xcalloc(1, sizeof(*img));
	img->ref = xstrdup(ref);
	if (opts)
		img->opts = *opts;
	img->src.dirfd = img->src.tarfd = img->rootfs_fd = img->doc_fd = -1;
	int r = open_ref(img, ref, err);
	if (r == 0 && img->rootfs_fd >= 0 && !img->opts.accept_rootfs)
		r = bwk_error_set(err, BWK_E_INPUT, 0,
				  "%s: a root filesystem directory (source dir), not an image: "
				  "this needs a docker save archive, an OCI layout (a directory "
				  "with oci-layout, or index.json and blobs/) or docker:NAME",
				  ref);
	if (r == 0 && img->doc_fd >= 0 && !img->opts.accept_document)
		r = bwk_error_set(err, BWK_E_INPUT, 0,
				  "%s: %s (source %s), not an image: bulwark scan reads it", ref,
				  img->source->what, img->source->name);
	if (r < 0) {
		bwk_image_close(img);
		return -1;
	}
	*out = img;
	return 0;
}

const char *bwk_image_source(const bwk_image *img)
{
	return img->source ? img->source->name : "?";
}

int bwk_image_rootfs_fd(const bwk_image *img)
{
	return img->rootfs_fd;
}

int bwk_image_document_fd(const bwk_image *img)
{
	return img->doc_fd;
}
