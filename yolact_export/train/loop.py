"""The training loop: batches, SGD with warm-up and step decay, checkpoints, resume."""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data.augment import prepare
from ..data.coco import ImageRecord, load_coco, load_sample
from ..model.checkpoint import read_training_state, save_training_state
from ..model.config import YolactConfig
from ..model.yolact import YolactNet
from .loss import Target, yolact_loss

LR_STEPS = (0.7, 0.9)  # fractions of the run after which the learning rate drops 10x


@dataclass
class TrainOptions:
    annotations: Path
    images: Path
    config: YolactConfig | None
    out: Path
    iterations: int = 1000
    batch_size: int = 8
    lr: float = 1e-3
    resume: Path | None = None
    seed: int = 0
    warmup: int = 200
    save_every: int = 250
    log_every: int = 10
    momentum: float = 0.9
    weight_decay: float = 5e-4
    clip_grad: float = 10.0  # max gradient norm (0: off); keeps from-scratch training stable
    progress: bool = True


def lr_at(iteration: int, opts: TrainOptions) -> float:
    if iteration < opts.warmup:
        return opts.lr * (0.1 + 0.9 * iteration / opts.warmup)
    drops = sum(iteration >= int(f * opts.iterations) for f in LR_STEPS)
    return opts.lr * 0.1 ** drops


def init_weights(model: YolactNet) -> None:
    """Xavier-uniform convolutions with zero bias outside the backbone, as the original."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and not name.startswith("backbone"):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


class BatchSampler:
    """Deterministic epoch permutations: sample k of the run is perm(seed, k // n)[k % n]."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self._cache: dict[int, np.ndarray] = {}

    def indices(self, iteration: int, batch_size: int) -> list[int]:
        out = []
        for k in range(iteration * batch_size, (iteration + 1) * batch_size):
            epoch = k // self.n
            if epoch not in self._cache:
                self._cache = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
            out.append(int(self._cache[epoch][k % self.n]))
        return out


def make_batch(records: list[ImageRecord], indices: list[int], config: YolactConfig,
               rng: np.random.Generator | None) -> tuple[torch.Tensor, list[Target]]:
    images, targets = [], []
    for i in indices:
        image, masks, labels = load_sample(records[i])
        img, m, boxes, lab = prepare(image, masks, labels, config, rng)
        images.append(torch.from_numpy(img))
        targets.append(Target(torch.from_numpy(boxes), torch.from_numpy(lab), torch.from_numpy(m)))
    return torch.stack(images), targets


def _setup(opts: TrainOptions) -> tuple[YolactNet, torch.optim.Optimizer, int]:
    torch.manual_seed(opts.seed)
    resumed = read_training_state(opts.resume, opts.config) if opts.resume is not None else None
    config = resumed.config if resumed else opts.config
    if config is None:
        raise ValueError("a config is required (--config) unless resuming")
    model = YolactNet(config)
    init_weights(model)
    if resumed:
        model.load_state_dict(resumed.state_dict, strict=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=opts.lr, momentum=opts.momentum,
                                weight_decay=opts.weight_decay)
    if resumed and resumed.optimizer is not None:
        optimizer.load_state_dict(resumed.optimizer)
    return model.train(), optimizer, resumed.iteration if resumed else 0


def _format(losses: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.3f}" for k, v in losses.items())


def train(opts: TrainOptions) -> dict[str, float]:
    """Runs the training; returns the mean of each loss over the last 50 iterations."""
    model, optimizer, start = _setup(opts)
    config = model.config
    records = load_coco(opts.annotations, opts.images, config)
    sampler = BatchSampler(len(records), opts.seed)
    history: deque[dict[str, float]] = deque(maxlen=50)
    bar = tqdm(range(start, opts.iterations), initial=start, total=opts.iterations,
               disable=not opts.progress, dynamic_ncols=True, mininterval=2.0)
    t0, means = time.time(), {}
    for it in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it, opts)
        rng = np.random.default_rng([opts.seed, it])
        images, targets = make_batch(records, sampler.indices(it, opts.batch_size), config, rng)
        losses = yolact_loss(model(images), targets, model.priors,
                             generator=torch.Generator().manual_seed(opts.seed * 100003 + it))
        total = sum(losses.values())
        if not math.isfinite(total.item()):
            tqdm.write(f"iteration {it}: non-finite loss ({_format({k: float(v) for k, v in losses.items()})}), skipped")
            continue
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if opts.clip_grad > 0:
            nn.utils.clip_grad_norm_(model.parameters(), opts.clip_grad)
        optimizer.step()
        history.append({**{k: v.item() for k, v in losses.items()}, "T": total.item()})
        means = {k: float(np.mean([h[k] for h in history])) for k in history[-1]}
        bar.set_postfix_str(_format(means), refresh=False)
        done = it + 1
        if done % opts.log_every == 0 or done == opts.iterations:
            rate = (time.time() - t0) / (done - start)
            tqdm.write(f"it {done}/{opts.iterations} lr {lr_at(it, opts):.2e} {_format(means)} {rate:.2f} s/it")
        if done % opts.save_every == 0 or done == opts.iterations:
            save_training_state(model, optimizer, done, Path(opts.out))
    bar.close()
    if start >= opts.iterations:
        save_training_state(model, optimizer, start, Path(opts.out))
    return means
