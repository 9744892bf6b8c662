"""The Hugging Face tasks a root model can be built for, apart from torch so the CLI's help
can list them without importing it."""

from __future__ import annotations

# task name -> the transformers Auto class that builds its model from a config
TASKS = {
    "sequence-classification": "AutoModelForSequenceClassification",
    "token-classification": "AutoModelForTokenClassification",
    "causal-lm": "AutoModelForCausalLM",
    "masked-lm": "AutoModelForMaskedLM",
    "base": "AutoModel",
}
