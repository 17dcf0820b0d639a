"""Tickcast's shared library: message contracts, topics, settings and Kafka plumbing."""
