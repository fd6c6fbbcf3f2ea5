"""NEAR Intents stand-ins and generators for local runs and tests (never in the image)."""
