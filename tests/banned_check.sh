#!/bin/sh
# src/lib/core/banned.h turns a call of each banned function into a compile error naming it,
# and leaves their replacements and the words in comments and strings alone. CTest runs this
# with the project's compiler: CC BANNED_H.
set -eu
cc=$1
banned=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
compile() { # FILE [DEFINE]: the project's flags that matter here
	"$cc" -std=c11 -Wall -Werror -fsyntax-only ${2:+-D$2} -include "$banned" "$1" 2>"$work/err"
}
check() { # NAME CALL [DEFINE]
	printf 'void f(char *d, const char *s);\nvoid f(char *d, const char *s)\n{\n\t(void)d; (void)s;\n\t%s;\n}\n' "$2" >"$work/t.c"
	if compile "$work/t.c" "${3:-}"; then
		echo "banned.h: $1 compiles" >&2
		status=1
	elif ! grep -q "sorry_$1_is_a_banned_function" "$work/err"; then
		echo "banned.h: $1 fails without naming itself:" >&2
		cat "$work/err" >&2
		status=1
	fi
}
check strcpy 'strcpy(d, s)'
check strcat 'strcat(d, s)'
check strncpy 'strncpy(d, s, 1)'
check strncat 'strncat(d, s, 1)'
check sprintf 'sprintf(d, "%s", s)'
check vsprintf 'vsprintf(d, s, 0)'
check gets 'gets(d)'
check atoi '(void)atoi(s)'
check atol '(void)atol(s)'
check atoll '(void)atoll(s)'
check strtok '(void)strtok(d, s)'
check tmpnam '(void)tmpnam(d)'
check mktemp '(void)mktemp(d)'
check gmtime '(void)gmtime(0)'
check localtime '(void)localtime(0)'
check ctime '(void)ctime(0)'
check asctime '(void)asctime(0)'
check alloca '(void)alloca(1)'
check system '(void)system(s)' BWK_BAN_SHELL
check popen '(void)popen(s, "r")' BWK_BAN_SHELL
# what stays allowed: the replacements, the tests' shell, the names in comments and strings
cat >"$work/ok.c" <<'EOC'
#include <stdarg.h>
void f(char *d, const char *s);
void f(char *d, const char *s)
{
	char *save = 0;
	struct tm tm;
	time_t t = 0;
	/* strcpy(d, s) and sprintf in a comment */
	(void)snprintf(d, 8, "%s strcpy(x, y)", s);
	(void)strtol(s, 0, 10);
	(void)strtok_r(d, s, &save);
	(void)gmtime_r(&t, &tm);
	(void)system(s);
}
EOC
if ! compile "$work/ok.c"; then
	echo "banned.h: an allowed call fails:" >&2
	cat "$work/err" >&2
	status=1
fi
exit $status
