"""GRPO end to end: an ``autodata export --format grpo`` dataset and the :mod:`autodata.data.rewards`
functions, plugged as they are into TRL's ``GRPOTrainer``, a few optimizer steps on a tiny random model (CPU,
offline).

    pip install -e '.[grpo]'
    python -m autodata.evals.grpo_smoke --export runs/cs/export-grpo   # an export directory
    python -m autodata.evals.grpo_smoke --run runs/cs                  # a run, exported to a temp dir first
        [--steps 4] [--batch 4] [--num-generations 2] [--max-completion-length 16] [--judge fake|none|FILE]

Nothing comes from a model hub (``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_OFFLINE=1``: any hub access fails):
a byte-level BPE tokenizer is trained on the export's own text (prompts, questions, answers), wrapped as a
``PreTrainedTokenizerFast`` with a ChatML chat template (the export's ``prompt`` column is conversational:
system + user messages), and a ~0.1M-parameter ``LlamaForCausalLM`` is built from a config with random
weights (evals/grpo_policy.py). The dataset goes to the trainer as ``load_from_disk`` returns it;
the reward functions are ``VerifiableReward`` (verifiable rows) and ``RubricReward`` (rubric rows), each
``None`` on the other mode's rows, as TRL expects. The judge that ``RubricReward`` (and ``VerifiableReward``,
for answers code cannot decide) asks is, by ``--judge``:

- ``fake`` (default): the project's fake OpenAI-compatible server (``autodata.evals.fake_openai_server``) in
  a thread, whose judge marks an answer right iff its final answer matches the reference;
- ``none``: no judge: only the code-decided ``verifiable_reward``, and the rubric rows are left out (nothing
  would score them);
- a ``models.toml`` path: that file's ``judge`` role (a real model; costs calls).

Before training, the reward functions score every row's reference answer and a null answer ("I don't know")
in TRL's calling convention, so the run shows that the rewards separate right from wrong on this export.
A random model never writes a right answer, so every reward would be 0 and every GRPO advantage (and
gradient) too: ``--warmup-steps`` (default 60, a second or two; 0 skips it) supervised steps on the
reference answers first make some sampled completions right, so the rewards differ within a group and the
policy gradient is not zero. Then ``--steps`` optimizer steps run (no checkpoints, a temporary
``output_dir``, ``report_to=none``); each step's line is what the trainer logged: reward mean and std, the
mean per reward function, loss, gradient norm, completion length. Exit 0 when every step ran and logged a
reward; 1 when not; 2 for a missing ``grpo`` extra or a bad input.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from autodata.core.numbers import mean, number
from autodata.evals.grpo_policy import (
    NULL_ANSWER,
    build_model,
    build_tokenizer,
    prompt_lengths,
    reference_completion,
    warm_up,
)

EXTRA_HINT = "pip install -e '.[grpo]'"
REQUIRED = ("torch", "transformers", "trl", "tokenizers", "datasets")

RewardFunc = Callable[..., list[float | None]]


class SmokeError(Exception):
    """A bad input or a missing dependency: reported in one line, exit 2."""


def check_extra() -> None:
    """Every package of the ``grpo`` extra importable, else a SmokeError naming the missing ones."""
    import importlib.util

    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise SmokeError(f"the GRPO smoke needs the grpo extra ({', '.join(missing)} missing): {EXTRA_HINT}")


def offline() -> None:
    """No model hub: set before transformers / huggingface_hub are imported (they read it at import)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("WANDB_DISABLED", "true")


# ------------------------------------------------------------------------------------------------ data


def load_export(path: Path, split: str) -> Any:
    """The split of a grpo export directory: its ``hf/`` (``save_to_disk``) copy, else ``<split>.jsonl``."""
    from datasets import Dataset, load_from_disk

    if (path / "hf").is_dir():
        dataset_dict = load_from_disk(str(path / "hf"))
        if split not in dataset_dict:
            raise SmokeError(f"{path / 'hf'} has no split {split!r} (splits: {', '.join(dataset_dict)})")
        dataset = dataset_dict[split]
    elif (path / f"{split}.jsonl").is_file():
        dataset = Dataset.from_json(str(path / f"{split}.jsonl"))
    else:
        raise SmokeError(
            f"{path} is not a grpo export (no hf/ and no {split}.jsonl): autodata export RUN "
            "--format grpo, or pass --run RUN"
        )
    if "prompt" not in dataset.column_names:
        raise SmokeError(f"{path} has no prompt column: export it with --format grpo")
    if len(dataset) == 0:
        raise SmokeError(f"{path} split {split!r} is empty")
    return dataset


# --------------------------------------------------------------------------------------------- rewards


