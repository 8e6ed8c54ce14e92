"""Soak tests: long runs under faults (marked ``slow``; short in ``make test``)."""
