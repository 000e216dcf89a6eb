"""yolact-run --engine ray: the single-process run's work spread over a Ray cluster with Ray Data.

The driver lists the inputs (local or shared folders and files, or URIs that pyarrow file systems
understand: s3://, gs://, hdfs://, file://, ...), skips those already done (--resume), and feeds
`index, path, key, name` rows to `Dataset.map_batches(YolactPredictor, ...)` on a fixed pool of actors.
Each actor loads the model once and runs the single-process pipeline (`runner.Runner`) on its
batches: same decoding, preprocessing, inference, postprocessing, overlays, instance maps and
per-image detection records (OUT/detections/<name>.json), written by the worker straight into the
output folder (which every node must see). Only a small status row per image comes back to the
driver; at the end the driver assembles the --json file from the per-image records in input
order, with the single-process code (records.coco_results), so the file is the same.

A bad image becomes an error line naming it (the run goes on); an actor that dies is restarted by
Ray and its batch retried; rows lost for good become error lines too. `RayEngine` is a job engine
(job.py): resume, failure accounting and the --json file are the single-process run's.

Ray is optional (`pip install yolact-export[ray]`): this module imports it only when used.
`YolactPredictor` needs Ray only inside actors; it also runs as a plain callable.
"""
from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import EngineOptions
from ..contract import DEFAULT_SCORE_THRESHOLD, read_model_info
from ..errors import YolactRuntimeError, first_line
from ..pipeline.discover import InputItem
from ..pipeline.job import RunOptions, Tally
from ..pipeline.layout import output_name
from .ray_address import check_reachable
from .ray_predictor import YolactPredictor, text
from .remote import discover_inputs, is_uri

log = logging.getLogger("yolact_runtime")

RAY_EXTRA = "pip install yolact-export[ray]"
MAX_TASK_RETRIES = 2  # a batch whose actor died is retried this many times
MAX_ROWS_PER_TASK = 32

class RayUnavailable(YolactRuntimeError):
    """Ray (with Ray Data) is not installed."""


def import_ray():
    """The ray module, with ray.data imported; RayUnavailable (one line, naming the extra) without it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayUnavailable(f"--engine ray needs Ray, which is not installed here: {RAY_EXTRA}") from None
    return ray


# ---- the driver ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaySettings:
    """The command line's --ray-address, --workers and --gpus-per-worker."""

    address: str | None = None  # None: start a local Ray (or join $RAY_ADDRESS); "auto"; "ray://host:port"
    workers: int | None = None  # actors; None: as many as the cluster's CPUs (GPUs) allow
    gpus_per_worker: float = 0.0


@dataclass(frozen=True)
class ModelSettings:
    """The command line's model options: the engine's (providers, threads, precision), then selection."""

    engine: EngineOptions = EngineOptions()
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    top_k: int | None = None
    classes: frozenset[int] | None = None  # --classes: the 0-based class ids to keep


