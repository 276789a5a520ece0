"""C2PA content credentials on published files (c2pa-python, offline): PNG, JPEG, WebP and AVIF.

Each published file gets a signed C2PA 2.x manifest: a `c2pa.actions.v2` assertion whose
`c2pa.created` action names the IPTC digital source type (`trainedAlgorithmicMedia`, or
`compositeWithTrainedAlgorithmicMedia` when the layout puts text, a logo or a product shot on
the generated picture) and the pipeline as its `softwareAgent` (a generator-info map), and the
model, seed and hashes of its provenance as the `org.asset_pipeline.provenance` assertion. The
pipeline makes both itself, so both are filed as created assertions, not gathered ones.

The signer (`signing_credentials`): the certificate and key that the home's config.yaml names
(`signing.certificate`, `signing.key`, for example a mounted secret), else `<home>/keys/`
(`c2pa-signer.pem`, the chain with the signer's certificate first, and `c2pa-signer.key`). When
`keys/` is empty a **test certificate** is made there: a throwaway CA and an ES256 signing
certificate whose subjects say they are for testing ("asset_pipeline TEST signer — not
trusted"). Validators report it untrusted, as they should, and `verify` warns about files
signed with it. With `signing.tsa_url`, each signature carries an RFC 3161 time-stamp from that
authority, so it stays valid after the certificate expires.

Signing is not deterministic (the manifest has a random id and a time), so publication decides
"unchanged" from its own cache of the signed file's hash, not by signing again.
"""

from __future__ import annotations

import datetime
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from asset_pipeline import __version__
from asset_pipeline.config import CONFIG_FILE, HomeConfig, load_config
from asset_pipeline.home import Home
from asset_pipeline.specs import InputError, Problem
from asset_pipeline.storage.files import atomic_write_bytes, file_lock

_IPTC_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = _IPTC_TYPES + "trainedAlgorithmicMedia"  # the generated picture alone
COMPOSITE = _IPTC_TYPES + "compositeWithTrainedAlgorithmicMedia"  # with text, a logo or a product shot on it
DIGITAL_SOURCE_TYPE = COMPOSITE  # what nearly every deliverable is
CERT_FILE, KEY_FILE = "c2pa-signer.pem", "c2pa-signer.key"
# The test certificate's subjects. Files signed by any certificate of this organisation (this
# generation's, or the earlier "asset_pipeline signer") count as signed with a test certificate.
TEST_ORGANIZATION = "asset_pipeline test certificate"
TEST_SIGNER_NAME = "asset_pipeline TEST signer — not trusted"
TEST_CA_NAME = "asset_pipeline TEST CA — not trusted"
AGENT = {"name": "asset_pipeline", "version": __version__}  # a C2PA generator-info map


def available() -> bool:
    try:
        import c2pa  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def digital_source_type(layout_json: str | None) -> str:
    """IPTC's digital source type of a deliverable, from its layout: composite when text, a logo
    or a product shot is drawn on the generated picture."""
    layout = json.loads(layout_json) if layout_json else {}
    return COMPOSITE if layout.get("boxes") or layout.get("logo") or layout.get("product") else TRAINED


class SigningError(RuntimeError):
    """c2pa could not sign a file (publication fails: nothing is published unsigned or unstamped)."""


@dataclass(frozen=True)
class SigningCredentials:
    chain: bytes  # PEM certificates, the signer's first
    key: bytes = field(repr=False)  # PEM private key: never in a log line or traceback
    alg: str  # the C2PA signature algorithm the key signs with (es256, ps256, ed25519, ...)
    tsa_url: str | None
    test: bool  # the generated test certificate: nothing trusts it


def _make_test_certificate(folder: Path) -> None:
    """A test CA and an ES256 leaf certificate it signs, in the profile C2PA requires."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORGANIZATION),
            ]
        )

    def build(subject, issuer, key, issuer_key, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # cert + CRL sign
        else:
            usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)  # digital signature
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
            )
        return builder.add_extension(usage, critical=True).sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = build(name(TEST_CA_NAME), name(TEST_CA_NAME), ca_key, ca_key, True)
    leaf = build(name(TEST_SIGNER_NAME), ca.subject, key, ca_key, False)
    pem = serialization.Encoding.PEM
    atomic_write_bytes(
        folder / KEY_FILE, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / KEY_FILE).chmod(0o600)
    atomic_write_bytes(folder / CERT_FILE, leaf.public_bytes(pem) + ca.public_bytes(pem))


def _names(certificate) -> tuple[str | None, str | None]:
    """(common name, organisation) of a certificate's subject."""
    from cryptography.x509.oid import NameOID

    def first(oid):
        found = certificate.subject.get_attributes_for_oid(oid)
        return str(found[0].value) if found else None

    return first(NameOID.COMMON_NAME), first(NameOID.ORGANIZATION_NAME)


