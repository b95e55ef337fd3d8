"""GPU benchmark: a Mistral-7B-shaped encoder with random weights (no download), bf16, LoRA r 16, batch 128 x 128 tokens,
gradient checkpointing; plain and cached loss, and encode throughput. Then "real lengths": one batch whose token lengths follow
the bundled corpus' sentence lengths scaled to 10-128 tokens, in real (non-pad) tokens per second, in one pass and in chunks of
rows of similar length (`--length_chunk_size`).

llm2vec cannot be imported on the current stack, so the reference runs in its own environment (transformers 4.44.2 + llm2vec
0.2.3, constraints-llm2vec.txt) and the script has two modes, chosen by what it can import:
  * current stack: bg2vec's rows only (plain, cached, encode, real lengths, compiled layers), the decoder built with
    `AutoModel.from_config` after `bg2vec.backbones.make_bidirectional` (transformers' `is_causal=False`);
  * legacy environment (llm2vec importable): llm2vec's rows only (`MistralBiModel`, `LLM2Vec`, its loss, and its
    `DefaultCollator` and `compute_loss` restated in `common.py`), the same shape and seed.
Each writes its JSON; `python bench/compare_gpu.py LEGACY.json CURRENT.json` prints the ratios against the goals.

    python bench/gpu.py [--steps 3] [--json OUT.json]      # on one GPU, a few minutes
    python bench/gpu.py --small                            # a tiny shape, to check the script anywhere
    python bench/gpu.py --no-compile                       # without the rows for compiled decoder layers
    python bench/gpu.py --real_steps 2 --length_chunks 64 32   # the real-lengths rows (these are the defaults)

MFU counts 4 N FLOPs per token (N = parameters of the base model; forward 2N + backward through activations 2N, the LoRA
weight gradients being negligible), as the performance issue asks, against the card's dense bf16 peak."""
import argparse, importlib.util, json, statistics, sys, time
from pathlib import Path

import torch
from transformers import MistralConfig

try:   # the legacy environment; on transformers 5 llm2vec fails at import
    from llm2vec import LLM2Vec
    LEGACY = True
except Exception:
    LEGACY = False

sys.path.insert(0, str(Path(__file__).parent))
from common import ReferenceCollator, length_mix, long_texts, pairs, positions, reference_loss, sentences, sync, to_device  # noqa: E402
from bg2vec.collator import SimCSEDefaultCollator  # noqa: E402
from bg2vec.loss import load_loss  # noqa: E402
from bg2vec.model import Bg2Vec, compile_layers, fuse_rms_norm, initialize_peft  # noqa: E402
from peft.helpers import disable_input_dtype_casting  # noqa: E402
from bg2vec.tiny import train_tokenizer  # noqa: E402
from bg2vec.assets import read_corpus
from bg2vec.cached import cached_step, embed_views  # noqa: E402

PEAK_BF16 = {'H100': 989e12, 'H200': 989e12, 'A100': 312e12}
N_AGREE = 16   # sentences whose embeddings (before any training step) each mode saves, for compare_gpu.py's agreement check


def peak_flops():
    if not torch.cuda.is_available(): return float('nan')
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16.items() if k in name), float('nan'))


def build(small, device, dtype, legacy=LEGACY):
    "The encoder (`Bg2Vec`, or `LLM2Vec` with `legacy`), its tokenizer, the base model's parameter count and the attention kernel"
    cfg = MistralConfig(vocab_size=38000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=32768, rope_theta=1e6,
                        attention_dropout=0.3)
    if small:
        cfg.update(dict(hidden_size=256, intermediate_size=688, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2))
    attn = 'flash_attention_2' if (importlib.util.find_spec('flash_attn') and device == 'cuda') else 'sdpa'
    cfg._attn_implementation = attn
    cfg.use_cache = False
    torch.manual_seed(0)
    old = torch.get_default_dtype(); torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            if legacy:
                from llm2vec.models import MistralBiModel
                base = MistralBiModel(cfg)
            else:
                from transformers import AutoModel
                from bg2vec.backbones import make_bidirectional
                base = AutoModel.from_config(make_bidirectional(cfg), attn_implementation=attn)
    finally: torch.set_default_dtype(old)
    n_params = sum(p.numel() for p in base.parameters())
    tok = train_tokenizer(read_corpus())
    tok.pad_token, tok.padding_side = tok.eos_token, 'left'
    model = initialize_peft(base, lora_r=16, lora_alpha=32, lora_dropout=0.05, verbose=False)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
    cls = LLM2Vec if legacy else Bg2Vec
    return cls(model=model, tokenizer=tok, pooling_mode='mean', max_length=128), tok, n_params, attn


