import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own LLM response cache, so cache hits are only the ones a test makes itself."""
    cache = tmp_path_factory.mktemp("gymsmith-cache")
    models = Path(os.environ.get("GYMSMITH_CACHE", Path.home() / ".cache" / "gymsmith")) / "models"
    (cache / "models").symlink_to(models, target_is_directory=True) if models.exists() else None
    monkeypatch.setenv("GYMSMITH_CACHE", str(cache))
