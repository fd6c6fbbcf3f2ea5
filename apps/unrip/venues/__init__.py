"""Venue adapters: one folder per venue (near_intents, paper), one interface (base.Venue)."""
