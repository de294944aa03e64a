"""Date formats shared by the admin and the portal (FORMAT_MODULE_PATH)."""
