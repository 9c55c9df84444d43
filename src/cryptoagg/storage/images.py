"""Coin images on disk: a cache under the mode's state directory (DATA_DIR/images, or
DATA_DIR/mock/images in mock mode) with a size cap.

One file per asset, named by a hash of the asset id (no client text ever reaches a path) and
the image's type (`3f2a….png`). A file is written to a temporary name in the same directory
and renamed over the old one (`os.replace`), so a reader sees the old image or the new one,
never half of one; a file whose bytes are not an image (a crash before the data reached the
disk) is removed when read. Beyond `max_bytes`, the least recently used images go first
(a file's modification time is its last use: touched on every hit, so the order survives a
restart). Not shared between processes: each replica keeps its own.

Every method does blocking file I/O: call them from a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from cryptoagg.core.images import EXTENSIONS, Image, sniff

_TYPES = {extension: media_type for media_type, extension in EXTENSIONS.items()}
_TEMP_PREFIX = ".tmp-"


@dataclass(slots=True)
class _Entry:
    extension: str
    size: int


class ImageStore:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        #: file stem -> entry, least recently used first
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def open(self) -> None:
        """Create the directory, drop what an interrupted write left, and index the files
        (oldest use first); evict down to the cap (it may have been lowered)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        found: list[tuple[float, str, _Entry]] = []
        for path in self.directory.iterdir():
            if path.name.startswith(_TEMP_PREFIX):
                path.unlink(missing_ok=True)
                continue
            if not path.is_file() or path.suffix[1:] not in _TYPES:
                continue
            stat = path.stat()
            found.append((stat.st_mtime, path.stem, _Entry(path.suffix[1:], stat.st_size)))
        with self._lock:
            self._entries.clear()
            self.bytes = 0
            for _, stem, entry in sorted(found, key=lambda item: item[0]):
                self._entries[stem] = entry
                self.bytes += entry.size
            self._evict()

    def get(self, key: str) -> Image | None:
        """The image stored under `key`, or None."""
        stem = _stem(key)
        with self._lock:
            entry = self._entries.get(stem)
            if entry is None:
                return None
            path = self._path(stem, entry)
            try:
                data = path.read_bytes()
                os.utime(path)
            except OSError:
                self._drop(stem)
                return None
            media_type = sniff(data)
            if media_type != _TYPES[entry.extension]:
                self._drop(stem)
                return None
            self._entries.move_to_end(stem)
            return Image(data, media_type)

    def put(self, key: str, image: Image) -> None:
        """Store `image` under `key` (replacing what was there), then evict the least
        recently used images beyond the cap. An image larger than the cap is not kept."""
        extension = EXTENSIONS.get(image.media_type)
        if extension is None or len(image.data) > self.max_bytes:
            return
        stem = _stem(key)
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=_TEMP_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(image.data)
            with self._lock:
                old = self._entries.get(stem)
                if old is not None and old.extension != extension:
                    self._drop(stem)
                os.replace(temporary, self.directory / f"{stem}.{extension}")
                if stem in self._entries:
                    self.bytes -= self._entries[stem].size
                self._entries[stem] = _Entry(extension, len(image.data))
                self._entries.move_to_end(stem)
                self.bytes += len(image.data)
                self._evict()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    # -- with the lock held ----------------------------------------------------------------

    def _path(self, stem: str, entry: _Entry) -> Path:
        return self.directory / f"{stem}.{entry.extension}"

    def _drop(self, stem: str) -> None:
        entry = self._entries.pop(stem, None)
        if entry is not None:
            self.bytes -= entry.size
            self._path(stem, entry).unlink(missing_ok=True)

    def _evict(self) -> None:
        while self.bytes > self.max_bytes and self._entries:
            self._drop(next(iter(self._entries)))


def _stem(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]
