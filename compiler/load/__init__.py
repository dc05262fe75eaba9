"""Load a GitOps repo: YAML with locations → schema-validated documents, with diagnostics."""

from .repo import LoadedDocument, LoadResult, discover, load_repo, merge_patch
from .yaml_source import RawDocument, parse_text

__all__ = ["LoadedDocument", "LoadResult", "RawDocument", "discover", "load_repo", "merge_patch", "parse_text"]
