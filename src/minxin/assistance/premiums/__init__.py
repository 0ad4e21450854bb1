"""Premium subsidies 参保参合 (P3): the yearly roster of premiums the city pays (service, pages, command line)."""
