"""The bounce mailbox over IMAP: why it could not be reached or read, and what to check."""

from __future__ import annotations

from .rules import C, Rule

RULES: tuple[Rule, ...] = (
    Rule("imap.login", C, "Check the IMAP username and password (blank ones use the SMTP "
         "login); the server may also have IMAP switched off for this account."),
    Rule("imap.certificate", C, "The IMAP server's certificate must be valid for its host "
         "name and signed by a trusted authority."),
    Rule("imap.connect", C, "Check the IMAP host and port (993 implicit TLS, 143 STARTTLS) and "
         "that this machine may reach them."),
    Rule("imap.no-inbox", C, "The mailbox has no INBOX this login may read."),
)
