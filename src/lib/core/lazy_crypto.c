/* OpenSSL's libcrypto, loaded on first use (see lazy.h): only digests (layer and config
 * integrity, caches) need it. */
#include <openssl/evp.h>

#include "core/lazy.h"

BWK_LAZY_LIB(crypto_lib, BWK_SONAME_CRYPTO, BWK_PKG_CRYPTO)

BWK_LAZY_FN(crypto_lib, const EVP_MD *, EVP_sha256, (void), ())
BWK_LAZY_FN(crypto_lib, int, EVP_Digest,
	    (const void *data, size_t n, unsigned char *md, unsigned int *len, const EVP_MD *type,
	     ENGINE *impl),
	    (data, n, md, len, type, impl))
BWK_LAZY_FN(crypto_lib, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
BWK_LAZY_VOID(crypto_lib, EVP_MD_CTX_free, (EVP_MD_CTX * c), (c))
BWK_LAZY_FN(crypto_lib, int, EVP_DigestInit_ex, (EVP_MD_CTX * c, const EVP_MD *t, ENGINE *impl),
	    (c, t, impl))
BWK_LAZY_FN(crypto_lib, int, EVP_DigestUpdate, (EVP_MD_CTX * c, const void *d, size_t n), (c, d, n))
BWK_LAZY_FN(crypto_lib, int, EVP_DigestFinal_ex,
	    (EVP_MD_CTX * c, unsigned char *md, unsigned int *len), (c, md, len))
