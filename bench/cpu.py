"""CPU benchmark: bg2vec's code path against llm2vec's, side by side in one run, on the tiny Mistral and Bulgarian sentences.

    python bench/cpu.py [--repeats N] [--texts FILE | --join K] [--compile] [--chunk ROWS ...] [--real-lengths-only]

Prints medians and ratios (reference time / ours) for: collating 128 pairs, encoding 512 sentences, one SimCSE training step,
the same step on the texts as they come in real (non-pad) tokens per second, with and without length chunks (`--chunk`, the
`--length_chunk_size` of a run), and the activation memory of a batch-128 step with the cached loss against the plain one; then
where a step's time goes.
--compile adds a training step with compiled decoder layers (`--compile_layers true`), after a warm-up that compiles them."""
import argparse, json, statistics, subprocess, sys, time
from pathlib import Path

import torch
from llm2vec import LLM2Vec
from llm2vec.loss.utils import load_loss as llm2vec_load_loss

sys.path.insert(0, str(Path(__file__).parent))
from common import (ReferenceCollator, join_texts, pairs, positions, reference_loss, row, sentences, side_by_side, timed,  # noqa: E402
                    use_texts)
from bg2vec.collator import SimCSEDefaultCollator  # noqa: E402
from bg2vec.loss import load_loss  # noqa: E402
from bg2vec.model import Bg2Vec, compile_layers, initialize_peft  # noqa: E402
from bg2vec.tiny import save_tiny_adapter, save_tiny_model  # noqa: E402
from bg2vec.cached import PeakMemory, cached_step, embed_views  # noqa: E402


def encoders(dropout=0.0, lora=False, checkpointing=False, max_length=64):
    "The same weights behind an llm2vec `LLM2Vec` (reference) and a `Bg2Vec` (ours)"
    torch.manual_seed(0)
    ref = LLM2Vec.from_pretrained(str(save_tiny_model(progress=False)), enable_bidirectional=True, merge_peft=True,
                                  peft_model_name_or_path=str(save_tiny_adapter(progress=False)), pooling_mode='mean',
                                  max_length=max_length, attention_dropout=dropout)
    if lora: ref.model = initialize_peft(ref.model, lora_r=8, lora_alpha=16, lora_dropout=0.05, verbose=False)
    if checkpointing: ref.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
    ours = Bg2Vec(model=ref.model, tokenizer=ref.tokenizer, pooling_mode='mean', max_length=max_length)
    return ours, ref


def bench_collate(repeats):
    ours_m, ref_m = encoders()
    batch = pairs(sentences(128))
    ours_c, ref_c = SimCSEDefaultCollator(ours_m.tokenize), ReferenceCollator(ref_m)
    t_ours, t_ref = side_by_side(lambda: [ours_c(batch) for _ in range(5)], lambda: [ref_c(batch) for _ in range(5)], repeats)
    return row('collate a batch of 128 pairs', t_ours / 5, t_ref / 5, '>= 5x')


def bench_encode(repeats):
    ours_m, ref_m = encoders()
    texts = sentences(512, offset=300)
    kw = dict(batch_size=64, show_progress_bar=False)
    diff = (ours_m.encode(texts, **kw) - ref_m.encode(texts, **kw)).abs().max().item()
    t_ours, t_ref = side_by_side(lambda: ours_m.encode(texts, **kw), lambda: ref_m.encode(texts, **kw), repeats)
    return row('encode 512 sentences, batch 64', t_ours, t_ref, '>= 1.25x') + f'  max|diff| {diff:.1e}'


def step_fns(batch_size=32, max_length=64, checkpointing=True):
    ours_m, ref_m = encoders(dropout=0.1, lora=True, checkpointing=checkpointing, max_length=max_length)
    ours_m.train(); ref_m.train()
    opt = torch.optim.AdamW([p for p in ours_m.parameters() if p.requires_grad], lr=1e-4)
    ours_c, ref_c = SimCSEDefaultCollator(ours_m.tokenize), ReferenceCollator(ref_m)
    ours_loss, ref_loss = load_loss('HardNegativeNLLLoss', scale=20.), llm2vec_load_loss('HardNegativeNLLLoss', scale=20.)
    texts = sentences(4096, offset=600)
    it = {'i': 0}

    def next_batch():
        it['i'] = (it['i'] + batch_size) % (len(texts) - batch_size)
        return pairs(texts[it['i']:it['i'] + batch_size])

    def ours_step():
        feats, _ = ours_c(next_batch())
        loss = ours_loss(*embed_views(ours_m, feats)); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)

    def ref_step():
        feats, _ = ref_c(next_batch())
        loss = reference_loss(ref_m, feats, ref_loss); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    return ours_step, ref_step, (ours_m, ref_m, ours_c, ref_c, ours_loss, ref_loss, next_batch, opt)


