"""The event loop shared by every mode, and portfolio accounting."""
