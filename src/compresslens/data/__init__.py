"""compresslens.data layer (see DESIGN.md)."""
