"""The life of a message: every change of its state is a function in this package.

    queue ──> queued ──claim──> sending ──record──> sent
                ▲  ▲                │  │
                │  └─give back──────┘  └─record──> failed ──staff retry──> queued
                │     (untried, lease expired, moved to another integration)
                └── release held (staff fixed the integration)

- `transitions.new_message` builds a queued message (send_email, send_bulk).
- `claiming.claim_batch` claims due mail (`queued` -> `sending`, lease, attempt counted).
- `outcomes.record_outcomes` records each try: `sent`, `failed`, back to `queued` with a
  retry time (held when the integration is misconfigured), or moved to another integration.
- `transitions.give_back`, `transitions.move_to`: claimed mail that was not tried.
- `transitions.expire_leases`: the sweeper returns mail whose worker died.
- `transitions.release_held`, `transitions.staff_retry`: staff actions.
- `backoff`: the retry policy the transitions follow; `delivery.conditions`: the
  queryset methods (due, held, in flight, stale lease) every reader asks.

No other module writes `status`, `next_attempt_at`, `deadline`, the lease fields or the
attempt counters (tests/test_architecture.py walks the code to keep it so). Import the
submodules.
"""
