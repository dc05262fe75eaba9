"""Render: the validated graph → target-specific files (Dockerfiles, manifests, bundles, configs).

Each target module is a pure function from graph nodes to `OutputFile`s; `render_graph` collects
them, checks every path, writes the tree into a temp dir beside `out` and swaps it in.
"""

from .naming import image_reference, model_version
from .render import RenderedFile, RenderResult, render_graph

__all__ = ["RenderResult", "RenderedFile", "image_reference", "model_version", "render_graph"]
