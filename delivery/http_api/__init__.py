"""The HTTP API under /api/v1/ (django-ninja): messages for services outside this project."""
