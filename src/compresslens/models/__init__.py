"""compresslens.models layer (see DESIGN.md)."""
