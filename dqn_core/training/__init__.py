"""Training: the loop (a generator of events), its control, events, metrics and agent files."""
