"""Fixtures for the end-to-end suites: the throwaway PostgreSQL cluster of the sink tests."""

from tests.sinks.conftest import pg_cluster  # noqa: F401 (a fixture, used by name)
