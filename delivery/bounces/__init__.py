"""Bounce and complaint processing: read reports (reports), match them to sent messages
(matching), and poll the integrations' bounce mailboxes over IMAP (polling)."""
