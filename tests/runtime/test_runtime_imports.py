"""compiler/runtime is copied into images as `modelctl_runtime`: relative imports only, few dependencies."""

import ast
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "compiler" / "runtime"
# pinned in requirements.txt, or provided by the image's framework environment (imported lazily)
ALLOWED_THIRD_PARTY = {
    "uvicorn",
    "orjson",
    "prometheus_client",
    "yaml",
    "numpy",
    "joblib",
    "sklearn",
    "onnxruntime",
    "cloudpickle",
}


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, 0, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.level, node.module or ""


def test_runtime_imports_only_itself_stdlib_and_pinned_packages():
    problems = []
    files = sorted(RUNTIME.glob("*.py"))
    assert len(files) > 5
    for path in files:
        for line, level, module in _imports(path):
            top = module.split(".")[0]
            if level > 1:
                problems.append(f"{path.name}:{line}: relative import reaches outside the package")
            elif level == 0 and top == "compiler":
                problems.append(f"{path.name}:{line}: imports {module} (use a relative import)")
            elif level == 0 and top not in sys.stdlib_module_names and top not in ALLOWED_THIRD_PARTY:
                problems.append(f"{path.name}:{line}: imports {module}, not pinned in requirements.txt")
    assert not problems, "\n".join(problems)


def test_requirements_are_exact_pins_matching_the_dev_environment():
    from importlib.metadata import version

    pins = [ln.split("#")[0].strip() for ln in (RUNTIME / "requirements.txt").read_text().splitlines()]
    pins = [p for p in pins if p]
    assert pins and all("==" in p for p in pins), pins
    for pin in pins:
        name, wanted = pin.split("==")
        assert version(name) == wanted, f"{name}: .venv has {version(name)}, requirements.txt pins {wanted}"
    names = {p.split("==")[0].lower().replace("_", "-") for p in pins}
    assert {"uvicorn", "orjson", "prometheus-client", "uvloop", "httptools"} <= names