class RayEngine:
    """yolact-run's engine on Ray: inputs may be URIs; images only; the work spread over actors."""

    def __init__(self, model_path: str | os.PathLike[str], model: ModelSettings, settings: RaySettings) -> None:
        self.ray = import_ray()
        read_model_info(model_path)  # a bad model fails here, in one line, before any actor starts
        self.model_path = os.path.abspath(os.fspath(model_path))
        self.model = model
        self.settings = settings
        self.started_ray = False

    def discover(self, inputs: Sequence[str | os.PathLike[str]],
                 exclude: Path | None = None) -> tuple[list[InputItem], list[str]]:
        return discover_inputs(inputs, exclude=exclude)

    def total(self, items: list[InputItem], options: RunOptions) -> int | None:
        return sum(item.kind == "image" for item in items)

    @contextmanager
    def started(self) -> Iterator[None]:
        """Ray up (started here, or joined) for the block; a Ray started here is shut down after it."""
        self.connect()
        try:
            yield
        finally:
            self.disconnect()

    # ---- Ray ----
    def connect(self) -> None:
        ray = self.ray
        if ray.is_initialized():
            return
        check_reachable(self.settings.address)
        try:
            ray.init(address=self.settings.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR)
        except Exception as error:
            where = f"--ray-address {self.settings.address}: cannot join Ray" if self.settings.address else \
                "cannot start a local Ray"
            raise YolactRuntimeError(f"{where} ({first_line(error)})") from None
        self.started_ray = True

    def disconnect(self) -> None:
        if self.started_ray:
            self.ray.shutdown()
            self.started_ray = False

    def _workers(self, tasks: int, cpus: float) -> int:
        if self.settings.workers:
            return max(1, min(self.settings.workers, tasks))
        resources = self.ray.cluster_resources()
        if self.settings.gpus_per_worker:
            fit = resources.get("GPU", 0) // self.settings.gpus_per_worker
            if not fit:  # the actors would wait for GPUs forever (with an autoscaler, give --workers)
                raise YolactRuntimeError(f"--gpus-per-worker {self.settings.gpus_per_worker:g}: the Ray cluster has "
                                         f"{resources.get('GPU', 0):g} GPUs (give --workers if it adds nodes)")
        else:
            fit = resources.get("CPU", 1) // cpus
        return int(max(1, min(fit, tasks)))

    # ---- the run ----
    def process(self, items: list[InputItem], options: RunOptions, tally: Tally) -> None:
        images = []
        for item in items:
            if item.kind != "image":
                what = "videos" if item.kind == "video" else "live sources"
                tally.fail(item, f"{item.path}: {what} are not processed with --engine ray (run them without it)")
            else:
                images.append(item)
        if images:
            self._execute(images, options, tally)

    def _plan(self, count: int, batch_size: int, cpus: float) -> tuple[int, int]:
        """(workers, rows per map_batches call): ~4 calls per worker, at most 32 rows, whole model batches."""
        workers = self._workers(math.ceil(count / batch_size), cpus)
        rows = max(batch_size, min(MAX_ROWS_PER_TASK, math.ceil(count / (4 * workers))))
        rows = math.ceil(rows / batch_size) * batch_size
        return max(1, min(workers, math.ceil(count / rows))), rows

    def _execute(self, todo: list[InputItem], options: RunOptions, tally: Tally) -> None:
        import ray.data as rd

        summary, reporter = tally.summary, tally.reporter
        cpus = self.model.engine.intra_op_threads or 1
        size = max(1, options.batch_size)
        workers, rows = self._plan(len(todo), size, cpus)
        names = [os.fspath(item.path) for item in todo]
        located = [name if is_uri(name) else os.path.abspath(name) for name in names]
        table = [{"index": i, "path": located[i], "key": item.key, "name": output_name(item)}
                 for i, item in enumerate(todo)]
        predictor = _bound_predictor(dict(
            model_path=self.model_path, out_dir=os.path.abspath(options.out_dir), providers=self.model.engine.providers,
            precision=self.model.engine.precision, score_threshold=self.model.score_threshold, top_k=self.model.top_k,
            overlays=options.overlays, save_masks=options.save_masks, batch_size=size, threads=cpus,
            classes=None if self.model.classes is None else sorted(self.model.classes),
            polygons=options.polygons, save_txt=options.save_txt,
            return_records=False, io_threads=options.workers))

        def row_done(index: int, status: str, error: str) -> None:
            if status == "ok":
                summary.images += 1
            elif status == "skipped":
                summary.skipped += 1
            else:
                tally.fail(todo[index], _as_given(error, located[index], names[index]))
            reporter.advance(1)

        with _quiet_ray_data(rd):
            seen = self._pass(rd, table, rows, workers, cpus, predictor, row_done)
            lost = [row for row in table if row["index"] not in seen]
            if lost and rows > 1:  # again one image per call, so that only the culprit is lost
                seen |= self._pass(rd, lost, 1, min(workers, len(lost)), cpus, predictor, row_done)
        for index, item in enumerate(todo):
            if index not in seen:
                tally.fail(item, f"{names[index]}: not processed: the Ray workers failed on it "
                                 f"(an actor died {MAX_TASK_RETRIES + 1} times, or the batch raised)")
                reporter.advance(1)

    def _pass(self, rd, table: list[dict[str, Any]], rows: int, workers: int, cpus: float, predictor: type,
              row_done: Callable[[int, str, str], None]) -> set[int]:
        """One Dataset run over `table`; the indices that came back (a failed batch's rows do not)."""
        dataset = _map(rd, _from_items(rd, table, math.ceil(len(table) / rows)), predictor, rows, workers, cpus,
                       self.settings.gpus_per_worker, MAX_TASK_RETRIES)
        seen: set[int] = set()
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for index, status, error in zip(batch["index"], batch["status"], batch["error"]):
                seen.add(int(index))
                row_done(int(index), text(status), text(error))
        return seen


