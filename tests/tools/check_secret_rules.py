#!/usr/bin/env python3
"""Validate bulwark's secret-detection rule file (rules/secrets.yaml).

Checks performed (any failure -> exit status 1, with a list of problems):
  * schema: top-level `version: 1` and `rules:`; required fields, known keys only,
    unique kebab-case ids, severity values, non-empty keywords/references/examples;
    user files may additionally contain `disable:` and `allowlist:`;
  * regex dialect: the pattern must be usable by BOTH Hyperscan (prefilter) and
    PCRE2 (confirmation) - no look-around, back-references, atomic groups,
    possessive quantifiers, conditionals, \\G \\K \\Q..\\E, named groups, inline
    flags other than a leading (?i); all repeats bounded; cannot match empty;
  * every regex / path / allow pattern compiles (Python `re` stands in for PCRE2);
  * every positive example yields a finding (non-empty secret group, entropy at or
    above the threshold, not allow-listed) and the match contains a keyword;
  * no negative example yields a finding;
  * path-scoped rules match at least one canonical credential-file path and none
    of a few innocent paths.

Other modes:
  --markdown        print the rule table used in docs/rules-secrets.md
  --scan DIR...     scan text files under DIR with the rules (keyword prefilter,
                    path scoping, entropy, allow-lists) and print findings; useful
                    to hunt false positives, e.g. --scan /usr/share /usr/lib/python3

Python 3.11+, standard library plus PyYAML.
"""
import argparse
import math
import os
import re
import re._parser as sre_parse  # Python 3.11+
import re._constants as sre_c
import sys
from collections import Counter

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit('check_secret_rules: PyYAML is required (apt install python3-yaml)')

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RULES = os.path.normpath(os.path.join(HERE, '..', '..', 'rules', 'secrets.yaml'))

SEVERITIES = ('critical', 'high', 'medium', 'low', 'info')
REQUIRED = ('id', 'title', 'severity', 'regex', 'keywords', 'description', 'remediation',
            'references', 'examples')
OPTIONAL = ('secret_group', 'entropy', 'path', 'allow', 'allow_match', 'yields')
ID_RE = re.compile(r'^[a-z0-9]+(?:-[a-z0-9]+)*$')
MAX_WIDTH = 10000          # longest possible match, in characters
MAX_BOUND = 8000           # largest {m,n} bound

# Paths (inside the image, no leading slash) used to sanity-check `path:` regexes.
CANONICAL_PATHS = [
    'root/.docker/config.json', 'home/app/.docker/config.json', 'run/containers/0/auth.json',
    'root/.npmrc', 'app/.npmrc', 'app/.yarnrc.yml', 'root/.pypirc', 'root/.netrc', 'home/ci/_netrc',
    'root/.git-credentials', 'root/.aws/credentials', 'root/.s3cfg', 'root/.kube/config',
    'var/www/wp-content/plugins/app/start.php',
    'etc/kubernetes/admin.conf', 'app/.env', 'srv/app/.env.production', 'etc/shadow', 'etc/shadow-',
    'etc/nginx/.htpasswd', 'var/www/.htpasswd', 'root/.pgpass', 'root/.my.cnf', 'etc/mysql/debian.cnf',
    'etc/redis/redis.conf', 'root/.m2/settings.xml', 'app/gradle.properties', 'root/.nuget/NuGet/NuGet.Config',
    'root/.composer/auth.json', 'usr/local/tomcat/conf/tomcat-users.xml', 'root/.azure/msal_token_cache.json',
    'app/mysite/settings.py', 'app/config/master.key', 'app/config/credentials/production.key',
    'etc/app/config.yaml', 'opt/app/application.properties', 'app/appsettings.json',
]
# (source files are no longer innocent: the generic rules read them, issue 15)
INNOCENT_PATHS = [
    'usr/bin/python3.11', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/share/doc/bash/README',
    'etc/passwd', 'etc/group', 'usr/include/stdio.h', 'usr/share/man/man1/ls.1.gz',
]

