/* libyara, loaded on first use (see lazy.h): only the malware scan of `bulwark scan` needs it. */
#include <yara.h>

#include "core/lazy.h"

BWK_LAZY_LIB(yara_lib, BWK_SONAME_YARA, BWK_PKG_YARA)

BWK_LAZY_FN(yara_lib, int, yr_initialize, (void), ())
BWK_LAZY_FN(yara_lib, int, yr_finalize, (void), ())
BWK_LAZY_FN(yara_lib, int, yr_compiler_create, (YR_COMPILER * *c), (c))
BWK_LAZY_VOID(yara_lib, yr_compiler_destroy, (YR_COMPILER * c), (c))
BWK_LAZY_VOID(yara_lib, yr_compiler_set_callback,
	      (YR_COMPILER * c, YR_COMPILER_CALLBACK_FUNC cb, void *user), (c, cb, user))
BWK_LAZY_FN(yara_lib, int, yr_compiler_add_string,
	    (YR_COMPILER * c, const char *rules, const char *ns), (c, rules, ns))
BWK_LAZY_FN(yara_lib, int, yr_compiler_get_rules, (YR_COMPILER * c, YR_RULES **r), (c, r))
BWK_LAZY_FN(yara_lib, int, yr_rules_destroy, (YR_RULES * r), (r))
BWK_LAZY_FN(yara_lib, int, yr_scanner_create, (YR_RULES * r, YR_SCANNER **s), (r, s))
BWK_LAZY_VOID(yara_lib, yr_scanner_destroy, (YR_SCANNER * s), (s))
BWK_LAZY_VOID(yara_lib, yr_scanner_set_callback, (YR_SCANNER * s, YR_CALLBACK_FUNC cb, void *user),
	      (s, cb, user))
BWK_LAZY_VOID(yara_lib, yr_scanner_set_timeout, (YR_SCANNER * s, int timeout), (s, timeout))
BWK_LAZY_VOID(yara_lib, yr_scanner_set_flags, (YR_SCANNER * s, int flags), (s, flags))
BWK_LAZY_FN(yara_lib, int, yr_scanner_scan_mem, (YR_SCANNER * s, const uint8_t *buf, size_t len),
	    (s, buf, len))
BWK_LAZY_FN(yara_lib, int, yr_scanner_scan_mem_blocks,
	    (YR_SCANNER * s, YR_MEMORY_BLOCK_ITERATOR *it), (s, it))
BWK_LAZY_FN(yara_lib, int, yr_rules_save_stream, (YR_RULES * r, YR_STREAM *st), (r, st))
BWK_LAZY_FN(yara_lib, int, yr_rules_load_stream, (YR_STREAM * st, YR_RULES **r), (st, r))
BWK_LAZY_VOID(yara_lib, yr_compiler_set_include_callback,
	      (YR_COMPILER * c, YR_COMPILER_INCLUDE_CALLBACK_FUNC cb,
	       YR_COMPILER_INCLUDE_FREE_FUNC free_fn, void *user),
	      (c, cb, free_fn, user))
