"""chainrule.scipy.optimize (being written)."""
