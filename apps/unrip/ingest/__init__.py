"""The venue ingest: venue messages in, raw truth and normalised demands out."""
