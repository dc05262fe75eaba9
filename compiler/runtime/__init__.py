"""modelctl scoring runtime: the server inside every scoring image (copied as `modelctl_runtime`).

It uses relative imports only and imports nothing else from `compiler`.
"""

__version__ = "0.1.0"
