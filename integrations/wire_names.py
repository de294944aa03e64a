"""Names this service writes into SMTP: the EHLO hostname and the From header's display name.

A control character in either reached the wire as it was (a vertical tab in a display name
starts a new header line) or made smtplib raise mid-session. The admin refuses them; a row
stored before that fails with the catalog's error here, before anything is sent.
"""

from __future__ import annotations

import ipaddress
import re

from notifuse_smtp.control_chars import control_characters_in

from .failures.catalog import local_failure
from .failures.errors import DeliveryError

# RFC 5321 §4.1.2: Domain = sub-domain *("." sub-domain); letters, digits and inner hyphens.
DOMAIN = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")
MAX_DOMAIN = 255
NOT_A_HOST_NAME = (
    "Not a valid host name: check for an empty part (..), a part over 63 characters or a "
    "character host names cannot hold."
)


def host_problem(host: str) -> str:
    """Why `host` cannot be connected to ('' when it can)."""
    if problem := _spacing_problem("A host name", host):
        return problem
    return "" if _wire_form(host.strip()) is not None else NOT_A_HOST_NAME


def ehlo_hostname_problem(name: str) -> str:
    """Why `name` cannot be sent in EHLO ('' when it can, or when it is empty)."""
    name = (name or "").strip()
    if not name:
        return ""
    if problem := _spacing_problem("The EHLO hostname", name):
        return problem
    wire = _wire_form(name)
    if wire is None or not (_is_domain(wire) or _is_address_literal(wire)):
        return (
            NOT_A_HOST_NAME + " EHLO takes a domain (mail.example.com) or an address "
            "literal ([192.0.2.1])."
        )
    return ""


def ehlo_hostname_error(integration) -> DeliveryError | None:
    """The catalog's error when the stored EHLO hostname (or the host it falls back to)
    cannot be sent; None when it can."""
    name = integration.ehlo_hostname.strip()
    problem = ehlo_hostname_problem(name) if name else host_problem(integration.host)
    return local_failure("invalid-ehlo-hostname", problem=problem) if problem else None


def from_header_error(from_email: str) -> DeliveryError | None:
    """The catalog's error when a From address holds control characters; None when not."""
    found = control_characters_in(from_email)
    return local_failure("control-characters-in-from", found=found) if found else None


def _spacing_problem(what: str, name: str) -> str:
    if found := control_characters_in(name):
        return f"{what} cannot contain control characters (found: {found})."
    if " " in (name or "").strip():
        return f"{what} cannot contain spaces."
    return ""


def _wire_form(name: str) -> str | None:
    from .models import wire_host_name  # models validates with this module

    try:
        return wire_host_name(name)
    except UnicodeError:
        return None


def _is_domain(name: str) -> bool:
    return len(name) <= MAX_DOMAIN and DOMAIN.fullmatch(name) is not None


def _is_address_literal(name: str) -> bool:
    if not (name.startswith("[") and name.endswith("]")):
        return False
    inner = name[1:-1]
    inner = inner[5:] if inner.lower().startswith("ipv6:") else inner
    try:
        ipaddress.ip_address(inner)
    except ValueError:
        return False
    return True
