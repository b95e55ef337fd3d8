"""Write README.md from nbs/index.ipynb (nbdev-readme needs quarto, which these machines lack); --check only compares."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r'^\s*#\|\s*(.*)$')


def _directives(src):
    return [m.group(1).strip() for l in src.splitlines() if (m := DIRECTIVE.match(l))]


def _text_output(cell):
    out = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'stream': out.append(''.join(o['text']))
        elif 'data' in o and 'text/plain' in o['data']: out.append(''.join(o['data']['text/plain']))
    return '\n'.join(s.rstrip('\n') for s in out)


def render(nb_path=ROOT / 'nbs' / 'index.ipynb'):
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    parts = ['<!-- Generated from nbs/index.ipynb by `make readme`: edit the notebook, not this file. -->']
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        dirs = _directives(src)
        if any(d in ('hide', 'include: false', 'export', 'exporti') for d in dirs): continue
        if cell['cell_type'] == 'markdown':
            parts.append(src.strip())
        elif cell['cell_type'] == 'code':
            code = '\n'.join(l for l in src.splitlines() if not DIRECTIVE.match(l)).strip()
            if code: parts.append(f'```python\n{code}\n```')
            out = _text_output(cell)
            if out: parts.append(f'```\n{out}\n```')
    return '\n\n'.join(parts) + '\n'


if __name__ == '__main__':
    readme, text = ROOT / 'README.md', render()
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text(encoding='utf-8') != text:
            sys.exit('README.md is out of date with nbs/index.ipynb: run `make readme` and commit the result')
        print('README.md is in sync with nbs/index.ipynb')
    else:
        readme.write_text(text, encoding='utf-8')
        print('wrote README.md')
