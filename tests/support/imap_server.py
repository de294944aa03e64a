"""A real Dovecot IMAP server for one test: its own config, ports, TLS certificate and users.

Debian's `dovecot-imapd` (.ci/run installs it). The server listens on 127.0.0.1 with
implicit TLS (an "imaps" port) and STARTTLS (an "imap" port, plain text refused), with a
certificate from the tests' CA, and a passwd-file of test users.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import imapclient

from .certs import TestCA
from .fake_idp import GMAIL_SCOPE, FakeGoogleToken, Reply, Request
from .ports import unused_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = notifuse-test-{imaps_port}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login{oauth2_mechanisms}
default_internal_user = {internal_user}
default_login_user = {login_user}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""
# Dovecot asks the identity provider whether a token is active and whose it is (RFC 7662).
OAUTH2_CONFIG = """\
introspection_mode = post
introspection_url = {url}
username_attribute = email
active_attribute = active
active_value = true
tls_ca_cert_file = {ca_file}
"""


class DovecotServer:
    """`with DovecotServer(ca, users={"bounces@example.com": "pw"}) as server:`.

    With `introspection_url`, XOAUTH2 and OAUTHBEARER logins are checked there (Dovecot's
    oauth2 passdb, RFC 7662 token introspection by POST).
    """

    def __init__(self, ca: TestCA, users: dict[str, str], introspection_url: str = "") -> None:
        self.ca, self.users = ca, dict(users)
        self.introspection_url = introspection_url
        self.host = "127.0.0.1"
        self.imaps_port, self.imap_port = unused_port(), unused_port()
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> DovecotServer:
        self._write_files()
        config = str(self.root / "dovecot.conf")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", config],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"dovecot did not start: {self.log()[-3000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, user: str) -> imapclient.IMAPClient:
        """A logged-in client for a test user (to put mail in and look at it)."""
        context = ssl.create_default_context(cafile=self.ca.bundle_path or None)
        client = imapclient.IMAPClient(self.host, port=self.imaps_port, ssl=True,
                                       ssl_context=context, timeout=10)
        client.login(user, self.users[user])
        return client

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Put a message in the user's folder; returns its UID."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            answer = client.append(folder, raw)
        return int(answer.split(b"APPENDUID")[1].split()[1].rstrip(b"]"))

    def _listening(self) -> bool:
        try:
            with socket.create_connection((self.host, self.imaps_port), timeout=0.2):
                return True
        except OSError:
            return False

    def _write_files(self) -> None:
        os.chmod(self.root, 0o755)  # the mail processes run as the mail user
        leaf = self.ca.ca.issue_cert("localhost", "127.0.0.1")
        leaf.private_key_pem.write_to_path(str(self.root / "key.pem"))
        (self.root / "cert.pem").write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
        (self.root / "passwd").write_text("".join(
            f"{user}:{{PLAIN}}{password}::::::\n" for user, password in self.users.items()))
        uid, gid, internal, login = _accounts()
        for name in ("mail", "home"):
            (self.root / name).mkdir()
            os.chown(self.root / name, uid, gid)
        oauth2 = bool(self.introspection_url)
        if oauth2:
            # Where Dovecot's auth process (not root) may read it.
            self.ca.ca.cert_pem.write_to_path(str(self.root / "ca.pem"))
            (self.root / "oauth2.conf.ext").write_text(OAUTH2_CONFIG.format(
                url=self.introspection_url, ca_file=self.root / "ca.pem"))
        (self.root / "dovecot.conf").write_text(CONFIG.format(
            root=self.root, imap_port=self.imap_port, imaps_port=self.imaps_port,
            uid=uid, gid=gid, internal_user=internal, login_user=login,
            oauth2_mechanisms=" xoauth2 oauthbearer" if oauth2 else "",
            oauth2_passdb=OAUTH2_PASSDB.format(root=self.root) if oauth2 else ""))


def _accounts() -> tuple[int, int, str, str]:
    """Mail uid/gid and the internal and login users: Dovecot refuses mail as root, so as
    root the package's own `dovecot` and `dovenull` users serve; otherwise the current one."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_uid, me.pw_gid, me.pw_name, me.pw_name
    dovecot = pwd.getpwnam("dovecot")
    return dovecot.pw_uid, dovecot.pw_gid, "dovecot", "dovenull"


class IntrospectingGoogleToken(FakeGoogleToken):
    """The fake Google token endpoint, also answering RFC 7662 introspection at /introspect
    (what Dovecot's oauth2 passdb asks): active, and the mailbox the token was issued for."""

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def answer_other(self, request: Request) -> Reply:
        if request.method != "POST" or request.path.rstrip("/") != "/introspect":
            return super().answer_other(request)
        token = request.form.get("token", "")
        mailbox = self.mailbox_for(token) if self.is_valid(token) else None
        if mailbox is None:
            return Reply(200, {"active": False})
        return Reply(200, {"active": True, "email": mailbox, "scope": GMAIL_SCOPE})
