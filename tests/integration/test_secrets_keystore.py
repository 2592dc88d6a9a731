"""PKCS#12 keystores (.p12/.pfx, Java PKCS12 keystores): a private key that opens without a
password or with a well-known one is a secret finding (pkcs12-keystore-weak-password), found
by content whatever the file is called, also inside an archive; a key under a strong password,
a trust store of certificates only (Java's cacerts opens with `changeit` and is no secret) and a
keystore asking for more key-derivation work than the check's bound are not reported. The key
is never printed. Keystores are made here, at test time, with python3-cryptography and the
openssl CLI."""
import datetime
import io
import json
import subprocess
import zipfile

import pytest

from conftest import run_bulwark

crypto = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

RULE = "pkcs12-keystore-weak-password"


@pytest.fixture(scope="module")
def pair():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bulwark keystore test")])
    now = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert


def p12(pair, password, with_key=True, rounds=None):
    key, cert = pair
    if password is None:
        enc = serialization.NoEncryption()
    elif rounds:
        enc = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(rounds)
               .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
               .hmac_hash(hashes.SHA256()).build(password))
    else:
        enc = serialization.BestAvailableEncryption(password)
    if with_key:
        return pkcs12.serialize_key_and_certificates(b"k", key, cert, None, enc)
    return pkcs12.serialize_key_and_certificates(b"ca", None, None, [cert], enc)


def openssl_empty_password(tmp_path, pair):
    """An OpenSSL keystore under the empty password (`-passout pass:`)."""
    key, cert = pair
    k, c, out = tmp_path / "k.pem", tmp_path / "c.pem", tmp_path / "o.p12"
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(k), "-in", str(c), "-out",
                    str(out), "-passout", "pass:"], check=True, capture_output=True)
    data = out.read_bytes()
    k.unlink()
    return data


def scan(root):
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", str(root), check=0)
    assert p.returncode == 0, p.stderr
    return p.stdout, {f["location"]["path"]: f for f in json.loads(p.stdout)["findings"]
                      if f["id"] == RULE}


def test_weak_keystores_reported_and_strong_ones_not(tmp_path, pair):
    root = tmp_path / "root"
    app = root / "srv/app"
    app.mkdir(parents=True)
    files = {
        "srv/app/server.p12": p12(pair, b"changeit"),
        "srv/app/client.pfx": p12(pair, b"password"),
        "srv/app/plain.p12": p12(pair, None),
        "srv/app/empty.p12": openssl_empty_password(tmp_path, pair),
        "srv/app/keystore": p12(pair, b"changeme"),  # by content, not by name
        "srv/app/sa-key.p12": p12(pair, b"notasecret"),  # a Google service-account key
        "srv/app/tests/data/client.p12": p12(pair, b"changeit"),  # test data: info
        # near misses
        "srv/app/strong.p12": p12(pair, b"Vq7-tX2m-unguessable-9Rk"),
        "srv/app/cacerts.p12": p12(pair, b"changeit", with_key=False),
        "srv/app/costly.p12": p12(pair, b"changeit", rounds=400000),
        "srv/app/truncated.p12": p12(pair, b"changeit")[:300],
    }
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/keys/app.p12", p12(pair, b"secret"))
    (app / "app.jar").write_bytes(buf.getvalue())
    out, found = scan(root)
    want = {
        "srv/app/server.p12": 'the well-known password "changeit"',
        "srv/app/client.pfx": 'the well-known password "password"',
        "srv/app/plain.p12": "stored without encryption",
        "srv/app/empty.p12": "the empty password",
        "srv/app/keystore": 'the well-known password "changeme"',
        "srv/app/sa-key.p12": 'the well-known password "notasecret"',
        "srv/app/tests/data/client.p12": 'the well-known password "changeit"',
    }
    for path, how in want.items():
        assert path in found, (path, sorted(found))
        f = found[path]
        sev = "info" if "/tests/" in path else "high"
        assert f["category"] == "secret" and f["severity"] == sev, f
        assert how in f["message"] and "1 private key" in f["message"], f["message"]
    jar = [p for p in found if p.startswith("srv/app/app.jar")]
    assert jar and 'password "secret"' in found[jar[0]]["message"], sorted(found)
    for path in ("srv/app/strong.p12", "srv/app/cacerts.p12", "srv/app/costly.p12",
                 "srv/app/truncated.p12"):
        assert path not in found, found[path]
    # never the key: not its PEM body, not its DER scalar
    key = pair[0]
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    body = "".join(pem.splitlines()[1:-1])
    assert body[:40] not in out
    assert "%x" % key.private_numbers().private_value not in out


def test_keystore_rule_is_listed():
    p = run_bulwark("rules", "--format", "json", check=0)
    assert p.returncode == 0, p.stderr
    assert RULE in p.stdout


