"""Where a local backend keeps entities and engine state: the Store protocol and its implementations."""
