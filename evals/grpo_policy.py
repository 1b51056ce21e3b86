"""The policy the GRPO smoke (evals/grpo_smoke.py) trains, built offline from the export itself: a
byte-level BPE tokenizer trained on the export's text with a ChatML chat template, a ~0.1M-parameter
``LlamaForCausalLM`` with random weights, and the supervised warm-up on the reference answers that makes some
of its samples earn a reward. torch, transformers and tokenizers (the ``grpo`` extra) are imported inside the
functions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

BOS, EOS, PAD = "<|endoftext|>", "<|im_end|>", "<|pad|>"
SPECIAL_TOKENS = [PAD, BOS, "<|im_start|>", EOS]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""ChatML: the end-of-turn token is the tokenizer's eos, so a completion ends at the end of its turn."""
NULL_ANSWER = "I don't know."


def reference_completion(row: dict[str, Any]) -> list[dict[str, str]]:
    """The reference answer as an assistant turn, in the form the solver prompt asks for."""
    answer = str(row.get("answer") or "").strip()
    if row.get("mode") == "verifiable" and "final answer" not in answer.lower():
        answer = f"Final answer: {answer}"
    return [{"role": "assistant", "content": answer}]


def corpus(dataset: Any) -> Iterator[str]:
    """The export's own text, to train the tokenizer on: every prompt message, question and answer."""
    for row in dataset:
        for message in row["prompt"]:
            yield str(message["content"])
        for column in ("question", "answer"):
            if row.get(column):
                yield str(row[column])
        yield NULL_ANSWER + "\nFinal answer: "


def build_tokenizer(dataset: Any, vocab_size: int) -> Any:
    """A byte-level BPE trained on the export's text, as a transformers tokenizer with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus(dataset), trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        padding_side="left",
        truncation_side="left",
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def prompt_lengths(tokenizer: Any, dataset: Any) -> list[int]:
    return [
        len(
            tokenizer.apply_chat_template(
                row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )
        for row in dataset
    ]


def build_model(tokenizer: Any, max_positions: int, seed: int) -> Any:
    """A tiny Llama with random weights (2 layers, width 64), sized to the tokenizer's vocabulary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def warm_up(model: Any, tokenizer: Any, dataset: Any, steps: int, learning_rate: float) -> list[float]:
    """``steps`` supervised steps on every row's reference answer (the loss on the answer tokens only), so
    the random model's samples sometimes earn a reward and GRPO's advantages are not all zero. Returns the
    first and last loss."""
    import torch

    rows = list(dataset)
    batches = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        full = tokenizer.apply_chat_template(
            [*row["prompt"], *reference_completion(row)], tokenize=True, return_dict=True
        )["input_ids"]
        end = full.index(tokenizer.eos_token_id, len(prompt)) + 1  # through the answer's end-of-turn token
        ids = torch.tensor([full[:end]])
        labels = ids.clone()
        labels[0, : len(prompt)] = -100
        batches.append((ids, labels))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    losses = []
    for step in range(steps):
        ids, labels = batches[step % len(batches)]
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    return [losses[0], losses[-1]] if losses else []
