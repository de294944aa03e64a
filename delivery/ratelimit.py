"""Per-integration rate limits shared by all workers through Redis (fixed windows)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache

import redis

from notifuse_smtp.redis_connection import redis_client

# Count the message in every window, or in none when one is full; answer the wait in seconds.
ACQUIRE = """
local waits = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i * 2 - 1])
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= limit then table.insert(waits, tonumber(ARGV[i * 2])) end
end
if #waits > 0 then
  local longest = 0
  for _, w in ipairs(waits) do if w > longest then longest = w end end
  return tostring(longest)
end
for i, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('EXPIRE', key, math.ceil(tonumber(ARGV[i * 2])) + 60)
end
return '0'
"""

WINDOWS = (("minute", 60), ("day", 86400))


class RateLimiter:
    """`acquire()` counts one message, or says how long to wait when a window is full."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self.script = client.register_script(ACQUIRE)

    def acquire(self, integration_id: int, per_minute: int | None, per_day: int | None) -> float:
        """Return 0 when the message may go now (and count it), else the seconds to wait."""
        now = self.clock()
        keys, args = [], []
        for (name, length), limit in zip(WINDOWS, (per_minute, per_day), strict=True):
            if limit:
                window = int(now // length)
                keys.append(f"notifuse:rate:{integration_id}:{name}:{window}")
                args += [limit, (window + 1) * length - now]
        if not keys:
            return 0.0
        return float(self.script(keys=keys, args=args))


@lru_cache(maxsize=1)
def shared_limiter() -> RateLimiter:
    return RateLimiter(redis_client())
