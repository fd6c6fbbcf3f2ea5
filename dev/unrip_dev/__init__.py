"""Local-only tooling (embedded broker, `invoke dev` supervisor). Services never import it."""
