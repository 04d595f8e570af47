"""The store for many hosts: PostgreSQL through psycopg 3 (see docs/postgres.md)."""

from .backend import PostgresBackend

__all__ = ["PostgresBackend"]
