"""Venues: one folder per venue, one plug-in per folder, one registry of names.

- ``base``: the execution interface (``Venue``) and its boundary types
- ``sources``: the data side (messages, normalisers, streams) the ingest hosts
- ``feed``: recorded sessions, replayed like a live source
- ``plugin`` / ``registry``: ``VenuePlugin`` and the map from a venue's name to it
- ``near_intents``, ``paper``: the built-in venues
"""
