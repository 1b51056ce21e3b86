import asyncio
import os

import pytest

os.environ["LANGSMITH_TRACING"] = "false"
os.environ["LANGSMITH_TEST_TRACKING"] = "false"
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")


@pytest.fixture(scope="session")
def fake_run(tmp_path_factory):
    """A run directory the runner wrote on scripted fake models (tests/fake_run.py); read it, do not write
    to it."""
    from fake_run import write_fake_run

    return asyncio.run(write_fake_run(tmp_path_factory.mktemp("fake-run") / "run"))
