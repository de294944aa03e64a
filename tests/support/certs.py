"""A certificate authority the tests generate, and server certificates it signs."""

from __future__ import annotations

import ssl

import trustme

DEFAULT_HOSTNAMES = ("localhost", "127.0.0.1")


class TestCA:
    """A throwaway CA (trustme): server contexts it signs and a PEM bundle clients can trust.

    A second, independent TestCA() signs certificates that clients trusting the first one
    refuse: that is how tests get an untrusted server certificate.
    """

    __test__ = False  # pytest: a helper, not a test class, whatever its name says

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.bundle_path = ""  # set by write_bundle (or by a fixture that extends the bundle)

    def server_context(self, *hostnames: str) -> ssl.SSLContext:
        """A server-side context whose certificate covers `hostnames` (default: localhost)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*(hostnames or DEFAULT_HOSTNAMES)).configure_cert(context)
        return context

    def write_bundle(self, path: str) -> str:
        """Write the CA certificate as PEM (for SSL_CERT_FILE / REQUESTS_CA_BUNDLE); return path."""
        self.ca.cert_pem.write_to_path(path)
        self.bundle_path = path
        return path
