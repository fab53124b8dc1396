"""Import crfwi before anything loads torch: it sets OMP_WAIT_POLICY=PASSIVE, which keeps the
suite fast on a machine whose cores are shared (spinning OpenMP threads made single calls ~100x
slower there)."""

import crfwi  # noqa: F401

import pytest  # noqa: E402

from test_examples import shared_models  # noqa: E402


@pytest.fixture
def benchmark_data(monkeypatch):
    """The benchmark model folder, exported as $CRFWI_DATA_DIR; skips the test when absent."""
    data = shared_models()
    if data is None:
        pytest.skip("benchmark models not found: set CRFWI_DATA_DIR to a folder with models.json")
    monkeypatch.setenv("CRFWI_DATA_DIR", str(data))
    return data
