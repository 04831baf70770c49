"""Widgets shared by several pages (each module one concept)."""
