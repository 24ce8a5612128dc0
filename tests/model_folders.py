"""Tiny random-init transformers models saved as save_pretrained writes them (test code).

No download anywhere: each model is built from a config, its tokenizer trained here on a few
paragraphs with the tokenizers library, and everything saved with safe_serialization=True.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

TEXT = [
    "Softmax turns a vector of logits into probabilities that sum to one. The cross-entropy",
    "of a sample is minus the log of the probability given to its true class. A temperature",
    "above one flattens the distribution and a temperature below one sharpens it. Language",
    "models predict the next token at every position; the loss of a sentence is the mean over",
    "its tokens, and its perplexity is the exponential of that mean. Top-k keeps the k most",
    "likely tokens, top-p the smallest set whose probability reaches p. Greedy decoding",
    "always takes the most likely token.",
]


def trained_tokenizer(vocab_size: int = 200, *, bert: bool = False):
    """A fast tokenizer trained on TEXT: byte-level BPE (GPT-2 style) or WordPiece (BERT style)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if bert:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok.train_from_iterator(
            TEXT, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special)
        )
        cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
        )
        tok.decoder = decoders.WordPiece()
        return transformers.PreTrainedTokenizerFast(
            tokenizer_object=tok,
            unk_token="[UNK]",
            pad_token="[PAD]",
            cls_token="[CLS]",
            sep_token="[SEP]",
            mask_token="[MASK]",
        )
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(TEXT, trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )


def gpt2_folder(path: Path, *, n_layer: int = 2, n_embd: int = 32, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)
    tokenizer = trained_tokenizer()
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=128,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = transformers.GPT2LMHeadModel(config)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def classifier_folder(path: Path, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)
    tokenizer = trained_tokenizer(bert=True)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    model = transformers.BertForSequenceClassification(config)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def vit_folder(path: Path, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)
    config = transformers.ViTConfig(
        image_size=32,
        patch_size=8,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=4,
        id2label={0: "cat", 1: "dog", 2: "bird", 3: "fish"},
        label2id={"cat": 0, "dog": 1, "bird": 2, "fish": 3},
    )
    model = transformers.ViTForImageClassification(config)
    model.save_pretrained(path, safe_serialization=True)
    processor = transformers.ViTImageProcessor(size={"height": 32, "width": 32})
    processor.save_pretrained(path)
    return path


def random_image(seed: int = 0, size: tuple[int, int] = (40, 48)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
