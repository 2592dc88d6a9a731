/* Internals of the oci module: the name tables shared by the parser, the validator and the
 * serialiser (one list per kind of name, so that the three cannot disagree). */
#ifndef BWK_OCI_PRIVATE_H
#define BWK_OCI_PRIVATE_H
#ifndef BWK_IN_OCI
#error "oci_private.h is private to src/lib/oci"
#endif

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bulwark/oci.h"

/* NULL-terminated lists of the names the runtime spec defines. */
extern const char *const oci_namespace_types[];
extern const char *const oci_seccomp_actions[];
extern const char *const oci_seccomp_ops[];
extern const char *const oci_seccomp_arches[];
extern const char *const oci_seccomp_flags[];
/* A name of oci_seccomp_flags as seccomp(2)'s flag bit; 0 for any other name. */
unsigned long oci_seccomp_flag_bit(const char *name);
extern const char *const oci_propagations[];
extern const char *const oci_hook_keys[BWK_OCI_HOOK_KINDS + 1];
extern const char *const oci_throttle_keys[5];

/* Set annotation-style key k to a copy of v, replacing an earlier value. */
void oci_map_set(bwk_oci_map *m, const char *k, const char *v);

bool oci_name_in(const char *const *list, const char *name);
/* spec_json.c: text with integer literals above INT64_MAX quoted as "\u0000DIGITS", or NULL
 * when there is none (then the text is used as it is); and such a string's value: 1 with
 * *out set, 0 when `v` is not one, -1 when its digits exceed UINT64_MAX. */
char *bwk_oci_json_quote_big(const char *data, size_t len, size_t *out_len);
int bwk_oci_json_big(const json_t *v, uint64_t *out);

/* Docker's masked and read-only paths (spec_default.c): what `spec` asks of another runtime,
 * and what the lowering accepts, since bulwark's sandbox masks a superset of them itself. */
extern const char *const oci_docker_masked[];
extern const char *const oci_docker_readonly[];

/* The standard mounts (run_spec.c, one table): entry `i` as a spec mount (/dev/shm sized
 * `size`, 0: BWK_DEFAULT_TMPFS_SIZE); the place of destination `dst` in
 * bwk_container_spec.std_mounts (-1: not one the sandbox makes from the spec); the entry of
 * such a place. */
void oci_std_mount(size_t i, uint64_t size, bwk_oci_mount *m);
int oci_std_mount_sbx(const char *dst);
size_t oci_std_mount_of(int sbx);

#endif
