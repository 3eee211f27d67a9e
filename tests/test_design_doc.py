"""docs/DESIGN.md is checked against the code, and its generated blocks are made from it.

``python -m tests.test_design_doc --write`` regenerates the module table (each module's line
count and the first line of its docstring), the OSC address table (``livernn.osc.ADDRESSES``)
and the contract's metadata keys (``livernn.contract``). The tests fail when the doc has
fallen behind: a module missing or its size off by more than 15% (and 15 lines), an address
or a metadata key missing, a module over the size the style allows without saying why.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "DESIGN.md"
PACKAGES = ("livernn", "training")
MAX_LINES = 450  # "a module that passes 400 lines is asking to be split"


def modules() -> list[Path]:
    return sorted(
        p.relative_to(ROOT)
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if "__pycache__" not in p.parts
    )


def summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse((ROOT / path).read_text()))
    if not doc:
        return ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split()).replace("|", "\\|")


def lines(path: Path) -> int:
    return len((ROOT / path).read_text().splitlines())


def module_block() -> str:
    rows = ["| module | lines | what it owns |", "|---|---|---|"]
    for p in modules():
        rows.append(f"| `{p.as_posix()}` | {lines(p)} | {summary(p)} |")
    return "\n".join(rows)


def osc_block() -> str:
    from livernn.osc import ADDRESSES, OUT_ADDRESSES

    rows = ["| address | args | per voice | effect |", "|---|---|---|---|"]
    for path, a in ADDRESSES.items():
        args = " ".join(
            f"[{x.kind} {x.name}]" if x.optional else f"{x.kind} {x.name}" for x in a.args
        )
        if a.text:
            args += " ..."
        rows.append(f"| `{path}` | {args or '-'} | {'yes' if a.per_voice else 'no'} | {a.help} |")
    rows += ["", "Out (to subscribers, `--osc-out`, and replies to the sender):", ""]
    rows += ["| address | args |", "|---|---|"]
    rows += [f"| `{path}` | {args} |" for path, args in OUT_ADDRESSES.items()]
    return "\n".join(rows)


def contract_block() -> str:
    from livernn import contract as C

    rows = ["| key | required | meaning |", "|---|---|---|"]
    for k, meaning in C.MEANINGS.items():
        rows.append(f"| `{k}` | {'yes' if k in C.REQUIRED_KEYS else ''} | {meaning} |")
    return "\n".join(rows)


def contract_keys() -> set[str]:
    from livernn import contract as C

    keys = {getattr(C, n) for n in dir(C) if n.startswith("K_")}
    assert keys == set(C.MEANINGS), "every K_ key of livernn/contract.py needs a MEANINGS entry"
    return keys


BLOCKS = {"modules": module_block, "osc": osc_block, "contract": contract_block}


def render(text: str) -> str:
    for name, make in BLOCKS.items():
        begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _m, b=begin, e=end, m=make: f"{b}\n{m()}\n{e}", text)
    return text


# -- tests ---------------------------------------------------------------------------------


def _doc_modules() -> dict[str, int]:
    text = DOC.read_text()
    block = text.split("<!-- modules:begin -->")[1].split("<!-- modules:end -->")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\| `([^`]+)` \| (\d+) \|", block)}


def test_every_module_is_in_the_module_table_with_its_size():
    listed = _doc_modules()
    actual = {p.as_posix(): lines(p) for p in modules()}
    assert set(listed) == set(actual), (
        f"missing {sorted(set(actual) - set(listed))}, gone {sorted(set(listed) - set(actual))}"
        " (python -m tests.test_design_doc --write)"
    )
    off = {m: (listed[m], n) for m, n in actual.items() if abs(listed[m] - n) > max(15, 0.15 * n)}
    assert not off, f"line counts in docs/DESIGN.md are stale: {off} (--write refreshes them)"


def test_every_module_says_what_it_owns_and_none_is_too_long():
    assert not [p for p in modules() if not summary(p) and p.name != "__init__.py"]
    assert not [(p, lines(p)) for p in modules() if lines(p) > MAX_LINES]


def test_every_osc_address_and_contract_key_is_in_the_doc():
    from livernn.osc import ADDRESSES, OUT_ADDRESSES

    text = DOC.read_text()
    for path in [*ADDRESSES, *OUT_ADDRESSES]:
        assert f"`{path}`" in text, path
    for key in contract_keys():
        assert f"`{key}`" in text, key


def test_docstrings_point_at_the_design_doc_in_the_repo():
    stale = []
    for p in [*modules(), *(ROOT / "tests").rglob("*.py")]:
        p = ROOT / p if not p.is_absolute() else p
        if p.name == "test_design_doc.py":
            continue
        for m in re.finditer(r"(\S*)DESIGN\.md", p.read_text()):
            if not m.group(1).endswith("docs/"):
                stale.append((p.relative_to(ROOT).as_posix(), m.group(0)))
    assert not stale, stale
    assert DOC.is_file()


if __name__ == "__main__":
    if "--write" in sys.argv:
        sys.path.insert(0, str(ROOT))
        DOC.write_text(render(DOC.read_text()))
        print(f"wrote {DOC}")
    else:
        print(module_block())
