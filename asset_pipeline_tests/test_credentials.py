"""Provenance a third party trusts, as plain functions on small images: a brand's certificate named
in config.yaml (its CA a validator's trust anchor), an RFC 3161 time-stamp from a local
`openssl ts` authority, the C2PA 2.x layout of the manifest, IPTC's digital source type read back
by exiftool, `verify`'s warning about the test certificate, and config.yaml's errors.

Certificates are made with the openssl command line, as a brand's PKI would make them, not by
the code under test; c2pa's own Reader is the validator."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from PIL import Image

from asset_pipeline import __version__, cli
from asset_pipeline.home import Home
from asset_pipeline.publishing import content_credentials
from asset_pipeline.publishing.encoding import encode, read_provenance
from asset_pipeline.specs import InputError
from asset_pipeline.stages.publish import publish
from asset_pipeline.storage.objects import ObjectStore
from asset_pipeline.typography.boxes import Layout, ProductBox
from asset_pipeline.validation import config_problems
from asset_pipeline_tests.test_version_rule import _inputs

PROVENANCE = {"model": "tiny", "seed": "7", "digital_source_type": content_credentials.COMPOSITE}
SIGNER_EXTENSIONS = (
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    "extendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
)
TSA_EXTENSIONS = (
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n"
)


def openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def make_pki(folder: Path, name: str, extensions: str, curve: str = "P-256") -> dict[str, Path]:
    """A CA and a certificate it issues, made by openssl: {'ca', 'chain' (leaf first), 'key'}."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-nodes")
    ca_ext = ("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl(folder, "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", *ca_ext,
            "-subj", f"/CN={name} Root CA/O={name}")  # fmt: skip
    openssl(folder, "req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", f"/CN={name} signer/O={name}")
    (folder / "leaf.ext").write_text(extensions)
    openssl(folder, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "leaf.pem", "-days", "30", "-extfile", "leaf.ext")  # fmt: skip
    (folder / "chain.pem").write_bytes((folder / "leaf.pem").read_bytes() + (folder / "ca.pem").read_bytes())
    return {"ca": folder / "ca.pem", "chain": folder / "chain.pem", "key": folder / "leaf.key"}


def small_file(fmt: str, provenance: dict = PROVENANCE) -> bytes:
    return encode(Image.new("RGB", (64, 48), "#336699"), fmt, None if fmt == "png" else 80, provenance)


def active(store: dict) -> dict:
    return store["manifests"][store["active_manifest"]]


def codes(store: dict, kind: str) -> set[str]:
    return {r["code"] for r in store["validation_results"]["activeManifest"].get(kind, [])}


# ------------------------------------------------------------------ the signer


def test_a_brand_certificate_named_in_config_yaml_is_trusted_by_a_validator_given_its_ca(tmp_path):
    home = Home(tmp_path / "home")
    home.root.mkdir()
    brand = make_pki(tmp_path / "secrets", "Acme Brand", SIGNER_EXTENSIONS, curve="P-384")  # a mounted secret
    (home.root / "config.yaml").write_text(f"signing:\n  certificate: {brand['chain']}\n  key: {brand['key']}\n")
    signed = content_credentials.sign(home, small_file("jpeg"), "jpeg", "spring/hero", PROVENANCE)

    trusted = content_credentials.read_manifest(signed, "jpeg", trust_anchors=brand["ca"].read_text())
    assert trusted["validation_state"] == "Trusted", trusted["validation_results"]
    signature = active(trusted)["signature_info"]
    assert (signature["common_name"], signature["alg"].lower()) == ("Acme Brand signer", "es384")  # P-384: ES384
    # Without the brand's CA as an anchor, the same file is valid but its signer untrusted.
    plain = content_credentials.read_manifest(signed, "jpeg")
    assert plain["validation_state"] == "Valid" and "signingCredential.untrusted" in codes(plain, "failure")
    assert not (home.root / "keys").exists()  # no test certificate made when config.yaml names a signer


def test_the_generated_test_certificate_says_so_and_replaces_an_older_unmarked_one(tmp_path, monkeypatch):
    home = Home(tmp_path)
    pem = home.root / "keys" / content_credentials.CERT_FILE
    monkeypatch.setattr(content_credentials, "TEST_SIGNER_NAME", "asset_pipeline signer")  # the earlier subject
    content_credentials.signing_credentials(home)
    monkeypatch.undo()
    credentials = content_credentials.signing_credentials(home)
    leaf, ca = x509.load_pem_x509_certificates(pem.read_bytes())
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "asset_pipeline TEST signer — not trusted"
    )
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "asset_pipeline TEST CA — not trusted"
    assert credentials.test and credentials.alg == "es256"
    assert content_credentials.signing_credentials(home).chain == pem.read_bytes() == credentials.chain  # kept


