"""minidl writes every backward by hand: no autograd, torch.nn or torch.optim inside it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import minidl

PACKAGE = Path(minidl.__file__).parent
FORBIDDEN = ("torch.nn", "torch.autograd", "torch.optim")
REFERENCE_MODULE = PACKAGE / "reference.py"  # the PyTorch twin, the one exception


def _imported_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_no_module_of_minidl_but_the_reference_imports_nn_autograd_or_optim():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == REFERENCE_MODULE:
            continue
        source = path.read_text()
        tree = ast.parse(source)
        offenders += [f"{path.name}: import {n}" for n in _imported_names(tree) if _forbidden(n)]
        for node in ast.walk(tree):
            # attribute chains such as torch.nn.functional.relu or torch.autograd.grad
            if isinstance(node, ast.Attribute):
                dotted = ast.unparse(node)
                if _forbidden(dotted) and dotted.startswith("torch."):
                    offenders.append(f"{path.name}:{node.lineno}: {dotted}")
            if isinstance(node, ast.keyword) and node.arg == "requires_grad":
                offenders.append(f"{path.name}:{node.lineno}: requires_grad=")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("requires_grad_", "enable_grad")
            ):
                offenders.append(f"{path.name}:{node.lineno}: {node.func.attr}()")
    assert offenders == []


def test_the_scan_would_catch_a_forbidden_import():
    tree = ast.parse("import torch.nn.functional as F\nfrom torch import autograd\n")
    assert [n for n in _imported_names(tree) if _forbidden(n)] == [
        "torch.nn.functional",
        "torch.autograd",
    ]


def test_importing_minidl_loads_no_nn_autograd_or_optim_module_of_its_own():
    code = (
        "import sys, minidl, minidl.train;"
        "mods=[m for m in sys.modules if m.startswith('minidl.')];"
        "print('minidl.reference' in mods)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
