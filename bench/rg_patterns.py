"""Print the rules' regexes as a ripgrep pattern file (bench_secrets.sh). ripgrep's regex crate
(Debian 12) refuses escapes of characters that are not regex syntax, such as \\' \\" \\/, which
PCRE accepts: those backslashes are dropped; everything else is kept as is."""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
from check_secret_rules import expand  # noqa: E402  (the shared `{{assign}}` context)

KEEP = set("\\.+*?()|[]{}^$#&~- ")
for rule in yaml.safe_load(open(sys.argv[1]))["rules"]:
    rx, out, i = expand(rule["regex"]), [], 0
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
