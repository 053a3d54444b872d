"""Registries: references, credentials and the OCI distribution client."""
