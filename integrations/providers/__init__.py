"""Each provider's failure rules, one small module per provider; the catalog registers them."""
