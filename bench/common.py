"""Shared pieces of the benchmarks: the reference code path, timing, and Bulgarian batches.

The reference is llm2vec's own SimCSE path: `LLM2Vec.tokenize`, `LLM2Vec.encode`, `llm2vec.loss.HardNegativeNLLLoss`, and the
`DefaultCollator` and `SimCSETrainer.compute_loss` of llm2vec's `experiments/run_simcse.py` (that script is not part of the pip
package, so its two small pieces are restated below, behaviour for behaviour). They only call the model they are given, so this
module imports nothing of llm2vec: it loads on the current stack too, and the legacy environment's scripts
(`llm2vec_worker.py`, `gpu.py` there) take them from here."""
import statistics, time

import torch
from bg2vec.data import TrainSample

from bg2vec.cached import length_chunks
from bg2vec.assets import read_corpus


class ReferenceCollator:
    "llm2vec's `DefaultCollator` (experiments/run_simcse.py): `model.tokenize` once per view"
    def __init__(self, model): self.model = model

    def __call__(self, batch):
        texts = [[] for _ in batch[0].texts]
        labels = []
        for example in batch:
            for i, t in enumerate(example.texts): texts[i].append(t)
            labels.append(example.label)
        return [self.model.tokenize(t) for t in texts], torch.tensor(labels)


def reference_loss(model, features, loss_function):
    "llm2vec's `SimCSETrainer.compute_loss`: one forward pass per view"
    q_reps, d_reps = model(features[0]), model(features[1])
    d_reps_neg = model(features[2]) if len(features) > 2 else None
    return loss_function(q_reps, d_reps, d_reps_neg)


def to_device(features, device):
    return [{k: v.to(device) for k, v in f.items()} for f in features]


def sync(device):
    if str(device).startswith('cuda'): torch.cuda.synchronize()


def timed(fn, device='cpu'):
    sync(device); t0 = time.perf_counter(); out = fn(); sync(device)
    return time.perf_counter() - t0, out


def side_by_side(ours, ref, repeats, device='cpu', warmup=1):
    "Median seconds of `ours()` and `ref()`, run alternately so that machine noise hits both alike"
    for _ in range(warmup): ours(); ref()
    t_ours, t_ref = [], []
    for _ in range(repeats):
        t_ref.append(timed(ref, device)[0]); t_ours.append(timed(ours, device)[0])
    return statistics.median(t_ours), statistics.median(t_ref)


_texts = None

def use_texts(path):
    "Benchmark on the texts of `path` (UTF-8, one per line) instead of the bundled corpus"
    global _texts
    from pathlib import Path
    lines = [l.strip() for l in Path(path).read_text(encoding='utf-8').splitlines()]
    _texts = [l for l in lines if l]
    if len(_texts) < 32: raise SystemExit(f'{path}: {len(_texts)} non-blank lines; the benchmark needs at least 32 texts')
    return _texts


def join_texts(k):
    "Benchmark on texts of `k` consecutive bundled sentences each (paragraph-like, many past the 64-token limit)"
    global _texts
    corpus = read_corpus()
    _texts = [' '.join(corpus[i:i + k]) for i in range(0, len(corpus) - k + 1, k)]
    return _texts


def sentences(n, offset=0):
    "`n` Bulgarian sentences: the bundled corpus, or the file given to `use_texts` (cycled if needed)"
    corpus = _texts or read_corpus()
    return [corpus[(offset + i) % len(corpus)] for i in range(n)]


def long_texts(tokenizer, n, min_tokens):
    "`n` texts of at least `min_tokens` tokens, made of consecutive corpus sentences"
    corpus, out, i = read_corpus(), [], 0
    while len(out) < n:
        parts = []
        while len(tokenizer(' '.join(parts), add_special_tokens=False)['input_ids']) < min_tokens:
            parts.append(corpus[i % len(corpus)]); i += 1
        out.append(' '.join(parts))
    return out


def length_mix(tokenizer, texts, n, lo=10, hi=128, seed=0):
    "`n` of `texts` cut to token lengths drawn from the bundled corpus' sentence lengths scaled to `lo`..`hi`, in random order"
    import random
    lens = [len(ids) for ids in tokenizer(read_corpus(), add_special_tokens=False)['input_ids']]
    a, b = min(lens), max(lens)
    rng = random.Random(seed)
    targets = [round(lo + (rng.choice(lens) - a) * (hi - lo) / (b - a)) for _ in range(n)]
    ids = tokenizer(texts[:n], add_special_tokens=False)['input_ids']
    return [tokenizer.decode(x[:t]) for x, t in zip(ids, targets)]


def positions(feats, chunk=None):
    "Token positions a forward pass computes for both views of `feats` (padding included): one pass, or chunks of similar length"
    mask = torch.cat([feats[0]['attention_mask']] * 2)
    if not chunk: return mask.numel()
    return sum(len(rows) * int((mask[rows].sum(0) > 0).sum()) for rows in length_chunks(mask, chunk))


def pairs(texts): return [TrainSample(texts=[t, t], label=1.0) for t in texts]


def row(name, ours, ref, goal, unit='s'):
    ratio = ref / ours if ours else float('nan')
    return f'{name:<58} ref {ref*1e3 if unit == "s" else ref:>9.1f}{"ms" if unit == "s" else unit}  ' \
           f'ours {ours*1e3 if unit == "s" else ours:>9.1f}{"ms" if unit == "s" else unit}  ratio {ratio:5.2f}x  (goal {goal})'
