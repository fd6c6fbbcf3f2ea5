"""`invoke soak`: a compressed day of the pipeline with hostile input and restarts."""
