"""Runnable examples of leaktest: a WebSocket log hub and its leak-checked tests."""
