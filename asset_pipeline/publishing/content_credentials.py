"""C2PA content credentials on published files (c2pa-python, offline): PNG, JPEG, WebP and AVIF.

Each published file gets a signed C2PA manifest declaring it a composite with
trained algorithmic media (IPTC digital source type
`compositeWithTrainedAlgorithmicMedia`: a generated background with typeset
text), with the model, seed and hashes of its provenance as an assertion.

It is signed with a **local test certificate**: a throwaway CA and an ES256
signing certificate made on first use under `<home>/keys/` (git-ignored with
the rest of the home). Validators report it as untrusted, as they should; a
production deployment puts its own certificate and key there
(`c2pa-signer.pem` holding the chain, leaf first, and `c2pa-signer.key`).

Signing is not deterministic (the manifest has a random id and a time), so
publication decides "unchanged" from its own cache of the signed file's hash,
not by signing again.
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

from asset_pipeline import __version__
from asset_pipeline.home import Home
from asset_pipeline.storage.files import atomic_write_bytes, file_lock

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CERT_FILE, KEY_FILE = "c2pa-signer.pem", "c2pa-signer.key"


def available() -> bool:
    try:
        import c2pa  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


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
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "asset_pipeline test certificate"),
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
    ca = build(name("asset_pipeline test CA"), name("asset_pipeline test CA"), ca_key, ca_key, True)
    leaf = build(name("asset_pipeline signer"), ca.subject, key, ca_key, False)
    pem = serialization.Encoding.PEM
    atomic_write_bytes(
        folder / KEY_FILE, key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / KEY_FILE).chmod(0o600)
    atomic_write_bytes(folder / CERT_FILE, leaf.public_bytes(pem) + ca.public_bytes(pem))


def _signer(home: Home):
    import c2pa

    folder = home.root / "keys"
    with file_lock(home.locks / "c2pa-keys.lock"):
        if not (folder / CERT_FILE).exists() or not (folder / KEY_FILE).exists():
            _make_test_certificate(folder)
    info = c2pa.C2paSignerInfo(
        alg=b"es256",
        sign_cert=(folder / CERT_FILE).read_bytes(),
        private_key=(folder / KEY_FILE).read_bytes(),
        ta_url=None,
    )
    return c2pa.Signer.from_info(info)


# Every published format: c2pa-python 0.38 embeds and reads manifests in all four (tested).
SIGNED_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}


def sign_png(home: Home, png: bytes, title: str, provenance: dict[str, str]) -> bytes:
    """The PNG with a signed C2PA manifest embedded (its text chunks are kept)."""
    return sign(home, png, "png", title, provenance)


def sign(home: Home, data: bytes, fmt: str, title: str, provenance: dict[str, str]) -> bytes:
    """The file with a signed C2PA manifest embedded (its text chunks or XMP and ICC profile are kept)."""
    import c2pa

    mime = SIGNED_FORMATS[fmt]
    manifest = {
        "claim_generator_info": [{"name": "asset_pipeline", "version": __version__}],
        "title": title,
        "format": mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": f"asset_pipeline {__version__}, model {provenance.get('model')}",
                        },
                    ]
                },
            },
            {"label": "org.asset_pipeline.provenance", "data": provenance},
        ],
    }
    signed = io.BytesIO()
    # No thumbnail: c2pa would embed one of the whole image (1.6 MB in a 1080x1920 WebP), which
    # breaks byte budgets; the manifest alone adds about 3 KB.
    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    with c2pa.Builder(json.dumps(manifest), context) as builder:
        builder.sign(_signer(home), mime, io.BytesIO(data), signed)
    return signed.getvalue()


def read_manifest(data: bytes, fmt: str = "png") -> dict:
    """The C2PA manifest store of a signed file, as JSON (for lineage and tests)."""
    import c2pa

    with c2pa.Reader(SIGNED_FORMATS[fmt], io.BytesIO(data)) as reader:
        return json.loads(reader.json())
