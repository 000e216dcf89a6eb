"""yolact-run --engine ray (Ray Data): the same outputs as the single-process run; failures; no Ray."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import ray_faults
from twins import TWIN_KEYS, make_twins, twin_outputs
from yolact_runtime.cluster import ray_engine
from yolact_runtime.cli import main

PHOTOS = Path(__file__).resolve().parent / "data" / "photos"
CRASH_KEY = "nested/crash_once.png"  # the actor that gets this image dies the first time (ray_faults)
POISON_KEY = "poison.png"  # the actor that gets this image dies every time (ray_faults)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """24 resized / cropped / flipped variants of the shared photos, PNG and JPEG, some nested."""
    sources = sorted(PHOTOS.glob("*.png"))
    assert sources, f"no images under {PHOTOS}"
    folder = tmp_path_factory.mktemp("photos")
    (folder / "nested").mkdir()
    count = 0
    while count < 24:
        for source in sources:
            image = cv2.imread(str(source))
            height, width = image.shape[:2]
            variant = count // len(sources)
            scale = (0.12, 0.18, 0.25)[variant % 3]
            image = cv2.resize(image, (max(8, int(width * scale)), max(8, int(height * scale))),
                               interpolation=cv2.INTER_AREA)
            if variant % 2:
                image = image[: image.shape[0] * 3 // 4, image.shape[1] // 5 :][:, ::-1]
            name = f"{source.stem}_v{variant}.{'jpg' if variant % 3 == 1 else 'png'}"
            cv2.imwrite(str(folder / ("nested" if variant >= 3 else "") / name), image)
            count += 1
    return folder


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """One local Ray for the module: 2 CPUs, no dashboard, no usage stats, the crash hook armed."""
    import ray  # installed by `make test` (the ray extra); missing it is a failure, not a skip
    import ray.data  # noqa: F401
    marker = tmp_path_factory.mktemp("crash") / "crashed"
    patch = pytest.MonkeyPatch()
    patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    patch.setenv(ray_faults.CRASH_ENV, f"{CRASH_KEY}|{marker};{POISON_KEY}|")  # workers inherit the env
    ray.cloudpickle.register_pickle_by_value(ray_faults)  # the actors cannot import tests/
    patch.setattr(ray_engine, "YolactPredictor", ray_faults.CrashingPredictor)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             object_store_memory=200 * 1024 * 1024)
    try:
        yield marker
    finally:
        ray.shutdown()
        patch.undo()


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _assert_same_results(local: list[dict], distributed: list[dict]) -> None:
    assert len(local) == len(distributed)
    for a, b in zip(local, distributed):
        assert {k: v for k, v in a.items() if k != "bbox"} == {k: v for k, v in b.items() if k != "bbox"}
        assert np.allclose(a["bbox"], b["bbox"], atol=1e-3, rtol=0)


def _images(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.suffix in (".png", ".jpg"))


def test_ray_gives_the_single_process_outputs(tmp_path, ray_local, model_path, photos) -> None:
    common = ("--model", model_path, "--score-threshold", "0", "--save-masks", "-q")
    code, _, stderr = _run(photos, *common, "--out", tmp_path / "local", "--json", tmp_path / "local.json")
    assert code == 0, stderr
    code, stdout, stderr = _run(photos, *common, "--out", tmp_path / "ray", "--json", tmp_path / "ray.json",
                                "--engine", "ray", "--workers", "2", "--batch-size", "2")
    assert code == 0, stderr
    assert "Traceback" not in stderr

    local = json.loads((tmp_path / "local.json").read_text())
    distributed = json.loads((tmp_path / "ray.json").read_text())
    keys = _images(photos)
    assert len(keys) >= 20 and {r["file_name"] for r in local} == set(keys)
    _assert_same_results(local, distributed)
    assert (tmp_path / "local.json").read_bytes() == (tmp_path / "ray.json").read_bytes()
    for key in keys:
        stem = str(Path(key).with_suffix(""))
        for sub, name in (("overlays", key), ("masks", f"{stem}.png"), ("detections", f"{stem}.json")):
            assert (tmp_path / "ray" / sub / name).read_bytes() == (tmp_path / "local" / sub / name).read_bytes()
    assert [p for p in (tmp_path / "ray").rglob("*") if p.name.startswith(".")] == []

    # a re-run with --resume skips everything (and the JSON is still the whole run's)
    (tmp_path / "ray.json").unlink()
    code, stdout, stderr = _run(photos, *common[:-1], "--out", tmp_path / "ray", "--json", tmp_path / "ray.json",
                                "--engine", "ray", "--resume")
    assert code == 0, stderr
    assert f"{len(keys)} skipped" in stdout
    assert (tmp_path / "local.json").read_bytes() == (tmp_path / "ray.json").read_bytes()


def test_ray_keeps_twin_stems_apart_as_the_local_run_does(tmp_path, ray_local, model_path) -> None:
    folder = make_twins(tmp_path)
    # --classes, --polygons and --save-txt reach the workers too
    common = (folder, "--model", model_path, "--save-masks", "--classes", "bicycle,4", "--polygons", "--save-txt", "-q")
    assert _run(*common, "--out", tmp_path / "local")[0] == 0
    code, _, stderr = _run(*common, "--out", tmp_path / "ray", "--engine", "ray", "--workers", "1")
    assert code == 0, stderr
    for key in TWIN_KEYS:
        local_files = [*twin_outputs(tmp_path / "local", key), tmp_path / "local" / "labels" / f"{key}.txt"]
        for local in local_files:
            assert (tmp_path / "ray" / local.relative_to(tmp_path / "local")).read_bytes() == local.read_bytes()
        record = json.loads((tmp_path / "ray" / "detections" / f"{key}.json").read_text())
        assert record["detections"] and {d["category_id"] for d in record["detections"]} <= {2, 5}
        assert all(isinstance(d["segmentation"], list) for d in record["detections"])
    code, stdout, stderr = _run(*common[:-1], "--out", tmp_path / "ray", "--engine", "ray", "--resume")
    assert code == 0, stderr
    assert "3 skipped" in stdout


def test_ray_with_a_real_exported_model(tmp_path, ray_local, exported, photos) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for source in sorted(PHOTOS.glob("*.png")):  # the photos the lively weights see objects in
        image = cv2.imread(str(source))
        cv2.imwrite(str(folder / source.name), image)
        cv2.imwrite(str(folder / f"{source.stem}_flip.jpg"), cv2.resize(image[:, ::-1], None, fx=0.75, fy=0.75))
    common = ("--model", exported["v1"][1], "--score-threshold", "0", "--no-overlays", "-q")
    assert _run(folder, *common, "--out", tmp_path / "local", "--json", tmp_path / "local.json")[0] == 0
    code, _, stderr = _run(folder, *common, "--out", tmp_path / "ray", "--json", tmp_path / "ray.json",
                           "--engine", "ray", "--workers", "2", "--threads", "1")
    assert code == 0, stderr
    local = json.loads((tmp_path / "local.json").read_text())
    assert len({r["file_name"] for r in local}) >= 6
    _assert_same_results(local, json.loads((tmp_path / "ray.json").read_text()))


def test_a_corrupt_image_and_a_dying_worker_do_not_stop_the_run(tmp_path, ray_local, model_path, photos) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    for key in _images(photos):
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes((photos / key).read_bytes())
    (folder / CRASH_KEY).write_bytes((photos / _images(photos)[0]).read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg" * 20)
    good = [k for k in _images(folder) if k != "broken.jpg"]
    assert not ray_local.exists()

    code, _, _ = _run(folder, "--model", model_path, "--out", tmp_path / "local", "--json", tmp_path / "local.json",
                      "--no-overlays", "-q")
    assert code == 1
    uri = folder.as_uri()  # read through pyarrow.fs, as s3:// or gs:// would be
    code, stdout, stderr = _run(uri, "--model", model_path, "--out", tmp_path / "ray", "--json", tmp_path / "ray.json",
                                "--no-overlays", "--engine", "ray", "--workers", "2")
    assert code == 1
    assert ray_local.exists(), "the crash hook did not fire"
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {uri}/broken.jpg: cannot decode image (corrupt or unsupported format)"]
    assert f"{len(good)} images in" in stdout and "1 failed" in stdout
    for key in good:
        assert (tmp_path / "ray" / "detections" / Path(key).with_suffix(".json")).is_file()
    _assert_same_results(json.loads((tmp_path / "local.json").read_text()),
                         json.loads((tmp_path / "ray.json").read_text()))
    assert CRASH_KEY in {r["file_name"] for r in json.loads((tmp_path / "ray.json").read_text())}


def test_an_image_that_always_kills_its_actor_is_isolated_and_reported(tmp_path, ray_local, model_path,
                                                                       photos) -> None:
    """Batches of 2: the poison image's batch dies max_task_retries + 1 times and is lost; the second
    pass, one image per call, processes its batch-mate and reports only the poison image."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    keys = [k for k in _images(photos) if "/" not in k][:5]
    for key in keys:
        (folder / key).write_bytes((photos / key).read_bytes())
    (folder / POISON_KEY).write_bytes((photos / keys[0]).read_bytes())
    out = tmp_path / "ray"
    code, stdout, stderr = _run(folder, "--model", model_path, "--out", out, "--json", tmp_path / "ray.json",
                                "--no-overlays", "--engine", "ray", "--workers", "2", "--batch-size", "2")
    assert code == 1
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {folder / POISON_KEY}: not processed: "), stderr
    assert f"{len(keys)} images in" in stdout and "1 failed" in stdout
    assert sorted(p.name for p in (out / "detections").iterdir()) == sorted(Path(k).stem + ".json" for k in keys)
    assert {r["file_name"] for r in json.loads((tmp_path / "ray.json").read_text())} == set(keys)


