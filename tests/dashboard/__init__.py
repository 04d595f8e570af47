"""The dashboard's framework-neutral parts, without a server."""
