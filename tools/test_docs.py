"""Open pages of the rendered docs in headless Chromium and check what a reader sees: the heading, the navigation between the
lessons, and that the images (the loss lesson's heatmaps) load. Installs Debian's chromium package when it is missing.

    python tools/test_docs.py [_docs]"""
import os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--virtual-time-budget=10000']


def chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if shutil.which(name): return shutil.which(name)
    if os.geteuid() != 0: sys.exit("chromium is not installed; install Debian's chromium package (apt-get install chromium)")
    print('installing chromium (apt-get)...', flush=True)
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    subprocess.run(['apt-get', 'update', '-qq'], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(['apt-get', 'install', '-y', '-qq', 'chromium'], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which('chromium')


def dom(browser, page):
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([browser, *FLAGS, f'--user-data-dir={profile}', '--dump-dom', page.resolve().as_uri()],
                           capture_output=True, text=True, timeout=120)
    if r.returncode: raise RuntimeError(f'chromium failed on {page}: {r.stderr[-2000:]}')
    return r.stdout


def check(browser, site, stem, heading, min_images=0, documented=()):
    d = dom(browser, site / f'{stem}.html')
    problems = []
    if re.search(r'In(&nbsp;|\s)\[', d): problems.append('empty In [ ]: prompts beside the code')
    missing = [name for name in documented if f'id="{name}"' not in d]
    if missing: problems.append(f'no show_doc entry (signature and docstring) for {missing}')
    if 'data-ready="1"' not in d: problems.append('the page did not finish loading')
    h1 = re.search(r'<h1[^>]*>(.*?)</h1>', d, re.S)
    h1 = re.sub(r'<[^>]+>', '', h1.group(1)).replace('¶', '').strip() if h1 else ''
    if heading not in h1: problems.append(f'heading {h1!r} does not contain {heading!r}')
    nav = re.search(r'<nav class="bg2vec">(.*?)</nav>', d, re.S)
    links = re.findall(r'href="([^"]+\.html)"', nav.group(1)) if nav else []
    lessons = {'index.html', '10_data.html', '11_model.html', '12_loss.html', '13_collator.html', '14_training.html',
               '15_evaluate.html'}
    if not lessons <= set(links): problems.append(f'navigation lacks {sorted(lessons - set(links))}')
    imgs = re.findall(r'<img[^>]*>', d)
    loaded = [i for i in imgs if 'data-loaded="1"' in i]
    if len(imgs) != len(loaded): problems.append(f'{len(imgs) - len(loaded)} of {len(imgs)} images did not load')
    if len(loaded) < min_images: problems.append(f'expected at least {min_images} images, found {len(loaded)} loaded')
    return problems, h1, len(links), len(loaded)


def main():
    site = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / '_docs')
    browser = chromium()
    failed = 0
    for stem, heading, n_img, names in (('index', 'bg2vec', 0, ()),
                                        ('12_loss', 'The loss', 2, ('cos_sim', 'HardNegativeNLLLoss', 'similarity_heatmap'))):
        problems, h1, n_links, n_loaded = check(browser, site, stem, heading, n_img, names)
        status = 'ok' if not problems else 'FAILED: ' + '; '.join(problems)
        print(f'{stem}.html: heading {h1!r}, {n_links} navigation links, {n_loaded} images loaded: {status}')
        failed += bool(problems)
    print(f'docs pages checked in headless Chromium: {2 - failed} ok, {failed} failing')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
