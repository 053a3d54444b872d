"""Building images: go build on the host, OCI assembly in Python."""