class TimeStampAuthority(BaseHTTPRequestHandler):
    """RFC 3161 over HTTP, answered by `openssl ts -reply` (the server's `pki` and `queries`)."""

    def do_POST(self):
        query = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.queries.append(self.headers["Content-Type"])
        folder = self.server.pki
        (folder / "query.tsq").write_bytes(query)
        openssl(folder, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "query.tsq", "-signer", "leaf.pem",
                "-inkey", "leaf.key", "-chain", "ca.pem", "-out", "reply.tsr")  # fmt: skip
        reply = (folder / "reply.tsr").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def tsa_url(tmp_path):
    pki = make_pki(tmp_path / "tsa", "Loopback TSA", TSA_EXTENSIONS)["ca"].parent
    (pki / "serial").write_text("01\n")
    (pki / "tsa.cnf").write_text(
        "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\nserial = ./serial\nsigner_digest = sha256\n"
        "default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\ness_cert_id_alg = sha256\n"
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), TimeStampAuthority)
    server.pki, server.queries = pki, []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa", server.queries
    server.shutdown()
    thread.join()


def test_a_time_stamp_authority_in_config_yaml_stamps_every_signature(tmp_path, tsa_url):
    url, queries = tsa_url
    home = Home(tmp_path / "home")
    home.root.mkdir()
    (home.root / "config.yaml").write_text(f"signing:\n  tsa_url: {url}\n")
    signed = content_credentials.sign(home, small_file("png"), "png", "spring/hero", PROVENANCE)
    store = content_credentials.read_manifest(signed, "png")
    stamped = datetime.fromisoformat(active(store)["signature_info"]["time"])
    assert abs(stamped - datetime.now(UTC)) < timedelta(minutes=2)
    assert "timeStamp.validated" in codes(store, "success") and queries == ["application/timestamp-query"]


def test_an_unreachable_time_stamp_authority_fails_signing_with_one_line(tmp_path):
    home = Home(tmp_path)
    (home.root / "config.yaml").write_text("signing:\n  tsa_url: http://127.0.0.1:9/\n")  # discard: nothing listens
    with pytest.raises(content_credentials.SigningError, match=r"^content credentials: cannot sign t/h with the "):
        content_credentials.sign(home, small_file("png"), "png", "t/h", PROVENANCE)


def test_the_manifest_files_created_assertions_with_a_generator_info_agent(tmp_path):
    import c2pa

    signed = content_credentials.sign(Home(tmp_path), small_file("webp"), "webp", "spring/hero", PROVENANCE)
    with c2pa.Reader("image/webp", io.BytesIO(signed)) as reader:  # the claim as stored, not summarised
        manifest = active(json.loads(reader.detailed_json()))
    created = {entry["url"].rpartition("/")[2] for entry in manifest["claim"]["created_assertions"]}
    assert {"c2pa.actions.v2", "org.asset_pipeline.provenance"} <= created
    assert not manifest["claim"].get("gathered_assertions")
    [action] = manifest["assertion_store"]["c2pa.actions.v2"]["actions"]
    assert action["softwareAgent"] == {"name": "asset_pipeline", "version": __version__}
    assert action["action"] == "c2pa.created" and action["digitalSourceType"] == content_credentials.COMPOSITE


# ------------------------------------------------------------------ IPTC digital source type


def test_the_digital_source_type_follows_the_layout():
    product = ProductBox(0.1, 0.1, 0.3, 0.3, "mug.png", "a" * 64, "b" * 64, "c" * 64, "alpha")
    assert content_credentials.digital_source_type(Layout(256, 256).to_json()) == content_credentials.TRAINED
    assert content_credentials.digital_source_type(Layout(256, 256, product=product).to_json()) == (
        content_credentials.COMPOSITE
    )


def test_exiftool_reads_the_digital_source_type_from_every_format(tmp_path):
    home, paths = Home(tmp_path / "home"), {}
    for fmt, source_type in [("jpeg", "COMPOSITE"), ("webp", "TRAINED"), ("avif", "COMPOSITE"), ("png", "TRAINED")]:
        provenance = dict(PROVENANCE, digital_source_type=getattr(content_credentials, source_type))
        signed = content_credentials.sign(home, small_file(fmt, provenance), fmt, "t/h", provenance)
        paths[fmt] = tmp_path / f"hero.{fmt}"
        paths[fmt].write_bytes(signed)
        assert read_provenance(signed)[1]["digital_source_type"] == provenance["digital_source_type"]
        assert "XML:com.adobe.xmp" not in read_provenance(signed)[1]  # PNG's XMP chunk is read, not listed
    out = subprocess.run(
        ["exiftool", "-j", "-XMP-iptcExt:DigitalSourceType", *map(str, paths.values())],
        capture_output=True,
        text=True,
        check=True,
    )
    found = {Path(tags["SourceFile"]).suffix[1:]: tags.get("DigitalSourceType") for tags in json.loads(out.stdout)}
    base = "http://cv.iptc.org/newscodes/digitalsourcetype/"
    assert found == {
        "jpeg": base + "compositeWithTrainedAlgorithmicMedia",
        "webp": base + "trainedAlgorithmicMedia",
        "avif": base + "compositeWithTrainedAlgorithmicMedia",
        "png": base + "trainedAlgorithmicMedia",
    }


