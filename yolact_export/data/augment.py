"""Training augmentation that keeps image, masks and boxes consistent, then the network's input transform."""
from __future__ import annotations

import cv2
import numpy as np

from ..model.config import YolactConfig

MIN_BOX_PIXELS = 4.0  # instances whose box side shrinks below this (input pixels) are dropped


def photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, saturation and hue, each with probability 1/2."""
    img = image.astype(np.float32)
    if rng.random() < 0.5:
        img += rng.uniform(-32, 32)
    if rng.random() < 0.5:
        img *= rng.uniform(0.6, 1.4)
    img = np.clip(img, 0, 255)
    if rng.random() < 0.5:
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)  # float: H in [0, 360), S in [0, 1]
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-18, 18)) % 360
        hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.6, 1.4), 0, 1)
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    return np.clip(img, 0, 255).astype(np.uint8)


def expand(image: np.ndarray, masks: np.ndarray, rng: np.random.Generator, fill: tuple[float, ...],
           max_ratio: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Place the image at a random spot of a larger canvas filled with the mean colour."""
    h, w = image.shape[:2]
    ratio = rng.uniform(1.0, max_ratio)
    nh, nw = int(h * ratio), int(w * ratio)
    top, left = int(rng.integers(0, nh - h + 1)), int(rng.integers(0, nw - w + 1))
    canvas = np.empty((nh, nw, 3), np.uint8)
    canvas[:] = np.asarray(fill, dtype=np.float64).round().astype(np.uint8)
    canvas[top:top + h, left:left + w] = image
    big = np.zeros((masks.shape[0], nh, nw), np.uint8)
    big[:, top:top + h, left:left + w] = masks
    return canvas, big


def random_crop(image: np.ndarray, masks: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                attempts: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop 50-100% of each side; accept a crop only if it keeps an instance (when there are any)."""
    h, w = image.shape[:2]
    for _ in range(attempts):
        ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
        if not 0.5 <= ch / cw <= 2.0:
            continue
        top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        sub = masks[:, top:top + ch, left:left + cw]
        keep = sub.any(axis=(1, 2))
        if masks.shape[0] and not keep.any():
            continue
        return image[top:top + ch, left:left + cw], sub[keep], labels[keep]
    return image, masks, labels


def masks_to_boxes(masks: np.ndarray) -> np.ndarray:
    """[n, H, W] -> [n, 4] x1, y1, x2, y2 in pixels (x2, y2 exclusive)."""
    boxes = np.zeros((masks.shape[0], 4), np.float32)
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        if len(xs):
            boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return boxes


def normalize(image: np.ndarray, config: YolactConfig) -> np.ndarray:
    """BGR uint8 at input size -> float32 CHW RGB, as `preprocess` does."""
    img = image.astype(np.float32)
    if config.transform == "normalize":
        img = (img - np.asarray(config.mean_bgr, np.float32)) / np.asarray(config.std_bgr, np.float32)
    else:
        img = img / 255.0
    return np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))


def prepare(image: np.ndarray, masks: np.ndarray, labels: np.ndarray, config: YolactConfig,
            rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Augment if rng is given,) resize to the input size; returns CHW image, masks [n, S, S]
    float32, relative boxes [n, 4], labels [n]."""
    if rng is not None:
        image = photometric(image, rng)
        if rng.random() < 0.5:
            image, masks = expand(image, masks, rng, config.mean_bgr)
        if rng.random() < 0.5:
            image, masks, labels = random_crop(image, masks, labels, rng)
        if rng.random() < 0.5:
            image, masks = image[:, ::-1], masks[:, :, ::-1]
    size = config.max_size
    h, w = image.shape[:2]
    image = cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_LINEAR)
    resized = [cv2.resize(np.ascontiguousarray(m), (size, size), interpolation=cv2.INTER_NEAREST) for m in masks]
    masks = np.stack(resized) if resized else np.zeros((0, size, size), np.uint8)
    boxes = masks_to_boxes(masks)
    keep = ((boxes[:, 2] - boxes[:, 0]) >= MIN_BOX_PIXELS) & ((boxes[:, 3] - boxes[:, 1]) >= MIN_BOX_PIXELS)
    return (normalize(image, config), masks[keep].astype(np.float32), boxes[keep] / size,
            labels[keep])
