"""The Workspace's methods for language models on token datasets (a mixin of `Workspace`).

A held-out text becomes a token dataset (instances = token positions, see
data/token_corpus.py); a causal LM is evaluated on it by `Workspace.evaluate`; these methods
register such datasets and read the token-level comparison of a model with its base.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compresslens.analysis.token_divergence import CompactTokenOutputs
from compresslens.data.text import load_tokenizer
from compresslens.data.token_corpus import (
    encode_entries,
    separator_token_id,
    token_corpus,
    vocabulary_names,
)
from compresslens.records import DatasetInfo, ModelInfo
from compresslens.workspace.token_evaluation import (
    COMPACT_K,
    FLIP_KINDS,
    base_compact,
    compare_tokens,
    comparison_arrays,
    plan_for,
)
from compresslens.workspace.token_views import token_flips, token_text_page

if TYPE_CHECKING:
    from compresslens.workspace.datasets import DatasetCatalog
    from compresslens.workspace.models import ModelCatalog


class TokenMethods:
    """Token corpora and token-level comparison; mixed into `Workspace`."""

    _datasets: DatasetCatalog
    _models: ModelCatalog

    if TYPE_CHECKING:  # defined by Workspace

        def model(self, model: str | ModelInfo) -> ModelInfo: ...

        def dataset(self, dataset: str | DatasetInfo) -> DatasetInfo: ...

    def add_token_corpus(
        self,
        name: str,
        texts: Sequence[str],
        *,
        tokenizer: str | Path,
        separator: str | None = None,
        description: str = "",
    ) -> DatasetInfo:
        """Register held-out texts (entries) as a token dataset for causal LMs.

        The entries are encoded by the tokenizer in a local folder (usually the model's
        own) into one stream [sep] e₀ [sep] e₁ [sep] … (`separator`: a token of the
        tokenizer, default its eos, e.g. <|endoftext|>); instance i predicts token i+1 from
        those before it, with attributes "entry" and "position"; class names are the
        decoded vocabulary, so the text is rebuilt without the tokenizer.
        """
        loaded = load_tokenizer(tokenizer)
        separator_id = separator_token_id(loaded, separator)
        corpus = token_corpus(encode_entries(texts, loaded), separator_id)
        note = f"{len(texts)} entries, {corpus.labels.shape[0]} tokens, tokenizer {tokenizer}"
        return self._datasets.add(
            name,
            corpus.inputs,
            corpus.labels,
            class_names=vocabulary_names(loaded),
            num_classes=None,
            attributes=corpus.attributes,
            texts=None,
            modality="tokens",
            description=f"{description} ({note})" if description else note,
            tokenizer=None,
            max_length=0,
        )

    def token_comparison(
        self,
        base: str | ModelInfo,
        model: str | ModelInfo,
        dataset: str | DatasetInfo,
        *,
        k: int = COMPACT_K,
        window: int | None = None,
        stride: int | None = None,
    ) -> dict[str, Any]:
        """`model` against `base` on the identical tokens of a token dataset (stored once).

        KLD(base ‖ model) from the base's compact top-`k` outputs (a lower bound of the
        full-vocabulary KLD) with its percentiles, the same-top-token rate, Δp of the true
        token, and the direction of the change: correct→incorrect and incorrect→correct
        tokens with the base's top-1 margin, and top-1 changes per base-margin bin.
        """
        return compare_tokens(
            self._models,
            self.model(base),
            self.model(model),
            self.dataset(dataset),
            window=window,
            stride=stride,
            k=k,
        )

    def token_differences(
        self,
        base: str | ModelInfo,
        model: str | ModelInfo,
        dataset: str | DatasetInfo,
        *,
        k: int = COMPACT_K,
        window: int | None = None,
        stride: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Per token of the dataset: kld, same_top, flip (an index of `flip_kinds`),
        base_top1, model_top1 and delta_p — what the UI colours the text by."""
        return comparison_arrays(
            self._models,
            self.model(base),
            self.model(model),
            self.dataset(dataset),
            window=window,
            stride=stride,
            k=k,
        )

    def token_outputs(
        self,
        model: str | ModelInfo,
        dataset: str | DatasetInfo,
        *,
        k: int = COMPACT_K,
        window: int | None = None,
        stride: int | None = None,
    ) -> CompactTokenOutputs:
        """The model's compact outputs on a token dataset (top-`k` token ids and
        log-probabilities, log remaining mass, top-1 margin, targets), stored by `evaluate`
        and computed once (one pass) if missing."""
        info, data_info = self.model(model), self.dataset(dataset)
        plan = plan_for(self._models, info, data_info, window, stride, k)
        return base_compact(self._models, info, data_info, plan)

    def token_text(
        self,
        base: str | ModelInfo,
        model: str | ModelInfo,
        dataset: str | DatasetInfo,
        *,
        offset: int = 0,
        limit: int = 2000,
        k: int = COMPACT_K,
        cached_only: bool = False,
    ) -> dict[str, Any]:
        """A page of the token dataset's text as the Behaviours view shows it: per token its
        string, entry, position, agreement, flip kind, KLD, Δp, base margin and both top-1
        tokens (from `token_differences`), with the comparison's counts."""
        return token_text_page(
            self._models,
            self.model(base),
            self.model(model),
            self.dataset(dataset),
            offset=offset,
            limit=limit,
            k=k,
            cached_only=cached_only,
        )

    def token_flips(
        self,
        base: str | ModelInfo,
        model: str | ModelInfo,
        dataset: str | DatasetInfo,
        *,
        k: int = COMPACT_K,
        cached_only: bool = False,
    ) -> dict[str, Any]:
        """Every token whose correctness flipped (correct→incorrect and the reverse) with the
        base's top-1 margin, KLD, Δp, the true and both top-1 tokens and a little context."""
        return token_flips(
            self._models,
            self.model(base),
            self.model(model),
            self.dataset(dataset),
            k=k,
            cached_only=cached_only,
        )

    flip_kinds: tuple[str, ...] = FLIP_KINDS
    """The kinds `token_differences(...)["flip"]` indexes: same, correct→incorrect, …"""
