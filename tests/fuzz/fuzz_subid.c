/* libFuzzer target: the /etc/subuid reader and the choice of bulwark's range (subid.c). The
 * input is split at the first 0xff byte into a subuid and a subgid file. Invariants: a picked
 * range is slice-aligned, inside the window and clear of every entry of both files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SANDBOX
#include "sandbox/sandbox_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cut = memchr(data, 0xff, size);
	size_t n1 = cut ? (size_t)(cut - data) : size, n2 = cut ? size - n1 - 1 : 0;
	char *a = malloc(n1 ? n1 : 1), *b = malloc(n2 ? n2 : 1); /* exact sizes for ASan */
	memcpy(a, data, n1);
	if (n2)
		memcpy(b, cut + 1, n2);
	sbx_subid_db db = {0};
	bwk_error *err = NULL;
	if (sbx_subid_parse(a, n1, "subuid", &db.uid, &err) == 0 &&
	    sbx_subid_parse(b, n2, "subgid", &db.gid, &err) == 0) {
		uint32_t s, c;
		if (sbx_subid_pick(&db.uid, &db.gid, &s, &c) == 0 &&
		    (s % SBX_SUBID_SLICE || c < SBX_SUBID_MIN_SLICES * SBX_SUBID_SLICE ||
		     s < SBX_SUBID_WINDOW_LO || (uint64_t)s + c > SBX_SUBID_WINDOW_HI ||
		     sbx_subid_conflict(&db.uid, s, c) || sbx_subid_conflict(&db.gid, s, c)))
			abort();
		if (db.uid.has_own && sbx_subid_check_explicit(&db, db.uid.own_start, 1, &err) == 0)
			abort(); /* an explicit range inside our own is always refused */
		bwk_error_free(err);
		err = NULL;
		for (size_t i = 0; i < db.uid.nother; i++)
			if (db.uid.other[i].end <= db.uid.other[i].start ||
			    db.uid.other[i].end > (1ull << 32))
				abort();
	}
	bwk_error_free(err);
	sbx_subid_db_free(&db);
	free(a);
	free(b);
	return 0;
}
