/* Shared libraries loaded on first use.
 *
 * Linking libarchive, hyperscan, PCRE2, libyaml, zstd and libcrypto makes the dynamic loader
 * map, relocate and initialise about twenty libraries (libicu alone is 31 MB, hyperscan drags
 * libstdc++) in every bulwark process, although `bulwark run` uses none of them: that cost
 * tripled its start time against crun's. Instead each library gets a file (lazy_NAME.c) of
 * wrappers with the library's exact prototypes — the real header is included, so the compiler
 * checks every one — that dlopen the library on the first call and resolve each symbol once.
 * Callers include the library's header and call it as if it were linked.
 *
 * The handles and resolved pointers are process-wide state by nature (what the dynamic loader
 * would have held): written once, under pthread_once or with a release store, never changed. */
#ifndef BWK_CORE_LAZY_H
#define BWK_CORE_LAZY_H

#include <pthread.h>

typedef struct bwk_lazy_lib {
	const char *soname;  /* e.g. "libarchive.so.13", found by CMake at configure time */
	const char *package; /* Debian package providing it, named in the error message */
	void (*load)(void);  /* pthread_once routine: opens this descriptor's library */
	void *handle;
	pthread_once_t once;
} bwk_lazy_lib;

/* Defines `static bwk_lazy_lib var` for the library `soname` shipped by Debian's `pkg`. */
/* NOLINTBEGIN(bugprone-macro-parentheses): the arguments are names, pasted and declared */
#define BWK_LAZY_LIB(var, soname_, pkg)                                                            \
	static void var##_load(void);                                                              \
	static bwk_lazy_lib var = {.soname = soname_,                                              \
				   .package = pkg,                                                 \
				   .load = var##_load,                                             \
				   .handle = NULL,                                                 \
				   .once = PTHREAD_ONCE_INIT};                                     \
	static void var##_load(void)                                                               \
	{                                                                                          \
		bwk_lazy_open(&var);                                                               \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

/* Opens lib (RTLD_NOW | RTLD_LOCAL); called once through lib->load. */
void bwk_lazy_open(bwk_lazy_lib *lib);

/* Address of `name` in lib, loading lib on first use. Never returns NULL: a missing library or
 * symbol prints one line naming the Debian package to install and exits with status 2. */
void *bwk_lazy_sym(bwk_lazy_lib *lib, const char *name);

/* Resolves `name` once into a static pointer (acquire load on every call: a plain load on the
 * architectures we build for, so a hot call costs one test and one indirect jump). Races
 * between first callers are harmless: each stores the same address. */
/* NOLINTBEGIN(bugprone-macro-parentheses): the arguments are names, pasted and declared */
#define BWK_LAZY_RESOLVE_(lib, name, f)                                                            \
	static __typeof__(&name) name##_fn_;                                                       \
	__typeof__(&name) f = __atomic_load_n(&name##_fn_, __ATOMIC_ACQUIRE);                      \
	if (__builtin_expect(f == NULL, 0)) {                                                      \
		*(void **)&f = bwk_lazy_sym(&lib, #name);                                          \
		__atomic_store_n(&name##_fn_, f, __ATOMIC_RELEASE);                                \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

/* Wrapper for a function returning a value: BWK_LAZY_FN(lib, int, f, (int a, char *b), (a, b)).
 * The parameter list is spelled out (not taken from the header) so that a prototype that
 * drifts from the library's header is a compile error. */
#define BWK_LAZY_FN(lib, ret, name, params, args)                                                  \
	ret name params                                                                            \
	{                                                                                          \
		BWK_LAZY_RESOLVE_(lib, name, f_)                                                   \
		return f_ args;                                                                    \
	}

/* The same for a void function (C forbids `return voidexpr;`). */
#define BWK_LAZY_VOID(lib, name, params, args)                                                     \
	void name params                                                                           \
	{                                                                                          \
		BWK_LAZY_RESOLVE_(lib, name, f_)                                                   \
		f_ args;                                                                           \
	}

#endif
