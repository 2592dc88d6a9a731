"""Print the rules' regexes as a ripgrep pattern file (bench_secrets.sh). ripgrep's regex crate
(Debian 12) refuses escapes of characters that are not regex syntax, such as \\' \\" \\/, which
PCRE accepts: those backslashes are dropped; everything else is kept as is."""
import re
import sys

import yaml

KEEP = set("\\.+*?()|[]{}^$#&~- ")
for rule in yaml.safe_load(open(sys.argv[1]))["rules"]:
    rx, out, i = rule["regex"], [], 0
    while i < len(rx):
        c = rx[i]
        if c == "\\" and i + 1 < len(rx):
            n = rx[i + 1]
            out.append(n if not n.isalnum() and n not in KEEP else c + n)
            i += 2
            continue
        out.append(c)
        i += 1
    print("".join(out))
