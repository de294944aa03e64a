"""What a failed send means: the error type, and the one catalog of failure rules."""
