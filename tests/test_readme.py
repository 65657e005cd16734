"""The README's examples run as printed, and print what their comments say."""
from __future__ import annotations

import re
import subprocess
import sys

import spikemem
from conftest import ROOT

README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def programs() -> list[str]:
    """The Python blocks that are whole programs (not a line of PyNN shown for comparison)."""
    return [b for b in blocks("python") if "import spikemem" in b]


def promised(program: str) -> list[str]:
    """What the ``print(...)  # 123 ...`` comments promise: a printed value (the text before any colon);
    comments that start with a word describe, they promise nothing."""
    return [m.split(":")[0].strip() for m in re.findall(r"^print\(.*\)\s+#\s*([0-9].*)$", program, flags=re.M)]


def test_every_program_runs_and_prints_what_it_promises(tmp_path):
    assert len(programs()) >= 2 and sum(map(len, map(promised, programs()))) >= 3
    (tmp_path / "models").symlink_to(ROOT / "models")  # the examples read models/ relative to the clone
    for k, program in enumerate(programs()):
        script = tmp_path / f"example_{k}.py"
        script.write_text(program)
        out = subprocess.run([sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True,
                             timeout=600, env={"MPLBACKEND": "Agg", "PATH": ""})
        assert out.returncode == 0, f"README example {k} failed:\n{out.stderr[-2000:]}"
        for value in promised(program):
            assert value in out.stdout, f"README example {k} promises {value!r}; it printed:\n{out.stdout}"
    assert (tmp_path / "stdp_competition.png").stat().st_size > 10_000


def test_the_yaml_example_is_the_model_file_and_the_python_network():
    (text,) = [b for b in blocks("yaml") if "name: stdp_competition" in b]
    shown = spikemem.loads(text)
    assert shown == spikemem.load(ROOT / "models" / "stdp_competition.yaml")
    program = next(p for p in programs() if "stdp_competition" in p)
    scope: dict = {}
    exec(program.split("sim = spikemem.compile")[0], scope)  # build the network, don't run it
    built = scope["net"]
    built.params = shown.params
    assert built == shown


def test_the_pynn_line_and_the_description_line_give_the_same_delay():
    (line,) = [b for b in blocks("python") if "sim.Projection" in b and "import" not in b]
    (proj,) = [b for b in blocks("yaml") if b.startswith("- {name: ff")]
    pynn_delay = float(re.search(r"delay=([0-9.]+)", line).group(1))
    assert f"delay: {pynn_delay}" in proj
