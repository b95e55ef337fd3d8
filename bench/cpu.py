"""CPU benchmark: bg2vec's code path against two references, side by side in one run, on the tiny Mistral and Bulgarian sentences.

    python bench/cpu.py [--repeats N] [--texts FILE | --join K] [--legacy-python PATH] [--skip-st] [--skip-llm2vec]

1. llm2vec's own path (the reference the Bg2Vec post was written against). llm2vec cannot be imported next to transformers 5,
   so it runs in the legacy environment (`make test-llm2vec` builds `.venv-llm2vec`), in a worker process
   (`bench/llm2vec_worker.py`) that times each call itself; ours runs here, alternately, on the same weights and texts.
   Rows: collating 128 pairs, encoding 512 sentences, one SimCSE training step (batch 32, LoRA, gradient checkpointing).
2. sentence-transformers 6's own `SentenceTransformerTrainer` with `MultipleNegativesRankingLoss` (and the cached loss against
   `CachedMultipleNegativesRankingLoss`), on the same bidirectional model, dropout and LoRA (`bench/st_reference.py`).

Prints medians and ratios (reference time / ours: above 1 means bg2vec is faster)."""
import argparse, json, statistics, subprocess, sys, tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import join_texts, pairs, row, sentences, timed, use_texts  # noqa: E402
from bg2vec.collator import SimCSEDefaultCollator  # noqa: E402
from bg2vec.loss import load_loss  # noqa: E402
from bg2vec.model import Bg2Vec, initialize_peft  # noqa: E402
from bg2vec.cached import embed_views  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Legacy:
    "llm2vec's path in the legacy environment's Python: `op(name, **fields)` runs one call there and returns its seconds"
    def __init__(self, python, folder, max_length):
        self.p = subprocess.Popen([python, str(ROOT / 'bench' / 'llm2vec_worker.py'), folder, str(max_length)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        self.info = self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line: raise RuntimeError('the llm2vec worker stopped (see its error above)')
        return json.loads(line)

    def op(self, name, **fields):
        self.p.stdin.write(json.dumps({'op': name, **fields}) + '\n'); self.p.stdin.flush()
        return self._read()

    def close(self): self.p.stdin.close(); self.p.wait()


def encoder_folder(max_length=64) -> str:
    "The embedded default (tiny model, MNTP merged) saved as one folder both environments load"
    from bg2vec.tiny import tiny_adapter, save_tiny_model
    out = tempfile.mkdtemp(prefix='bg2vec-bench-')
    Bg2Vec.from_pretrained(str(save_tiny_model(progress=False)), peft_model_name_or_path=str(tiny_adapter()),
                           merge_peft=True, pooling_mode='mean', max_length=max_length).save(out)
    return out


def ours_train(folder, max_length):
    torch.manual_seed(0)
    m = Bg2Vec.from_pretrained(folder, max_length=max_length, attention_dropout=0.1)
    m.model = initialize_peft(m.model, lora_r=8, lora_alpha=16, lora_dropout=0.05, verbose=False)
    m.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
    return m.train()


def med(v): return statistics.median(v[1:])   # the first of each series warms up


def llm2vec_rows(python, repeats, max_length=64):
    folder = encoder_folder(max_length)
    ref = Legacy(python, folder, max_length)
    ours = Bg2Vec.from_pretrained(folder, max_length=max_length)
    lines = []
    batch = [t for t in sentences(128)]
    coll = SimCSEDefaultCollator(ours.tokenize)
    o, r = [], []
    for _ in range(repeats + 1):
        r.append(ref.op('collate', texts=batch, n=5)['seconds']); o.append(timed(lambda: [coll(pairs(batch)) for _ in range(5)])[0])
    lines.append(row('collate a batch of 128 pairs', med(o) / 5, med(r) / 5, '>= 5x'))
    texts = sentences(512, offset=300)
    kw = dict(batch_size=64, show_progress_bar=False)
    o, r = [], []
    for _ in range(repeats + 1):
        r.append(ref.op('encode', texts=texts, batch_size=64)['seconds']); o.append(timed(lambda: ours.encode(texts, **kw))[0])
    lines.append(row('encode 512 sentences, batch 64', med(o), med(r), '>= 1.25x'))
    train = ours_train(folder, max_length)
    opt = torch.optim.AdamW([p for p in train.parameters() if p.requires_grad], lr=1e-4)
    loss_fn, tcoll = load_loss('HardNegativeNLLLoss', scale=20.), SimCSEDefaultCollator(train.tokenize)
    corpus = sentences(4096, offset=600)

    def step(texts):
        feats, _ = tcoll(pairs(texts))
        loss = loss_fn(*embed_views(train, feats)); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    o, r = [], []
    for i in range(repeats + 2):
        texts = corpus[i * 32:(i + 1) * 32]
        r.append(ref.op('step', texts=texts)['seconds']); o.append(timed(lambda: step(texts))[0])
    lines.append(row('SimCSE step, batch 32, <= 64 tokens, LoRA, grad. ckpt.', med(o[1:]), med(r[1:]), '>= 1.0x'))
    ref.close()
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--texts', help='UTF-8 file, one text per line, to use instead of the bundled corpus')
    p.add_argument('--join', type=int, help='use texts of this many consecutive bundled sentences each (long texts)')
    p.add_argument('--legacy-python', default=str(ROOT / '.venv-llm2vec' / 'bin' / 'python'),
                   help="the legacy environment's Python, where llm2vec runs (default: .venv-llm2vec, made by make test-llm2vec)")
    p.add_argument('--skip-llm2vec', action='store_true')
    p.add_argument('--skip-st', action='store_true')
    a = p.parse_args()
    source = (f'{a.texts} ({len(use_texts(a.texts))} texts)' if a.texts else
              f'the bundled corpus, {a.join} sentences per text ({len(join_texts(a.join))} texts)' if a.join else 'the bundled corpus')
    print(f'CPU benchmark, torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {a.repeats} runs, texts from '
          f'{source}; ratio = reference time / ours', flush=True)
    if not a.skip_llm2vec:
        if Path(a.legacy_python).exists():
            print("against llm2vec's path (legacy environment, transformers 4.44.2):", flush=True)
            for line in llm2vec_rows(a.legacy_python, a.repeats): print(line, flush=True)
        else: print(f'llm2vec rows skipped: no legacy environment at {a.legacy_python} (make test-llm2vec builds it)', flush=True)
    if not a.skip_st:
        print("against sentence-transformers' own trainer (this environment):", flush=True)
        import st_reference
        o, r = st_reference.compare(a.repeats, steps=4, batch=32)
        print(row('SimCSE step vs SentenceTransformerTrainer + MNRL, batch 32', o, r, '>= 1.0x'), flush=True)
        o, r = st_reference.compare(a.repeats, steps=4, batch=32, mini=8)
        print(row('cached step (mini 8) vs CachedMNRL, batch 32', o, r, '>= 1.0x'), flush=True)
        m = st_reference.memory()
        print(f"{'peak RSS added, batch-128 cached step (mini 16)':<58} ref {m['st']:7.1f}MB  ours {m['ours']:7.1f}MB  "
              f"ours/ref {m['ours'] / m['st']:.2f}  (goal <= 1.0)", flush=True)


if __name__ == '__main__':
    main()