def test_python_api_in_a_users_pipeline(tmp_path, ray_local, model_path, photos) -> None:
    import ray.data

    from yolact_runtime.ray_engine import YolactPredictor  # the README's import

    keys = _images(photos)[:6]
    code, _, stderr = _run(*[photos / k for k in keys], "--model", model_path, "--out", tmp_path / "local",
                           "--json", tmp_path / "local.json", "--no-overlays", "-q")
    assert code == 0, stderr
    expected = {k: json.loads((tmp_path / "local" / "detections" / Path(k).with_suffix(".json").name).read_text())
                for k in keys}

    rows = [{"path": str(photos / k), "id": i} for i, k in enumerate(keys)]
    rows.append({"path": str(photos / "missing.png"), "id": len(keys)})
    dataset = ray.data.from_items(rows).map_batches(
        YolactPredictor, fn_constructor_kwargs={"model_path": str(model_path), "providers": "cpu"},
        compute=ray.data.ActorPoolStrategy(size=1), batch_size=4, batch_format="numpy")
    out = sorted(dataset.take_all(), key=lambda row: row["id"])
    assert [row["status"] for row in out] == ["ok"] * len(keys) + ["failed"]
    assert out[-1]["error"] == f"{photos / 'missing.png'}: no such file or folder"  # yolact-run's line
    for row, key in zip(out, keys):
        assert json.loads(row["record"]) == {**expected[key], "file_name": Path(key).name}


