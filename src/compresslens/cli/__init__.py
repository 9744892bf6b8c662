"""compresslens.cli layer (see DESIGN.md)."""
