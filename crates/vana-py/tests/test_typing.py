"""The package is typed (``py.typed``, stubs for the extension): the README's examples pass ``mypy --strict``."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_examples_pass_mypy_strict(tmp_path):
    try:
        import mypy  # noqa: F401
    except ImportError:
        raise AssertionError("mypy is missing: run `cargo xtask python-env` (pip install 'mypy>=1.10,<2')")
    examples = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(examples) >= 2, "the README's Python examples"
    files = []
    for index, example in enumerate(examples):
        path = tmp_path / f"example_{index}.py"
        path.write_text(example)
        files.append(str(path))
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_package_ships_its_types():
    package = Path(__file__).resolve().parents[1] / "python" / "vana_ops"
    assert (package / "py.typed").is_file()
    assert (package / "_native.pyi").is_file()
