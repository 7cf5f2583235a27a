"""`schemathesis run --checks all` (coverage, fuzzing and stateful phases) against the served app and
its own OpenAPI document: no failure of any check (but use_after_free, below). Bounded here
(FUZZ_EXAMPLES per operation, a fixed seed); `make fuzz` runs a longer pass with a random seed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from service.settings import Settings
from tests.conftest import ADMIN_AUTH, running_server
from tests.data import World

RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
# make exports FUZZ_EXAMPLES (300) to every target: only make fuzz (FUZZ_RANDOM=1) takes it.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300")) if RANDOM else 60
# A body that breaks the schema may also be over the body limit (64 KiB): its 413, which the
# document lists for every operation with a body, is a rejection as good as a 422.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "406", "413", "422", "428"]
"""
# use_after_free flags a PATCH that answers 2xx after a DELETE of the same profile (and a GET that
# answers 200 after such a PATCH stored it again). Here that is the contract: DELETE erases what
# the service holds, and a profile Rails sends again is stored again (docs/api.md: a patch of a
# user without demographics stores them; docs/operations.md, "What comes back from main"). A GET
# after the DELETE answering 404 is checked by tests/api/test_erasure_api.py.
TIME_LIMIT_S = 900  # a bound on the run, not a budget to spend: --max-time would fuzz until it ran out


def test_schemathesis_with_every_check_finds_nothing(
    databases: tuple[psycopg.Connection, ...], settings: Settings
) -> None:
    main, recs = databases
    world = World(main, recs)
    presents = [world.present(price=5 + index, category=("books", "toys")[index % 2]) for index in range(12)]
    for index, user in enumerate(world.users(8, "f", "25-34")):
        for present in presents[index % 4 : index % 4 + 5]:
            world.like(user, present)
    world.present(owner=presents[0])  # a private present in the catalogue too
    world.in_main(*world.users(2))  # main knows some users: the erase_absent_users job refuses an empty table
    world.refresh_all()
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is not installed (make install installs the dev extras)"
    with running_server(settings) as (base_url, _), tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "schemathesis.toml"
        config.write_text(CONFIG)
        command = [
            binary, "--config-file", str(config), "run", f"{base_url}/docs/openapi.json", "--checks", "all",
            "--exclude-checks", "use_after_free",
            "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", str(EXAMPLES),
            "--auth", f"{ADMIN_AUTH[0]}:{ADMIN_AUTH[1]}",
            "--request-timeout", "30", "--workers", "1", "--no-color",
            "--report", "junit", "--report-dir", scratch,
        ]  # fmt: skip
        if not RANDOM:
            command += ["--seed", "1"]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=TIME_LIMIT_S,
            check=False,
        )  # fmt: skip
    output = result.stdout + result.stderr
    print(output[-1_500:])  # the summary: phases, cases, time (pytest -s shows it)
    assert result.returncode == 0, output[-20_000:]
    assert "No issues found" in output or "passed" in output, output[-5_000:]
