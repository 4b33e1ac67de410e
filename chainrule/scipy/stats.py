"""chainrule.scipy.stats (being written)."""
