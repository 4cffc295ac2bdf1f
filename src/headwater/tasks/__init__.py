"""headwater's task library."""