@contextmanager
def judge_registry(judge: str) -> Iterator[Any]:
    """The registry whose ``judge`` role the rewards ask (None for ``--judge none``)."""
    from autodata.core.config import endpoint_env, load_models_config
    from autodata.llm.models import OpenAIModelRegistry

    if judge == "none":
        yield None
        return
    if judge != "fake":
        if not Path(judge).is_file():
            raise SmokeError(f"--judge: no such models config {judge!r} (or use fake / none)")
        yield OpenAIModelRegistry(load_models_config(config_path=judge))
        return
    try:
        from autodata.evals.fake_openai_server import serve_in_thread
    except ImportError as exc:
        raise SmokeError(f"--judge fake needs starlette and uvicorn ({exc}): {EXTRA_HINT}") from exc
    with serve_in_thread() as base_url:
        env = endpoint_env(base_url, "fake-")  # every role off the embedded models: no llama.cpp server
        yield OpenAIModelRegistry(load_models_config("local", environ=env), retry_backoff=0.05)


def reward_functions(registry: Any) -> list[RewardFunc]:
    from autodata.data.rewards import RubricReward, VerifiableReward, verifiable_reward

    if registry is None:
        return [verifiable_reward]
    return [VerifiableReward(registry), RubricReward(registry)]


def trl_call(func: RewardFunc, rows: list[dict[str, Any]], completions: list[Any]) -> list[float | None]:
    """``func`` called as ``GRPOTrainer._calculate_rewards`` does: each column but the prompt as a list."""
    keys = [k for k in rows[0] if k not in ("prompt", "completion", "completion_ids")]
    kwargs: dict[str, Any] = {k: [row[k] for row in rows] for k in keys}
    kwargs |= {"trainer_state": None, "log_extra": lambda *a, **k: None, "log_metric": lambda *a, **k: None}
    return func(
        prompts=[row["prompt"] for row in rows],
        completions=completions,
        completion_ids=[[0]] * len(rows),
        **kwargs,
    )


def _mean(values: list[float | None]) -> tuple[float | None, int]:
    return mean(values), sum(v is not None for v in values)


def reference_check(funcs: list[RewardFunc], dataset: Any) -> dict[str, dict[str, Any]]:
    """Each reward function on every row's reference answer and on a null answer: mean and rows scored."""
    rows = list(dataset)
    null = [[{"role": "assistant", "content": f"{NULL_ANSWER}\nFinal answer: unknown"}] for _ in rows]
    out: dict[str, dict[str, Any]] = {}
    for func in funcs:
        ref_mean, n = _mean(trl_call(func, rows, [reference_completion(r) for r in rows]))
        null_mean, _ = _mean(trl_call(func, rows, null))
        out[_name(func)] = {"reference": ref_mean, "null": null_mean, "rows": n}
    return out


def _name(func: Any) -> str:
    return str(getattr(func, "__name__", type(func).__name__))


def _fmt(value: float | None) -> str:
    return number(value, "{:.3f}", missing="-")


# -------------------------------------------------------------------------------------------- training


def step_logger(names: list[str], steps: list[dict[str, float]]) -> Any:
    """A TrainerCallback printing (and keeping) each step's logged reward figures."""
    from transformers import TrainerCallback

    class StepLog(TrainerCallback):
        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any
        ):
            if not logs or "reward" not in logs:
                return
            steps.append({"step": float(state.global_step), **logs})
            per_func = " ".join(f"{n} {_fmt(logs.get(f'rewards/{n}/mean'))}" for n in names)
            print(
                f"step {state.global_step}: reward {_fmt(logs.get('reward'))} "
                f"± {_fmt(logs.get('reward_std'))} | {per_func} | loss {_fmt(logs.get('loss'))}, grad norm "
                f"{_fmt(logs.get('grad_norm'))} | "
                f"completion length {_fmt(logs.get('completions/mean_length'))}",
                flush=True,
            )

    return StepLog()


