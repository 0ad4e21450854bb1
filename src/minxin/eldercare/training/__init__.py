"""Home-care service centres and care-worker training (plan P20)."""