FORBIDDEN_TEXT = [
    ('(?=', 'lookahead'), ('(?!', 'negative lookahead'), ('(?<=', 'lookbehind'),
    ('(?<!', 'negative lookbehind'), ('(?<', 'named group / lookbehind'), ('(?P', 'named group'),
    ('(?>', 'atomic group'), ('(?|', 'branch reset'), ('(?(', 'conditional'), ('(?#', 'comment'),
    ('(?s', 'inline dotall flag'), ('(?m', 'inline multiline flag'), ('(?x', 'inline extended flag'),
    ('(?-', 'inline flag removal'), ('(?i:', 'scoped inline flag'), ('(?u', 'inline flag'),
    ('(?a', 'inline flag'), ('(?L', 'inline flag'),
]
FORBIDDEN_ESCAPES = {
    'G': r'\G anchor', 'K': r'\K', 'Q': r'\Q..\E quoting', 'E': r'\Q..\E quoting', 'R': r'\R',
    'X': r'\X', 'p': r'\p{..} unicode property', 'P': r'\P{..} unicode property', 'g': r'\g backreference',
    'k': r'\k backreference', 'C': r'\C', 'N': r'\N', 'z': r'\z (use $)', 'Z': r'\Z', 'A': r'\A (use ^)',
    'h': r'\h', 'H': r'\H', 'v': r'\v', 'V': r'\V',
}


def entropy(s):
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def escape_tokens(pattern):
    """Yield the character following each unescaped backslash, and report
    quantifier characters that are directly followed by '+' outside classes."""
    i, in_class, prev_quant = 0, False, False
    while i < len(pattern):
        c = pattern[i]
        if c == '\\':
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ''
            yield ('esc', nxt, i)
            i += 2
            prev_quant = False
            continue
        if in_class:
            if c == ']':
                in_class = False
            i += 1
            prev_quant = False
            continue
        if c == '[':
            in_class = True
            # a leading ']' or '^]' is literal
            if pattern[i + 1:i + 2] == '^':
                i += 1
            if pattern[i + 1:i + 2] == ']':
                i += 1
        elif c == '+' and prev_quant:
            yield ('possessive', '+', i)
        prev_quant = c in '*+?}' and not (c == '+' and prev_quant)
        i += 1


def walk(tree, problems, where):
    for op, av in tree:
        if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            problems.append(f'{where}: look-around assertion')
        elif op in (sre_c.GROUPREF, sre_c.GROUPREF_EXISTS):
            problems.append(f'{where}: back-reference / conditional')
        elif op == sre_c.ATOMIC_GROUP:
            problems.append(f'{where}: atomic group')
            walk(av, problems, where)
        elif op == sre_c.POSSESSIVE_REPEAT:
            problems.append(f'{where}: possessive quantifier')
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            lo, hi, sub = av
            if hi == sre_c.MAXREPEAT:
                problems.append(f'{where}: unbounded repeat (*, + or {{n,}}); use a bounded {{m,n}}')
            elif hi > MAX_BOUND:
                problems.append(f'{where}: repeat bound {hi} > {MAX_BOUND}')
            walk(sub, problems, where)
        elif op == sre_c.SUBPATTERN:
            _gid, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                problems.append(f'{where}: scoped inline flags')
            walk(sub, problems, where)
        elif op == sre_c.BRANCH:
            for alt in av[1]:
                walk(alt, problems, where)


