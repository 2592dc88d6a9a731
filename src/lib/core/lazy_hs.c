/* Hyperscan, loaded on first use (see lazy.h): only the secret scanner needs it, and it drags
 * libstdc++ into every process. */
#include <hs/hs.h>

#include "core/lazy.h"

BWK_LAZY_LIB(hs_lib, BWK_SONAME_HS, BWK_PKG_HS)

BWK_LAZY_FN(hs_lib, hs_error_t, hs_compile_multi,
	    (const char *const *exprs, const unsigned int *flags, const unsigned int *ids,
	     unsigned int n, unsigned int mode, const hs_platform_info_t *platform,
	     hs_database_t **db, hs_compile_error_t **err),
	    (exprs, flags, ids, n, mode, platform, db, err))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_free_compile_error, (hs_compile_error_t * e), (e))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_free_database, (hs_database_t * db), (db))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_populate_platform, (hs_platform_info_t * p), (p))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_serialize_database,
	    (const hs_database_t *db, char **bytes, size_t *len), (db, bytes, len))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_deserialize_database,
	    (const char *bytes, const size_t len, hs_database_t **db), (bytes, len, db))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_alloc_scratch, (const hs_database_t *db, hs_scratch_t **s),
	    (db, s))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_free_scratch, (hs_scratch_t * s), (s))
BWK_LAZY_FN(hs_lib, hs_error_t, hs_scan,
	    (const hs_database_t *db, const char *data, unsigned int len, unsigned int flags,
	     hs_scratch_t *s, match_event_handler cb, void *ctx),
	    (db, data, len, flags, s, cb, ctx))
BWK_LAZY_FN(hs_lib, const char *, hs_version, (void), ())
