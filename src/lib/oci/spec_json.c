/* Unsigned 64-bit integers in config.json. Go's encoding/json writes uint64 values above
 * INT64_MAX as plain integers (Docker's `--ulimit memlock=-1` is 18446744073709551615, and
 * runc and crun read it), while jansson holds integers as signed 64 bits and refuses the
 * document ("too big integer"). Before loading, such literals outside strings are rewritten
 * as the strings "\u0000DIGITS": no string of a spec may hold a NUL (the parser refuses it
 * everywhere else), so the marker cannot collide with a real value, and get_u64 reads it
 * back with the same range checks. Writing reverses it. Both passes are linear and the
 * rewritten text grows by at most 8 bytes per 19-digit literal. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "oci/oci_private.h"

#define MARK	 "\"\\u0000"
#define MARK_LEN (sizeof MARK - 1)

/* digits (no sign, no leading zero) as a number above INT64_MAX, or not */
static bool above_i64(const char *d, size_t n)
{
	static const char max[] = "9223372036854775807";
	if (n != sizeof max - 1)
		return n > sizeof max - 1;
	return memcmp(d, max, n) > 0;
}

/* The length of the JSON number at s (at most n bytes), and whether it is a plain
 * non-negative integer without a leading zero. */
static size_t number_len(const char *s, size_t n, bool *plain)
{
	size_t i = 0;
	*plain = s[0] != '-';
	while (i < n && (s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
			 (s[i] >= '0' && s[i] <= '9'))) {
		if (s[i] < '0' || s[i] > '9')
			*plain = false;
		i++;
	}
	if (i > 1 && s[0] == '0')
		*plain = false;
	return i;
}

char *bwk_oci_json_quote_big(const char *data, size_t len, size_t *out_len)
{
	char *out = NULL;
	size_t o = 0, from = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char ch = data[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
			continue;
		}
		if (ch != '-' && (ch < '0' || ch > '9'))
			continue;
		bool plain;
		size_t n = number_len(data + i, len - i, &plain);
		if (plain && above_i64(data + i, n)) {
			if (!out) /* each literal of 20+ bytes grows by MARK_LEN + 1 */
				out = xmalloc(len + (len / 19 + 1) * (MARK_LEN + 1) + 1);
			memcpy(out + o, data + from, i - from);
			o += i - from;
			memcpy(out + o, MARK, MARK_LEN);
			o += MARK_LEN;
			memcpy(out + o, data + i, n);
			o += n;
			out[o++] = '"';
			from = i + n;
		}
		i += n - 1;
	}
	if (!out)
		return NULL;
	memcpy(out + o, data + from, len - from);
	o += len - from;
	out[o] = 0;
	*out_len = o;
	return out;
}

/* The reverse, in place, on text jansson wrote: "\u0000DIGITS" back to DIGITS. jansson
 * escapes a NUL only as \u0000, so the marker is found exactly. */
static void unquote_big(char *s)
{
	char *w = s;
	bool in_str = false;
	for (char *r = s; *r;) {
		if (!in_str && !strncmp(r, MARK, MARK_LEN)) {
			size_t d = 0;
			while (r[MARK_LEN + d] >= '0' && r[MARK_LEN + d] <= '9')
				d++;
			if (d && r[MARK_LEN + d] == '"') {
				memmove(w, r + MARK_LEN, d);
				w += d;
				r += MARK_LEN + d + 1;
				continue;
			}
		}
		if (in_str && *r == '\\' && r[1]) {
			*w++ = *r++;
		} else if (*r == '"') {
			in_str = !in_str;
		}
		*w++ = *r++;
	}
	*w = 0;
}

json_t *bwk_oci_json_loadb(const char *data, size_t len, json_error_t *je)
{
	size_t n = 0;
	char *q = bwk_oci_json_quote_big(data, len, &n);
	json_t *v = json_loadb(q ? q : data, q ? n : len, JSON_ALLOW_NUL, je);
	free(q);
	return v;
}

char *bwk_oci_json_dumps(const json_t *v, size_t flags)
{
	char *s = json_dumps(v, flags);
	if (s)
		unquote_big(s);
	return s;
}

int bwk_oci_json_big(const json_t *v, uint64_t *out)
{
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n < 2 || s[0] != 0)
		return 0;
	uint64_t u = 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		unsigned dig = (unsigned)(s[i] - '0');
		if (u > (UINT64_MAX - dig) / 10)
			return -1;
		u = u * 10 + dig;
	}
	*out = u;
	return 1;
}
