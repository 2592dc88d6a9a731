/* zstd, loaded on first use (see lazy.h): only the layer reader needs it. */
#include <zstd.h>

#include "core/lazy.h"

BWK_LAZY_LIB(zstd_lib, BWK_SONAME_ZSTD, BWK_PKG_ZSTD)

BWK_LAZY_FN(zstd_lib, ZSTD_DStream *, ZSTD_createDStream, (void), ())
BWK_LAZY_FN(zstd_lib, size_t, ZSTD_freeDStream, (ZSTD_DStream * s), (s))
BWK_LAZY_FN(zstd_lib, size_t, ZSTD_initDStream, (ZSTD_DStream * s), (s))
BWK_LAZY_FN(zstd_lib, size_t, ZSTD_DCtx_setParameter, (ZSTD_DCtx * d, ZSTD_dParameter p, int v),
	    (d, p, v))
BWK_LAZY_FN(zstd_lib, size_t, ZSTD_decompressStream,
	    (ZSTD_DStream * s, ZSTD_outBuffer *out, ZSTD_inBuffer *in), (s, out, in))
BWK_LAZY_FN(zstd_lib, unsigned, ZSTD_isError, (size_t code), (code))
BWK_LAZY_FN(zstd_lib, const char *, ZSTD_getErrorName, (size_t code), (code))
