"""Template tags of the integrations app."""