# ------------------------------------------------------------------ verify's warning


def test_verify_warns_once_about_files_signed_with_the_test_certificate(tmp_path, monkeypatch, capsys):
    home = Home(tmp_path.resolve())
    store = ObjectStore(home)
    publish(home, *_inputs(store, "#336699"), store)  # v1 and v2, signed with the test certificate
    publish(home, *_inputs(store, "#993366"), store)
    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(home.root))
    monkeypatch.setenv("DAGSTER_HOME", str(home.dagster))
    assert cli.main(["verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("warning:") == 1 and "warning: 2 published file(s) signed with the test certificate" in out

    brand = make_pki(tmp_path / "secrets", "Acme Brand", SIGNER_EXTENSIONS)
    (home.root / "config.yaml").write_text(f"signing:\n  certificate: {brand['chain']}\n  key: {brand['key']}\n")
    publish(home, *_inputs(store, "#669933"), store)  # v3, signed with the brand's certificate
    assert cli.main(["verify"]) == 0
    assert "warning: 2 published file(s) signed with the test certificate" in capsys.readouterr().out


# ------------------------------------------------------------------ config.yaml errors


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("signin: {}\n", "config.yaml: signin: unknown key (typo?)"),
        ("signing:\n  cert: a.pem\n", "config.yaml: signing.cert: unknown key (typo?)"),
        (
            "signing:\n  tsa_url: ftp://tsa.example\n",
            "config.yaml: signing.tsa_url: 'ftp://tsa.example' is not an http:// or https:// URL",
        ),
        (
            "signing:\n  certificate: chain.pem\n",
            "config.yaml: signing: key is missing: certificate and key go together (neither: the signer under keys/)",
        ),
        ("signing: [a]\n", "config.yaml: signing: Input should be a valid dictionary or instance of SigningConfig"),
        (
            "signing:\n  certificate: nowhere.pem\n  key: nowhere.key\n",
            "config.yaml: signing.certificate: {home}/nowhere.pem: cannot read: No such file or directory",
        ),
        (
            "signing:\n  certificate: pki/chain.pem\n  key: other/leaf.key\n",
            "config.yaml: signing.key: {home}/other/leaf.key: does not belong to the chain's first certificate "
            "(the signer's comes first)",
        ),
        (
            "signing:\n  certificate: pki/leaf.key\n  key: pki/leaf.key\n",
            "config.yaml: signing.certificate: {home}/pki/leaf.key: not a PEM certificate chain",
        ),
    ],
)
def test_a_bad_config_yaml_is_one_line_naming_the_field(tmp_path, text, problem):
    home = Home(tmp_path)
    if "pki/" in text:
        make_pki(tmp_path / "pki", "Acme", SIGNER_EXTENSIONS)
        make_pki(tmp_path / "other", "Other", SIGNER_EXTENSIONS)
    (tmp_path / "config.yaml").write_text(text)
    assert [str(p) for p in config_problems(home)] == [problem.format(home=tmp_path)]


def test_a_brand_certificate_in_keys_is_checked_and_never_replaced(tmp_path):
    home, keys = Home(tmp_path / "home"), tmp_path / "home" / "keys"
    brand, other = (
        make_pki(tmp_path / "brand", "Acme", SIGNER_EXTENSIONS),
        make_pki(tmp_path / "o", "O", SIGNER_EXTENSIONS),
    )
    keys.mkdir(parents=True)
    (keys / content_credentials.CERT_FILE).write_bytes(brand["chain"].read_bytes())  # its key not there yet
    assert [str(p) for p in config_problems(home)] == ["keys/c2pa-signer.key: cannot read: No such file or directory"]
    (keys / content_credentials.KEY_FILE).write_bytes(other["key"].read_bytes())
    assert [str(p) for p in config_problems(home)] == [
        "keys/c2pa-signer.key: does not belong to the chain's first certificate (the signer's comes first)"
    ]
    with pytest.raises(InputError):  # signing refuses too, and keeps the brand's certificate
        content_credentials.signing_credentials(home)
    assert (keys / content_credentials.CERT_FILE).read_bytes() == brand["chain"].read_bytes()
    (keys / content_credentials.KEY_FILE).write_bytes(brand["key"].read_bytes())
    assert config_problems(home) == [] and not content_credentials.signing_credentials(home).test


def test_validate_and_run_refuse_a_bad_config_yaml(tmp_path, monkeypatch, capsys):
    (tmp_path / "config.yaml").write_text("signing:\n  tsa_url: nope\n")
    monkeypatch.setenv("ASSET_PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    line = "config.yaml: signing.tsa_url: 'nope' is not an http:// or https:// URL"
    assert cli.main(["validate"]) == 2
    assert line in capsys.readouterr().err
    assert cli.main(["validate", str(tmp_path / "config.yaml")]) == 2
    assert line in capsys.readouterr().err
    assert cli.main(["run", "spring"]) == 2  # refused before any Dagster run starts
    assert line in capsys.readouterr().err and not (tmp_path / "dagster" / "storage").exists()
