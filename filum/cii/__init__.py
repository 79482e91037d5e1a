"""Shared interinstitutional collaboration (CII) cases and their monitoring (X4, X5, D8)."""
