"""Architectures named the way users name them, for the operation contract.

Factories importable as `user_models:<name>` (tests/ is on sys.path). None of them calls its
last layer `classifier`: torchvision's ResNet says `fc`, timm's ViT says `head`, a
Sequential says `5`. The Hugging Face models are built from configs and saved to folders,
then registered from those folders like a user's own checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

IMAGE_SHAPE = [3, 16, 16]
FEATURES = 64
NUM_CLASSES = 10
VOCAB = 64


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: conv-bn-relu-conv-bn plus a (downsampled) shortcut."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.downsample = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
            nn.BatchNorm2d(channels_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.downsample(x))


class ResNetFC(nn.Module):
    """A torchvision-style ResNet: conv1/bn1/relu, layer1, layer2, avgpool, `fc`."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class Block(nn.Module):
    """A pre-norm transformer block: LayerNorm, multi-head attention, LayerNorm, MLP."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ViTHead(nn.Module):
    """A timm-style ViT: patch embedding, class token, position embedding, blocks, `head`."""

    def __init__(self, num_classes: int = NUM_CLASSES, dim: int = 32, patch: int = 4) -> None:
        super().__init__()
        patches = (IMAGE_SHAPE[1] // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, patches + 1, dim) * 0.02)
        self.blocks = nn.Sequential(Block(dim, 2), Block(dim, 2))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        tokens = self.blocks(tokens + self.pos_embed)
        return self.head(self.norm(tokens)[:, 0])


class DepthwiseSeparableCNN(nn.Module):
    """MobileNet-style: a stem, depthwise 3×3 + pointwise 1×1 blocks with ReLU6, `logits`."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16))
        self.features = nn.Sequential(
            self._separable(16, 32, stride=1),
            self._separable(32, 32, stride=2),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.logits = nn.Linear(32, num_classes)

    @staticmethod
    def _separable(channels_in: int, channels_out: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(channels_in, channels_in, 3, stride, 1, groups=channels_in, bias=False),
            nn.BatchNorm2d(channels_in),
            nn.ReLU6(),
            nn.Conv2d(channels_in, channels_out, 1, bias=False),
            nn.BatchNorm2d(channels_out),
            nn.ReLU6(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(nn.functional.relu6(self.stem(x)))
        return self.logits(self.pool(x).flatten(1))


def resnet_fc(num_classes: int = NUM_CLASSES) -> nn.Module:
    return ResNetFC(num_classes)


def vit_head(num_classes: int = NUM_CLASSES) -> nn.Module:
    return ViTHead(num_classes)


def depthwise_cnn(num_classes: int = NUM_CLASSES) -> nn.Module:
    return DepthwiseSeparableCNN(num_classes)


def sequential_mlp(num_classes: int = NUM_CLASSES) -> nn.Module:
    """An nn.Sequential whose layers are named 0 … 5."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(FEATURES, 64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Linear(32, num_classes),
    )


# -- Hugging Face models, saved to folders as a user's checkpoints are ---------------------


def save_tiny_bert(folder: Path, num_labels: int = 4) -> Path:
    """A 2-layer BERT-style sequence classifier (hidden 32, 2 heads), randomly initialised."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        num_labels=num_labels,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def save_tiny_llama(folder: Path) -> Path:
    """A 2-layer Llama-style (GPT-style, decoder-only) causal language model."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def save_tiny_gpt2(folder: Path) -> Path:
    """A 2-layer GPT-2 causal LM: its projections are transformers' Conv1D ([in, out])."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=2, n_positions=32, n_inner=64
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def save_word_tokenizer(folder: Path, texts: list[str]) -> Path:
    """A word-level tokenizer trained on `texts` (tokenizers), saved like a user's own."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=specials))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    fast.save_pretrained(folder)
    return folder


TOPIC_TEXTS = [
    "the cat sat on the warm mat",
    "a dog ran across the green park",
    "stocks fell sharply in early trading",
    "the market rallied after the report",
    "the home team won the final match",
    "she scored twice in the second half",
    "heavy rain is expected tomorrow",
    "sunny skies for the rest of the week",
]
TOPIC_LABELS = [0, 0, 1, 1, 2, 2, 3, 3]
TOPIC_NAMES = ["animals", "markets", "sport", "weather"]