def test_predictor_is_a_plain_callable_too(tmp_path, model_path, photos) -> None:
    from yolact_runtime.ray_engine import YolactPredictor  # the README's import

    keys = _images(photos)[:3]
    predictor = YolactPredictor(model_path, out_dir=tmp_path / "out", providers="cpu", resume=True)
    batch = {"bytes": np.array([(photos / k).read_bytes() for k in keys], dtype=object),
             "key": np.array(keys, dtype=object)}
    out = predictor(batch)
    assert list(out["status"]) == ["ok"] * 3 and "bytes" not in out
    assert all((tmp_path / "out" / "overlays" / k).is_file() for k in keys)
    assert list(predictor(batch)["status"]) == ["skipped"] * 3


def _without_ray(*args: str | Path) -> subprocess.CompletedProcess:
    code = ("import sys; sys.modules['ray'] = None\n"
            "import yolact_runtime, yolact_runtime.cluster.ray_engine\n"
            "from yolact_runtime.cli import main\n"
            "main()")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=120, env=env)


def test_without_ray_the_runtime_works_and_engine_ray_says_what_to_install(tmp_path, model_path, photos) -> None:
    image = photos / _images(photos)[0]
    run = _without_ray(image, "--model", model_path, "--out", tmp_path / "out", "-q")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "overlays" / image.name).is_file()

    run = _without_ray(image, "--model", model_path, "--out", tmp_path / "out2", "--engine", "ray")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: --engine ray needs Ray, which is not installed here: pip install yolact-export[ray]"]
    assert not (tmp_path / "out2").exists()
