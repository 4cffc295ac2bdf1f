"""Small single-purpose helpers behind headwater's public utility paths."""
