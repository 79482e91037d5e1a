"""Models of the cii app."""
