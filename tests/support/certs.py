"""A certificate authority the tests generate, and server certificates it signs."""

from __future__ import annotations

import ssl

import trustme


class TestCA:
    """Wraps trustme.CA: server contexts for 127.0.0.1/localhost and a PEM bundle to trust."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.bundle_path = ""

    def server_context(self, *hostnames: str) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate = self.ca.issue_cert(*(hostnames or ("127.0.0.1", "localhost")))
        certificate.configure_cert(context)
        return context

    def write_bundle(self, path: str) -> str:
        self.ca.cert_pem.write_to_path(path)
        return path
