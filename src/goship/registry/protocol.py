"""Pure pieces of the OCI distribution protocol: no I/O, tested by tables.

Chunk planning and ``Range``/``Content-Range`` for chunked uploads, ``Link``
pagination of tag lists, retry decisions with backoff, and digests. The
client (``client.py``) does the requests; everything it decides is here.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024

_RANGE = re.compile(r"^\s*(?:bytes[= ])?(\d+)-(\d+)\s*$")
_LINK = re.compile(r'<([^>]*)>\s*;([^,]*)')
_DIGEST = re.compile(r"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-fA-F0-9=_-]+)$")


# Chunked upload ------------------------------------------------------------


def plan_chunks(size: int, chunk_size: int, start: int = 0) -> list[tuple[int, int]]:
    """Inclusive byte ranges ``(first, last)`` covering ``start..size-1``."""
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    return [(first, min(first + chunk_size, size) - 1) for first in range(start, size, chunk_size)]


def content_range(first: int, last: int) -> str:
    """The ``Content-Range`` of a PATCH: the spec's ``<start>-<end>``, no unit
    (distribution 2.x rejects ``bytes 0-9``)."""
    return f"{first}-{last}"


def committed_offset(range_header: str | None) -> int:
    """The next byte the registry expects, from an upload's ``Range: 0-<last>``.

    ``0-0`` means nothing stored yet: distribution answers it for an empty
    session (ambiguous with exactly one byte, which only a 1-byte chunk
    size could produce; re-sending that byte then gets a 416 and a retry).
    A missing header also means 0.
    """
    if not range_header:
        return 0
    match = _RANGE.match(range_header)
    if not match:
        raise ValueError(f"malformed Range header {range_header!r}")
    first, last = int(match.group(1)), int(match.group(2))
    if first != 0 or last < first:
        raise ValueError(f"unexpected upload Range {range_header!r}")
    return 0 if last == 0 else last + 1


def with_digest(location: str, digest: str) -> str:
    """The upload URL completed with ``digest=`` (the Location may carry a query already)."""
    return f"{location}{'&' if '?' in location else '?'}digest={digest}"


def absolute(base: str, location: str) -> str:
    """A ``Location`` header made absolute against the registry's base URL."""
    return urljoin(f"{base}/", location)


# Tag list pagination -----------------------------------------------------------


def next_link(link_header: str | None) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header, if any."""
    if not link_header:
        return None
    for target, params in _LINK.findall(link_header):
        rels = re.findall(r'rel="?([^";]+)"?', params)
        if any("next" in rel.split() for rel in rels):
            return str(target)
    return None


# Retries -------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: exponential backoff with jitter.

    ``attempts`` counts the first try. The wait before retry ``n`` (1-based)
    is drawn from ``[d/2, d]`` with ``d = min(cap, base * 2**(n-1))``
    ("equal jitter": clients that failed together do not retry together,
    and no wait collapses to zero). A ``Retry-After`` from the registry
    wins, up to ``max_retry_after``.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, retry: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        ceiling = min(self.cap, self.base * (2 ** (retry - 1)))
        return float(ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


def retryable_status(status: int) -> bool:
    """5xx and 429 are worth another try; other answers are final."""
    return status == 429 or 500 <= status <= 599


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# Digests -------------------------------------------------------------------------


def compute_digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def is_digest(reference: str) -> bool:
    return bool(_DIGEST.match(reference))


def verify_digest(data: bytes, expected: str) -> str | None:
    """None when ``data`` has digest ``expected``, else the digest it has."""
    algorithm = expected.partition(":")[0]
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise ValueError(f"unsupported digest algorithm in {expected!r}")
    actual = compute_digest(data, algorithm)
    return None if actual == expected else actual