def test_keystores_per_scan_are_bounded(tmp_path, pair):
    """Past SEC_MAX_SCAN_KEYSTORES (256) keystores one scan opens, the rest are not checked and
    one scan-incomplete finding says so, rather than a clean result claiming more."""
    root = tmp_path / "root"
    (root / "ks").mkdir(parents=True)
    data = p12(pair, b"changeit")
    for i in range(260):
        (root / "ks" / ("k%03d.p12" % i)).write_bytes(data)
    p = run_bulwark("scan", "-q", "--format", "json", "--fail-on", "none", str(root), check=0)
    assert p.returncode == 0, p.stderr
    fs = json.loads(p.stdout)["findings"]
    weak = [f for f in fs if f["id"] == RULE]
    notes = [f for f in fs if "Keystores: the 256" in (f.get("message") or "")]
    assert len(weak) == 256, len(weak)
    assert len(notes) == 1 and notes[0]["category"] != "secret", notes


def jks(entries, password, magic=0xFEEDFEED, version=2):
    """A Java keystore as keytool writes it: big-endian magic, version, count, entries (tag 1
    private key, 2 trusted certificate, 3 JCEKS secret key; alias; timestamp; body), then
    SHA-1(password as UTF-16BE, "Mighty Aphrodite", all bytes before). The private key's body
    is opaque to the check (its protection is keytool's own), so random bytes stand in for it.
    (The C side was also checked against keytool-made JKS/JCEKS files and Debian's cacerts.)"""
    import hashlib
    import os
    import struct
    cert = os.urandom(300)
    out = struct.pack(">III", magic, version, len(entries))
    ctype = struct.pack(">H", 5) + b"X.509" if version == 2 else b""
    for tag, alias in entries:
        out += struct.pack(">IH", tag, len(alias)) + alias + struct.pack(">Q", 1767225600000)
        if tag == 1:
            key = os.urandom(120)
            out += struct.pack(">I", len(key)) + key + struct.pack(">I", 1)
            out += ctype + struct.pack(">I", len(cert)) + cert
        elif tag == 2:
            out += ctype + struct.pack(">I", len(cert)) + cert
        else:
            out += b"\xac\xed\x00\x05" + os.urandom(64)  # a serialized Java object, no length
    return out + hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + out).digest()


def test_java_keystores(tmp_path):
    root = tmp_path / "root"
    (root / "opt/app").mkdir(parents=True)
    files = {
        "opt/app/server.jks": jks([(1, b"server")], "changeit"),
        "opt/app/secret.jceks": jks([(3, b"aes")], "password", magic=0xCECECECE),
        "opt/app/v1.keystore": jks([(2, b"ca"), (2, b"ca2"), (1, b"me")], "changeme", version=1),
        "opt/app/empty.jks": jks([(2, b"ca"), (1, b"me")], ""),
        # near misses
        "opt/app/cacerts": jks([(2, b"ca"), (2, b"ca2")], "changeit"),
        "opt/app/strong.jks": jks([(1, b"server")], "Kq2-unguessable-7Vx"),
        "opt/app/truncated.jks": jks([(1, b"server")], "changeit")[:-1],
    }
    for path, data in files.items():
        (root / path).write_bytes(data)
    out, _ = scan(root)
    found = {f["location"]["path"]: f for f in json.loads(out)["findings"]
             if f["id"] == "java-keystore-weak-password"}
    want = {
        "opt/app/server.jks": '(JKS) holding a private or secret key: it opens with the '
                              'well-known password "changeit"',
        "opt/app/secret.jceks": '(JCEKS) holding a private or secret key: it opens with the '
                                'well-known password "password"',
        "opt/app/v1.keystore": 'password "changeme"',
        "opt/app/empty.jks": "the empty password",
    }
    for path, how in want.items():
        assert path in found, (path, sorted(found))
        assert found[path]["severity"] == "high" and how in found[path]["message"], found[path]
    assert set(found) == set(want), sorted(found)


def test_keystore_a_package_ships_is_a_public_test_key(tmp_path):
    """A keystore file that a package ships (its sha256 in data/secrets-public-keys.txt,
    generated from the dpkg database by scripts/gen-secrets-public-keys.py) is reported at info
    wherever it is found; the same kind of keystore not in the table stays high (above)."""
    import os
    table = os.path.join(os.path.dirname(__file__), "..", "..", "data", "secrets-public-keys.txt")
    src = None
    for line in open(table):
        f = line.split()
        if not line.startswith("#") and len(f) == 4 and f[1] == RULE and "!" not in f[3] \
                and os.path.isfile(f[3]) and "/tests/" not in f[3]:
            src = f[3]
            break
    if src is None:
        pytest.skip("no keystore of the published-key table is installed on this machine")
    root = tmp_path / "root"
    (root / "srv/app").mkdir(parents=True)
    (root / "srv/app/signing.pfx").write_bytes(open(src, "rb").read())
    _, found = scan(root)
    assert found.get("srv/app/signing.pfx", {}).get("severity") == "info", found
