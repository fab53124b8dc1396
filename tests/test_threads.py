"""crfwi makes OpenMP threads wait passively, and says so when it is imported too late to."""

import os
import subprocess
import sys

import pytest


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    environment.update(env)
    return subprocess.run([sys.executable, "-W", "default", "-c", code], env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("order, warns", [("import crfwi, torch", False),
                                          ("import torch, crfwi", True)])
def test_import_order_sets_the_policy_or_warns(order, warns):
    result = _python(order + "; import os; print(os.environ['OMP_WAIT_POLICY'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "PASSIVE"
    assert ("imported after torch" in result.stderr) is warns, result.stderr


def test_a_users_own_policy_wins_and_silences_the_warning():
    result = _python("import torch, crfwi, os; print(os.environ['OMP_WAIT_POLICY'])",
                     OMP_WAIT_POLICY="ACTIVE")
    assert result.returncode == 0 and result.stdout.strip() == "ACTIVE"
    assert "imported after torch" not in result.stderr
