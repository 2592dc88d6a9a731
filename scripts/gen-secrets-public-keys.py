#!/usr/bin/env python3
"""Generate data/secrets-public-keys.txt: fingerprints of key material published in packages.

Source: the dpkg database of the machine it runs on (/var/lib/dpkg/info/*.list, the files each
installed package shipped) and those files' contents, read under ROOT (default /usr). Every
file a package installed is public: anyone can download the package. A private key (or a
client API key) inside one -- a library's test data, a FIPS self-test, a documentation
example, the public client key of a vendor's CLI -- is therefore a well-known test key,
not anybody's secret. bulwark reports such a key at info severity as a "public test key"
when its fingerprint is in the table, wherever the file is found; the same bytes anywhere
else keep their rule's severity, and a key that is not in the table (a real key dropped
into /usr/share) stays critical/high: nothing is skipped by directory.

Tabled: key material (the PEM/OpenSSH/PuTTY private key rules, and whole PKCS#12/JKS
keystore files for the keystore checks), Google API keys (gcp-api-key: the public client keys
of Google's CLIs and SDKs) and the values of the generic rules (generic-*: a password or secret
in a package's code is a documentation example -- urllib's `passwd='geheim$parole'`, oauthlib's
RFC 5849 sample tokens -- or the built-in client secret of an installed application, such as
the Cloud SDK's OAuth client, which Google documents as not secret). A vendor-shaped token
found in a package is NOT tabled: that would be a packager's leak, still reported.

A fingerprint is the sha256 of the secret as the rule captures it (the rule's
secret_group, trailing CR/LF removed), which is what src/lib/scan/secrets_engine.c hashes.
Files up to 4 MiB are read, and the members (up to 4 MiB) of zip archives (.jar, .zip,
.whl, .egg, .apk) up to 256 MiB.

usage: scripts/gen-secrets-public-keys.py [--root /usr] [--out data/secrets-public-keys.txt]

With --examples it writes data/secrets-example-keys.txt instead: fingerprints of the example
secrets that public SDK and documentation repositories publish (EXAMPLE_SOURCES below: the
Firebase SDK's sample and test app keys, the NuGet documentation's nuget.config passwords).
Those are not key material anybody could own -- a value printed in a vendor's documentation or
committed to its public SDK is known to everybody -- so bulwark does not report them at all, as
a scanner does not report AKIAIOSFODNN7EXAMPLE. Only the rules named for each source are
tabled, from every blob of the repository's history (a key removed upstream stays published).

  scripts/gen-secrets-public-keys.py --examples \\
      --git firebase/firebase-android-sdk=/path/to/firebase-android-sdk.git \\
      --git NuGet/docs.microsoft.com-nuget=/path/to/docs.microsoft.com-nuget.git
"""
import argparse
import glob
import hashlib
import io
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'tools'))
import check_secret_rules as csr  # noqa: E402  (the rule loader and its Python regexes)

MAX_FILE = 4 << 20
MAX_ZIP = 256 << 20
ZIP_EXT = ('.jar', '.zip', '.whl', '.egg', '.apk')
MARKERS = (b'PRIVATE KEY-----', b'AIza')


# (GitHub repository, rules whose findings in it are tabled, what the repository publishes)
EXAMPLE_SOURCES = (
    ('firebase/firebase-android-sdk', ('gcp-api-key',),
     'Google API keys of the SDK\'s sample and test app configurations'),
    ('NuGet/docs.microsoft.com-nuget', ('nuget-config-password',),
     'the nuget.config reference\'s example package-source passwords'),
)


