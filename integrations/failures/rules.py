"""One failure rule: how a failure is recognised, how it is treated, and what staff should do."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifuse_smtp.redaction import redact

from .errors import FailureClass

# Short names for the rule tables, which are read row by row.
T, P, C = FailureClass.TRANSIENT, FailureClass.PERMANENT, FailureClass.CONFIGURATION


@dataclass(frozen=True)
class Rule:
    """A row of the catalog. `id` is stable: every error the rule makes carries it."""

    id: str
    failure_class: FailureClass
    hint: str
    # The stage the failure is recorded at when the rule fixes it (a certificate error is a
    # "tls" failure whichever step met it); "" for the stage where it happened.
    stage: str = ""
    # What the error says, filled in from the failure's facts with str.format.
    says: str = ""
    # How an SMTP reply is recognised; every field given must match. A rule with none of
    # code, enhanced and text reads no reply: it is looked up by its id.
    code: int | None = None
    enhanced: str = ""
    text: str = ""
    at_stages: tuple[str, ...] = ()
    # Provider rows whose wording other servers share apply only to that provider's hosts.
    hosts: tuple[str, ...] = ()
    # Rows whose advice depends on how the integration logs in (basic, oauth2).
    auth_types: tuple[str, ...] = ()

    @property
    def reads_replies(self) -> bool:
        return self.code is not None or bool(self.enhanced or self.text)

    def matches(
        self, stage: str, code: int | None, enhanced: str, text: str, host: str, auth_type: str
    ) -> bool:
        """Whether this rule reads the reply; `text` lowercased, `host` without a final dot."""
        if not self.reads_replies:
            return False
        if self.hosts and not host.endswith(self.hosts):
            return False
        if self.auth_types and auth_type not in self.auth_types:
            return False
        if self.code is not None and self.code != code:
            return False
        if self.enhanced and not enhanced.startswith(self.enhanced):
            return False
        if self.text and self.text not in text:
            return False
        return not self.at_stages or stage in self.at_stages


@dataclass(frozen=True)
class Context:
    """What a lookup may need to know about the integration the failure happened on."""

    host: str = ""
    auth_type: str = ""
    # The session's timeout in seconds, for the text of a timeout.
    timeout: float = 0.0
    # Values no error text may carry (passwords, client secrets, tokens); never in the repr,
    # which the DEBUG page shows for every frame holding a Context.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def redacted(self, text: str) -> str:
        return redact(text, self.secrets)
