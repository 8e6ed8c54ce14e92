"""Backends: where entities live and flows run (the Backend protocol and its implementations)."""
