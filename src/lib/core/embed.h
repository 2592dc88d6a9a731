/* Data files (rules, CVE tables) compiled into the binary so that bulwark works offline and
 * from any directory: BWK_EMBED(sym, "rules/secrets.yaml") defines `const char sym[]` (NUL-
 * terminated) and `sym##_end` (points at the NUL). CMake rebuilds users when the data changes. */
#ifndef BWK_CORE_EMBED_H
#define BWK_CORE_EMBED_H

#include <stddef.h>

/* NOLINTBEGIN(bugprone-macro-parentheses): `sym` is a symbol name, declared and pasted */
#define BWK_EMBED(sym, file)                                                                       \
	__asm__(".pushsection .rodata\n"                                                           \
		".balign 16\n"                                                                     \
		".local " #sym "\n" #sym ":\n"                                                     \
		".incbin \"" BWK_SOURCE_DIR "/" file "\"\n" #sym "_end:\n"                         \
		".byte 0\n"                                                                        \
		".popsection\n");                                                                  \
	extern const char sym[];                                                                   \
	extern const char sym##_end[]

#define BWK_EMBED_LEN(sym) ((size_t)(sym##_end - sym))
/* NOLINTEND(bugprone-macro-parentheses) */

#endif
