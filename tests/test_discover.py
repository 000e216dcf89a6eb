"""Image discovery: the one folder walk that yolact-run, yolact-export --check, --int8 calibration and
yolact-bench share."""
from __future__ import annotations

from pathlib import Path

from yolact_runtime.pipeline.discover import discover, image_files, images_under
from yolact_runtime.pipeline.layout import output_names


def _tree(root: Path) -> None:
    for name in ("b.png", "a.JPG", "sub/c.webp", "sub/deeper/d.ppm", "clip.mp4", "notes.txt", ".hidden.png",
                 ".cache/e.png"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_image_files_are_sorted_recursive_and_skip_hidden_names_videos_and_other_files(tmp_path) -> None:
    _tree(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in image_files(tmp_path)] == [
        "a.JPG", "b.png", "sub/c.webp", "sub/deeper/d.ppm"]


def test_images_under_keeps_files_as_given_and_expands_folders(tmp_path) -> None:
    _tree(tmp_path)
    given = tmp_path / "notes.txt"  # a file named by the user is taken whatever its suffix
    assert images_under([given, tmp_path / "sub"]) == [given, tmp_path / "sub/c.webp", tmp_path / "sub/deeper/d.ppm"]


def test_yolact_run_finds_the_same_images_plus_the_videos(tmp_path) -> None:
    _tree(tmp_path)
    items, errors = discover([tmp_path])
    assert errors == []
    assert [i.path for i in items if i.kind == "image"] == image_files(tmp_path)
    assert [i.key for i in items if i.kind == "video"] == ["clip.mp4"]


def test_output_names_keep_the_extension_only_where_stems_collide() -> None:
    keys = ["c/twin.png", "c/twin.jpg", "c/other.png", "a.png", "a.png", "clip.mov", "clip.mkv", "x/y.jpg"]
    assert output_names(keys) == ["c/twin.png", "c/twin.jpg", "c/other", "a", "a~2", "clip.mov", "clip.mkv", "x/y"]
    assert output_names(list(reversed(keys)))[::-1][:3] == ["c/twin.png", "c/twin.jpg", "c/other"]  # order-free


def test_two_files_with_one_key_both_kept(tmp_path) -> None:
    for folder in ("p", "q"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.png").write_bytes(b"x")
    items, errors = discover([tmp_path / "p", tmp_path / "q", tmp_path / "p" / "a.png"])
    assert errors == []  # p/a.png given twice is one item
    assert [(i.key, i.name) for i in items] == [("a.png", "a"), ("a.png", "a~2")]
