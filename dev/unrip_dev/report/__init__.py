"""The HTML report of a local run (`invoke dev --report PATH`): pictures of what the bus saw."""
