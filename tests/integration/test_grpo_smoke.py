"""GRPO end to end (optional integration test, marker ``grpo``): an `autodata export --format grpo` of a
run the runner wrote, trained for a few steps by TRL's GRPOTrainer with the project's reward functions
(``python -m autodata.evals.grpo_smoke``). Skipped unless the grpo extra (trl, transformers, torch) is
installed, which CI does not do; the missing-extra message is checked everywhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from fakes import record

from autodata.cli import main as cli
from autodata.evals import grpo_smoke


def test_without_the_extra_it_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a)
    )
    assert grpo_smoke.main(["--export", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    # the packages of the extra that this machine lacks are listed too: trl is among them
    missing = re.search(r"\(([^)]*) missing\)", err)
    assert missing and "trl" in missing.group(1).split(", ") and "pip install -e '.[grpo]'" in err


@pytest.mark.grpo
def test_grpo_trainer_runs_on_the_export_with_our_rewards(request, tmp_path):
    for module in ("trl", "transformers", "torch"):
        pytest.importorskip(module, reason="the grpo extra is not installed: pip install -e '.[grpo]'")
    fake_run = request.getfixturevalue("fake_run")  # only once the extra is known to be there
    # the fake run's accepted rubric item, as the runner wrote it, and two verifiable items: both modes,
    # so each reward function scores its own rows and returns None on the others
    run = tmp_path / "run"
    run.mkdir()
    lines = (fake_run / "accepted.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["mode"] == "rubric"
    lines += [json.dumps(record(i, "verifiable")) for i in range(2)]
    (run / "accepted.jsonl").write_text("\n".join(lines) + "\n")
    export_dir = tmp_path / "grpo"
    assert cli.main(["export", str(run), "--format", "grpo", "--out", str(export_dir)]) == 0

    result = subprocess.run(
        [sys.executable, "-m", "autodata.evals.grpo_smoke", "--export", str(export_dir), "--steps", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "train: 3 rows, modes rubric, verifiable" in out
    # the rewards separate the reference answers from a null answer on the exported rows
    assert "verifiable_reward: reference answers 1.000, null answer 0.000 (2 of 3 rows scored)" in out
    assert "rubric_reward: reference answers 1.000, null answer 0.000 (1 of 3 rows scored)" in out
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    assert [line.split(":")[0] for line in steps] == ["step 1", "step 2", "step 3"]
    assert all("reward " in line and "verifiable_reward " in line for line in steps)
    assert "3 of 3 steps logged a reward" in out
