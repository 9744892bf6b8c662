"""compresslens.store layer (see DESIGN.md)."""
