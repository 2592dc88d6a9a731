/* PCRE2 (8-bit), loaded on first use (see lazy.h): only the secret scanner needs it. The
 * header's pcre2_* names are macros for the _8 symbols, which are what is defined here. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/lazy.h"

BWK_LAZY_LIB(pcre2_lib, BWK_SONAME_PCRE2, BWK_PKG_PCRE2)

BWK_LAZY_FN(pcre2_lib, pcre2_code_8 *, pcre2_compile_8,
	    (PCRE2_SPTR8 pat, PCRE2_SIZE len, uint32_t opts, int *errcode, PCRE2_SIZE *erroff,
	     pcre2_compile_context_8 *cc),
	    (pat, len, opts, errcode, erroff, cc))
BWK_LAZY_VOID(pcre2_lib, pcre2_code_free_8, (pcre2_code_8 * c), (c))
BWK_LAZY_FN(pcre2_lib, int, pcre2_jit_compile_8, (pcre2_code_8 * c, uint32_t opts), (c, opts))
BWK_LAZY_FN(pcre2_lib, int, pcre2_pattern_info_8, (const pcre2_code_8 *c, uint32_t what, void *w),
	    (c, what, w))
BWK_LAZY_FN(pcre2_lib, pcre2_compile_context_8 *, pcre2_compile_context_create_8,
	    (pcre2_general_context_8 * g), (g))
BWK_LAZY_VOID(pcre2_lib, pcre2_compile_context_free_8, (pcre2_compile_context_8 * cc), (cc))
BWK_LAZY_FN(pcre2_lib, int, pcre2_set_newline_8, (pcre2_compile_context_8 * cc, uint32_t nl),
	    (cc, nl))
BWK_LAZY_FN(pcre2_lib, pcre2_match_context_8 *, pcre2_match_context_create_8,
	    (pcre2_general_context_8 * g), (g))
BWK_LAZY_VOID(pcre2_lib, pcre2_match_context_free_8, (pcre2_match_context_8 * mc), (mc))
BWK_LAZY_FN(pcre2_lib, int, pcre2_set_match_limit_8, (pcre2_match_context_8 * mc, uint32_t v),
	    (mc, v))
BWK_LAZY_FN(pcre2_lib, int, pcre2_set_depth_limit_8, (pcre2_match_context_8 * mc, uint32_t v),
	    (mc, v))
BWK_LAZY_FN(pcre2_lib, pcre2_match_data_8 *, pcre2_match_data_create_8,
	    (uint32_t n, pcre2_general_context_8 *g), (n, g))
BWK_LAZY_VOID(pcre2_lib, pcre2_match_data_free_8, (pcre2_match_data_8 * md), (md))
BWK_LAZY_FN(pcre2_lib, PCRE2_SIZE *, pcre2_get_ovector_pointer_8, (pcre2_match_data_8 * md), (md))
BWK_LAZY_FN(pcre2_lib, int, pcre2_match_8,
	    (const pcre2_code_8 *c, PCRE2_SPTR8 subj, PCRE2_SIZE len, PCRE2_SIZE start,
	     uint32_t opts, pcre2_match_data_8 *md, pcre2_match_context_8 *mc),
	    (c, subj, len, start, opts, md, mc))
BWK_LAZY_FN(pcre2_lib, int, pcre2_get_error_message_8,
	    (int code, PCRE2_UCHAR8 *buf, PCRE2_SIZE len), (code, buf, len))
