"""Two small fixes for the pancake book, as a local Sphinx extension (see _config.yml).

1. Notebook downloads. The chapters are MyST markdown notebooks; MyST-NB writes the
   executed notebook of each one to ``_build/jupyter_execute/<page>.ipynb``.
   sphinx-book-theme lists an ``.ipynb`` download only when the page context names
   such a file, which it does itself only when a launch service (Binder...) is
   configured. We copy the notebook next to the page sources and name it, so the
   download menu offers ``.md``, ``.ipynb`` and ``.pdf``.

2. Inline scripts written twice. Sphinx 7.4 (the series Jupyter Book 1 requires)
   adds an inline script registered after the builder starts twice, once with the
   file name ``None`` and once with ``''`` (fixed upstream in Sphinx 8.2, PR #13402).
   sphinx-thebe's ``const THEBE_JS_URL = ...`` then runs twice, and every page logs
   "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared". We drop the
   second copy of any script before the page is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def add_notebook_download(app, pagename, templatename, context, doctree):
    """Copy the executed notebook of a markdown chapter to ``_sources/`` and link it."""
    if doctree is None or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    if not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return  # .ipynb pages already offer their own source
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Keep the first of scripts that differ only by a ``None`` / ``''`` file name."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {})
        key = (filename, getattr(script, "priority", 500), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    """Connect both fixes to ``html-page-context``."""
    # Before sphinx-book-theme builds its header buttons (priority 501).
    app.connect("html-page-context", add_notebook_download, priority=500)
    # After every extension has added its per-page scripts.
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
