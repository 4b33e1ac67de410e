"""chainrule.scipy.integrate (being written)."""
