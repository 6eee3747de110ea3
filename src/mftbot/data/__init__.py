"""Market data: readers, catalog, resampling, replay."""
