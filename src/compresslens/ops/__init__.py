"""compresslens.ops layer (see DESIGN.md).

Importing the package registers the built-in operations (`ops/builtin.py`), so any import of
an ops module finds them in the registry, and the registry, which they import, never imports
them back.
"""

from compresslens.ops import builtin  # noqa: F401  (registers the built-in operations)
