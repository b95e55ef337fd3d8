"""Render the notebooks to a static HTML site in _docs/ (nbdev-docs needs quarto, which these machines lack).

    python tools/docs.py [--only index 12_loss] [--out _docs]

Each notebook is executed (cells flagged with a `tst_flags` flag of pyproject.toml's [tool.nbdev], and `eval: false` cells, are
skipped, as in the test suite), hidden cells are dropped, directives are stripped from the code shown, and the result is converted
with nbconvert. Every page gets a navigation bar with all the lessons and previous/next links. Figures are embedded in the pages."""
import argparse, copy, html, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / 'nbs'
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')


def directives(src):
    return [m.group(1).strip() for l in src.splitlines() if (m := DIRECTIVE.match(l))]


def notebooks():
    "index first, then the lessons and fixtures in their numbered order"
    nbs = sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
    return sorted(nbs, key=lambda p: (p.stem != 'index', p.name))


def title(nb):
    for c in nb.cells:
        if c.cell_type == 'markdown':
            m = re.search(r'^#\s+(.+)$', c.source, re.M)
            if m: return m.group(1).strip()
    return None


def execute(path, skip_flags):
    from fastcore.nbio import read_nb
    from execnb.shell import CaptureShell
    nb = read_nb(path)

    def skip(cell):
        if cell.cell_type != 'code': return True
        ds = directives(cell.source)
        if any(d.replace(' ', '') == 'eval:false' for d in ds): return True
        if 'nbdev_export(' in cell.source: return True
        return any(d.split()[0] in skip_flags for d in ds if d)

    cwd = os.getcwd(); os.chdir(path.parent)
    shell = CaptureShell(path)
    try: shell.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    return nb, shell.user_ns


def documented(src, ns):
    "nbdev's `show_doc` markdown for each public name an exported cell defines: signature, docstring, argument table"
    import ast
    from nbdev.showdoc import show_doc
    try: tree = ast.parse(src)
    except SyntaxError: return []
    out = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith('_'): continue
        patched = any(getattr(d, 'id', None) == 'patch' for d in getattr(node, 'decorator_list', []))
        obj = ns.get(node.name)
        if patched and node.args.args and node.args.args[0].annotation is not None:   # @patch: the method of its class
            cls = ns.get(getattr(node.args.args[0].annotation, 'id', ''))
            obj = getattr(cls, node.name, None)
        if obj is None: continue
        try: out.append(show_doc(obj, title_level=3)._repr_markdown_())
        except Exception: continue
    return out


def for_display(nb, ns=None):
    import nbformat
    out = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    for c in nb.cells:
        ds = directives(c.source)
        if any(d in ('hide', 'include: false') for d in ds) or 'nbdev_export(' in c.source: continue
        if c.cell_type == 'code':
            src = '\n'.join(l for l in c.source.splitlines() if not DIRECTIVE.match(l)).strip()
            if not src and not c.get('outputs'): continue
            cell = nbformat.v4.new_code_cell(src, outputs=[nbformat.from_dict(o) for o in c.get('outputs', [])])
            if ns is not None and 'export' in ds:
                out.cells.append(cell)
                for md in documented(src, ns): out.cells.append(nbformat.v4.new_markdown_cell(md))
                continue
        else:
            cell = nbformat.v4.new_markdown_cell(c.source)
        out.cells.append(cell)
    return out


READY = """<script>window.addEventListener('load', () => {
  document.querySelectorAll('img').forEach(i => i.setAttribute('data-loaded', i.complete && i.naturalWidth > 0 ? '1' : '0'));
  document.body.setAttribute('data-ready', '1');
});</script>"""
STYLE = """<style>
nav.bg2vec { position: sticky; top: 0; z-index: 10; background: #f6f8fa; border-bottom: 1px solid #d0d7de;
             padding: .5em 1em; font: 14px/1.6 system-ui, sans-serif; }
nav.bg2vec a { margin-right: 1em; text-decoration: none; }
nav.bg2vec a.current { font-weight: bold; }
nav.bg2vec .pager { float: right; }
</style>"""


def nav(pages, i):
    links = ''.join(f'<a href="{p}.html"{" class=current" if j == i else ""}>{html.escape(t)}</a>'
                    for j, (p, t) in enumerate(pages))
    prev = f'<a href="{pages[i-1][0]}.html" rel="prev">&larr; {html.escape(pages[i-1][1])}</a>' if i > 0 else ''
    nxt = f'<a href="{pages[i+1][0]}.html" rel="next">{html.escape(pages[i+1][1])} &rarr;</a>' if i + 1 < len(pages) else ''
    return f'<nav class="bg2vec">{links}<span class="pager">{prev}{nxt}</span></nav>'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--only', nargs='+', help='notebook stems to render (default: all)')
    p.add_argument('--out', default=str(ROOT / '_docs'))
    a = p.parse_args(argv)
    from fastcore.nbio import read_nb
    from nbconvert import HTMLExporter
    from nbdev.config import get_config
    skip_flags = get_config(ROOT).tst_flags.split()
    all_nbs = notebooks()
    pages = [(nb.stem, (title(read_nb(nb)) or nb.stem) if nb.stem != 'index' else 'bg2vec') for nb in all_nbs]
    short = {s: (t.split(':')[0] if s != 'index' else t) for s, t in pages}
    pages = [(s, f'{s[:2]} {short[s]}' if s[:2].isdigit() else short[s]) for s, _ in pages]
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)   # no empty In [ ]:
    for i, path in enumerate(all_nbs):
        if a.only and path.stem not in a.only: continue
        t0 = time.time()
        nb, ns = execute(path, skip_flags)
        body, _ = exporter.from_notebook_node(for_display(nb, ns), resources={'metadata': {'name': title(nb) or path.stem}})
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + nav(pages, i), body, count=1)
        body = body.replace('</head>', STYLE + READY + '</head>', 1)
        (out / f'{path.stem}.html').write_text(body, encoding='utf-8')
        print(f'{path.stem}.html ({time.time() - t0:.0f}s)', flush=True)
    if (NBS / 'figures').exists(): shutil.copytree(NBS / 'figures', out / 'figures', dirs_exist_ok=True)
    print(f'site written to {out}')


if __name__ == '__main__':
    main()
