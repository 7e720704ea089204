"""Object-store failures as one clear message naming the URL, bucket and endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aligned_cli.errors import ExecutionError
from aligned_cli.objectstore.settings import StoreSettings
from aligned_cli.objectstore.urls import bucket_and_key, has_glob

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_DENIED = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "Access Key Id you provided does not exist",
    "signature we calculated does not match",
    "Forbidden",
    "403",
)
_NO_BUCKET = ("NoSuchBucket", "specified bucket does not exist")


def explain(error: BaseException, url: str, settings: StoreSettings) -> ExecutionError:
    """`error` (raised while using `url`) as an ExecutionError a user can act on."""
    text = _gist(error)
    bucket, key = bucket_and_key(url)
    if isinstance(error, PermissionError) or any(s in text for s in _DENIED):
        return ExecutionError(
            f"access to '{url}' was refused by {settings.where()} "
            f"(credentials from {settings.origin}): {text}",
            hint="check the key and secret: object_stores in aligned_project.yml, "
            "or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
        )
    if any(s in text for s in _NO_BUCKET):
        return ExecutionError(
            f"bucket '{bucket}' does not exist on {settings.where()} (reading '{url}')",
            hint="create the bucket, or fix the bucket name or the endpoint_url",
        )
    if isinstance(error, FileNotFoundError):
        what = "no object matches" if has_glob(key) else "no object at"
        return ExecutionError(
            f"{what} '{url}' (on {settings.where()})",
            hint="check the key; paths in a bucket are case-sensitive",
        )
    if isinstance(error, ConnectionError | TimeoutError) or "Could not connect" in text:
        return ExecutionError(
            f"cannot reach {settings.where()} (for '{url}'): {text}",
            hint="check endpoint_url (object_stores in aligned_project.yml, or "
            "AWS_ENDPOINT_URL) and that the server is up",
        )
    return ExecutionError(f"'{url}' (on {settings.where()}): {text}")


def diagnose(fs: AbstractFileSystem, url: str, settings: StoreSettings) -> ExecutionError | None:
    """Why `url` cannot be read, found by asking the store; None when it looks fine.

    Used after an engine failed with a driver message that names neither the
    bucket nor the reason (DuckDB wraps fsspec's exceptions as text).
    """
    bucket, key = bucket_and_key(url)
    try:
        _probe_bucket(fs, bucket)
        matches = fs.glob(url) if has_glob(key) else ([url] if fs.exists(url) else [])
    except Exception as error:  # any driver failure is the answer we are looking for
        return explain(error, url, settings)
    if not matches:
        return explain(FileNotFoundError(url), url, settings)
    return None


def _probe_bucket(fs: AbstractFileSystem, bucket: str) -> None:
    """Raise the store's own error when `bucket` is missing or refuses us.

    (`fs.exists` would not: s3fs answers False to a refused request as well.)
    """
    call_s3 = getattr(fs, "call_s3", None)
    if call_s3 is not None:
        call_s3("list_objects_v2", Bucket=bucket, MaxKeys=1)  # one cheap request
    else:
        fs.ls(bucket)


def _gist(error: BaseException) -> str:
    """The driver's message without a traceback: the last line of an embedded one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0].startswith("Traceback"):
        lines = [line for line in lines if not line.startswith(("File ", "^", "Traceback"))]
        return lines[-1] if lines else type(error).__name__
    return "; ".join(lines[:2])
