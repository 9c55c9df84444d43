"""The image cache on disk: atomic writes, a size cap with the least recently used out, and
an index that survives a restart."""

from __future__ import annotations

import os
from pathlib import Path

from cryptoagg.core.images import Image
from cryptoagg.storage.images import ImageStore

PNG_HEAD = bytes.fromhex("89504e470d0a1a0a")


def png(size: int, fill: int = 0) -> Image:
    return Image(PNG_HEAD + bytes([fill]) * (size - len(PNG_HEAD)), "image/png")


def opened(directory: Path, max_bytes: int) -> ImageStore:
    store = ImageStore(directory, max_bytes)
    store.open()
    return store


def test_an_image_put_is_read_back_under_a_name_no_client_chose(tmp_path: Path) -> None:
    store = opened(tmp_path / "images", 10_000)
    store.put("../../etc/passwd", png(100))
    assert store.get("../../etc/passwd") == png(100)
    [name] = os.listdir(tmp_path / "images")
    assert len(name) == len("0" * 32 + ".png") and name.endswith(".png") and "." not in name[:-4]
    assert store.get("bitcoin") is None
    assert (store.bytes, len(store)) == (100, 1)


def test_replacing_an_image_keeps_one_file(tmp_path: Path) -> None:
    store = opened(tmp_path, 10_000)
    store.put("bitcoin", png(100))
    store.put("bitcoin", Image(b"\xff\xd8\xff" + b"j" * 47, "image/jpeg"))
    assert store.get("bitcoin") == Image(b"\xff\xd8\xff" + b"j" * 47, "image/jpeg")
    assert [p.suffix for p in tmp_path.iterdir()] == [".jpg"]
    assert store.bytes == 50


def test_beyond_the_cap_the_least_recently_used_go(tmp_path: Path) -> None:
    store = opened(tmp_path, 300)
    for name in ("a", "b", "c"):
        store.put(name, png(100))
    assert store.get("a") is not None  # now the most recently used
    store.put("d", png(100))
    assert store.get("b") is None  # the least recently used went
    assert all(store.get(name) is not None for name in ("a", "c", "d"))
    assert store.bytes == 300 and len(list(tmp_path.iterdir())) == 3


def test_an_image_larger_than_the_cap_is_not_kept(tmp_path: Path) -> None:
    store = opened(tmp_path, 100)
    store.put("small", png(60))
    store.put("huge", png(101))
    assert store.get("huge") is None
    assert store.get("small") is not None


def test_the_order_of_use_survives_a_restart(tmp_path: Path) -> None:
    store = opened(tmp_path, 1_000)
    for fill, name in enumerate("abc", start=1):
        store.put(name, png(100, fill))
    by_name = {"abc"[p.read_bytes()[-1] - 1]: p for p in tmp_path.iterdir()}
    for name, when in (("b", 1_000), ("a", 2_000), ("c", 3_000)):  # b used longest ago
        os.utime(by_name[name], (when, when))
    reopened = opened(tmp_path, 250)  # a lower cap: evicts at start-up, oldest use first
    assert reopened.get("b") is None and not by_name["b"].exists()
    assert reopened.get("a") == png(100, 1)  # a hit is a use: a is now the newest
    assert by_name["a"].stat().st_mtime > 3_000
    again = opened(tmp_path, 150)
    assert again.get("a") == png(100, 1)
    assert again.get("c") is None and len(again) == 1


def test_leftovers_of_an_interrupted_write_and_torn_files_are_dropped(tmp_path: Path) -> None:
    store = opened(tmp_path, 1_000)
    store.put("bitcoin", png(100))
    store.put("ethereum", png(100))
    (tmp_path / ".tmp-abc").write_bytes(b"half an image")
    torn = next(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    torn.write_bytes(b"")  # a crash before the data reached the disk
    reopened = opened(tmp_path, 1_000)
    assert not (tmp_path / ".tmp-abc").exists()
    served = [reopened.get("bitcoin"), reopened.get("ethereum")]
    assert served.count(None) == 1  # the torn one is a miss, and gone
    assert not torn.exists()
    assert reopened.bytes == 100


def test_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = opened(tmp_path, 1_000)
    store.put("bitcoin", png(100))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