def bench_step(repeats):
    ours_step, ref_step, _ = step_fns()
    t_ours, t_ref = side_by_side(ours_step, ref_step, repeats, warmup=2)
    return row('SimCSE step, batch 32, <= 64 tokens, LoRA, grad. ckpt.', t_ours, t_ref, '>= 1.0x')


def bench_step_compiled(repeats):
    "The step with compiled decoder layers against the reference's eager one (separate weights: compiling is in place)"
    ours_step, _, (ours_m, *_) = step_fns()
    _, ref_step, _ = step_fns()
    compile_layers(ours_m.model)
    t0 = time.perf_counter(); ours_step(); first = time.perf_counter() - t0
    t_ours, t_ref = side_by_side(ours_step, ref_step, repeats, warmup=2)
    return row('the same step, compiled decoder layers', t_ours, t_ref, 'none') + f'  (first step, compiling: {first:.0f} s)'


def bench_real_lengths(repeats, chunks):
    "The SimCSE step on batches of the texts as they come: real (non-pad) tokens per second of each path, same batches"
    _, _, (ours_m, ref_m, ours_c, ref_c, ours_loss, ref_loss, next_batch, opt) = step_fns()

    def finish(loss): loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    paths = {'llm2vec path': lambda b: finish(reference_loss(ref_m, ref_c(b)[0], ref_loss)),
             'bg2vec, one pass': lambda b: finish(ours_loss(*embed_views(ours_m, ours_c(b)[0])))}
    for c in chunks:
        paths[f'bg2vec, length chunks of {c} rows'] = lambda b, c=c: finish(ours_loss(*embed_views(ours_m, ours_c(b)[0], chunk_size=c)))
    rates, real, one, chunked = {k: [] for k in paths}, 0, 0, {c: 0 for c in chunks}
    for i in range(repeats + 2):                      # two warm-up batches
        b = next_batch()
        feats, _ = ours_c(b)
        n_real = 2 * int(feats[0]['attention_mask'].sum())
        real, one = real + n_real, one + positions(feats)
        for c in chunks: chunked[c] += positions(feats, c)
        for k, fn in paths.items():
            t, _ = timed(lambda: fn(b))
            if i >= 2: rates[k].append(n_real / t)
    med = {k: statistics.median(v) for k, v in rates.items()}
    ref = med['llm2vec path']
    lines = [f'real lengths: SimCSE step, batch 32 as the texts come, LoRA, grad. ckpt.; padding {1 - real / one:.0%} of the '
             f'positions one pass computes; ' + ', '.join(f'{1 - real / chunked[c]:.0%} in chunks of {c} rows' for c in chunks)]
    lines += [f'  {k:<40} {v:>9.0f} real tokens/s  ratio {v / ref:5.2f}x' for k, v in med.items()]
    return '\n'.join(lines)


def breakdown(repeats):
    "Median milliseconds of each phase of a step, reference and ours"
    _, _, (ours_m, ref_m, ours_c, ref_c, ours_loss, ref_loss, next_batch, opt) = step_fns()
    phases = {'ref': {}, 'ours': {}}
    for _ in range(repeats + 1):
        for name, m, coll, lf, fwd in (('ref', ref_m, ref_c, ref_loss, lambda f, m=ref_m, lf=ref_loss: reference_loss(m, f, lf)),
                                       ('ours', ours_m, ours_c, ours_loss, lambda f, m=ours_m, lf=ours_loss: lf(*embed_views(m, f)))):
            b = next_batch()
            t_c, (feats, _) = timed(lambda: coll(b))
            t_f, loss = timed(lambda: fwd(feats))
            t_b, _ = timed(loss.backward)
            t_o, _ = timed(lambda: (opt.step(), opt.zero_grad(set_to_none=True)))
            for k, v in (('collate', t_c), ('forward + loss', t_f), ('backward', t_b), ('optimizer', t_o)):
                phases[name].setdefault(k, []).append(v)
    lines = [f"{'phase (median ms)':<20}{'reference':>12}{'ours':>12}"]
    for k in phases['ref']:
        r, o = (statistics.median(phases[n][k][1:]) * 1e3 for n in ('ref', 'ours'))
        lines.append(f'{k:<20}{r:>12.1f}{o:>12.1f}')
    return '\n'.join(lines)


