/* Archive path normalisation and whiteout names.
 *
 * Layer tars come from anyone: "../../etc/passwd", "/etc/shadow", "a//./b/" and ".wh..." are
 * all seen in the wild or in exploit kits. Every path goes through here before a scanner sees
 * it or unpack touches the disk; the result never starts with '/' and has no '.'/'..'
 * components, so a later openat2(RESOLVE_BENEATH) is a second line of defence, not the only
 * one. */
#include <string.h>

#include "image/image_private.h"

bwk_path_status bwk_path_normalise(const char *in, char *out)
{
	size_t o = 0;
	bool dotdot = false;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			dotdot = true;
			/* clamp at the root: drop the last component, if any */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + (o ? 1 : 0) + n > BWK_MAX_PATH) {
			out[0] = '\0';
			return BWK_PATH_TOOLONG;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	if (dotdot)
		return BWK_PATH_DOTDOT;
	return o ? BWK_PATH_OK : BWK_PATH_ROOT;
}

#define WH_OPQ ".wh..wh..opq"

int bwk_whiteout_split(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = slash ? (size_t)(slash - path) : 0;
	if (strncmp(base, ".wh.", 4) != 0)
		return -1;
	if (strcmp(base, WH_OPQ) == 0) {
		memcpy(out, path, dirlen);
		out[dirlen] = '\0';
		return BWK_ENTRY_OPAQUE;
	}
	const char *name = base + 4;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return -2;
	/* Other ".wh..wh." names are aufs-internal metadata (plinks, orphans): hostile here. */
	if (!strncmp(name, ".wh.", 4))
		return -2;
	size_t nlen = strlen(name);
	if (dirlen + 1 + nlen > BWK_MAX_PATH)
		return -2;
	size_t o = 0;
	if (dirlen) {
		memcpy(out, path, dirlen);
		o = dirlen;
		out[o++] = '/';
	}
	memcpy(out + o, name, nlen + 1);
	return BWK_ENTRY_WHITEOUT;
}
