/* bulwark — the string vector, the one type for a list of strings the library and the CLI own.
 *
 * A bwk_strv holds `n` strings it owns, in `v`, NULL-terminated once anything is pushed; `v` NULL
 * means "no list" (the OCI spec model keeps that apart from an empty list, whose `v` holds just
 * the NULL). Pushing is bounded: past `max` strings (BWK_STRV_MAX when 0) it fails with
 * BWK_E_LIMIT instead of growing without end on hostile input; a caller with a smaller limit of
 * its own checks `n` first, one whose input is bounded elsewhere by more (the entries of a
 * directory walked) sets `max`. Memory exhaustion aborts (core/util.h's xrealloc), as
 * everywhere in the library.
 *
 * A function that hands a list on as a plain NULL-terminated `char **` (bwk_image_layers …)
 * gives away `v` (steal_pointer(&s.v)); the receiver frees it with bwk_strv_free().
 * Cleanup (src/lib/core/cleanup.h): `cleanup_strv_clear bwk_strv s = {0};` clears a vector on
 * every return, `cleanup_strv char **v = NULL;` frees a NULL-terminated one.
 */
#ifndef BULWARK_STRV_H
#define BULWARK_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "bulwark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BWK_STRV_MAX 65536 /* strings in one vector */

typedef struct bwk_strv {
	char **v; /* NULL-terminated, n entries; NULL: no list */
	size_t n;
	size_t cap; /* entries `v` has room for, the NULL included; 0: just n + 1 */
	size_t max; /* most strings it may hold; 0: BWK_STRV_MAX */
} bwk_strv;

/* Append a copy of `s`; fails with BWK_E_LIMIT when the vector already holds `max`. */
int bwk_strv_push(bwk_strv *v, const char *s, bwk_error **err);
/* Append `s` itself (allocated with malloc) and own it; on failure `s` is freed. */
int bwk_strv_take(bwk_strv *v, char *s, bwk_error **err);
bool bwk_strv_has(const bwk_strv *v, const char *s);
/* Free every string and the array; `v` is then {0} (no list, `max` back to the default). */
void bwk_strv_clear(bwk_strv *v);
/* Free a NULL-terminated vector of malloc'd strings (a bwk_strv's `v` given away); NULL is
 * fine. */
void bwk_strv_free(char **v);
BWK_DEFINE_CLEANUP(char **, bwk_strv_free)

#ifdef __cplusplus
}
#endif

#endif
