"""Feed 1's source: the national cooperative registry's HTTP JSON API (client and local stand-in)."""
