"""Where a 7B SimCSE step's GPU time goes (bg2vec path, batch 128 x 128, bf16, LoRA r 16, gradient checkpointing), and what
two kernel-level changes buy: fused RMSNorm (`torch.nn.functional.rms_norm`) and no attention mask for a batch without padding
(so that sdpa may pick its flash kernel). The current stack only: the decoder is built as `bench/gpu.py` builds it there
(`AutoModel.from_config` after `bg2vec.backbones.make_bidirectional`).

    python bench/gpu_profile.py [--small]"""
import statistics, sys, time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))
import gpu  # noqa: E402
from common import long_texts, pairs, sync, to_device  # noqa: E402
from bg2vec.collator import SimCSEDefaultCollator  # noqa: E402
from bg2vec.loss import load_loss  # noqa: E402
from bg2vec.cached import embed_views  # noqa: E402
from bg2vec.model import fuse_rms_norm  # noqa: E402

small = '--small' in sys.argv
device = 'cuda' if torch.cuda.is_available() else 'cpu'
ours, tok, n_params, attn = gpu.build(small, device, torch.bfloat16 if device == 'cuda' else torch.float32, legacy=False)
print(f'{n_params/1e9:.2f}B parameters, attention {attn}', flush=True)
n = 8 if small else 128
texts = long_texts(tok, n, 130)
feats = to_device(SimCSEDefaultCollator(ours.tokenize)(pairs(texts))[0], device)
loss_fn = load_loss('HardNegativeNLLLoss', scale=20.)
ours.train()


def step():
    loss = loss_fn(*embed_views(ours, feats)); loss.backward()
    for q in ours.parameters(): q.grad = None


def median(fn, n=3):
    fn(); ts = []
    for _ in range(n):
        sync(device); t0 = time.perf_counter(); fn(); sync(device); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


base = median(step)
print(f'step (forward + backward) {base:.3f}s', flush=True)
acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == 'cuda' else [])
with profile(activities=acts) as prof: step(); sync(device)
key = 'cuda_time_total' if device == 'cuda' else 'cpu_time_total'
print(prof.key_averages().table(sort_by=key, row_limit=18, max_name_column_width=60), flush=True)

def lora_layers():
    from peft.tuners.lora import LoraLayer
    return [m for m in ours.modules() if isinstance(m, LoraLayer)]

amp = torch.autocast(device, dtype=torch.bfloat16) if device == 'cuda' else torch.autocast('cpu', enabled=False)
for m in lora_layers(): m.cast_input_dtype_enabled = False   # fp32 LoRA weights, bf16 activations: no casting copies
def amp_step():
    with amp: step()
t_amp = median(amp_step)
print(f'autocast bf16, LoRA input casting off: {t_amp:.3f}s ({base / t_amp:.2f}x)', flush=True)

print(f'fused RMSNorm layers: {fuse_rms_norm(ours.model)}', flush=True)
t_rms = median(amp_step)
print(f'... and fused RMSNorm: {t_rms:.3f}s ({base / t_rms:.2f}x)', flush=True)
with profile(activities=acts) as prof: amp_step(); sync(device)
print(prof.key_averages().table(sort_by=key, row_limit=12, max_name_column_width=60), flush=True)
