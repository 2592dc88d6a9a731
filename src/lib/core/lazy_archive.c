/* libarchive, loaded on first use (see lazy.h): only the image readers need it, and linking
 * it drags libxml2, libicu, nettle, liblzma, liblz4, libbz2 and libacl into every process. */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/lazy.h"

BWK_LAZY_LIB(archive_lib, BWK_SONAME_ARCHIVE, BWK_PKG_ARCHIVE)

BWK_LAZY_FN(archive_lib, struct archive *, archive_read_new, (void), ())
BWK_LAZY_FN(archive_lib, int, archive_read_free, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_filter_bzip2, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_filter_gzip, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_filter_xz, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_filter_zstd, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_format_empty, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_format_raw, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_format_tar, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_format_zip_streamable, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_support_format_zip_seekable, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_read_open_memory,
	    (struct archive * a, const void *buf, size_t size), (a, buf, size))
BWK_LAZY_FN(archive_lib, int, archive_read_open,
	    (struct archive * a, void *ud, archive_open_callback *o, archive_read_callback *r,
	     archive_close_callback *c),
	    (a, ud, o, r, c))
BWK_LAZY_FN(archive_lib, int, archive_read_open2,
	    (struct archive * a, void *ud, archive_open_callback *o, archive_read_callback *r,
	     archive_skip_callback *s, archive_close_callback *c),
	    (a, ud, o, r, s, c))
BWK_LAZY_FN(archive_lib, int, archive_read_open_fd, (struct archive * a, int fd, size_t block),
	    (a, fd, block))
BWK_LAZY_FN(archive_lib, int, archive_read_next_header,
	    (struct archive * a, struct archive_entry **e), (a, e))
BWK_LAZY_FN(archive_lib, la_ssize_t, archive_read_data, (struct archive * a, void *buf, size_t n),
	    (a, buf, n))
BWK_LAZY_FN(archive_lib, int, archive_read_data_block,
	    (struct archive * a, const void **buf, size_t *n, la_int64_t *off), (a, buf, n, off))
BWK_LAZY_FN(archive_lib, const char *, archive_error_string, (struct archive * a), (a))
BWK_LAZY_FN(archive_lib, int, archive_entry_sparse_reset, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, int, archive_entry_sparse_next,
	    (struct archive_entry * e, la_int64_t *off, la_int64_t *len), (e, off, len))

/* Variadic, so it cannot be forwarded as is: the message is formatted here and handed over
 * with a constant "%s", which leaves archive_error_string's result unchanged. */
void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	typedef void set_error_fn(struct archive *, int, const char *, ...);
	static set_error_fn *fn;
	set_error_fn *f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		*(void **)&f = bwk_lazy_sym(&archive_lib, "archive_set_error");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!fmt) {
		f(a, err, NULL);
		return;
	}
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	f(a, err, "%s", msg);
}

BWK_LAZY_FN(archive_lib, const char *, archive_entry_pathname, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, const char *, archive_entry_hardlink, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, const char *, archive_entry_symlink, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, __LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, __LA_MODE_T, archive_entry_mode, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, la_int64_t, archive_entry_size, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, int, archive_entry_size_is_set, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, la_int64_t, archive_entry_uid, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, la_int64_t, archive_entry_gid, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, time_t, archive_entry_mtime, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, dev_t, archive_entry_rdevmajor, (struct archive_entry * e), (e))
BWK_LAZY_FN(archive_lib, dev_t, archive_entry_rdevminor, (struct archive_entry * e), (e))