@contextmanager
def _quiet_ray_data(rd) -> Iterator[None]:
    """No Ray Data progress bars or info lines (yolact-run's bar and error lines are the output), and a
    batch that fails for good drops its rows instead of failing the run (max_errored_blocks)."""
    with warnings.catch_warnings():  # Ray's own deprecation notes on building its DataContext
        warnings.simplefilter("ignore", DeprecationWarning)
        context = rd.DataContext.get_current()
    saved = {name: getattr(context, name) for name in ("enable_progress_bars", "max_errored_blocks")
             if hasattr(context, name)}
    quiet = {"ray.data": logging.WARNING, "ray.data._internal.progress": logging.ERROR}
    levels = {name: logging.getLogger(name).level for name in quiet}
    context.enable_progress_bars = False
    if "max_errored_blocks" in saved:
        context.max_errored_blocks = -1
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _as_given(message: str, located: str, name: str) -> str:
    """Messages name the file as the user gave it (workers read it by its absolute path)."""
    return name + message[len(located):] if message.startswith(located) else message


def _from_items(rd, table: list[dict[str, Any]], blocks: int):
    try:
        return rd.from_items(table, override_num_blocks=max(1, blocks))
    except TypeError:  # Ray < 2.10
        return rd.from_items(table, parallelism=max(1, blocks))


def _map(rd, dataset, predictor: type, rows: int, workers: int, cpus: float, gpus: float, retries: int):
    """map_batches on a fixed pool of `workers` actors; a batch whose actor died is retried `retries` times.

    One image per call (rows == 1, the isolation pass) also means one call per actor at a time: calls
    queued on an actor die with it and would use up their retries for another image's fault."""
    pool = {"max_tasks_in_flight_per_actor": 1} if rows == 1 else {}
    kwargs: dict[str, Any] = dict(batch_size=rows, batch_format="numpy", num_cpus=cpus,
                                  compute=rd.ActorPoolStrategy(size=workers, **pool))
    if gpus:
        kwargs["num_gpus"] = gpus
    with warnings.catch_warnings():  # max_task_retries has no named parameter (yet): a plain remote arg
        warnings.simplefilter("ignore")
        try:
            return dataset.map_batches(predictor, max_task_retries=retries, **kwargs)
        except TypeError:  # a Ray that no longer takes it: Ray Data's default (retry while restarting)
            return dataset.map_batches(predictor, **kwargs)


def _bound_predictor(kwargs: dict[str, Any]) -> type:
    """YolactPredictor with its arguments bound in the class (no constructor arguments for Ray to hold)."""

    class BoundYolactPredictor(YolactPredictor):
        def __init__(self) -> None:
            super().__init__(**kwargs)

    BoundYolactPredictor.__name__ = "YolactPredictor"  # how Ray Data names the stage
    return BoundYolactPredictor
