"""Which SMTP replies are a provider throttling the sender, and how long to pause for each.

Kept beside the failure catalog rather than in it (which decides transient, permanent or
configuration and the hint) so that it can move there later: a rule is keyed the same way,
by reply code, enhanced code and a stable piece of the text. The times are those of
shared/reference/smtp-and-oauth-errors.md (§1.1 to §1.3 and §3.6). A rule lists the pauses
to take while the provider keeps throttling: the first, then the next if it throttles again
soon after one ended, and so on, starting over after the last.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from integrations.failures.errors import DeliveryError

MINUTE, HOUR = 60.0, 3600.0
# A daily quota clears as the provider's rolling 24 hours lets earlier sends age out: look
# again after an hour, then less and less often, never waiting longer than the full day.
DAILY_QUOTA = (HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR)


@dataclass(frozen=True)
class Throttle:
    """One kind of throttling reply: how to know it, and the pauses it calls for."""

    name: str
    what: str
    pauses: tuple[float, ...]
    code: int | None = None
    enhanced: str = ""
    text: str = ""

    def matches(self, code: int | None, enhanced: str, text: str) -> bool:
        if self.code is not None and self.code != code:
            return False
        if self.enhanced and not enhanced.startswith(self.enhanced):
            return False
        return not self.text or self.text in text

    def pause_seconds(self, strike: int) -> float:
        """The pause for the `strike`-th throttling in a row (1 is the first)."""
        override = settings.DELIVERY_THROTTLE_PAUSE_SECONDS
        if override is not None:
            return override
        return self.pauses[(strike - 1) % len(self.pauses)]


THROTTLES: tuple[Throttle, ...] = (
    Throttle("exchange-rate", "Microsoft 365 limits this mailbox to 30 messages a minute",
             (MINUTE,), code=421, enhanced="4.4.2"),
    Throttle("exchange-connections", "Microsoft 365 allows 3 connections per mailbox at once",
             (MINUTE,), code=432, enhanced="4.3.2"),
    Throttle("exchange-daily", "Microsoft 365 allows 10,000 recipients in any 24 hours",
             DAILY_QUOTA, code=554, text="submissionquotaexceeded"),
    Throttle("gmail-daily", "Gmail's daily sending limit (any 24 hours) is used up",
             DAILY_QUOTA, code=550, enhanced="5.4.5"),
    Throttle("gmail-logins", "Google is limiting logins for this account",
             (2 * MINUTE, 5 * MINUTE, 15 * MINUTE), code=454, text="too many login"),
    Throttle("ses-daily", "Amazon SES's 24-hour sending quota is used up",
             DAILY_QUOTA, code=454, text="daily message quota exceeded"),
    # AWS's own advice: wait 5, 10 and 30 seconds, then 20 minutes before another round.
    Throttle("ses-rate", "Amazon SES's maximum sending rate was exceeded",
             (5.0, 10.0, 30.0, 20 * MINUTE), code=454, text="maximum sending rate exceeded"),
    Throttle("ses-other", "Amazon SES is throttling this account",
             (30.0, 5 * MINUTE), code=454, text="throttling failure"),
)


def throttle_for(error: DeliveryError) -> Throttle | None:
    """The throttling this failure is, or None when it is not a throttling reply."""
    if error.smtp_code is None:
        return None
    text = (error.text or "").lower()
    for throttle in THROTTLES:
        if throttle.matches(error.smtp_code, error.enhanced_code, text):
            return throttle
    return None
