"""The strategy document and where it is read from (file or ConfigMap), shared by services."""
