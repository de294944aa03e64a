"""The internal staff portal (B11): dashboard, message log, retry, test send."""
