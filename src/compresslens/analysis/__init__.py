"""compresslens.analysis layer: pure array functions on stored outputs (see DESIGN.md)."""
