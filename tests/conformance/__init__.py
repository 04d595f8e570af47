"""The backend conformance suite: one exercise every store runs (see base.py for the rules)."""
