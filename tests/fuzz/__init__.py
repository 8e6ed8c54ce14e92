"""Fuzz tests: bad input of every kind, a small budget in ``make test`` and a long one in
``make fuzz`` (``FLOWKIT_FUZZ_PROFILE=fuzz-long``)."""