def weights_checksum(model) -> float:
    "Sum of the absolute input embeddings: equal in both modes when both built the same random weights"
    emb = next(p for n, p in model.named_parameters() if 'embed_tokens' in n)
    return emb.detach().float().abs().sum().item()


WARMUP = {}

def measure(step, steps, device, name=''):
    "Median seconds of `step()` after one warm-up (its time kept in WARMUP), and the peak memory it allocated (GiB)"
    t0 = time.perf_counter(); step(); sync(device); WARMUP[name] = time.perf_counter() - t0
    if device == 'cuda': torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        sync(device); t0 = time.perf_counter(); step(); sync(device); times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == 'cuda' else float('nan')
    return statistics.median(times), peak


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--small', action='store_true')
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--mini', type=int, default=32, help='cached loss mini-batch')
    p.add_argument('--encode_n', type=int, default=2048)
    p.add_argument('--no-compile', dest='compile', action='store_false', help='skip the compiled-layer rows')
    p.add_argument('--real_steps', type=int, default=2, help='timed steps of each real-lengths row (after one warm-up)')
    p.add_argument('--length_chunks', type=int, nargs='*', default=[64, 32], help='rows per length chunk, one row each')
    p.add_argument('--json')
    a = p.parse_args()
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dtype = torch.bfloat16 if device == 'cuda' else torch.float32
    mode = 'llm2vec' if LEGACY else 'bg2vec'
    t0 = time.time()
    enc_model, tok, n_params, attn = build(a.small, device, dtype)
    import transformers
    print(f'{mode} mode: {torch.cuda.get_device_name() if device == "cuda" else "cpu"}, torch {torch.__version__}, '
          f'transformers {transformers.__version__}, attention {attn}, {n_params/1e9:.2f}B parameters, '
          f'built in {time.time()-t0:.0f}s', flush=True)
    texts = long_texts(tok, 4 * a.batch, 130)
    if LEGACY:
        from llm2vec.loss.utils import load_loss as llm2vec_load_loss
        loss_fn = llm2vec_load_loss('HardNegativeNLLLoss', scale=20.)
        collate = ReferenceCollator(enc_model)
    else:
        loss_fn = load_loss('HardNegativeNLLLoss', scale=20.)
        collate = SimCSEDefaultCollator(enc_model.tokenize)
    opt = torch.optim.AdamW([q for q in enc_model.parameters() if q.requires_grad], lr=1e-5)
    it = {'i': 0}

    def batch():
        it['i'] = (it['i'] + a.batch) % (len(texts) - a.batch + 1)
        return pairs(texts[it['i']:it['i'] + a.batch])

    def finish(loss):
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)

    # llm2vec's path as its SimCSETrainer runs it: one forward per view, LoRA inputs cast to float32 by peft
    def step_ref(samples=None):
        feats, _ = collate(samples or batch()); finish(reference_loss(enc_model, to_device(feats, device), loss_fn))

    # ours as SimCSETrainer runs it with bf16=True: autocast, LoRA input casts off (and the norms fused, below)
    amp = torch.autocast(device, dtype=torch.bfloat16, enabled=device == 'cuda')

    def step_ours(samples=None, chunk=None):
        feats, _ = collate(samples or batch())
        with amp, disable_input_dtype_casting(enc_model, active=device == 'cuda'):
            finish(loss_fn(*embed_views(enc_model, to_device(feats, device), chunk_size=chunk)))

    def step_cached():
        feats, _ = collate(batch())
        with amp, disable_input_dtype_casting(enc_model, active=device == 'cuda'):
            cached_step(enc_model, to_device(feats, device), loss_fn, a.mini)
        opt.step(); opt.zero_grad(set_to_none=True)

    # real lengths: one fixed batch, so that every path (and both modes) sees the same tokens
    mix = pairs(length_mix(tok, texts, a.batch))
    # counted with bg2vec's collator in both modes (the positions a one-pass step computes), so both JSONs hold the same counts
    counter = Bg2Vec(model=enc_model.model, tokenizer=tok, pooling_mode='mean', max_length=128)
    mix_feats = SimCSEDefaultCollator(counter.tokenize)(mix)[0]
    mix_real = 2 * int(mix_feats[0]['attention_mask'].sum())
    n_tok = sum(int(f['attention_mask'].sum()) for f in collate(batch())[0])   # real tokens per step, both views
    sents = sentences(a.encode_n)
    res = {'mode': mode, 'transformers': transformers.__version__, 'weights checksum': weights_checksum(enc_model)}
    peak, enc = peak_flops(), {}
    agree_path = Path(a.json).with_suffix('.embeddings.pt') if a.json else None

    def save():   # after every measurement, so that a run cut short by a time limit still leaves its figures
        if a.json: Path(a.json).write_text(json.dumps({**res, 'encode': enc, 'warm-up seconds': WARMUP}, indent=1))

    def run_step(name, fn):
        enc_model.train()
        t, mem = measure(fn, a.steps, device, name)
        res[name] = dict(seconds=t, tokens_per_s=n_tok / t, mfu=4 * n_params * n_tok / t / peak, peak_gib=mem)
        print(f"{name:<32} {t:7.3f} s/step  {n_tok/t:9.0f} tok/s  MFU {res[name]['mfu']*100:5.1f}%  peak {mem:6.1f} GiB",
              flush=True)
        save()

    real = res.setdefault('real lengths', {'batch': a.batch, 'real_tokens': mix_real, 'positions_one_pass': positions(mix_feats),
                                           'lengths 10/50/90/max': [int(mix_feats[0]['attention_mask'].sum(1).float().quantile(q))
                                                                     for q in (.1, .5, .9, 1.)]})

    def run_real(name, fn, chunk=None):
        enc_model.train()
        t, mem = measure(fn, a.real_steps, device, name)
        pos = positions(mix_feats, chunk)
        real[name] = dict(seconds=t, real_tokens_per_s=mix_real / t, positions=pos, padding=1 - mix_real / pos,
                          mfu_real_tokens=4 * n_params * mix_real / t / peak, peak_gib=mem)
        print(f"real lengths, {name:<26} {t:7.3f} s/step  {mix_real/t:9.0f} real tok/s  padding "
              f"{real[name]['padding']:4.0%}  MFU(real) {real[name]['mfu_real_tokens']*100:5.1f}%  peak {mem:6.1f} GiB", flush=True)
        save()

    def run_encode(name):
        enc_model.eval()
        t0 = time.perf_counter(); enc_model.encode(sents[:256], batch_size=128, show_progress_bar=False, device=device)
        first = time.perf_counter() - t0
        t, _ = measure(lambda: enc_model.encode(sents, batch_size=128, show_progress_bar=False, device=device), a.steps, device, name)
        WARMUP[name] = first
        enc[name] = a.encode_n / t
        print(f'{name:<32} {enc[name]:9.0f} sentences/s', flush=True)
        save()
        return enc_model.encode(sents[:64], show_progress_bar=False, device=device)

    # embeddings of the untrained weights (LoRA B is zero): the same in both modes, up to bf16 kernels
    enc_model.eval()
    first = enc_model.encode(sents[:N_AGREE], show_progress_bar=False, device=device).float().cpu()
    if agree_path: torch.save(first, agree_path)
    print(f"real-lengths batch: {a.batch} pairs, {mix_real} real tokens (both views) of {real['positions_one_pass']} positions; "
          f"lengths at 10/50/90%/max {real['lengths 10/50/90/max']}", flush=True)
    if LEGACY:   # the norms stay unfused: llm2vec's own code path
        run_step('llm2vec path', step_ref)
        run_encode('llm2vec encode')
        run_real('llm2vec path', lambda: step_ref(mix))
    else:
        print(f'fused RMSNorm layers: {fuse_rms_norm(enc_model.model)}', flush=True)
        run_step('bg2vec path', step_ours)
        run_step(f'bg2vec cached loss (mini {a.mini})', step_cached)
        e_ours = run_encode('bg2vec encode')
        run_real('bg2vec, one pass', lambda: step_ours(mix))
        for c in a.length_chunks: run_real(f'bg2vec, chunks of {c} rows', lambda c=c: step_ours(mix, c), c)
        if a.compile:   # regional compilation (`--compile_layers true`): the same weights, decoder layers compiled in place
            print(f'compiled decoder layers: {compile_layers(enc_model.model)}', flush=True)
            run_step('bg2vec path, compiled layers', step_ours)
            e_comp = run_encode('bg2vec encode, compiled layers')
            res['compile warm-up seconds'] = {k: WARMUP[k] for k in ('bg2vec path, compiled layers', 'bg2vec encode, compiled layers')}
            res['encode min cosine compiled vs eager'] = torch.nn.functional.cosine_similarity(e_comp, e_ours).min().item()
            print(f"compiled layers: MFU {res['bg2vec path, compiled layers']['mfu']*100:.1f}%, encode min cosine vs eager "
                  f"{res['encode min cosine compiled vs eager']:.4f} (warm-ups incl. compilation: "
                  f"{', '.join(f'{v:.0f} s' for v in res['compile warm-up seconds'].values())})")
    res['encode'] = enc
    res.update(device=torch.cuda.get_device_name() if device == 'cuda' else 'cpu', attention=attn, params=n_params,
               tokens_per_step=n_tok, batch=a.batch, steps=a.steps, embeddings=agree_path.name if agree_path else None)
    print(json.dumps({**res, 'warm-up seconds': WARMUP}, indent=1))
    save()


if __name__ == '__main__':
    main()
