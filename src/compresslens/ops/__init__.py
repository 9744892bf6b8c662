"""compresslens.ops layer (see DESIGN.md)."""
