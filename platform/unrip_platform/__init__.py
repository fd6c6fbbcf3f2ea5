"""Code the Pulumi projects under platform/ run (importable, so tests import it directly)."""
