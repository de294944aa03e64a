"""Signed webhooks: what happened to mail, POSTed to staff-configured endpoints, durably.

Nothing here imports `delivery.models` (which imports these models to register them): events
arrive through `delivery.signals`, and tasks are published by name.
"""
