"""Who may read the send log and who may send its mail again, in the admin and the portal."""

from __future__ import annotations

# Message bodies and recipients are the organisation's mail: staff status alone is not enough.
VIEW_MESSAGES = "delivery.view_message"
# Declared in Message.Meta.permissions; superusers have it like every other permission.
RETRY_MESSAGES = "delivery.retry_message"
# Cancelling stops mail app code asked for: granted on its own, like retrying.
CANCEL_MESSAGES = "delivery.cancel_message"
# The suppression list: reading it, adding to it, and taking addresses off it (which lets
# mail go to them again, so it is granted on its own).
VIEW_SUPPRESSIONS = "delivery.view_suppression"
ADD_SUPPRESSIONS = "delivery.add_suppression"
REMOVE_SUPPRESSIONS = "delivery.remove_suppression"
