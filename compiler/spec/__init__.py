"""User-shaped resource specs (pydantic v2), one module per kind; see documents.KINDS."""

from .common import API_VERSION, split_model_ref
from .documents import KINDS, AnyDocument, Deployment, Document, Endpoint, Environment, Image, Model, Workspace

__all__ = [
    "API_VERSION",
    "KINDS",
    "AnyDocument",
    "Deployment",
    "Document",
    "Endpoint",
    "Environment",
    "Image",
    "Model",
    "Workspace",
    "split_model_ref",
]
