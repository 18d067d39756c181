"""Every ```python block of the user guides runs as a test, so the docs cannot drift from
the code. The blocks of one page share a namespace and run in order, like a notebook: each
test first runs the page's earlier blocks that have not run yet, so any one block can be
selected alone (``-k "nn.md"``). Blocks run in a temporary working directory, and a
traceback names the line of the Markdown file."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import ember

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ("nn.md", "optim.md", "checkpoints.md", "models.md", "data.md", "pipeline.md",
         "transforms.md", "datasets.md", "keras.md", "keras_training.md",
         "keras_losses_metrics_optimizers.md", "keras_layers.md", "keras_layers_rnn.md",
         "keras_layers_more.md", "compile.md", "func.md")
OPTIONAL = {"torch"}     # a block needing the oracle is skipped without it (never in CI)
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks(page: str) -> list[tuple[int, str]]:
    """``(first code line, code)`` of each python block of ``page``, in order."""
    text = (DOCS / page).read_text()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = {page: _blocks(page) for page in PAGES}
_sessions: dict[str, dict] = {}     # page -> {"ns": namespace, "done": blocks run, "dir": cwd}


def _run(page: str, index: int) -> None:
    line, code = BLOCKS[page][index]
    padded = "\n" * (line - 1) + code       # so tracebacks give the Markdown line numbers
    try:
        exec(compile(padded, str(DOCS / page), "exec"), _sessions[page]["ns"])
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] in OPTIONAL:
            pytest.skip(f"{page}:{line} needs {e.name}")
        raise


@pytest.mark.parametrize("page,index", [(p, i) for p in PAGES for i in range(len(BLOCKS[p]))],
                         ids=[f"{p}:{line}" for p in PAGES for line, _ in BLOCKS[p]])
def test_docs_block(page: str, index: int, tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    if page not in _sessions:
        ember.manual_seed(0)
        _sessions[page] = {"ns": {"__name__": f"docs_{page[:-3]}"}, "done": 0,
                           "dir": tmp_path_factory.mktemp(page[:-3])}
    session = _sessions[page]
    monkeypatch.chdir(session["dir"])
    while session["done"] < index:          # earlier blocks not run yet (test selection)
        session["done"] += 1
        try:
            _run(page, session["done"] - 1)
        except pytest.skip.Exception:
            pass
    session["done"] = index + 1
    _run(page, index)


def test_every_page_has_examples() -> None:
    assert all(BLOCKS[page] for page in PAGES)
