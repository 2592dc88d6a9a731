/* bulwark — error objects.
 *
 * The contract (docs/design/errors.md): a fallible function returns a negative int (or NULL) and,
 * when `err` is not NULL, stores a new bwk_error in *err. Callers add context as the error travels
 * up with bwk_error_wrap(), which pushes a new head and keeps the old one as its cause. The CLI
 * prints the chain once, prefixed "bulwark: ". *err must be NULL on entry; the caller owns the
 * result and releases it with bwk_error_free().
 */
#ifndef BULWARK_ERROR_H
#define BULWARK_ERROR_H

#include <stdarg.h>
#include <stdio.h>

#include "bulwark/cleanup.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Append-only: values are part of the library ABI and of the JSON error output. */
typedef enum bwk_code {
	BWK_OK = 0,
	BWK_E_IO = 1,	       /* a system call failed (errno is set in the error) */
	BWK_E_NOMEM = 2,       /* allocation failed */
	BWK_E_USAGE = 3,       /* bad command line or API misuse */
	BWK_E_INPUT = 4,       /* malformed input: JSON, YAML, tar, manifest … */
	BWK_E_LIMIT = 5,       /* input exceeds a configured limit (size, count, depth, ratio) */
	BWK_E_UNSAFE = 6,      /* input tries to escape its root or is otherwise hostile */
	BWK_E_INTEGRITY = 7,   /* a digest does not match */
	BWK_E_UNSUPPORTED = 8, /* valid but not supported (media type, platform, kernel feature) */
	BWK_E_NOTFOUND = 9,    /* a named object does not exist */
	BWK_E_PERM = 10,       /* permission denied or privilege missing */
	BWK_E_RUNTIME = 11,    /* the container runtime failed */
	BWK_E_INTERNAL = 12,   /* a bug in bulwark */
} bwk_code;

typedef struct bwk_error {
	bwk_code code;
	int errnum; /* errno captured at the failure, 0 if none */
	char *msg;  /* this level's message, never NULL */
	struct bwk_error *cause;
} bwk_error;

/* Human name of a code ("input error", "integrity error" …). Never NULL. */
const char *bwk_strerror(bwk_code code);

/* Store a new error in *err (if err != NULL). errnum may be 0. Always returns -1 so that
 * `return bwk_error_set(err, …);` reads naturally. */
int bwk_error_set(bwk_error **err, bwk_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int bwk_error_setv(bwk_error **err, bwk_code code, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* The same call, seen by the compiler (and gcc -fanalyzer) to be -1: a caller's failure path
 * is then known to leave its outputs unused. */
#define bwk_error_set(...)                                                                         \
	__extension__({                                                                            \
		(bwk_error_set)(__VA_ARGS__);                                                      \
		-1;                                                                                \
	})

/* Add context to an existing error: *err becomes a new head "fmt" whose cause is the old *err.
 * The code of the head is copied from the cause. No-op when err or *err is NULL. Returns -1. */
int bwk_error_wrap(bwk_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Seen to be -1 as bwk_error_set is (clang-tidy's analyzer then knows a `return
 * bwk_error_wrap(…)` path leaves the outputs unset). */
#define bwk_error_wrap(...)                                                                        \
	__extension__({                                                                            \
		(bwk_error_wrap)(__VA_ARGS__);                                                     \
		-1;                                                                                \
	})

/* Code of the innermost error that has one (the root cause decides the exit status). */
bwk_code bwk_error_code(const bwk_error *e);

/* "context: context: message: strerror(errno)" — caller frees. NULL only on OOM. */
char *bwk_error_format(const bwk_error *e);

/* Print "bulwark: <formatted>\n" to `out`. */
void bwk_error_print(const bwk_error *e, FILE *out);

void bwk_error_free(bwk_error *e);

#ifdef __cplusplus
}
#endif
#endif
