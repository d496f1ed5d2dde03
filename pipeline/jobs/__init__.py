"""Jobs: a few lines each wiring the pure core to the adapters."""