def check_dialect(rx, where):
    problems = []
    if not rx.isascii():
        problems.append(f'{where}: non-ASCII characters in regex')
    body = rx[4:] if rx.startswith('(?i)') else rx
    for text, what in FORBIDDEN_TEXT:
        if text in body:
            problems.append(f'{where}: forbidden construct {text!r} ({what})')
    if '(?i)' in body:
        problems.append(f'{where}: (?i) is only allowed at the very start')
    for kind, ch, pos in escape_tokens(rx):
        if kind == 'possessive':
            problems.append(f'{where}: possessive quantifier at offset {pos}')
        elif ch in FORBIDDEN_ESCAPES:
            problems.append(f'{where}: forbidden escape \\{ch} ({FORBIDDEN_ESCAPES[ch]})')
        elif ch.isdigit() and ch != '0':
            problems.append(f'{where}: back-reference \\{ch}')
    try:
        tree = sre_parse.parse(rx, re.ASCII)
    except re.error as e:
        return problems + [f'{where}: does not compile: {e}']
    walk(tree, problems, where)
    lo, hi = tree.getwidth()
    if lo == 0:
        problems.append(f'{where}: can match the empty string (Hyperscan rejects this)')
    if hi > MAX_WIDTH:
        problems.append(f'{where}: longest possible match is unbounded or > {MAX_WIDTH} characters')
    return problems


class Rule:
    def __init__(self, d):
        self.d = d
        self.id = d.get('id')
        self.group = d.get('secret_group', 0)
        self.entropy = d.get('entropy')
        self.keywords = [k.lower() for k in d.get('keywords') or []]
        self.rx = re.compile(d['regex'], re.ASCII)
        self.path = re.compile(d['path'], re.ASCII) if d.get('path') else None
        self.allow = [re.compile(a, re.ASCII) for a in d.get('allow') or []]
        self.allow_match = [re.compile(a, re.ASCII) for a in d.get('allow_match') or []]

    def findings(self, text, path=None):
        """Yield (match, secret) pairs that would be reported."""
        if self.path is not None and path is not None and not self.path.search(path):
            return
        for m in self.rx.finditer(text):
            secret = m.group(self.group)
            if not secret:
                continue
            if self.entropy is not None and entropy(secret) < self.entropy:
                continue
            if any(a.search(secret) for a in self.allow):
                continue
            if any(a.search(m.group(0)) for a in self.allow_match):
                continue
            yield m, secret


