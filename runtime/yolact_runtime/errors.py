"""Exceptions of the runtime: each carries a one-line message meant for the user."""
from __future__ import annotations


class YolactRuntimeError(Exception):
    """Base class: the message names the file and the cause on one line."""


class ModelError(YolactRuntimeError):
    """The model file is missing, unreadable, or does not follow the ONNX output contract."""


class ProviderError(YolactRuntimeError):
    """The requested execution provider is not available in this onnxruntime build."""


class InputError(YolactRuntimeError):
    """An input image or video cannot be found, read or decoded."""


NOT_FOUND = "no such file or folder"  # the cause named for a missing input, by yolact-run and the API


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when the message is empty):
    the cause we show in a one-line error."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
