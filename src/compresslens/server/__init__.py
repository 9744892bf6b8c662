"""compresslens.server: the FastAPI app that serves a workspace to the browser."""
