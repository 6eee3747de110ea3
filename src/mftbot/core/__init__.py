"""Cross-cutting basics: configuration, logging, clock, errors, paths."""
