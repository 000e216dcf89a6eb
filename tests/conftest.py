import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def layouts() -> dict:
    path = SHARED / "fixtures" / "yolact_checkpoint_layouts.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def shared_images() -> list[Path]:
    images = sorted((SHARED / "images").glob("*.png"))
    assert images, f"no images under {SHARED / 'images'}"
    return images
