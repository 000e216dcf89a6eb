"""The contract's metadata: writing and parsing (inverses), and one-line errors for models that do not follow it."""
from __future__ import annotations

import json

import onnx
import pytest

from yolact_runtime import ModelError, ModelInfo, Yolact
from yolact_runtime import contract
from yolact_runtime.contract import parse_metadata, read_model_info, write_metadata
from yolact_runtime.onnx_props import read_metadata_props
from fakes import default_metadata, make_fake_model, random_detections, save_fake_model


def test_parses_realistic_metadata() -> None:
    meta = default_metadata(category_ids=[1, 2, 3, 4, 5], transform="normalize")
    info = parse_metadata(meta)
    assert info.contract_version == 1
    assert info.class_names == ("person", "bicycle", "car", "motorcycle", "airplane")
    assert info.category_ids == (1, 2, 3, 4, 5)
    assert info.input_size == 64
    assert info.preprocess.transform == "normalize"
    assert info.preprocess.mean_bgr == (103.94, 116.78, 123.68)
    assert info.preprocess.std_bgr == (57.38, 57.12, 58.4)
    assert info.mask_dim == 4
    assert info.nms["max_detections"] == 10
    assert not info.has_masks and not info.has_mask_scores


def test_null_category_ids_and_optional_outputs() -> None:
    outputs = (*contract.REQUIRED_OUTPUTS, contract.MASKS, contract.MASK_SCORES)
    info = parse_metadata(default_metadata(outputs=outputs, transform="to_float"))
    assert info.category_ids is None
    assert info.has_masks and info.has_mask_scores
    assert info.preprocess.transform == "to_float"


def test_writer_and_reader_are_inverses() -> None:
    info = ModelInfo(contract_version=contract.CONTRACT_VERSION, class_names=("a", "b"), input_size=96,
                     preprocess=contract.PreprocessSpec("to_float", (1.0, 2.0, 3.0), (4.0, 5.0, 6.0), "BGR"),
                     outputs=(*contract.REQUIRED_OUTPUTS, contract.MASKS), category_ids=(7, 9), exporter_version="9.9",
                     config="custom", mask_dim=None, nms={"top_k": 5})
    props = write_metadata(info)
    assert contract.KEY_MASK_DIM not in props
    assert parse_metadata(props) == info
    meta = default_metadata(category_ids=[1, 2, 3, 4, 5])
    assert write_metadata(parse_metadata(meta)) == meta


def test_the_exporters_metadata_is_the_writers() -> None:
    from yolact_export.model.config import get_config
    from yolact_export.detection.graph import NmsSettings
    from yolact_export.exporter.export import build_metadata

    config = get_config("yolact_plus_base")
    props = build_metadata(config, NmsSettings.from_config(config), ["boxes", "masks"])
    info = parse_metadata(props | {contract.KEY_OUTPUTS: json.dumps(list(contract.REQUIRED_OUTPUTS))})
    assert info.class_names == config.class_names and info.category_ids == config.category_ids
    assert (info.input_size, info.mask_dim, info.config) == (config.max_size, config.mask_dim, "yolact_plus_base")
    assert info.preprocess == contract.PreprocessSpec(config.transform, config.mean_bgr, config.std_bgr,
                                                   config.channel_order)
    assert json.loads(props[contract.KEY_OUTPUTS]) == ["boxes", "masks"]
    assert write_metadata(info) | {contract.KEY_OUTPUTS: props[contract.KEY_OUTPUTS]} == props


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({contract.KEY_CONTRACT_VERSION: None}, "not a yolact-export model"),
        ({contract.KEY_CONTRACT_VERSION: "2"}, "contract version 2 is not supported"),
        ({contract.KEY_CLASS_NAMES: "not json"}, "'yolact.class_names' is not valid JSON"),
        ({contract.KEY_INPUT_SIZE: None}, "'yolact.input_size' is missing"),
        ({contract.KEY_PREPROCESS: json.dumps({"transform": "magic"})}, "transform 'magic' is not supported"),
        ({contract.KEY_OUTPUTS: json.dumps(["boxes"])}, "lacks required outputs"),
        ({contract.KEY_CATEGORY_IDS: "[1, 2]"}, "must be null or a list of 5 integers"),
    ],
)
def test_bad_metadata_is_one_clear_line(change: dict, message: str) -> None:
    meta = default_metadata()
    for key, value in change.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    with pytest.raises(ModelError, match=message) as caught:
        parse_metadata(meta, source="m.onnx")
    assert str(caught.value).startswith("m.onnx: ")
    assert "\n" not in str(caught.value)


def test_model_without_metadata_names_the_file(tmp_path) -> None:
    path = tmp_path / "plain.onnx"
    onnx.save(make_fake_model(random_detections(), metadata={}), path)
    with pytest.raises(ModelError, match=r"plain\.onnx: not a yolact-export model"):
        Yolact(path, providers="cpu")


def test_missing_and_broken_model_files(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"nothing\.onnx: model file not found"):
        Yolact(tmp_path / "nothing.onnx", providers="cpu")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match=r"broken\.onnx: not an ONNX model"):
        Yolact(broken, providers="cpu")
    unknown_op = make_fake_model(random_detections())
    unknown_op.graph.node[0].op_type = "NotAnOperator"
    bad_graph = tmp_path / "bad_graph.onnx"
    onnx.save(unknown_op, bad_graph)
    with pytest.raises(ModelError, match=r"bad_graph\.onnx: cannot load the model \(") as caught:
        Yolact(bad_graph, providers="cpu")
    assert "\n" not in str(caught.value)


def test_metadata_is_read_without_loading_the_model(tmp_path) -> None:
    path = save_fake_model(tmp_path / "m.onnx", random_detections())
    expected = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert read_metadata_props(path) == expected
    assert read_model_info(path) == parse_metadata(expected, source=str(path))
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="not a yolact-export model"):
        read_model_info(tmp_path / "empty.onnx")


def test_model_reads_its_info(tmp_path) -> None:
    model = Yolact(save_fake_model(tmp_path / "m.onnx", random_detections()), providers="cpu")
    assert model.info.input_size == 64
    assert model.class_names[0] == "person"
    assert model.providers == ["CPUExecutionProvider"]