def _needs_test_certificate(folder: Path) -> bool:
    """Whether keys/ needs a test certificate made: it is empty, or holds a test certificate without
    its key or of an earlier generation, whose subject did not say it is for testing. Anything
    else (a brand's certificate, a key alone) is never replaced: reading it says what is wrong."""
    from cryptography import x509

    if not (folder / CERT_FILE).exists():
        return not (folder / KEY_FILE).exists()
    try:
        name, organisation = _names(x509.load_pem_x509_certificates((folder / CERT_FILE).read_bytes())[0])
    except (OSError, ValueError):
        return False
    return organisation == TEST_ORGANIZATION and (name != TEST_SIGNER_NAME or not (folder / KEY_FILE).exists())


def _algorithm(key) -> str | None:
    """The C2PA signature algorithm for a private key; None for a kind C2PA does not sign with."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"  # C2PA allows RSA only with PSS padding
    return None


def read_credentials(
    certificate: Path, key: Path, labels: tuple[str, str], fields: tuple[str, str], tsa_url: str | None = None
) -> SigningCredentials:
    """The certificate chain and key checked: readable PEM, the key belongs to the chain's first
    certificate, of a kind C2PA signs with, not expired. Raises InputError naming the file
    (`labels`) and field (`fields`) at fault."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    def refused(which: int, message: str) -> InputError:
        path = (certificate, key)[which]
        named = f"{path}: " if fields[which] else ""  # a config.yaml field: say which file it named
        return InputError([Problem(labels[which], fields[which], named + message)])

    texts = []
    for which, path in enumerate((certificate, key)):
        try:
            texts.append(path.read_bytes())
        except OSError as exc:
            raise refused(which, f"cannot read: {exc.strerror or exc}") from None
    chain, key_pem = texts
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
    except ValueError:
        raise refused(0, "not a PEM certificate chain") from None
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):  # TypeError: the key is encrypted
        raise refused(1, "not an unencrypted PEM private key") from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if private.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise refused(1, "does not belong to the chain's first certificate (the signer's comes first)")
    alg = _algorithm(private)
    if alg is None:
        raise refused(1, f"a {type(private).__name__} cannot sign C2PA manifests: use EC P-256/384/521, Ed25519 or RSA")
    if leaf.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        raise refused(0, f"the signer's certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    return SigningCredentials(chain, key_pem, alg, tsa_url, _names(leaf)[1] == TEST_ORGANIZATION)


def configured_credentials(home: Home, config: HomeConfig | None = None) -> SigningCredentials | None:
    """The certificate and key config.yaml names, checked; None when it names none (keys/ signs).
    Raises InputError for a config.yaml or credentials that cannot be used."""
    signing = (config or load_config(home)).signing
    named = signing.paths(home)
    if named is None:
        return None
    return read_credentials(*named, (CONFIG_FILE, CONFIG_FILE), ("signing.certificate", "signing.key"), signing.tsa_url)


def signing_credentials(home: Home, config: HomeConfig | None = None) -> SigningCredentials:
    """What the home signs with: config.yaml's `signing`, else keys/ (a test certificate made on
    first use). Raises InputError for a config.yaml or credentials that cannot be used."""
    config = config or load_config(home)
    if (configured := configured_credentials(home, config)) is not None:
        return configured
    with file_lock(home.locks / "c2pa-keys.lock"):
        if _needs_test_certificate(home.root / "keys"):
            _make_test_certificate(home.root / "keys")
    return _keys_credentials(home, config.signing.tsa_url)


def _keys_credentials(home: Home, tsa_url: str | None) -> SigningCredentials:
    folder = home.root / "keys"
    labels = (f"keys/{CERT_FILE}", f"keys/{KEY_FILE}")
    return read_credentials(folder / CERT_FILE, folder / KEY_FILE, labels, ("", ""), tsa_url)


def check_signer(home: Home) -> None:
    """The checks of `signing_credentials`, making nothing (for `validate` and before a run):
    config.yaml, and the signer it names or the one in keys/. Raises InputError."""
    config = load_config(home)
    keys = home.root / "keys"
    if configured_credentials(home, config) is None and not _needs_test_certificate(keys):
        _keys_credentials(home, config.signing.tsa_url)


# Every published format: c2pa-python 0.38 embeds and reads manifests in all four (tested).
SIGNED_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}