def validate_rule(d, idx, problems, seen):
    where = f'rule #{idx}'
    if not isinstance(d, dict):
        problems.append(f'{where}: not a mapping')
        return None
    rid = d.get('id')
    if isinstance(rid, str):
        where = f'rule {rid}'
    for k in REQUIRED:
        if k not in d:
            problems.append(f'{where}: missing required field {k!r}')
    for k in d:
        if k not in REQUIRED and k not in OPTIONAL:
            problems.append(f'{where}: unknown field {k!r}')
    if not isinstance(rid, str) or not ID_RE.match(rid):
        problems.append(f'{where}: id must be kebab-case ([a-z0-9] words joined by "-")')
    elif rid in seen:
        problems.append(f'{where}: duplicate id')
    else:
        seen.add(rid)
    for k in ('title', 'description', 'remediation', 'regex'):
        if k in d and (not isinstance(d[k], str) or not d[k].strip()):
            problems.append(f'{where}: {k} must be a non-empty string')
    if d.get('severity') not in SEVERITIES:
        problems.append(f'{where}: severity must be one of {", ".join(SEVERITIES)}')
    kws = d.get('keywords')
    if not isinstance(kws, list) or not kws or not all(isinstance(k, str) and k for k in kws):
        problems.append(f'{where}: keywords must be a non-empty list of non-empty strings')
    g = d.get('secret_group', 0)
    if not isinstance(g, int) or isinstance(g, bool) or g < 0:
        problems.append(f'{where}: secret_group must be an integer >= 0')
    e = d.get('entropy')
    if e is not None and (isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 <= e <= 8):
        problems.append(f'{where}: entropy must be a number between 0 and 8')
    refs = d.get('references')
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r.startswith('https://') for r in refs):
        problems.append(f'{where}: references must be a non-empty list of https:// URLs')
    allow = d.get('allow', [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        problems.append(f'{where}: allow must be a list of regex strings')
        allow = []
    ex = d.get('examples')
    if not isinstance(ex, dict) or set(ex) - {'positive', 'negative'}:
        problems.append(f'{where}: examples must be a mapping with positive/negative lists')
        ex = {}
    for kind in ('positive', 'negative'):
        lst = ex.get(kind)
        if not isinstance(lst, list) or not lst or not all(isinstance(s, str) and s for s in lst):
            problems.append(f'{where}: examples.{kind} must be a non-empty list of strings')
    if not isinstance(d.get('regex'), str):
        return None

    problems.extend(check_dialect(d['regex'], where))
    for i, a in enumerate(allow):
        try:
            re.compile(a, re.ASCII)
        except re.error as err:
            problems.append(f'{where}: allow[{i}] does not compile: {err}')
    if d.get('path') is not None:
        if not isinstance(d['path'], str):
            problems.append(f'{where}: path must be a string')
        else:
            try:
                re.compile(d['path'], re.ASCII)
            except re.error as err:
                problems.append(f'{where}: path does not compile: {err}')
    try:
        rule = Rule(d)
    except (re.error, TypeError, KeyError) as err:
        problems.append(f'{where}: cannot compile: {err}')
        return None
    if isinstance(g, int) and g > rule.rx.groups:
        problems.append(f'{where}: secret_group {g} but the regex has {rule.rx.groups} groups')
        return None

    if rule.path is not None:
        if not any(rule.path.search(p) for p in CANONICAL_PATHS):
            problems.append(f'{where}: path regex matches none of the canonical credential paths '
                            f'(add one to CANONICAL_PATHS if the file is new)')
        bad = [p for p in INNOCENT_PATHS if rule.path.search(p)]
        if bad:
            problems.append(f'{where}: path regex matches innocent paths {bad}')

    for s in ex.get('positive') or []:
        if not isinstance(s, str):
            continue
        found = list(rule.findings(s))
        if not found:
            why = 'no regex match'
            m = rule.rx.search(s)
            if m:
                sec = m.group(rule.group)
                if not sec:
                    why = 'empty secret group'
                elif rule.entropy is not None and entropy(sec) < rule.entropy:
                    why = f'secret entropy {entropy(sec):.2f} < {rule.entropy}'
                else:
                    why = 'secret is allow-listed'
            problems.append(f'{where}: positive example yields no finding ({why}): {s[:100]!r}')
        for m, _sec in found:
            if not any(k in m.group(0).lower() for k in rule.keywords):
                problems.append(f'{where}: no keyword occurs in the match {m.group(0)[:80]!r}')
        # The same example with CRLF line endings must give the same secrets.
        if found and '\n' in s and '\r' not in s:
            crlf = [sec for _m, sec in rule.findings(s.replace('\n', '\r\n'))]
            if crlf != [sec for _m, sec in found]:
                problems.append(f'{where}: positive example behaves differently with CRLF line '
                                f'endings ({len(crlf)} vs {len(found)} findings): {s[:80]!r}')
    for s in ex.get('negative') or []:
        if not isinstance(s, str):
            continue
        for m, sec in rule.findings(s):
            problems.append(f'{where}: negative example yields a finding {sec[:60]!r}: {s[:100]!r}')
            break
    return rule


# `{{assign}}`: the shared name-value context (SEC_ASSIGN in src/lib/scan/secrets_rules.c).
ASSIGN = ('(?:(?:["\']?[ \\t]{0,4}(?:=>|:{1,3}=|[?.+]=|=|:)'
          '|(?::[ \\t]{0,4}|[ \\t]{1,4})(?:string|String|str|&str)[ \\t]{0,4}='
          '|["\'][ \\t]{1,4}value[ \\t]{0,2}='
          '|["\']?>[ \\t]{0,4}(?:\\r?\\n[ \\t]{0,40})?)[ \\t]{0,4}["\'`]?'
          '|["\'][ \\t]{0,4},[ \\t]{0,4}["\'`])')


def expand(rx):
    return rx.replace('{{assign}}', ASSIGN) if isinstance(rx, str) else rx


def load(path, problems, user_file=False):
    try:
        with open(path, encoding='utf-8') as f:
            doc = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problems.append(f'{path}: cannot load: {e}')
        return []
    if not isinstance(doc, dict):
        problems.append(f'{path}: top level must be a mapping')
        return []
    allowed_top = {'version', 'rules'} | ({'disable', 'allowlist'} if user_file else set())
    for k in doc:
        if k not in allowed_top:
            problems.append(f'{path}: unknown top-level key {k!r}')
    for d in doc.get('rules') or []:
        if isinstance(d, dict) and 'regex' in d:
            d['regex'] = expand(d['regex'])
    if doc.get('version') != 1:
        problems.append(f'{path}: version must be 1')
    if user_file:
        dis = doc.get('disable', [])
        if not isinstance(dis, list) or not all(isinstance(x, str) for x in dis):
            problems.append(f'{path}: disable must be a list of rule ids')
        al = doc.get('allowlist', {})
        if not isinstance(al, dict) or set(al) - {'paths', 'values'}:
            problems.append(f'{path}: allowlist must be a mapping with paths/values lists')
        else:
            for k in ('paths', 'values'):
                for i, rx in enumerate(al.get(k) or []):
                    try:
                        re.compile(rx, re.ASCII)
                    except (re.error, TypeError) as e:
                        problems.append(f'{path}: allowlist.{k}[{i}] does not compile: {e}')
    rules = doc.get('rules')
    if not isinstance(rules, list) or (not rules and not user_file):
        problems.append(f'{path}: rules must be a non-empty list')
        return []
    seen, out = set(), []
    for i, d in enumerate(rules):
        r = validate_rule(d, i, problems, seen)
        if r is not None:
            out.append(r)
    return out


def markdown(rules):
    lines = ['| Rule id | Title | Severity | Scope |', '| --- | --- | --- | --- |']
    for r in rules:
        scope = 'path-scoped' if r.path is not None else 'any file'
        title = r.d['title'].replace('|', '\\|')
        lines.append(f"| `{r.id}` | {title} | {r.d['severity']} | {scope} |")
    counts = Counter(r.d['severity'] for r in rules)
    lines.append('')
    lines.append(f'{len(rules)} rules: ' + ', '.join(f'{counts[s]} {s}' for s in SEVERITIES if counts[s]) + '.')
    return '\n'.join(lines)


# Syntaxes a name-value pair is written in (what `{{assign}}` is meant to read), for --stats.
SYNTAXES = [
    ('env', '{n}={v}\n'),
    ('yaml', '{n}: "{v}"\n'),
    ('json', '{{"{n}": "{v}"}}\n'),
    ('json-escaped', '{{"app.ini": "{n}={v}\\nDEBUG=1"}}\n'),
    ('xml', '<{n}>\n    {v}\n</{n}>\n'),
    ('go-typed', 'var {n} string = "{v}"\n'),
    ('go-backtick', '{n} := `{v}`\n'),
    ('make', '{n} ?= {v}\n'),
    ('make-posix', '{n} ::= {v}\n'),
    ('php-concat', "${n} .= '{v}';\n"),
    ('comma', 'System.setProperty("{n}", "{v}");\n'),
]
NAME_RE = re.compile(r'["\'<$]?([A-Za-z_][\w.-]{0,60}?)["\'>]?[ \t]*(?:=|:|\?=|:=)')


def stats_row(r):
    """(syntaxes read, syntaxes tried, file kinds) for one rule: its first positive example's
    secret re-written in every syntax of SYNTAXES under the example's own name."""
    ex = (r.d.get('examples') or {}).get('positive') or []
    sec = next((s for e in ex for _, s in r.findings(e)), None)
    kinds = ('files matching ' + r.d['path']) if r.path is not None else 'any text file'
    if '-----BEGIN' in r.d['regex']:
        kinds += ', binary files'
    if sec is None:
        return [], len(SYNTAXES), kinds
    first = next(e for e in ex if any(True for _ in r.findings(e)))
    names = [m.group(1) for m in NAME_RE.finditer(first[:max(first.find(sec), 0)])]
    name = names[-1] if names else (r.keywords[0].strip('_-.:') or 'x') + '_token'
    name = re.sub(r'[^\w.-]', '_', name)
    read = [k for k, tpl in SYNTAXES if any(True for _ in r.findings(tpl.format(n=name, v=sec)))]
    return read, len(SYNTAXES), kinds


def stats(rules):
    """Per rule: whether it reads a name-value context (the shared `{{assign}}`, or its own
    file format or token shape), which SYNTAXES it reads, which files it reads."""
    print('| Rule id | Context | Syntaxes read | Missing | File kinds |')
    print('| --- | --- | --- | --- | --- |')
    for r in rules:
        read, n, kinds = stats_row(r)
        miss = [k for k, _ in SYNTAXES if k not in read]
        ctx = 'shared {{assign}}' if ASSIGN in r.d['regex'] else (
            'token shape, any context' if len(read) == n else 'own format')
        print(f"| `{r.id}` | {ctx} | {len(read)}/{n} | {', '.join(miss) or '-'} | {kinds} |")


def is_text(data):
    return b'\0' not in data[:8192]


def scan(rules, roots, max_size=2 * 1024 * 1024, show=3):
    total = 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                try:
                    if not os.path.isfile(full) or os.path.islink(full) or os.path.getsize(full) > max_size:
                        continue
                    with open(full, 'rb') as f:
                        data = f.read()
                except OSError:
                    continue
                if not is_text(data):
                    continue
                text = data.decode('latin-1')
                low = text.lower()
                rel = full.lstrip('/')
                for r in rules:
                    if r.path is not None and not r.path.search(rel):
                        continue
                    if not any(k in low for k in r.keywords):
                        continue
                    n = 0
                    for m, sec in r.findings(text):
                        total += 1
                        n += 1
                        if n <= show:
                            line = text.count('\n', 0, m.start()) + 1
                            print(f'{full}:{line}: {r.id}: {sec[:70]!r}')
    print(f'{total} finding(s)', file=sys.stderr)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('rules', nargs='?', default=DEFAULT_RULES, help='rule file (default: rules/secrets.yaml)')
    ap.add_argument('--user', action='store_true', help='validate as a user --rules file (allows disable/allowlist)')
    ap.add_argument('--markdown', action='store_true', help='print the rule table in Markdown and exit')
    ap.add_argument('--stats', action='store_true',
                    help='print, per rule, the name-value syntaxes it reads and the files it reads')
    ap.add_argument('--scan', nargs='+', metavar='DIR', help='scan text files under DIR and print findings')
    args = ap.parse_args()

    problems = []
    rules = load(args.rules, problems, user_file=args.user)
    if args.user and os.path.exists(DEFAULT_RULES) and os.path.abspath(args.rules) != DEFAULT_RULES:
        builtin = {r.id for r in load(DEFAULT_RULES, [])}
        for r in rules:
            if r.id in builtin:
                problems.append(f'rule {r.id}: id collides with a built-in rule '
                                f'(disable the built-in rule and use a new id)')
        with open(args.rules, encoding='utf-8') as f:
            doc = yaml.safe_load(f) or {}
        known = builtin | {r.id for r in rules}
        for rid in doc.get('disable') or []:
            if isinstance(rid, str) and rid not in known:
                problems.append(f'disable: unknown rule id {rid!r}')
    if args.markdown:
        if problems:
            print('\n'.join(problems), file=sys.stderr)
            return 1
        print(markdown(rules))
        return 0
    if args.stats:
        stats(rules)
        return 1 if problems else 0
    if args.scan:
        if problems:
            print('\n'.join(problems), file=sys.stderr)
        scan(rules, args.scan)
        return 1 if problems else 0
    if problems:
        print(f'{args.rules}: {len(problems)} problem(s):', file=sys.stderr)
        for p in problems:
            print('  - ' + p, file=sys.stderr)
        print(f'{len(rules)} rules loaded', file=sys.stderr)
        return 1
    counts = Counter(r.d['severity'] for r in rules)
    print(f'{args.rules}: OK, {len(rules)} rules (' +
          ', '.join(f'{counts[s]} {s}' for s in SEVERITIES if counts[s]) + ')')
    return 0


if __name__ == '__main__':
    sys.exit(main())
