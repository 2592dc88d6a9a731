/* What src/lib/core/lazy_gnutls.c adds to the GnuTLS API it wraps (see lazy.h). */
#ifndef BWK_CORE_LAZY_GNUTLS_H
#define BWK_CORE_LAZY_GNUTLS_H

/* Frees memory GnuTLS allocated for the caller (what the gnutls_free macro does); NULL is a
 * no-op. */
void bwk_gnutls_free(void *p);

#endif
