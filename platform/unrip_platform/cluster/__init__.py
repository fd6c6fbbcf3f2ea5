"""The in-cluster platform: Redpanda, Forgejo (+registry), its Actions runner, topics, RBAC.

Manifests are built by pure functions (``render.render_manifests``) so they can be validated and
policy-scanned offline; ``components`` wraps the same manifests in Pulumi resources.
"""
