"""Helpers shared by the test suite (real broker and Redis, no mocks)."""
