"""Potential assessments: versioned templates kept as data and dated, structured assessments
of a person (A1-A8)."""
