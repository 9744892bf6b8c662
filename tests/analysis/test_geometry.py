"""Last-layer geometry: exact expectations on small hand-made and random classifiers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from compresslens.analysis.geometry import (
    GeometryError,
    class_angles,
    feature_length,
    fragile_robust_samples,
    geometry_scales,
    geometry_vector,
    margin,
    minimum_spanning_edges,
    model_map,
    occlusion_maps,
    pairwise_distances,
    per_class_angle_length,
    reconstruct_logits,
    sample_deltas,
    sample_geometry,
    true_class_angle,
    umap_available,
)


def random_classifier(
    seed: int = 0, n: int = 200, d: int = 6, c: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(n, d)),
        rng.normal(size=(c, d)),
        rng.normal(size=c),
        rng.integers(0, c, size=n),
    )


def test_reconstructed_logits_equal_the_linear_layer() -> None:
    f, W, b, _ = random_classifier()
    np.testing.assert_allclose(reconstruct_logits(f, W, b), f @ W.T + b, atol=1e-10)


def test_margin_matches_a_loop_over_classes() -> None:
    f, W, b, y = random_classifier(seed=1)
    expected = []
    for i in range(len(f)):
        distances = [
            ((W[y[i]] - W[j]) @ f[i] + b[y[i]] - b[j]) / np.linalg.norm(W[y[i]] - W[j])
            for j in range(len(W))
            if j != y[i]
        ]
        expected.append(min(distances))
    np.testing.assert_allclose(margin(f, W, b, y), expected, rtol=1e-10, atol=1e-12)


def test_negative_margin_means_misclassified() -> None:
    f, W, b, y = random_classifier(seed=2, n=1000)
    m = margin(f, W, b, y)
    wrong = (f @ W.T + b).argmax(axis=1) != y
    assert wrong.any() and (~wrong).any()
    np.testing.assert_array_equal(m < 0, wrong)


def test_margin_of_identical_class_rows_is_decided_by_the_bias() -> None:
    W = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    f = np.array([[2.0, 3.0], [2.0, 3.0], [2.0, 3.0]])
    b = np.array([0.0, 1.0, 0.0])
    # class 0 always loses to class 1, class 1 always wins, class 2 ties with class 0
    np.testing.assert_array_equal(margin(f, W, b, np.array([0, 1, 2])), [-np.inf, np.inf, -np.inf])
    np.testing.assert_array_equal(margin(f[:1], W[[0, 2]], b[[0, 2]], np.array([0])), [0.0])
    pruned = np.array([[0.0, -0.0], [0.0, 0.0], [1.0, 1.0]])  # masking leaves -0.0 behind
    m = margin(f[:2], pruned, np.array([0.0, 1.0, -5.0]), np.array([0, 1]))
    assert m[0] == -np.inf and np.isfinite(m[1])


def test_feature_aligned_with_its_class_has_zero_angle() -> None:
    W = np.array([[1.0, 2.0, -1.0], [0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
    f = np.array([3.0 * W[1], [0.0, 0.0, 0.0]])
    angles = class_angles(f, W)
    assert true_class_angle(f, W, np.array([1, 0]))[0] == pytest.approx(0.0, abs=1e-7)
    assert angles[0, 1] == pytest.approx(0.0, abs=1e-7)
    assert angles[0, 0] == pytest.approx(np.pi / 2)  # W_0 ⟂ W_1
    np.testing.assert_allclose(angles[1], np.pi / 2)  # a zero feature has no direction
    np.testing.assert_allclose(feature_length(f), [3.0 * np.sqrt(5.0), 0.0])


def test_shapes_that_do_not_fit_raise_a_geometry_error() -> None:
    f, W, b, y = random_classifier()
    with pytest.raises(GeometryError, match="dimension"):
        margin(f[:, :3], W, b, y)
    with pytest.raises(GeometryError, match="bias"):
        margin(f, W, b[:2], y)
    with pytest.raises(GeometryError, match="labels must lie"):
        margin(f, W, b, y + 5)
    with pytest.raises(GeometryError, match="NaN"):
        feature_length(np.full((2, 2), np.nan))


def test_per_class_summary_matches_numpy_per_class() -> None:
    f, W, b, y = random_classifier(seed=3, c=4)
    y[y == 3] = 2  # class 3 left empty
    summary = per_class_angle_length(f, W, b, y, num_classes=4)
    angle = true_class_angle(f, W, y)
    for c in range(3):
        values = angle[y == c]
        assert summary["count"][c] == len(values)
        assert summary["angle"]["mean"][c] == pytest.approx(values.mean())
        assert summary["angle"]["sd"][c] == pytest.approx(values.std(ddof=1))
        assert summary["angle"]["q25"][c] == pytest.approx(np.quantile(values, 0.25))
        assert summary["length"]["q95"][c] == pytest.approx(
            np.quantile(np.linalg.norm(f[y == c], axis=1), 0.95)
        )
    assert summary["count"][3] == 0
    assert np.isnan(summary["angle"]["mean"][3]) and np.isnan(summary["margin"]["q50"][3])


def test_sample_deltas_are_model_minus_base() -> None:
    f, W, b, y = random_classifier(seed=4)
    base = sample_geometry(f, W, b, y)
    scaled = sample_geometry(2.0 * f, W, b, y)
    deltas = sample_deltas(base, scaled)
    np.testing.assert_allclose(deltas["angle"], 0.0, atol=1e-7)  # scaling keeps directions
    np.testing.assert_allclose(deltas["length"], base["length"])
    with pytest.raises(GeometryError, match="different samples"):
        sample_deltas(base, sample_geometry(f[:10], W, b, y[:10]))


def test_fragile_robust_samples_follow_the_margin_sign() -> None:
    base = np.array([1.0, 0.5, -0.2, -1.0, 2.0, 0.0])
    model = np.array([-3.0, 0.4, 0.3, -2.0, -0.1, 1.0])
    groups = fragile_robust_samples(base, model)
    np.testing.assert_array_equal(groups["robust_to_fragile"], [0, 4])  # largest |Δm| first
    np.testing.assert_array_equal(groups["fragile_to_robust"], [5, 2])
    np.testing.assert_array_equal(groups["stayed_robust"], [1])
    np.testing.assert_array_equal(groups["stayed_fragile"], [3])


def test_geometry_vector_has_three_unit_rms_blocks() -> None:
    f, W, b, y = random_classifier(seed=5, n=50)
    vector = geometry_vector(f, W, b, y)
    assert vector.shape == (150,)
    np.testing.assert_allclose(np.sqrt((vector.reshape(3, 50) ** 2).mean(axis=1)), 1.0)
    shrunk = geometry_vector(0.5 * f, W, b, y, scales=geometry_scales(f, W, b, y))
    np.testing.assert_allclose(shrunk[50:100], 0.5 * vector[50:100])  # base scales keep shrinkage


def assert_is_spanning_tree(edges: list[tuple[int, int, float]], m: int) -> None:
    assert len(edges) == m - 1
    adjacency = np.zeros((m, m))
    for i, j, _ in edges:
        assert i < j
        adjacency[i, j] = adjacency[j, i] = 1
    assert connected_components(adjacency, directed=False)[0] == 1


def test_model_map_mst_is_a_spanning_tree_even_with_identical_models() -> None:
    vectors = np.random.default_rng(6).normal(size=(7, 30))
    vectors[3] = vectors[1]
    result = model_map(vectors, method="pca")
    assert result["method"] == "pca" and result["coordinates"].shape == (7, 2)
    assert_is_spanning_tree(result["edges"], 7)
    assert (1, 3, 0.0) in result["edges"]


def test_mst_picks_the_shortest_edges_on_a_line() -> None:
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    edges = minimum_spanning_edges(pairwise_distances(points))
    assert [(i, j) for i, j, _ in edges] == [(0, 1), (1, 2), (2, 3)]
    np.testing.assert_allclose([d for *_, d in edges], [1.0, 2.0, 4.0])


def test_pca_map_keeps_distances_of_planar_points() -> None:
    rng = np.random.default_rng(7)
    plane = rng.normal(size=(6, 2)) @ rng.normal(size=(2, 20))  # 6 models in a 2-D subspace
    coords = model_map(plane, method="pca")["coordinates"]
    np.testing.assert_allclose(pairwise_distances(coords), pairwise_distances(plane), atol=1e-8)


def test_model_map_of_one_model_and_bad_methods() -> None:
    single = model_map(np.ones((1, 9)))
    assert single["edges"] == [] and single["coordinates"].shape == (1, 2)
    with pytest.raises(GeometryError, match="method"):
        model_map(np.ones((2, 3)), method="tsne")  # type: ignore[arg-type]
    if not umap_available():
        with pytest.raises(GeometryError, match="umap-learn"):
            model_map(np.ones((2, 3)), method="umap")


def test_occlusion_maps_are_changes_from_the_clean_row_in_grid_order() -> None:
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.zeros(2)
    features = np.array([[2.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 2.0], [4.0, 0.0]])
    maps = occlusion_maps(features, W, b, y=0, grid=(2, 2))
    np.testing.assert_allclose(maps["length"], [[-1.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(maps["angle"], [[0.0, 0.0], [np.pi / 2, 0.0]])
    np.testing.assert_allclose(maps["margin"], np.array([[-1.0, 0.0], [-4.0, 2.0]]) / np.sqrt(2))
    with pytest.raises(GeometryError, match="feature rows"):
        occlusion_maps(features[:4], W, b, y=0, grid=(2, 2))
