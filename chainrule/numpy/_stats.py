"""Sorting, searching and statistics for chainrule.numpy (being written)."""
__all__ = []
