"""BDAT (RFC 3030 CHUNKING) for aiosmtpd's SMTP protocol, which does not have it."""

from __future__ import annotations

from aiosmtpd.smtp import MISSING, SMTP


class ChunkingSMTP(SMTP):
    """aiosmtpd's SMTP plus `BDAT <size> [LAST]`: the chunks are gathered and, at LAST,
    handed to the handler's handle_DATA as DATA's content would be, with the envelope's
    `by_bdat` set. Advertising CHUNKING is the EHLO hook's choice."""

    async def smtp_BDAT(self, arg: str) -> None:
        size, _, last = (arg or "").partition(" ")
        if not size.isdigit() or last.upper() not in ("", "LAST"):
            # The chunk's length is unknown: nothing can be skipped (a broken client).
            await self.push("501 5.5.4 Syntax: BDAT <size> [LAST]")
            return
        # Read whatever the verdict: the chunk is counted in bytes, not ended by a line.
        chunk = await self._reader.readexactly(int(size))
        envelope = self.envelope
        if envelope is None or not envelope.mail_from:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        if not envelope.rcpt_tos:
            await self.push("554 5.5.1 Error: no valid recipients")
            return
        envelope.original_content = (envelope.original_content or b"") + chunk
        if not last:
            await self.push(f"250 2.0.0 {len(chunk)} octets received")
            return
        envelope.content = envelope.original_content
        envelope.by_bdat = True
        status = await self._call_handler_hook("DATA")
        await self.push("250 OK" if status is MISSING else status)
        self._set_post_data_state()
