"""Saving to a path is all-or-nothing: a failure at any step leaves the previous file
untouched and no temporary file behind; a finished save is fsync'ed with its directory."""
import os

import pytest

import ember
import ember.io.atomic as atomic
import ember.io.checkpoint as checkpoint
from ember.io import load, save
from ember.io.safetensors_file import to_bytes


@pytest.fixture
def existing(tmp_path):
    """A destination that already holds a good checkpoint, and its bytes."""
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": ember.ones(3)}, path)
    return path, path.read_bytes()


def _fail(*args, **kwargs):
    raise OSError(28, "No space left on device")


def _half_write(arrays, metadata, path):
    """Write half of the file, then fail like a full disk."""
    data = to_bytes(arrays, metadata)
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])
    _fail()


@pytest.mark.parametrize("target, name, replacement", [
    (atomic.os, "fsync", _fail),
    (atomic.os, "replace", _fail),
    (checkpoint, "write_file", _half_write),
], ids=["fsync", "rename", "disk-full"])
def test_failed_save_leaves_destination_untouched(existing, monkeypatch, target, name,
                                                  replacement):
    path, before = existing
    monkeypatch.setattr(target, name, replacement)
    with pytest.raises(OSError, match="No space"):
        save({"epoch": 2, "w": ember.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]
    assert load(path)["epoch"] == 1


def test_interrupted_save_removes_its_temporary_file(existing, monkeypatch):
    path, before = existing

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save({"epoch": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(path.parent) == [path.name]


def test_unsupported_object_creates_no_file(existing):
    path, before = existing
    with pytest.raises(TypeError):
        save({"epoch": 2, "fn": print}, path)
    with pytest.raises(TypeError):
        save({"fn": print}, path.parent / "new.safetensors")
    assert path.read_bytes() == before and os.listdir(path.parent) == [path.name]


def test_save_fsyncs_file_and_directory_and_replaces(existing, monkeypatch):
    path, _ = existing
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    save({"epoch": 2}, path)
    assert len(synced) == 2              # the temporary file, then the directory
    assert load(path) == {"epoch": 2} and os.listdir(path.parent) == [path.name]


def test_new_file_mode_follows_umask(tmp_path):
    old = os.umask(0o027)
    try:
        save({"a": 1}, tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o640


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="parent directory .*nope does not exist"):
        save({"a": 1}, tmp_path / "nope" / "x.safetensors")
