"""The coverage cells and the territory's coverage over time, in plain Python (quality/coverage.py)."""

from __future__ import annotations

from datetime import timedelta

from test_reports import DATASETS, NOW, PRODUCERS, _batches

from quality.coverage import coverage_cells, coverage_history
from quality.reports.scoreboard import coverage_chart


def test_coverage_today_is_the_share_of_expected_cells_loaded_and_not_late() -> None:
    records = _batches().to_dict("records")
    history = coverage_history(PRODUCERS, DATASETS, records, NOW, points=12)
    assert len(history) == 12 and history[-1][0] == NOW
    assert all(0.0 <= share <= 1.0 for _, share in history)
    cells = [c for c in coverage_cells(PRODUCERS, DATASETS, records, NOW) if c["expected"]]
    fresh = [c for c in cells if c["last_loaded_at"] is not None and not c["late"]]
    assert history[-1][1] == len(fresh) / len(cells)
    first_delivery = min(b["received_at"] for b in records if b["status"] != "refused")
    assert history[0][0].isoformat().startswith(first_delivery[:10])


def test_a_delivery_counts_only_from_the_day_it_arrived_and_until_it_is_too_old() -> None:
    producers = [{"id": "tours", "name": "Tours"}]
    datasets = [{"id": "dae", "frequency": "daily", "expected_from": ["tours"]}]
    batch = {"producer": "tours", "dataset": "dae", "status": "loaded", "rows_read": 1, "rows_accepted": 1}
    batches = [{**batch, "received_at": NOW - timedelta(days=10)}]
    history = coverage_history(producers, datasets, batches, NOW, points=11)
    # Fresh the day it came and the two days a daily dataset is allowed, stale after.
    assert [share for _, share in history] == [1.0, 1.0, 1.0] + [0.0] * 8


def test_no_delivery_no_curve() -> None:
    assert coverage_history(PRODUCERS, DATASETS, [], NOW) == []
    assert coverage_chart([])["points"] == ""
