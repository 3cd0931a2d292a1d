"""The artifact store: where artifacts travel between actions, as zip files.

CodePipeline keeps every artifact as a zip in the pipeline's S3 artifact store, in "a folder
[…] created for you based on the name of the pipeline" (``ArtifactStore``,
https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ArtifactStore.html); an action
downloads its input artifacts from there and uploads its outputs there. The keys follow the
layout seen on AWS — ``<pipeline name, cut to 20 characters>/<artifact name, cut to 10>/<7
random characters>`` — an observation, not a documented contract. On the local
target :class:`S3ArtifactStore` does exactly that in the emulator's bucket. Without a workshop
context (tests, dry runs) :class:`FolderArtifactStore` keeps the same keys in a folder.
"""

from __future__ import annotations

import io
import random
import string
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "ArtifactRef",
    "ArtifactStore",
    "FolderArtifactStore",
    "S3ArtifactStore",
    "artifact_key",
    "extract",
    "zip_folder",
]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class ArtifactRef:
    """Where one artifact of one execution is: its name and its S3 location."""

    name: str
    bucket: str
    key: str

    def detail(self) -> dict[str, Any]:
        """The ``ArtifactDetail`` structure of ``list_action_executions``."""
        return {"name": self.name, "s3location": {"bucket": self.bucket, "key": self.key}}

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"


def artifact_key(pipeline: str, artifact: str, rng: random.Random) -> str:
    """An artifact's key, as CodePipeline lays them out: cut names and a random 7-character id."""
    suffix = "".join(rng.choice(_ALPHABET) for _ in range(7))
    return f"{pipeline[:20]}/{artifact[:10]}/{suffix}"


class ArtifactStore(Protocol):
    """Puts artifact zips somewhere and gets them back."""

    bucket: str

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``."""

    def get(self, key: str) -> bytes:
        """Return what is stored under ``key``."""


class S3ArtifactStore:
    """The pipeline's S3 artifact store (in the emulator on the local target).

    Args:
        ctx: The workshop context.
        bucket: The artifact bucket (it must exist; :func:`labs.cicd.pipeline.create` makes it).
    """

    def __init__(self, ctx: Any, bucket: str) -> None:
        self.bucket = bucket
        self._s3 = ctx.client("s3")

    def put(self, key: str, data: bytes) -> None:
        """Upload ``data`` to ``s3://bucket/key``."""
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        """Download ``s3://bucket/key``."""
        return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


class FolderArtifactStore:
    """An artifact store in a local folder (no emulator): the same keys, as files.

    Args:
        folder: Where the files go.
        bucket: The name reported as the bucket.
    """

    def __init__(self, folder: str | Path, bucket: str = "local-artifact-store") -> None:
        self.folder = Path(folder)
        self.bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` to ``folder/key``."""
        path = self.folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def get(self, key: str) -> bytes:
        """Read ``folder/key``."""
        return (self.folder / key).read_bytes()


def zip_folder(folder: str | Path) -> bytes:
    """Zip a folder's files (paths relative to it, fixed dates): the same files, the same bytes."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def extract(data: bytes, folder: str | Path) -> Path:
    """Unzip ``data`` into ``folder`` (created), keeping file modes; return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = (folder / info.filename).resolve()
            if folder.resolve() not in target.parents and target != folder.resolve():
                continue  # a path leaving the folder: ignored, as a safe unzip does
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
    return folder
