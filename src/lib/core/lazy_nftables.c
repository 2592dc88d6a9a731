/* libnftables, loaded on first use (see lazy.h): only `run` with a bridge network (as root)
 * needs it, to add and remove the container's NAT table. */
#include <nftables/libnftables.h>

#include "core/lazy.h"

BWK_LAZY_LIB(nft_lib, BWK_SONAME_NFTABLES, BWK_PKG_NFTABLES)

BWK_LAZY_FN(nft_lib, struct nft_ctx *, nft_ctx_new, (uint32_t flags), (flags))
BWK_LAZY_VOID(nft_lib, nft_ctx_free, (struct nft_ctx * ctx), (ctx))
BWK_LAZY_FN(nft_lib, int, nft_ctx_buffer_error, (struct nft_ctx * ctx), (ctx))
BWK_LAZY_FN(nft_lib, int, nft_ctx_buffer_output, (struct nft_ctx * ctx), (ctx))
BWK_LAZY_FN(nft_lib, const char *, nft_ctx_get_error_buffer, (struct nft_ctx * ctx), (ctx))
BWK_LAZY_FN(nft_lib, const char *, nft_ctx_get_output_buffer, (struct nft_ctx * ctx), (ctx))
BWK_LAZY_FN(nft_lib, int, nft_run_cmd_from_buffer, (struct nft_ctx * nft, const char *buf),
	    (nft, buf))
