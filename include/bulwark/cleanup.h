/* bulwark — cleanup functions for the public handles (GCC/Clang __attribute__((cleanup))).
 *
 * Each public header writes, right after a type's free function,
 *   BWK_DEFINE_CLEANUP(bwk_image *, bwk_image_close)   // defines bwk_image_closep()
 * and a variable then frees itself on every return:
 *   __attribute__((cleanup(bwk_image_closep))) bwk_image *img = NULL;
 * (inside the library: cleanup_with(bwk_image_closep), src/lib/core/cleanup.h). The free
 * function is not called on NULL (systemd's DEFINE_TRIVIAL_CLEANUP_FUNC). */
#ifndef BULWARK_CLEANUP_H
#define BULWARK_CLEANUP_H

/* NOLINTBEGIN(bugprone-macro-parentheses): `type` and `func` are a declarator and a name */
#define BWK_DEFINE_CLEANUP(type, func)                                                             \
	static inline __attribute__((unused)) void func##p(type *p)                                \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

#endif
