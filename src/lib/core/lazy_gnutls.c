/* GnuTLS, loaded on first use (see lazy.h): only the keystore check of the secret scan
 * (src/lib/scan/secrets_keystore.c) needs it, to open PKCS#12 files. */
#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include "core/lazy.h"
#include "core/lazy_gnutls.h"

BWK_LAZY_LIB(gnutls_lib, BWK_SONAME_GNUTLS, BWK_PKG_GNUTLS)

BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_init, (gnutls_pkcs12_t * p), (p))
BWK_LAZY_VOID(gnutls_lib, gnutls_pkcs12_deinit, (gnutls_pkcs12_t p), (p))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_import,
	    (gnutls_pkcs12_t p, const gnutls_datum_t *data, gnutls_x509_crt_fmt_t format,
	     unsigned int flags),
	    (p, data, format, flags))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_mac_info,
	    (gnutls_pkcs12_t p, unsigned int *mac, void *salt, unsigned int *salt_size,
	     unsigned int *iter_count, char **oid),
	    (p, mac, salt, salt_size, iter_count, oid))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_verify_mac, (gnutls_pkcs12_t p, const char *pass),
	    (p, pass))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_get_bag,
	    (gnutls_pkcs12_t p, int indx, gnutls_pkcs12_bag_t bag), (p, indx, bag))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_bag_init, (gnutls_pkcs12_bag_t * bag), (bag))
BWK_LAZY_VOID(gnutls_lib, gnutls_pkcs12_bag_deinit, (gnutls_pkcs12_bag_t bag), (bag))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_bag_get_count, (gnutls_pkcs12_bag_t bag), (bag))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_bag_get_type, (gnutls_pkcs12_bag_t bag, unsigned indx),
	    (bag, indx))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_bag_get_data,
	    (gnutls_pkcs12_bag_t bag, unsigned indx, gnutls_datum_t *data), (bag, indx, data))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_bag_enc_info,
	    (gnutls_pkcs12_bag_t bag, unsigned int *schema, unsigned int *cipher, void *salt,
	     unsigned int *salt_size, unsigned int *iter_count, char **oid),
	    (bag, schema, cipher, salt, salt_size, iter_count, oid))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs12_bag_decrypt, (gnutls_pkcs12_bag_t bag, const char *pass),
	    (bag, pass))
BWK_LAZY_FN(gnutls_lib, int, gnutls_pkcs8_info,
	    (const gnutls_datum_t *data, gnutls_x509_crt_fmt_t format, unsigned int *schema,
	     unsigned int *cipher, void *salt, unsigned int *salt_size, unsigned int *iter_count,
	     char **oid),
	    (data, format, schema, cipher, salt, salt_size, iter_count, oid))
BWK_LAZY_FN(gnutls_lib, int, gnutls_x509_privkey_init, (gnutls_x509_privkey_t * key), (key))
BWK_LAZY_VOID(gnutls_lib, gnutls_x509_privkey_deinit, (gnutls_x509_privkey_t key), (key))
BWK_LAZY_FN(gnutls_lib, int, gnutls_x509_privkey_import_pkcs8,
	    (gnutls_x509_privkey_t key, const gnutls_datum_t *data, gnutls_x509_crt_fmt_t format,
	     const char *password, unsigned int flags),
	    (key, data, format, password, flags))

/* gnutls_free is a variable holding GnuTLS's deallocator (gnutls.h wraps it in a macro), so it
 * is resolved as data: the address of the variable, read once per call. */
void bwk_gnutls_free(void *p)
{
	if (!p)
		return;
	gnutls_free_function *f = bwk_lazy_sym(&gnutls_lib, "gnutls_free");
	(*f)(p);
}
