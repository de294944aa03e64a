"""Request and response bodies of the HTTP API; the OpenAPI document is built from these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, field_validator

from delivery import suppressions
from delivery.choices import Kind, Status, SuppressionReason
from delivery.validation import InvalidMessage, check_text
from notifuse_smtp.addresses import AddressError

KindName = Literal["transactional", "marketing"]
StatusName = Literal["queued", "sending", "sent", "failed", "cancelled", "suppressed"]
PriorityName = Literal["low", "normal", "high", "urgent"]
# PostgreSQL's bigint: a larger id is no id at all.
MAX_ID = 2**63 - 1
BATCH_LIMIT = 500


def as_utc(value: datetime) -> datetime:
    """In UTC (naive: taken as UTC): PostgreSQL refuses offsets past 15:59 and years past 9999."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once in UTC") from None


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


class AttachmentIn(Schema):
    filename: str = ""
    mimetype: str = "application/octet-stream"
    content_b64: str = Field(description="The file's content, base64-encoded.")
    content_id: str = Field("", description="Without angle brackets; shown by cid: in HTML.")
    inline: bool = False


class MessageIn(Schema):
    """The arguments of `delivery.api.send_email`; each refusal names its field (422)."""

    to: list[str] | str
    subject: str
    text: str | None = None
    html: str | None = None
    kind: KindName = Kind.TRANSACTIONAL.value
    from_email: str | None = None
    cc: list[str] = []
    bcc: list[str] = []
    reply_to: list[str] = []
    headers: dict[str, str] = {}
    integration: int | str | None = Field(None, description="An integration's id or name.")
    attachments: list[AttachmentIn] = []
    track: bool = True
    unsubscribe_url: str = ""
    priority: int | PriorityName | None = Field(
        None, description="0-100 or a name; by default transactional high, marketing normal.")
    send_at: datetime | None = Field(None, description="Not sent before this (with a time zone).")
    idempotency_key: str | None = Field(
        None, description="In a batch only; a single send takes the Idempotency-Key header.")

    @field_validator("integration")
    @classmethod
    def _integration_is_a_plain_name(cls, value):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise ValueError("not an integration id")
        return value


class BatchIn(Schema):
    """Up to BATCH_LIMIT messages, queued all together or not at all."""

    kind: KindName = Field(Kind.MARKETING.value, description="For messages that set none.")
    messages: list[MessageIn] = Field(..., min_length=1, max_length=BATCH_LIMIT)


class AttemptOut(Schema):
    number: int
    started_at: datetime
    finished_at: datetime | None
    stage: str
    smtp_code: int | None
    enhanced_code: str
    error: str
    hint: str
    succeeded: bool


class EventOut(Schema):
    kind: str
    url: str
    created_at: datetime


class MessageOut(Schema):
    id: int
    status: StatusName
    kind: KindName
    priority: int
    send_at: datetime | None
    integration_id: int
    integration: str
    from_email: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    idempotency_key: str | None
    attempt_count: int
    last_error: str
    open_count: int
    click_count: int
    created_at: datetime
    sent_at: datetime | None
    cancelled_at: datetime | None
    links: dict[str, str]


class MessageDetailOut(MessageOut):
    attempts: list[AttemptOut]
    events: list[EventOut]


class MessagePageOut(Schema):
    items: list[MessageOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")


class BatchOut(Schema):
    items: list[MessageOut]


STATUS_NAMES = [choice.value for choice in Status]


# --- Suppressions ----------------------------------------------------------------------------

SuppressionReasonName = Literal[
    "hard_bounce", "complaint", "unsubscribe", "soft_bounce_score", "manual"]
# The soft-bounce score is this service's own count: a caller cannot claim it.
AddableReasonName = Literal["manual", "hard_bounce", "complaint", "unsubscribe"]
SuppressionScopeName = Literal["marketing", "all"]
# Suppression.address: a normalised address is never longer (64 + 1 + 255).
ADDRESS_LENGTH = 320


def suppressible(raw: str) -> str:
    """`raw` as the suppression list stores it (bare, lower case, IDNA domain); else a 422."""
    try:
        address = suppressions.parse(raw)
    except (AddressError, UnicodeError) as exc:
        raise ValueError(str(exc) or "not an email address") from None
    if len(address) > ADDRESS_LENGTH:
        raise ValueError(f"longer than {ADDRESS_LENGTH} characters")
    return address


class SuppressionIn(Schema):
    """One address to stop mailing. Already suppressed: 200 with its entry as it stands."""

    address: Annotated[str, AfterValidator(suppressible)] = Field(
        description="An address (a display name is dropped); compared case-insensitively, "
                    "an internationalised domain by its IDNA A-label.")
    reason: AddableReasonName = SuppressionReason.MANUAL.value
    scope: SuppressionScopeName | None = Field(
        None, description="`all` stops transactional mail too. By default `all` for `manual`, "
                          "else as this service suppresses for that reason "
                          "(SUPPRESS_TRANSACTIONAL_FOR: `all`; otherwise `marketing`).")
    note: str = Field("", max_length=500)

    @field_validator("note")
    @classmethod
    def _note_is_storable(cls, value: str) -> str:
        try:
            return check_text("note", value)
        except InvalidMessage as exc:
            raise ValueError(exc.problem) from None


class SuppressionOut(Schema):
    address: str
    reason: SuppressionReasonName
    scope: SuppressionScopeName
    note: str
    created_by: str
    created_at: datetime
    message_id: int | None = Field(description="The message whose bounce, complaint or "
                                               "unsubscribe put the address here.")
    links: dict[str, str]


class SuppressionPageOut(Schema):
    items: list[SuppressionOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")
