"""The workload registry: every workload declares what generic code asks of it, consistently."""

from __future__ import annotations

import pytest

from ipcbench import workloads
from ipcbench.compare import METRICS
from ipcbench.errors import InputError

COMMON_RUN_FIGURES = ("messages", "elapsed_ns", "msgs_per_s", "bytes_per_s")


@pytest.mark.parametrize("workload", list(workloads.REGISTRY.values()), ids=list(workloads.REGISTRY))
def test_a_workload_declares_metrics_that_exist(workload: workloads.Workload) -> None:
    assert set(workload.gate_metrics) <= set(workload.metrics) <= set(METRICS)
    assert workload.headline in (*COMMON_RUN_FIGURES, *workload.run_fields)
    assert 0 < workload.unstable_cv < 1
    assert workload.latency == bool(workload.run_fields)


def test_an_unknown_workload_is_bad_input() -> None:
    with pytest.raises(InputError, match="unknown workload 'ping': choose from pingpong, stream"):
        workloads.get("ping")
