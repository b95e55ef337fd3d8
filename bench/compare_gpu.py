"""The GPU benchmark's ratios against the goals, from the two JSONs `bench/gpu.py` writes: one from the legacy environment
(llm2vec's rows), one from the current stack (bg2vec's rows). Both must come from the same card and the same shape.

    python bench/compare_gpu.py LLM2VEC.json BG2VEC.json [--json OUT.json]"""
import argparse, json, sys
from pathlib import Path


def load(path, mode):
    d = json.loads(Path(path).read_text())
    if d.get('mode') != mode: raise SystemExit(f"{path}: mode {d.get('mode')!r}; expected {mode!r} (gpu.py run in the "
                                               f"{'legacy' if mode == 'llm2vec' else 'current'} environment)")
    return d


def agreement(ref, ours, ref_path, ours_path):
    "Min cosine between the two modes' embeddings of the untrained weights, or why there is none"
    if abs(ref['weights checksum'] - ours['weights checksum']) > 1e-4 * abs(ref['weights checksum']):
        return None, (f"the two modes built different random weights (embedding checksums {ref['weights checksum']:.6g} and "
                      f"{ours['weights checksum']:.6g})")
    paths = [Path(p).with_suffix('.embeddings.pt') for p in (ref_path, ours_path)]
    if not all(p.exists() for p in paths): return None, f'no saved embeddings ({", ".join(str(p) for p in paths)})'
    import torch
    a, b = (torch.load(p) for p in paths)
    return torch.nn.functional.cosine_similarity(a, b).min().item(), None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('llm2vec_json'); p.add_argument('bg2vec_json'); p.add_argument('--json')
    a = p.parse_args()
    ref, ours = load(a.llm2vec_json, 'llm2vec'), load(a.bg2vec_json, 'bg2vec')
    for k in ('device', 'params', 'batch', 'tokens_per_step'):
        if ref.get(k) != ours.get(k):
            print(f'warning: {k} differs ({ref.get(k)!r} in {a.llm2vec_json}, {ours.get(k)!r} in {a.bg2vec_json}); '
                  'the ratios compare unlike runs', file=sys.stderr)
    res, enc = {}, {**ref['encode'], **ours['encode']}
    res['step ratio (llm2vec / bg2vec)'] = ref['llm2vec path']['seconds'] / ours['bg2vec path']['seconds']
    print(f"training step ratio llm2vec / bg2vec: {res['step ratio (llm2vec / bg2vec)']:.2f}x (goal >= 1.3x; MFU goal >= 35%)")
    print(f"MFU: llm2vec {ref['llm2vec path']['mfu']*100:.1f}%, bg2vec {ours['bg2vec path']['mfu']*100:.1f}%")
    res['encode ratio'] = enc['bg2vec encode'] / enc['llm2vec encode']
    print(f"encode throughput ratio bg2vec / llm2vec: {res['encode ratio']:.2f}x (goal >= 2x)")
    if 'bg2vec path, compiled layers' in ours:
        res['step ratio, compiled layers'] = ref['llm2vec path']['seconds'] / ours['bg2vec path, compiled layers']['seconds']
        res['encode ratio, compiled layers'] = enc['bg2vec encode, compiled layers'] / enc['llm2vec encode']
        print(f"compiled layers: step ratio {res['step ratio, compiled layers']:.2f}x, MFU "
              f"{ours['bg2vec path, compiled layers']['mfu']*100:.1f}%, encode ratio {res['encode ratio, compiled layers']:.2f}x "
              f"(warm-ups incl. compilation: {', '.join(f'{v:.0f} s' for v in ours['compile warm-up seconds'].values())})")
    real_ref, real = ref['real lengths'], ours['real lengths']
    base = real_ref['llm2vec path']['real_tokens_per_s']
    for k, v in real.items():
        if k.startswith('bg2vec'): print(f"real lengths, {k:<26} {v['real_tokens_per_s'] / base:5.2f}x llm2vec's real tokens/s")
    best = max((k for k in real if k.startswith('bg2vec')), key=lambda k: real[k]['real_tokens_per_s'])
    res['real lengths best ratio (real tokens/s, bg2vec / llm2vec)'] = real[best]['real_tokens_per_s'] / base
    print(f"real lengths: {best} at {res['real lengths best ratio (real tokens/s, bg2vec / llm2vec)']:.2f}x llm2vec's real "
          "tokens/s (goal >= 2.5x)")
    cos, why = agreement(ref, ours, a.llm2vec_json, a.bg2vec_json)
    res['encode min cosine vs llm2vec'] = cos
    print(f'encode agreement with llm2vec (untrained weights, {ours.get("device")}): ' +
          (f'min cosine {cos:.4f}' if why is None else f'not measured: {why}'))
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == '__main__':
    main()
