"""compresslens.evaluate layer (see DESIGN.md)."""
