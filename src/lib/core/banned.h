/* bulwark — functions no source file may call (git's banned.h).
 *
 * The build includes this header before every translation unit (-include, CMakeLists.txt), so a
 * call to one of these is a compile error naming the function, in code, never in a comment or a
 * string: "sorry_strcpy_is_a_banned_function". Each has a bounded or checked replacement:
 *
 *   strcpy, strcat, strncpy, strncat  snprintf(buf, sizeof buf, "%s", …), or xstrdup
 *   sprintf, vsprintf                 snprintf, vsnprintf (sizes checked: -Wformat-truncation)
 *   gets                              fgets or getline
 *   atoi, atol, atoll                 strtol/strtoll with an end pointer, errno and a range
 *   strtok                            strtok_r (the layer walker runs on threads)
 *   tmpnam, mktemp                    mkstemp, mkdtemp, or O_TMPFILE
 *   gmtime, localtime, ctime, asctime gmtime_r, localtime_r, strftime (threads again)
 *   alloca                            a bounded array or the heap
 *   system, popen (library and CLI)   posix_spawn with an argv, no shell between us and input
 *
 * The headers that declare them come first, so that their declarations are not rewritten: the
 * macros only apply to what follows, the project's own code. _GNU_SOURCE must be set before any
 * system header, so this header sets it for every file (the files that also define it define it
 * the same way, which C allows).
 */
#ifndef BULWARK_BANNED_H
#define BULWARK_BANNED_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <alloca.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BWK_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BWK_BANNED(strcpy)
#undef strcat
#define strcat(x, y) BWK_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BWK_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BWK_BANNED(strncat)
#undef sprintf
#define sprintf(...) BWK_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BWK_BANNED(vsprintf)
#undef gets
#define gets(x) BWK_BANNED(gets)
#undef atoi
#define atoi(x) BWK_BANNED(atoi)
#undef atol
#define atol(x) BWK_BANNED(atol)
#undef atoll
#define atoll(x) BWK_BANNED(atoll)
#undef strtok
#define strtok(x, y) BWK_BANNED(strtok)
#undef tmpnam
#define tmpnam(x) BWK_BANNED(tmpnam)
#undef mktemp
#define mktemp(x) BWK_BANNED(mktemp)
#undef gmtime
#define gmtime(x) BWK_BANNED(gmtime)
#undef localtime
#define localtime(x) BWK_BANNED(localtime)
#undef ctime
#define ctime(x) BWK_BANNED(ctime)
#undef asctime
#define asctime(x) BWK_BANNED(asctime)
#undef alloca
#define alloca(x) BWK_BANNED(alloca)

/* The tests may run a shell command to build a fixture; bulwark itself never does. */
#ifdef BWK_BAN_SHELL
#undef system
#define system(x) BWK_BANNED(system)
#undef popen
#define popen(x, y) BWK_BANNED(popen)
#endif

#endif
