/* libFuzzer target: the rpm database reader (inventory_rpm.c). The first byte picks the entry:
 * one header blob, or a whole database file in the form its first bytes name (SQLite, ndb,
 * Berkeley DB hash), or a database with its SQLite WAL replayed; for ndb and BDB the magic is put
 * in place so that mutations explore the layout behind it rather than the magic test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN
#include "scan/inventory_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1;
	char *buf = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
	memcpy(buf, data + 1, n);
	bwk_error *err = NULL;
	inv_list l = {0};
	switch (data[0] % 5) {
	case 0:
		inv_rpm_header((const unsigned char *)buf, n, &l, &err);
		break;
	case 1:
		if (n >= 32)
			memcpy(buf, "RpmP", 4);
		inv_parse_rpmdb(buf, n, &l, &err);
		break;
	case 2:
		if (n >= 512) /* the hash magic, little-endian, and the metadata page type */
			memcpy(buf + 12, "\x61\x15\x06\x00", 4);
		inv_parse_rpmdb(buf, n, &l, &err);
		break;
	case 3: { /* a database and its WAL (halves; the WAL's magic and version in place) */
		size_t h = n / 2;
		if (n - h >= 8)
			memcpy(buf + h, "\x37\x7f\x06\x82\x00\x2d\xe2\x18", 8);
		unsigned char *db = NULL;
		size_t dblen = 0;
		if (inv_rpm_wal_apply((unsigned char *)buf, h, (unsigned char *)buf + h, n - h, &db,
				      &dblen, &err) == 0 &&
		    db)
			inv_parse_rpmdb((char *)db, dblen, &l, &err);
		free(db);
		break;
	}
	default:
		inv_parse_rpmdb(buf, n, &l, &err);
		break;
	}
	inv_list_free(&l);
	bwk_error_free(err);
	free(buf);
	return 0;
}
