"""Workspace.verdict on planted regressions: the call flips when the drop crosses δ_c."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

import compresslens as cl
from compresslens.errors import InvalidInputError
from verdict_workspaces import DROPPED, planted_regressions, seed_populations


@pytest.fixture(scope="module")
def planted_and_seeds(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[cl.Workspace, np.ndarray, np.ndarray]:
    """One workspace for the module (read only here): the planted regressions and the seeds."""
    ws = cl.Workspace(tmp_path_factory.mktemp("verdict") / "ws")
    planted_regressions(ws)
    base, comp = seed_populations(ws)
    yield ws, base, comp
    ws.close()


@pytest.fixture
def planted(planted_and_seeds: tuple[cl.Workspace, np.ndarray, np.ndarray]) -> cl.Workspace:
    return planted_and_seeds[0]


@pytest.mark.parametrize(
    ("model", "verdict"), [("ok", "equivalent"), ("edge", "inconclusive"), ("lossy", "regression")]
)
def test_a_planted_class_drop_decides_the_verdict(
    planted: cl.Workspace, model: str, verdict: str
) -> None:
    result = planted.verdict("base", model, max_drop=5.0, max_class_drop=2.0)
    assert result.verdict == verdict
    assert result.passed == (verdict == "equivalent")
    by_class = {row.group: row for row in result.rows if row.family == "class"}
    assert by_class["c"].lost == DROPPED[model]
    assert by_class["c"].difference_pts == pytest.approx(-100 * DROPPED[model] / 2000)
    assert {by_class[name].call for name in "abd"} == {"pass"}
    assert result.mcnemar == {
        "lost": DROPPED[model],
        "gained": 0,
        "p_value": pytest.approx(stats.binomtest(0, DROPPED[model]).pvalue),
        "mid_p": pytest.approx(stats.binomtest(0, DROPPED[model]).pvalue / 2),
    }
    assert result.nfr == pytest.approx(DROPPED[model] / 8000)


def test_a_tight_overall_tolerance_fails_a_small_class_drop(planted: cl.Workspace) -> None:
    result = planted.verdict("base", "lossy", max_drop=0.5, max_class_drop=10.0)
    assert result.overall.call == "regression"  # −1.25 points overall, bound above −0.5
    assert [row.call for row in result.rows] == ["pass"] * len(result.rows)


def test_the_verdict_covers_subgroups_with_bh_adjusted_p_beside_the_raw(
    planted: cl.Workspace,
) -> None:
    result = planted.verdict("base", "lossy")
    families = [(row.family, row.group) for row in result.rows]
    assert families[-2:] == [("side", "l"), ("side", "r")]
    raw = [row.mcnemar_p for row in result.rows]
    adjusted = stats.false_discovery_control(raw)
    np.testing.assert_allclose([row.p_adjusted for row in result.rows], adjusted)
    assert result.to_dict()["rows"][2]["call"] == "regression"


def test_bad_tolerances_are_refused(planted: cl.Workspace) -> None:
    with pytest.raises(InvalidInputError, match="max_drop"):
        planted.verdict("base", "ok", max_drop=-1.0)
    with pytest.raises(InvalidInputError, match="alpha"):
        planted.verdict("base", "ok", alpha=0.7)
    with pytest.raises(InvalidInputError, match="alpha"):  # 1 − 2·alpha would round to 1
        planted.verdict("base", "ok", alpha=5e-324)


def test_seed_populations_are_paired_by_lineage(
    planted_and_seeds: tuple[cl.Workspace, np.ndarray, np.ndarray],
) -> None:
    workspace, base, comp = planted_and_seeds
    result = workspace.verdict("tag:pop:base", "tag:pop:comp", max_drop=1.0)
    assert result.mode == "seeds-paired"
    assert result.mcnemar is None
    interval = stats.ttest_1samp(comp - base, 0.0, alternative="greater").confidence_interval(0.95)
    assert result.overall.lower_pts == pytest.approx(100 * interval.low)
    assert result.overall.difference_pts == pytest.approx(100 * (comp - base).mean())


def test_populations_without_lineage_use_welch(
    planted_and_seeds: tuple[cl.Workspace, np.ndarray, np.ndarray],
) -> None:
    workspace, base, comp = planted_and_seeds
    result = workspace.verdict("tag:pop:base", "comp-1,comp-2", max_drop=1.0)
    assert result.mode == "seeds-welch"
    test = stats.ttest_ind(comp[1:], base - 0.01, equal_var=False, alternative="greater")
    assert result.overall.p_no_worse == pytest.approx(test.pvalue)


def test_records_taken_before_their_evaluation_are_read_again(planted: cl.Workspace) -> None:
    """A script keeps the record `ws.train` returned, then evaluates: the verdict must not
    judge by that record's (empty) list of evaluated datasets."""
    stale_base = dataclasses.replace(planted.model("base"), metrics={})
    stale_model = dataclasses.replace(planted.model("ok"), metrics={})
    assert planted.verdict(stale_base, stale_model, max_drop=5.0).verdict == "equivalent"
