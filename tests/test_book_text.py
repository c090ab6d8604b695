"""The chapters as text: readable code, no exercise given away, questions, a figure.

Fast (no book build): reads ``book/NN-*.md`` and the package's SOLUTION regions.

- Code lines in the chapters' code cells are at most 88 characters (longer ones are cut
  off on the page).
- Chapters teach, exercises build. No chapter's code repeats three consecutive lines of a
  SOLUTION region of the package, compared as written (comments and blank lines dropped)
  and as a clone detector compares code: with identifiers and literals normalised, so a
  renamed copy is caught too. A window counts when at most one of its lines is trivial
  (``return x``, ``else:``: three tokens or fewer).
- No chapter defines a function or class, or runs a loop or a straight run of statements,
  whose shape matches the SOLUTION body of an exercise target (``Part.target`` of every
  assignment). The shape is the code's tokens after a clone detector's normalisation
  (``Normalise``: variables, attributes and constants anonymous, ``if`` branches
  flattened, the operations called kept); two shapes match when ``difflib``'s ratio
  reaches ``SHAPE_THRESHOLD``. The copies in the book's first edition
  (``KNOWN_OFFENDERS``) prove that the measure catches what it must, and ``INNOCENT``
  code that it spares what it should.
- Every chapter ends with a section of at least three questions (``## Questions``),
  with the answers in collapsed blocks (``:::{dropdown}``, or an admonition with
  ``:class: dropdown``).
- Every chapter has a figure: a code cell that plots, or an image.

Failures list every offending chapter and line, so one run shows all the work left.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import keyword
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from pancake.course.assignments import ASSIGNMENTS
from pancake.course.sources import BEGIN, END, has_broken_code

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]-*.md"))
MAX_CODE_LINE = 88
WINDOW = 3  # consecutive lines of a SOLUTION region a chapter may not repeat
SHAPE_THRESHOLD = 0.6  # difflib ratio of two normalised shapes that counts as the same code
MIN_TARGET_TOKENS = 35  # smaller SOLUTIONs are left to the line test
# Calls that iterate or collect, whatever the job: not evidence of doing another job.
HELPERS = ("enumerate", "range", "zip", "len", "list", "tuple", "float", "int", "append")

# -- reading chapters --------------------------------------------------------------

CODE_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{code-cell\}|\{code-block\}|\{code\})?\s*(\S*)")
PYTHON_LANGUAGES = {"python", "python3", "ipython", "ipython3", "py"}


@dataclass(frozen=True)
class CodeCell:
    """The Python source of one code cell of a chapter; ``first_line`` is 1-based in the file."""

    chapter: str
    first_line: int
    lines: tuple[str, ...]

    @property
    def source(self) -> str:
        return "\n".join(self.lines)

    def where(self, offset: int = 0) -> str:
        return f"book/{self.chapter}:{self.first_line + offset}"


def code_cells(text: str, chapter: str) -> list[CodeCell]:
    """The Python code cells (``{code-cell}``) and Python code blocks of a MyST chapter."""
    cells, lines, number = [], text.splitlines(), 0
    while number < len(lines):
        match = CODE_FENCE.match(lines[number])
        number += 1
        if not match:
            continue
        fence, directive, language = match.groups()
        body_start = number
        while number < len(lines) and lines[number].strip() != fence:
            number += 1
        body = lines[body_start:number]
        number += 1
        if not (directive == "{code-cell}" or language in PYTHON_LANGUAGES):
            continue
        skip = _option_lines(body)
        cells.append(CodeCell(chapter, body_start + skip + 1, tuple(body[skip:])))
    return cells


def _option_lines(body: list[str]) -> int:
    """How many lines of a cell are options (``:tags: [...]`` or a ``---`` block)."""
    if body and body[0].strip() == "---":
        return body.index("---", 1) + 1 if "---" in body[1:] else 0
    count = 0
    while count < len(body) and re.match(r"^:\w[\w-]*:", body[count]):
        count += 1
    return count


@cache
def chapter_cells() -> dict[str, list[CodeCell]]:
    return {path.name: code_cells(path.read_text(), path.name) for path in CHAPTERS}


# -- tokens and clone windows -----------------------------------------------------

TOKEN = re.compile(
    r"""(?P<string>[rRbBfFuU]{0,2}('''|\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))"""
    r"|(?P<number>\d[\w.]*|\.\d[\w.]*)"
    r"|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<comment>\#.*)"
    r"|(?P<op>\*\*=?|//=?|->|[-+*/%@&|^<>=!]=|<<|>>|\S)"
)


def tokens(line: str, rename: bool) -> list[str]:
    """The tokens of one line, comments dropped; with ``rename``, names -> ID, literals -> LIT."""
    found = []
    for match in TOKEN.finditer(line):
        kind, text = match.lastgroup, match.group()
        if kind == "comment":
            break
        if rename and kind in ("string", "number"):
            text = "LIT"
        elif rename and kind == "name" and not keyword.iskeyword(text):
            text = "ID"
        found.append(text)
    return found


@dataclass(frozen=True)
class Region:
    """The lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a package file."""

    path: str
    first_line: int
    lines: tuple[str, ...]


def solution_regions(source: str, path: str) -> list[Region]:
    regions, start = [], None
    lines = source.splitlines()
    for number, line in enumerate(lines, start=1):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END and start is not None:
            regions.append(Region(path, start, tuple(lines[start : number - 1])))
            start = None
    return regions


@cache
@cache
def package_regions() -> list[Region]:
    return [
        region
        for path in sorted((ROOT / "pancake").rglob("*.py"))
        for region in solution_regions(path.read_text(), str(path.relative_to(ROOT)))
    ]


def normalised_lines(lines, rename: bool) -> list[tuple[int, tuple[str, ...]]]:
    """(index, tokens) of each line that holds code: blank and comment-only lines dropped."""
    return _normalised_lines(tuple(lines), rename)


@cache  # each cell is compared with every region, each region with every cell
def _normalised_lines(lines: tuple[str, ...], rename: bool) -> list[tuple[int, tuple[str, ...]]]:
    kept = []
    for index, line in enumerate(lines):
        line_tokens = tuple(tokens(line, rename))
        if line_tokens:
            kept.append((index, line_tokens))
    return kept


def is_trivial(line_tokens: tuple[str, ...]) -> bool:
    """``return x``, ``else:``, ``x = y``, a closing bracket: too common to count as copied."""
    return len(line_tokens) <= 3


@cache
def solution_windows(region_lines: tuple[str, ...], rename: bool) -> frozenset:
    """The region's runs of WINDOW consecutive code lines, at most one of them trivial."""
    region = [line for _, line in normalised_lines(region_lines, rename)]
    return frozenset(
        tuple(region[i : i + WINDOW])
        for i in range(len(region) - WINDOW + 1)
        if sum(map(is_trivial, region[i : i + WINDOW])) <= 1
    )


def repeated_windows(cell_lines, region_lines, rename: bool) -> list[int]:
    """Indices (in ``cell_lines``) where WINDOW consecutive code lines repeat the region's."""
    windows = solution_windows(tuple(region_lines), rename)
    cell = normalised_lines(cell_lines, rename)
    return [
        cell[i][0]
        for i in range(len(cell) - WINDOW + 1)
        if tuple(line for _, line in cell[i : i + WINDOW]) in windows
    ]


# -- shapes of definitions ---------------------------------------------------------


class Normalise(ast.NodeTransformer):
    """Rewrite code the way a clone detector reads it: what it does, not what it names.

    Every variable, attribute and constant subscript (``x``, ``self.layers``,
    ``state["exp_avg"]``) becomes ``V``, every constant ``0``; ``x += y`` becomes
    ``x = x + y``; an ``if`` becomes the statements of its branches, a conditional
    expression the pair of its values; plain copies (``grad = param.grad``) are dropped.
    Kept are the operations: the methods called (``.backward``, ``.permutation``) and the
    functions called that the code does not bind itself (``reversed``, ``len``).
    """

    def __init__(self, bound: set[str]):
        self.bound = bound

    def visit_Call(self, node):
        function = node.func
        node.args = [self.visit(argument) for argument in node.args]
        node.keywords = [self.visit(keyword_) for keyword_ in node.keywords]
        if isinstance(function, ast.Attribute):
            function.value = self.visit(function.value)
        elif not (isinstance(function, ast.Name) and function.id not in self.bound):
            node.func = self.visit(function)
        return node

    def visit_Name(self, node):
        return ast.Name("V", node.ctx)

    def visit_Attribute(self, node):
        return ast.Name("V", node.ctx)

    def visit_Subscript(self, node):
        if isinstance(node.slice, ast.Constant):
            return ast.Name("V", node.ctx)
        return self.generic_visit(node)

    def visit_Constant(self, node):
        return ast.Constant(0)

    def visit_JoinedStr(self, node):
        return ast.Constant(0)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        value = ast.BinOp(ast.Name("V", ast.Load()), node.op, node.value)
        return ast.Assign([node.target], value, lineno=node.lineno)

    def visit_Assign(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and all(
            isinstance(target, ast.Name) for target in node.targets
        ):
            return None
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return ast.Tuple([node.body, node.orelse], ast.Load())

    def visit_If(self, node):
        return self._statements(node.body + node.orelse)

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None  # a docstring
        return self.generic_visit(node)

    def _statements(self, statements):
        kept = []
        for statement in statements:
            result = self.visit(statement)
            if result is not None:
                kept.extend(result if isinstance(result, list) else [result])
        return kept


def shape(statements: list[ast.stmt], bound: set[str]) -> tuple[str, ...]:
    """The tokens of the normalised statements (``bound``: names the enclosing code binds)."""
    body = Normalise(bound)._statements(statements)
    module = ast.fix_missing_locations(ast.Module(body, []))
    return tuple(tokens(ast.unparse(module).replace("\n", " ; "), rename=False))


def bound_names(tree: ast.AST) -> set[str]:
    """Names a piece of code binds: assigned, loop targets, parameters, definitions."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """difflib's ratio: twice the tokens in common, over the tokens of both."""
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class Candidate:
    """A piece of chapter code that could do an exercise's job: a definition, a loop, a run."""

    label: str
    line: int  # 1-based within the cell's source
    shape: tuple[str, ...]


def candidates(source: str, bound: set[str] = frozenset()) -> list[Candidate]:
    """Each function, class and method a cell defines, each top-level loop, each run.

    A class is compared by the bodies of its methods (its constructor aside), since that is
    where SOLUTION regions are. A run is a maximal sequence of top-level simple statements
    (assignments, calls; ``print`` calls and imports left out): a computation written out
    without a function. ``bound`` adds the names that other cells of the chapter bind
    (a chapter is one notebook): calling them is calling a variable, not an operation.
    """
    tree = ast.parse(source)
    bound = bound_names(tree) | bound
    found, run = [], []

    def add(label, line, statements):
        found.append(Candidate(label, line, shape(statements, bound)))

    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)) or _is_print(statement):
            continue
        if isinstance(statement, (ast.FunctionDef, ast.For, ast.While, ast.ClassDef)):
            if len(run) >= 2:
                add("statements", run[0].lineno, run)
            run = []
        if isinstance(statement, ast.ClassDef):
            methods = [m for m in statement.body if isinstance(m, ast.FunctionDef)]
            body = [s for m in methods if m.name != "__init__" for s in m.body]
            add(statement.name, statement.lineno, body)
            for method in methods:
                add(f"{statement.name}.{method.name}", method.lineno, method.body)
        elif isinstance(statement, ast.FunctionDef):
            add(statement.name, statement.lineno, [statement])
        elif isinstance(statement, (ast.For, ast.While)):
            add(f"the {type(statement).__name__.lower()} loop", statement.lineno, [statement])
        elif not isinstance(statement, (ast.If, ast.With, ast.Try)):
            run.append(statement)
    if len(run) >= 2:
        add("statements", run[0].lineno, run)
    return found


def _is_print(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id == "print"
    )


@cache
def target_shapes() -> dict[str, tuple[str, ...]]:
    """The shape of each exercise target's SOLUTION body (its regions, in order).

    Targets shorter than ``MIN_TARGET_TOKENS`` (an element-wise module's two lines) are
    left to the line test: their shape is what every small module looks like. So are
    targets that learners get as broken code to fix (``### BROKEN``): they are handed the
    whole script, and what they write is the few fixed lines, not its shape.
    """
    shapes = {}
    for assignment in ASSIGNMENTS:
        for part in assignment.parts:
            if has_broken_code(part.resolve()):
                continue
            source = textwrap.dedent(inspect.getsource(part.resolve()))
            statements = [
                statement
                for region in solution_regions(source, part.target)
                for statement in ast.parse(textwrap.dedent("\n".join(region.lines))).body
            ]
            target_shape = shape(statements, bound_names(ast.parse(source)))
            if len(target_shape) >= MIN_TARGET_TOKENS:
                shapes[part.target] = target_shape
    return shapes


def operations(code_shape: tuple[str, ...]) -> set[str]:
    """The functions and methods a shape calls, helpers aside; ``V`` if it calls a variable."""
    called = set()
    for before, token, after in zip(code_shape, code_shape[1:], code_shape[2:], strict=False):
        if after == "(" and token.isidentifier() and not keyword.iskeyword(token):
            if before not in ("def", "class"):  # a definition's own name is not a call
                called.add(token)
    return called - set(HELPERS)


def matching_targets(candidate: Candidate) -> list[tuple[str, float]]:
    """The exercise targets whose SOLUTION ``candidate`` matches, with the ratio.

    A match has a similar shape and calls nothing the SOLUTION does not call (helpers
    aside, and a call of any variable counting as one kind of call): a loop that calls
    ``make_model()`` does another job than the chain rule's products, however alike their
    arithmetic looks.
    """
    return [
        (target, ratio)
        for target, target_shape in target_shapes().items()
        if operations(candidate.shape) <= operations(target_shape)  # cheap: first
        and (ratio := similarity(candidate.shape, target_shape)) >= SHAPE_THRESHOLD
    ]


def python_source(cell: CodeCell) -> str | None:
    """The cell as Python (IPython magics blanked), or None when it does not parse."""
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.lines)
    try:
        ast.parse(source)
    except SyntaxError:
        return None
    return source


# -- known offenders: today's chapters must be caught -----------------------------

KNOWN_OFFENDERS = {
    # book/01-chain-rule.md (first edition): exercise 1's chain_rule_gradients, inline
    "pancake.calculus.chain_rule_gradients": """
k, v = 0.5, 42.0
M = k * v
E = M**2
dE_dE = 1.0
dE_dM = dE_dE * 2 * M
dE_dv = dE_dM * k
dE_dk = dE_dM * v
""",
    # book/05-sequential.md: exercise 5's Sequential as `Chain`
    "pancake.nn.containers.Sequential": """
class Chain(Module):
    def __init__(self, *modules):
        super().__init__()
        self.modules = list(modules)

    def forward(self, x):
        for module in self.modules:
            x = module(x)
        return x

    def backward(self, grad_output):
        for module in reversed(self.modules):
            grad_output = module.backward(grad_output)
        return grad_output
""",
    # book/06-optimizers.md: the update rules of exercise 6, written as loops
    "pancake.optim.SGD": """
for g in grads:
    g = g + decay * theta
    velocity = g if velocity is None else mu * velocity + g
    theta = theta - lr * (g + mu * velocity)
""",
    "pancake.optim.Adam": """
for t, g in enumerate(grads, start=1):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
""",
    # book/07-data.md: exercise 7's DataLoader.__iter__ as `epoch`
    "pancake.data.DataLoader": """
def epoch(dataset, batch_size, shuffle, rng):
    n = len(dataset)
    order = rng.permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        yield dataset[order[start : start + batch_size]]
""",
    # book/08-training.md: exercise 8's train_one_epoch as `one_epoch`
    "pancake.train.train_one_epoch": """
def one_epoch(model, loss_fn, optimizer, loader):
    total, count = 0.0, 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        model.backward(loss_fn.backward())
        optimizer.step()
        total += loss * len(targets)
        count += len(targets)
    return total / count
""",
}

# Code that teaches without doing an exercise's job: must not be flagged.
INNOCENT = {
    "a module that is no exercise (an exponential)": """
class Exp(Module):
    def forward(self, x):
        out = np.exp(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output):
        (out,) = self.saved_tensors
        return grad_output * out
""",
    "a plotting loop": """
for ax, (name, values) in zip(axes, curves.items()):
    ax.plot(values, label=name)
    ax.set(title=name, xlabel="step")
""",
    "using pancake's own pieces": """
model = Sequential(Linear(2, 4, rng=1), Tanh(), Linear(4, 1, rng=2))
optimizer = SGD(model.parameters(), lr=0.1)
history = fit(model, loss_fn, optimizer, loader, epochs=3)
""",
}


# -- the tests ---------------------------------------------------------------------


def test_the_book_has_chapters():
    assert len(CHAPTERS) >= 5, f"found only {[p.name for p in CHAPTERS]} in book/"
    assert all(chapter_cells().values()), "a chapter without code cells: is the parser broken?"


def test_code_lines_fit_the_page():
    too_long = [
        f"{cell.where(offset)}: {len(line)} characters"
        for cells in chapter_cells().values()
        for cell in cells
        for offset, line in enumerate(cell.lines)
        if len(line) > MAX_CODE_LINE
    ]
    assert not too_long, (
        f"code lines longer than {MAX_CODE_LINE} characters are cut off on the page:\n"
        + "\n".join(too_long)
    )


def test_no_chapter_repeats_solution_lines():
    repeated = []
    for cells in chapter_cells().values():
        for cell in cells:
            for region in package_regions():
                for rename, how in ((False, "as written"), (True, "renamed")):
                    for index in repeated_windows(cell.lines, region.lines, rename):
                        repeated.append(
                            f"{cell.where(index)}: {WINDOW} lines of the SOLUTION at "
                            f"{region.path}:{region.first_line} ({how})"
                        )
    assert not repeated, "chapters repeat the code exercises ask for:\n" + "\n".join(
        dict.fromkeys(repeated)
    )


def test_no_chapter_does_the_job_of_an_exercise_target():
    found = []
    for cells in chapter_cells().values():
        sources = [source for cell in cells if (source := python_source(cell)) is not None]
        chapter_bound = set().union(*(bound_names(ast.parse(source)) for source in sources))
        for cell in cells:
            source = python_source(cell)
            if source is None:
                continue
            for candidate in candidates(source, chapter_bound):
                for target, ratio in matching_targets(candidate):
                    found.append(
                        f"{cell.where(candidate.line - 1)}: {candidate.label} has the shape "
                        f"of the SOLUTION of {target} (similarity {ratio:.2f})"
                    )
    assert not found, "chapters write what exercises ask for:\n" + "\n".join(found)


@pytest.mark.parametrize("target", sorted(KNOWN_OFFENDERS))
def test_the_shape_measure_catches_the_first_editions_copies(target):
    snippet = textwrap.dedent(KNOWN_OFFENDERS[target])
    matched = {name for c in candidates(snippet) for name, _ in matching_targets(c)}
    assert target in matched, f"{target}: the copy from the first edition was not flagged"


@pytest.mark.parametrize("name", sorted(INNOCENT))
def test_the_shape_measure_spares_other_code(name):
    snippet = textwrap.dedent(INNOCENT[name])
    matched = [(c.label, m) for c in candidates(snippet) for m in matching_targets(c)]
    assert not matched, f"{name}: wrongly flagged as {matched}"


def test_renamed_solution_lines_are_caught():
    loader = next(r for r in package_regions() if r.path == "pancake/data.py")
    renamed = [
        line.replace("order", "perm").replace("start", "i").replace("indices", "rows")
        for line in textwrap.dedent("\n".join(loader.lines)).splitlines()
    ]
    assert not repeated_windows(renamed, loader.lines, rename=False)
    assert repeated_windows(renamed, loader.lines, rename=True)


def test_copied_solution_lines_are_caught():
    train = next(r for r in package_regions() if r.path == "pancake/train.py")
    copy = textwrap.dedent(KNOWN_OFFENDERS["pancake.train.train_one_epoch"]).splitlines()
    assert repeated_windows(copy, train.lines, rename=False)


def test_windows_of_trivial_lines_are_not_copies():
    region = ["x = y", "return x", "else:", "total += loss * len(targets)"]
    assert not repeated_windows(["a = b", "return a", "else:"], region, rename=True)


QUESTIONS_HEADING = re.compile(r"^##\s+.*(question|check your understanding)", re.IGNORECASE)
COLLAPSED = re.compile(r"^\s*(:{3,}|`{3,})\s*\{dropdown\}|^\s*:class:.*\bdropdown\b", re.M)
SECTION = re.compile(r"^##\s", re.M)


def without_code_blocks(text: str) -> str:
    """``text`` without its code blocks (code cells, plain fences); directives such as
    ```{admonition} stay, since end-of-chapter answers live in them."""
    kept, fence, is_code = [], None, False
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None:
            opening = re.match(r"^(`{3,})(.*)$", stripped)
            if opening:
                fence = opening.group(1)
                is_code = not re.match(r"\s*\{(admonition|dropdown)\}", opening.group(2))
                if is_code:
                    continue
        elif stripped == fence:
            fence, was_code = None, is_code
            if was_code:
                continue
        elif is_code:
            continue
        kept.append(line)
    return "\n".join(kept)


def questions_problem(text: str) -> str | None:
    """Why a chapter's end-of-chapter questions are missing or incomplete (None: they're fine)."""
    sections = SECTION.split(without_code_blocks(text))[1:]
    if not sections or not QUESTIONS_HEADING.match("## " + sections[-1]):
        return "its last section (## ...) is not the questions"
    questions = sections[-1]
    answers = COLLAPSED.findall(questions)
    if not answers:
        return "the questions have no collapsed answer (:::{dropdown} or :class: dropdown)"
    outside = _outside_collapsed(questions)
    asked = [line for line in outside.splitlines() if "?" in line]
    if len(asked) < 3:
        return f"{len(asked)} question(s) outside the collapsed answers, at least 3 needed"
    return None


def _outside_collapsed(section: str) -> str:
    """The section's text with every collapsed block (its opening fence to its close) removed."""
    kept, fence = [], None
    for line in section.splitlines():
        stripped = line.strip()
        if fence is None:
            match = re.match(r"^(:{3,}|`{3,})\s*\{(dropdown|admonition)\}", stripped)
            if match:
                fence = match.group(1)
                continue
            kept.append(line)
        elif stripped == fence:
            fence = None
    return "\n".join(kept)


def test_every_chapter_ends_with_questions():
    problems = [
        f"book/{path.name}: {problem}"
        for path in CHAPTERS
        if (problem := questions_problem(path.read_text()))
    ]
    assert not problems, "end-of-chapter questions:\n" + "\n".join(problems)


def test_questions_check_can_fail():
    good = "## Summary\ntext\n## Questions\n1. Why?\n2. How?\n3. What?\n" + (
        ":::{dropdown} Answers\n1. Because.\n:::\n"
    )
    assert questions_problem(good) is None
    assert "no collapsed answer" in questions_problem(good.split(":::")[0])
    assert "last section" in questions_problem(good + "## Exercise\nDo it.\n")
    assert questions_problem(good + "```python\n## not a heading\n```\n") is None
    fenced = "## Questions\nA?\nB?\nC?\n```{admonition} Answers\n:class: dropdown\nYes.\n```\n"
    assert questions_problem(fenced) is None
    assert "1 question" in questions_problem(
        "## Questions\nWhy?\n:::{dropdown} Answer\nIs it? Why?\n:::\n"
    )


FIGURE_CODE = re.compile(r"\bplt\.(show|subplots|figure|plot)\(|\.savefig\(|\bfig\b")
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]+\)|^\s*[:`]{3,}\s*\{(figure|image)\}|<img\s", re.M)


def has_figure(text: str, cells: list[CodeCell]) -> bool:
    return bool(IMAGE.search(text)) or any(FIGURE_CODE.search(cell.source) for cell in cells)


def test_every_chapter_has_a_figure():
    missing = [
        f"book/{path.name}"
        for path in CHAPTERS
        if not has_figure(path.read_text(), chapter_cells()[path.name])
    ]
    assert not missing, "chapters without a figure:\n" + "\n".join(missing)


def test_the_figure_check_can_fail():
    text = "```{code-cell} ipython3\nprint(1)\n```\n"
    assert not has_figure(text, code_cells(text, "x.md"))
    plotted = "```{code-cell} ipython3\n:tags: [hide-input]\nfig, ax = plt.subplots()\n```\n"
    assert has_figure(plotted, code_cells(plotted, "x.md"))


def test_code_cells_are_read_with_their_line_numbers():
    text = "# T\n\n```{code-cell} ipython3\n:tags: [hide-input]\n\nx = 1\n```\n```bash\nls\n```\n"
    (cell,) = code_cells(text, "t.md")
    assert cell.lines == ("", "x = 1") and cell.where(1) == "book/t.md:6"
