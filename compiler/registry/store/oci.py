"""OCI registry as artifact store (oci://host[:port]/repo), via the OCI distribution HTTP API.

Each file is a blob; a model is an OCI artifact manifest (artifactType below) whose layers are the
files (titled by path) and whose config is the tree manifest, tagged `sha256-<model digest hex>`.
The manifest keeps the blobs reachable when the registry garbage-collects.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ..errors import DigestMismatch, InvalidArgument, NotFound, RegistryError
from .base import CHUNK, Blob, ModelFile, hash_file, sha256_digest, split_digest, write_stream_atomically

ARTIFACT_TYPE = "application/vnd.modelctl.model.v1"
FILE_MEDIA_TYPE = "application/vnd.modelctl.model.file.v1"
TREE_MEDIA_TYPE = "application/vnd.modelctl.model.tree.v1+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
EMPTY_JSON = b"{}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OciStore:
    def __init__(self, url: str, *, chunk_size: int = 8 * CHUNK, timeout: float = 120.0) -> None:
        parts = urlsplit(url)
        repo = parts.path.strip("/")
        if parts.scheme != "oci" or not parts.hostname or not repo:
            raise InvalidArgument(f"invalid OCI artifact store {url!r}: expected oci://HOST[:PORT]/REPOSITORY")
        self.url, self.repo, self.chunk_size = url, repo, chunk_size
        scheme = "http" if _is_loopback(parts.hostname) else "https"  # plain HTTP only on loopback
        self._http = httpx.Client(base_url=f"{scheme}://{parts.netloc}", timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    # --- HTTP helpers ------------------------------------------------------------------------

    def _request(self, method: str, url: str | httpx.URL, **kwargs) -> httpx.Response:  # noqa: ANN003
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryError(f"artifact store {self.url}: {type(exc).__name__}: {exc}") from None

    def _fail(self, what: str, response: httpx.Response) -> RegistryError:
        body = response.text[:300].strip()
        return RegistryError(f"artifact store {self.url}: {what} failed: HTTP {response.status_code} {body}")

    # --- blobs -------------------------------------------------------------------------------

    def _blob_url(self, digest: str) -> str:
        split_digest(digest)
        return f"/v2/{self.repo}/blobs/{digest}"

    def has(self, digest: str) -> bool:
        response = self._request("HEAD", self._blob_url(digest))
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(f"HEAD blob {digest}", response)

    def put_bytes(self, data: bytes) -> Blob:
        blob = Blob(sha256_digest(data), len(data))
        if not self.has(blob.digest):
            self._upload(blob, lambda: iter([data]))
        return blob

    def put_file(self, path: Path) -> Blob:
        blob = hash_file(path)
        if not self.has(blob.digest):

            def chunks():  # noqa: ANN202
                with open(path, "rb") as f:
                    while chunk := f.read(self.chunk_size):
                        yield chunk

            self._upload(blob, chunks)
        return blob

    def _upload(self, blob: Blob, chunks) -> None:  # noqa: ANN001
        """Monolithic PUT for small blobs, chunked PATCHes for big ones; the registry checks the digest."""
        response = self._request("POST", f"/v2/{self.repo}/blobs/uploads/")
        if response.status_code != 202:
            raise self._fail("start upload", response)
        location = response.headers["Location"]
        if blob.size <= self.chunk_size:
            body = b"".join(chunks())
            response = self._request(
                "PUT",
                self._with_digest(location, blob),
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            )
        else:
            offset = 0
            for chunk in chunks():
                response = self._request(
                    "PATCH",
                    location,
                    content=chunk,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                    },
                )
                if response.status_code != 202:
                    raise self._fail("upload chunk", response)
                location, offset = response.headers["Location"], offset + len(chunk)
            response = self._request("PUT", self._with_digest(location, blob))
        if response.status_code != 201:
            raise self._fail(f"upload blob {blob.digest}", response)

    @staticmethod
    def _with_digest(location: str, blob: Blob) -> httpx.URL:
        # Keep the registry's own query (upload state); httpx's params= would replace it.
        return httpx.URL(location).copy_merge_params({"digest": blob.digest})

    def _get(self, digest: str) -> httpx.Response:
        response = self._request("GET", self._blob_url(digest))
        if response.status_code == 404:
            raise NotFound("blob", digest)
        if response.status_code != 200:
            raise self._fail(f"GET blob {digest}", response)
        return response

    def read_bytes(self, digest: str) -> bytes:
        data = self._get(digest).content
        actual = sha256_digest(data)
        if actual != digest:
            raise DigestMismatch(digest, actual, f"blob in {self.url}")
        return data

    def fetch(self, digest: str, dest: Path) -> None:
        try:
            with self._http.stream("GET", self._blob_url(digest)) as response:
                if response.status_code == 404:
                    raise NotFound("blob", digest)
                if response.status_code != 200:
                    response.read()
                    raise self._fail(f"GET blob {digest}", response)
                write_stream_atomically(response.iter_bytes(CHUNK), dest, digest)
        except httpx.HTTPError as exc:
            raise RegistryError(f"artifact store {self.url}: {type(exc).__name__}: {exc}") from None

    # --- model manifests ---------------------------------------------------------------------

    @staticmethod
    def tag_for(model_digest: str) -> str:
        return "sha256-" + split_digest(model_digest)

    def publish(self, model_digest: str, files: list[ModelFile], tree: Blob | None) -> None:
        if tree is None:
            config = {"mediaType": EMPTY_MEDIA_TYPE, **self._descriptor(self.put_bytes(EMPTY_JSON))}
        else:
            config = {"mediaType": TREE_MEDIA_TYPE, **self._descriptor(tree)}
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": ARTIFACT_TYPE,
            "config": config,
            "layers": [
                {
                    "mediaType": FILE_MEDIA_TYPE,
                    **self._descriptor(f.blob),
                    "annotations": {"org.opencontainers.image.title": f.path},
                }
                for f in files
            ],
            "annotations": {"io.modelctl.model.digest": model_digest},
        }
        self.put_manifest(self.tag_for(model_digest), manifest)

    def read_manifest(self, model_digest: str) -> dict:
        found = self.get_manifest(self.tag_for(model_digest))
        if found is None:
            raise NotFound("model manifest", model_digest)
        return found[0]

    # --- manifests by tag (also used to publish edge bundles and FPGA configs) -----------------

    def put_manifest(self, tag: str, manifest: dict) -> str:
        """Push `manifest` under `tag`; returns its digest (checked against the registry's)."""
        body = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        response = self._request(
            "PUT", f"/v2/{self.repo}/manifests/{tag}", content=body, headers={"Content-Type": MANIFEST_MEDIA_TYPE}
        )
        if response.status_code != 201:
            raise self._fail(f"push manifest {tag}", response)
        returned = response.headers.get("Docker-Content-Digest")
        if returned and returned != digest:
            raise DigestMismatch(digest, returned, "pushed manifest")
        return digest

    def get_manifest(self, tag: str) -> tuple[dict, str] | None:
        """(manifest, digest) of `tag`, or None when the tag does not exist."""
        response = self._request("GET", f"/v2/{self.repo}/manifests/{tag}", headers={"Accept": MANIFEST_MEDIA_TYPE})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(f"GET manifest {tag}", response)
        digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
        return response.json(), digest

    def list_tags(self) -> list[str]:
        response = self._request("GET", f"/v2/{self.repo}/tags/list")
        if response.status_code == 404:  # the repository does not exist yet
            return []
        if response.status_code != 200:
            raise self._fail("list tags", response)
        return sorted(response.json().get("tags") or [])

    def delete_manifest(self, tag: str) -> bool:
        """Delete the manifest `tag` points at; False when it was not there."""
        found = self.get_manifest(tag)
        if found is None:
            return False
        response = self._request("DELETE", f"/v2/{self.repo}/manifests/{found[1]}")
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 202):
            raise self._fail(f"delete manifest {tag} (the registry must allow deletes)", response)
        return True

    @staticmethod
    def _descriptor(blob: Blob) -> dict:
        return {"digest": blob.digest, "size": blob.size}