def memory_probe(mode, batch_size=128, mini=16):
    "Run in a fresh process: peak resident memory added by one batch-128 step (MB)"
    torch.set_num_threads(1)
    ours_m, _ = encoders(dropout=0.1, lora=True, max_length=64)
    ours_m.train()
    collate = SimCSEDefaultCollator(ours_m.tokenize)
    feats, _ = collate(pairs(sentences(batch_size, offset=900)))
    loss_fn = load_loss('HardNegativeNLLLoss', scale=20.)
    small, _ = collate(pairs(sentences(4, offset=900)))          # warm up on a tiny batch: lazy initialisation, not activations
    loss_fn(*embed_views(ours_m, small)).backward()
    for p in ours_m.parameters(): p.grad = None
    with PeakMemory('cpu') as peak:                      # the peak resident memory the step adds (the console script's measure)
        if mode == 'cached': cached_step(ours_m, feats, loss_fn, mini)
        else: loss_fn(*embed_views(ours_m, feats)).backward()
    print(json.dumps({'mode': mode, 'peak_mb': peak.metrics['train_peak_cpu_memory_added_mb']}))


TEXTS = []   # the --texts/--join options, passed on to the memory probes


def bench_memory():
    res = {}
    for mode in ('plain', 'cached'):
        out = subprocess.run([sys.executable, __file__, '--memory-probe', mode, *TEXTS], capture_output=True, text=True, check=True)
        res[mode] = json.loads(out.stdout.strip().splitlines()[-1])['peak_mb']
    return (f"{'activation memory of a batch-128 step (peak RSS added)':<58} plain {res['plain']:7.1f}MB  "
            f"cached(16) {res['cached']:7.1f}MB  cached/plain {res['cached'] / res['plain']:.2f}  (goal <= 0.33)")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--texts', help='UTF-8 file, one text per line, to use instead of the bundled corpus')
    p.add_argument('--join', type=int, help='use texts of this many consecutive bundled sentences each (long texts)')
    p.add_argument('--compile', action='store_true', help='also time a step with compiled decoder layers')
    p.add_argument('--chunk', type=int, nargs='+', default=[32, 16], help='rows per length chunk in the real-lengths row (of 64 rows: '
                   '32 pairs, 2 views); several sizes, one line each')
    p.add_argument('--real-lengths-only', action='store_true', help='only the real-lengths row')
    p.add_argument('--memory-probe', choices=['plain', 'cached'])
    a = p.parse_args()
    global TEXTS
    TEXTS = ['--texts', a.texts] if a.texts else ['--join', str(a.join)] if a.join else []
    source = (f'{a.texts} ({len(use_texts(a.texts))} texts)' if a.texts else
              f'the bundled corpus, {a.join} sentences per text ({len(join_texts(a.join))} texts)' if a.join else 'the bundled corpus')
    if a.memory_probe: return memory_probe(a.memory_probe)
    print(f'CPU benchmark, torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {a.repeats} runs, texts from '
          f'{source}; ratio = reference time / ours', flush=True)
    if a.real_lengths_only: return print(bench_real_lengths(a.repeats, a.chunk), flush=True)
    for fn in (bench_collate, bench_encode, bench_step) + ((bench_step_compiled,) if a.compile else ()):
        print(fn(a.repeats), flush=True)
    print(bench_real_lengths(a.repeats, a.chunk), flush=True)
    print(bench_memory(), flush=True)
    print('\nwhere a training step goes (batch 32, LoRA, gradient checkpointing)\n' + breakdown(a.repeats), flush=True)


if __name__ == '__main__':
    main()
