"""Status codes every field converter of the rule set returns beside its value."""

OK, MISSING, INVALID, WRONG_TYPE, IMPOSSIBLE, AMBIGUOUS = range(6)
