"""Each family's tiny model, built and saved once per test session, loaded once through the
pipeline's own loading code (IdpModelHandler.load_model)."""
import pytest
import torch

from tests.models.families import FAMILIES
from transforms.caption.config import CaptionConfig


class Families:
    def __init__(self, root):
        self._root, self._paths, self._loaded = root, {}, {}

    def path(self, name: str) -> str:
        if name not in self._paths:
            torch.manual_seed(0)
            model, processor = FAMILIES[name]()
            path = str(self._root / name)
            model.save_pretrained(path)
            processor.save_pretrained(path)
            self._paths[name] = path
        return self._paths[name]

    def loaded(self, name: str):
        """(handler, IdpModel) as the caption stage loads them."""
        if name not in self._loaded:
            from transforms.caption.handler import IdpModelHandler
            handler = IdpModelHandler(CaptionConfig(model=self.path(name), device="cpu",
                                                    batch_size=8, max_new_tokens=8))
            self._loaded[name] = handler, handler.load_model()
        return self._loaded[name]


@pytest.fixture(scope="session")
def families(tmp_path_factory):
    return Families(tmp_path_factory.mktemp("families"))