def manifest_definition(title: str, mime: str, provenance: dict[str, str]) -> dict:
    """The manifest signed into a file (c2pa's manifest-definition JSON)."""
    source_type = provenance.get("digital_source_type") or COMPOSITE
    drawn = f"key visual drawn by the model {provenance.get('model')}, seed {provenance.get('seed')}"
    action = {
        "action": "c2pa.created",
        "digitalSourceType": source_type,
        "softwareAgent": AGENT,
        "description": drawn + ("; text, logo or product shot composited" if source_type == COMPOSITE else ""),
    }
    # "created": the pipeline made these assertions itself (C2PA 2.x: attributed to the signer);
    # without it c2pa files every assertion of a manifest definition as gathered.
    return {
        "claim_generator_info": [AGENT],
        "title": title,
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions", "created": True, "data": {"actions": [action]}},
            {"label": "org.asset_pipeline.provenance", "created": True, "data": provenance},
        ],
    }


def sign(
    home: Home,
    data: bytes,
    fmt: str,
    title: str,
    provenance: dict[str, str],
    credentials: SigningCredentials | None = None,
) -> bytes:
    """The file with a signed C2PA manifest embedded (its text chunks or XMP and ICC profile are kept).
    `credentials`: the home's signer, when the caller signs many files (else read here)."""
    import c2pa

    credentials = credentials or signing_credentials(home)
    mime = SIGNED_FORMATS[fmt]
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            alg=credentials.alg.encode(),
            sign_cert=credentials.chain,
            private_key=credentials.key,
            ta_url=credentials.tsa_url,
        )
    )
    signed = io.BytesIO()
    # No thumbnail: c2pa would embed one of the whole image (1.6 MB in a 1080x1920 WebP), which
    # breaks byte budgets; the manifest alone adds about 3 KB.
    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    try:
        with c2pa.Builder(json.dumps(manifest_definition(title, mime, provenance)), context) as builder:
            builder.sign(signer, mime, io.BytesIO(data), signed)
    except c2pa.C2paError as exc:  # an unreachable time-stamp authority, a certificate c2pa refuses
        tsa = f" with the time-stamp authority {credentials.tsa_url}" if credentials.tsa_url else ""
        raise SigningError(f"content credentials: cannot sign {title}{tsa}: {str(exc).splitlines()[0]}") from None
    return signed.getvalue()


def read_manifest(data: bytes, fmt: str = "png", trust_anchors: str | None = None) -> dict:
    """The C2PA manifest store of a signed file, as JSON (for lineage and tests), validated by c2pa.
    `trust_anchors`: PEM CA certificates to trust (validation_state "Trusted" when one issued the signer's)."""
    import c2pa

    settings = {"trust": {"trust_anchors": trust_anchors}, "verify": {"verify_trust": True}} if trust_anchors else {}
    with c2pa.Reader(
        SIGNED_FORMATS[fmt], io.BytesIO(data), context=c2pa.Context(c2pa.Settings.from_dict(settings))
    ) as reader:
        return json.loads(reader.json())


def signature_of(path: Path, fmt: str) -> dict | None:
    """The signature info (common_name, issuer, time, ...) of a published file's active manifest,
    read without validating it (fast: the file is not hashed); None when it has none."""
    import c2pa

    context = c2pa.Context(c2pa.Settings.from_dict({"verify": {"verify_after_reading": False}}))
    try:
        with path.open("rb") as stream, c2pa.Reader(SIGNED_FORMATS[fmt], stream, context=context) as reader:
            store = json.loads(reader.json())
    except (OSError, c2pa.C2paError):
        return None
    return store.get("manifests", {}).get(store.get("active_manifest"), {}).get("signature_info")


def signed_with_test_certificate(signature: dict | None) -> bool:
    return bool(signature) and signature.get("issuer") == TEST_ORGANIZATION