def no_checkpointing(config_class: type) -> dict[str, bool]:
    """Activation checkpointing off (TRL turns it on): transformers 5 renamed ``gradient_checkpointing``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_class)}
    return {
        "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": False
    }


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.steps < 1 or args.num_generations < 2 or args.batch % args.num_generations:
        raise SmokeError(
            f"need --steps >= 1, --num-generations >= 2 and --batch a multiple of it (got {args.steps}, "
            f"{args.num_generations}, {args.batch})"
        )
    check_extra()
    offline()
    import datasets
    import torch
    import transformers
    import trl
    from transformers import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from autodata.data.export import ExportError, export

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers 5's renames, called inside TRL
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grpo-smoke-")))
        if args.run:
            try:
                result = export(args.run, "grpo", work / "export", command="grpo_smoke")
            except ExportError as exc:
                raise SmokeError(str(exc)) from exc
            export_dir = result.out_dir
        else:
            export_dir = Path(args.export)
        dataset = load_export(export_dir, args.split)
        modes = sorted({str(m) for m in dataset["mode"]}) if "mode" in dataset.column_names else []
        print(f"export: {export_dir} ({args.split}: {len(dataset)} rows, modes {', '.join(modes) or '-'})")
        if args.judge == "none" and "rubric" in modes:
            dataset = dataset.filter(lambda row: row["mode"] != "rubric")
            print(f"--judge none: rubric rows left out (no judge to score them), {len(dataset)} rows remain")
            if len(dataset) == 0:
                raise SmokeError("no verifiable rows to train on without a judge: use --judge fake")
        # a step samples batch / num_generations distinct prompts: no more than the export has
        batch = min(args.batch, len(dataset) * args.num_generations)
        if batch < args.batch:
            print(
                f"batch: {batch} completions a step, not {args.batch}: the export has "
                f"{len(dataset)} prompt(s)"
            )

        tokenizer = build_tokenizer(dataset, args.vocab_size)
        lengths = prompt_lengths(tokenizer, dataset)
        model = build_model(tokenizer, max(lengths) + args.max_completion_length + 8, args.seed)
        params = sum(p.numel() for p in model.parameters())
        print(
            f"tokenizer: byte-level BPE trained on the export, vocabulary {len(tokenizer)}; prompts "
            f"{min(lengths)}-{max(lengths)} tokens; model: random LlamaForCausalLM, {params:,} parameters"
        )

        if args.warmup_steps:
            first, last = warm_up(model, tokenizer, dataset, args.warmup_steps, args.warmup_learning_rate)
            print(
                f"warm-up: {args.warmup_steps} supervised steps on the reference answers, loss "
                f"{first:.2f} -> {last:.2f}"
            )

        registry = stack.enter_context(judge_registry(args.judge))
        funcs = reward_functions(registry)
        names = [_name(f) for f in funcs]
        for name, figures in reference_check(funcs, dataset).items():
            print(
                f"reference check: {name}: reference answers {_fmt(figures['reference'])}, null answer "
                f"{_fmt(figures['null'])} ({figures['rows']} of {len(dataset)} rows scored)"
            )

        config = GRPOConfig(
            output_dir=str(work / "out"),
            max_steps=args.steps,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=1,
            num_generations=args.num_generations,
            max_completion_length=args.max_completion_length,
            learning_rate=args.learning_rate,
            temperature=1.0,
            beta=0.0,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=False,
            fp16=False,
            dataloader_num_workers=0,
            disable_tqdm=True,
            log_completions=False,
            seed=args.seed,
            **no_checkpointing(GRPOConfig),
        )
        steps: list[dict[str, float]] = []
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=funcs,
            args=config,
            train_dataset=dataset,
            processing_class=tokenizer,
            callbacks=[step_logger(names, steps)],
        )
        trainer.remove_callback(PrinterCallback)  # the raw log dicts: the step lines say it shorter
        train_started = time.perf_counter()
        trainer.train()
        train_s = time.perf_counter() - train_started

    rewards = [s["reward"] for s in steps if not math.isnan(s.get("reward", math.nan))]
    print(
        f"grpo smoke: {len(steps)} of {args.steps} steps logged a reward; mean reward "
        f"{_fmt(sum(rewards) / len(rewards) if rewards else None)}; training {train_s:.1f} s, wall "
        f"{time.perf_counter() - started:.1f} s; trl {trl.__version__}, transformers "
        f"{transformers.__version__}, torch {torch.__version__}"
    )
    return 0 if len(steps) == args.steps and len(rewards) == args.steps else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autodata.evals.grpo_smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--export", help="a grpo export directory (autodata export RUN --format grpo)")
    source.add_argument("--run", help="a run directory: exported (grpo) to a temporary directory first")
    parser.add_argument("--split", default="train")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps (default 4)")
    parser.add_argument(
        "--batch", type=int, default=4, help="completions per step: prompts x --num-generations (default 4)"
    )
    parser.add_argument("--num-generations", type=int, default=2)
    parser.add_argument("--max-completion-length", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--warmup-steps",
        type=int,
        default=60,
        help="supervised steps on the reference answers before GRPO, so some samples earn a reward "
        "(default 60; 0: the untouched random model, whose rewards are all 0)",
    )
    parser.add_argument("--warmup-learning-rate", type=float, default=3e-3)
    parser.add_argument("--vocab-size", type=int, default=600, help="BPE vocabulary to train (default 600)")
    parser.add_argument("--judge", default="fake", help="fake (default), none, or a models.toml path")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except SmokeError as exc:
        print(f"grpo smoke: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