def git_blobs(gitdir):
    """(path, bytes) of every blob up to MAX_FILE in the repository's history."""
    names = {}
    out = subprocess.run(['git', '--git-dir', gitdir, 'rev-list', '--objects', '--all',
                          '--missing=allow-any'],
                         check=True, capture_output=True).stdout
    for line in out.decode('utf-8', 'replace').splitlines():
        sha, _, path = line.partition(' ')
        if path:
            names.setdefault(sha, path)
    fmt = '--batch-check=%(objectname) %(objecttype) %(objectsize)'
    out = subprocess.run(['git', '--git-dir', gitdir, 'cat-file', '--batch-all-objects', fmt],
                         check=True, capture_output=True).stdout
    blobs = [f[0] for f in (l.split() for l in out.decode().splitlines())
             if f[1] == 'blob' and int(f[2]) <= MAX_FILE and f[0] in names]
    p = subprocess.Popen(['git', '--git-dir', gitdir, 'cat-file', '--batch'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for sha in blobs:
        p.stdin.write(sha.encode() + b'\n')  # one at a time: both pipes stay small
        p.stdin.flush()
        size = int(p.stdout.readline().split()[2])
        data = p.stdout.read(size)
        p.stdout.read(1)
        yield names[sha], data
    p.stdin.close()
    p.wait()


def examples(args, all_rules):
    repos = dict(g.split('=', 1) for g in args.git)
    rows = {}
    head = []
    for repo, ids, what in EXAMPLE_SOURCES:
        if repo not in repos:
            sys.exit('gen-secrets-public-keys: --git %s=GITDIR is required' % repo)
        gitdir = repos[repo]
        commit = subprocess.run(['git', '--git-dir', gitdir, 'rev-parse', 'HEAD'], check=True,
                                capture_output=True, text=True).stdout.strip()
        head.append('#   github:%s@%s: %s (rules %s)\n' % (repo, commit, what, ', '.join(ids)))
        rules = [r for r in all_rules if r.id in ids]
        markers = [k.encode() for r in rules for k in r.keywords]
        for path, data in git_blobs(gitdir):
            low = data.lower()
            if not any(m in low for m in markers):
                continue
            for r in rules:
                for _, sec in r.findings(data.decode('latin-1')):
                    fp = hashlib.sha256(sec.rstrip('\r\n').encode('latin-1')).hexdigest()
                    rows.setdefault(fp, (r.id, 'github:' + repo, path))
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('# Fingerprints of example secrets published in public SDK and documentation\n'
                '# repositories (sha256 of the secret as the rule captures it): never reported.\n'
                '# Generated by scripts/gen-secrets-public-keys.py --examples from every blob of:\n')
        f.writelines(head)
        f.write('# Do not edit by hand. Columns: sha256, rule, repository, file.\n')
        for fp in sorted(rows):
            rid, repo, path = rows[fp]
            f.write('%s %s %s %s\n' % (fp, rid, repo, path.replace(' ', '%20')))
    print('%d fingerprints written to %s' % (len(rows), args.out), file=sys.stderr)


def tabled(rule):
    return '-----BEGIN' in rule.d['regex'] or rule.id == 'gcp-api-key' or generic(rule)


def generic(rule):
    return rule.id.startswith('generic-')


def package_files(root):
    """path -> first package that lists it, for regular files under root."""
    owner = {}
    for lst in sorted(glob.glob('/var/lib/dpkg/info/*.list')):
        pkg = os.path.basename(lst)[:-5].split(':')[0]
        with open(lst, encoding='utf-8', errors='replace') as f:
            for line in f:
                p = line.rstrip('\n')
                if p.startswith(root.rstrip('/') + '/') and p not in owner:
                    owner[p] = pkg
    return owner


def keystore_rule(data):
    """The keystore rule that reads data (src/lib/scan/secrets_keystore.c's sniffs), or None.
    A keystore is tabled whole (sha256 of the file), whatever its password."""
    if len(data) > 1 << 20:
        return None
    if len(data) >= 32 and data[:4] in (b'\xfe\xed\xfe\xed', b'\xce\xce\xce\xce') and \
            data[4:8] in (b'\0\0\0\1', b'\0\0\0\2'):
        return 'java-keystore-weak-password'
    if len(data) >= 8 and data[0] == 0x30:
        i = 2 + (data[1] & 0x7f if data[1] & 0x80 else 0)
        if (not data[1] & 0x80 or 1 <= data[1] & 0x7f <= 4) and data[i:i + 4] == b'\x02\x01\x03\x30':
            return 'pkcs12-keystore-weak-password'
    return None


def secrets_in(rules, data, path):
    """(rule id, secret) of what the engine would report in data, found at path (the generic
    rules read text files only, those their path pattern names, with one of their keywords)."""
    ks = keystore_rule(data)
    if ks:
        yield ks, data.decode('latin-1')
    keyed = any(m in data for m in MARKERS)
    binary = b'\0' in data[:8192]
    text = low = None
    for r in rules:
        if generic(r):
            if binary or (r.path is not None and not r.path.search(path)):
                continue
            low = data.lower() if low is None else low
            if not any(k.encode('latin-1') in low for k in r.keywords):
                continue
        elif not keyed:
            continue
        text = data.decode('latin-1') if text is None else text
        for _, sec in r.findings(text, path):
            yield r.id, sec.rstrip('\r\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--root', default='/usr')
    ap.add_argument('--out')
    ap.add_argument('--examples', action='store_true',
                    help='table the example secrets of EXAMPLE_SOURCES instead')
    ap.add_argument('--git', action='append', default=[], metavar='OWNER/NAME=GITDIR')
    args = ap.parse_args()
    problems = []
    all_rules = csr.load(csr.DEFAULT_RULES, problems)
    if problems:
        sys.exit('gen-secrets-public-keys: rules/secrets.yaml: ' + '; '.join(problems))
    name = 'secrets-example-keys.txt' if args.examples else 'secrets-public-keys.txt'
    args.out = args.out or os.path.join(HERE, '..', 'data', name)
    if args.examples:
        examples(args, all_rules)
        return
    rules = [r for r in all_rules if tabled(r)]
    rows = {}
    for path, pkg in sorted(package_files(args.root).items()):
        try:
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            size = os.path.getsize(path)
            found = []
            if path.endswith(ZIP_EXT) and size <= MAX_ZIP:
                try:
                    with zipfile.ZipFile(path) as z:
                        for zi in z.infolist():
                            if zi.is_dir() or zi.file_size > MAX_FILE:
                                continue
                            for rid, sec in secrets_in(rules, z.read(zi), path + '!' + zi.filename):
                                found.append((rid, sec, path + '!' + zi.filename))
                except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
                    pass
            elif size <= MAX_FILE:
                with open(path, 'rb') as f:
                    for rid, sec in secrets_in(rules, f.read(), path):
                        found.append((rid, sec, path))
        except OSError:
            continue
        for rid, sec, where in found:
            fp = hashlib.sha256(sec.encode('latin-1')).hexdigest()
            rows.setdefault(fp, (rid, pkg, where))
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('# Fingerprints of key material published in packages (sha256 of the secret as the\n'
                '# rule captures it). Generated by scripts/gen-secrets-public-keys.py from the dpkg\n'
                '# database (/var/lib/dpkg/info/*.list) and the files it lists under %s; do not\n'
                '# edit by hand. Columns: sha256, rule, package, file (archive!member).\n' % args.root)
        for fp in sorted(rows):
            rid, pkg, where = rows[fp]
            f.write('%s %s %s %s\n' % (fp, rid, pkg, where.replace(' ', '%20')))
    print('%d fingerprints written to %s' % (len(rows), args.out), file=sys.stderr)


if __name__ == '__main__':
    main()
