"""The import layers (STYLE.md "Layers (Python)") are enforced: `lint-imports` passes on the tree
and fails as soon as a module imports upwards or across the stages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
ROOT_PACKAGES: list[str] = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the packages under root, not the installed (editable) ones, are analysed.
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages' Python files and pyproject.toml, nothing else (no data, no venv)."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    for package in ROOT_PACKAGES:
        shutil.copytree(REPO_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("lendflow/_upwards.py", "from ingestion import land"),  # core imports a stage
        ("lendflow/_upwards.py", "import cli.app"),  # core imports the shell
        ("streaming/_across.py", "from python_steps import transforms"),  # a stage imports another
        ("sample/_upwards.py", "from orchestration import runner"),  # a stage imports a product
        ("dashboard/_upwards.py", "import orchestration.artifacts"),  # a product imports one above it
        ("orchestration/_upwards.py", "from cli import output"),  # a product imports the shell
    ],
)
def test_a_forbidden_import_breaks_the_contract(tree_copy: Path, module: str, forbidden: str) -> None:
    path = tree_copy / module
    path.write_text(f"{forbidden}\n")
    try:
        result = lint_imports(tree_copy)
    finally:
        path.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in result.stdout, result.stdout
