"""chainrule.scipy.linalg (being written)."""
