"""English formats: one date format everywhere, the admin's as the portal's."""
