"""Integration plans: goals, measures, the provider catalogue with its places (I1-I3, I6)."""
