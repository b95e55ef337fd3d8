"""The `#| cuda` checks of the lessons as one script, for a machine with a GPU but without the notebook tooling:
the tiny encoder in bf16 on the GPU (flash-attention 2 where installed, else sdpa) agrees with the fp32 CPU encoder, and a
SimCSE step with the cached loss runs on the GPU; encode with a float32 adapter on the bf16 model (autocast) agrees with the same
weights in float32; compiled decoder layers replay their dropout masks from the same random state, with and without gradients
(judged against the gap between two seeds, since bf16 graphs fused differently round differently), and the cached loss through
them gives the plain step's gradients within bf16 tolerance; every tiny backbone of `bg2vec.tiny.TINY_BACKBONES` (Gemma-2 on the
eager kernel for its soft-cap, Gemma-3 as the vision-language checkpoint BgGPT 3.0 ships, its language model kept) reads both
ways and encodes in bf16 as in fp32 on the CPU; and a batch forwarded in length chunks gives the one-pass embeddings.
(The comparison with llm2vec itself runs in its own environment on the CPU: nbs/95_llm2vec.ipynb.)"""
import copy, sys, warnings

import torch

from bg2vec.collator import SimCSEDefaultCollator
from bg2vec.data import TrainSample
from bg2vec.loss import load_loss
from bg2vec.model import Bg2Vec, compile_layers, flash_attention_available, initialize_peft
from bg2vec.tiny import TINY_BACKBONES, tiny_adapter, save_tiny_backbone, save_tiny_model
from bg2vec.assets import read_corpus
from bg2vec.cached import cached_step, embed_views
from bg2vec.test_utils import first_position_shift

if not torch.cuda.is_available(): sys.exit('cuda_check.py: no GPU (torch.cuda.is_available() is False); these checks need one')

tiny, mntp = save_tiny_model(progress=False), tiny_adapter()
texts = read_corpus()[:64]
cpu = Bg2Vec.from_pretrained(tiny, peft_model_name_or_path=mntp, merge_peft=True, pooling_mode='mean', max_length=64)
e_cpu = cpu.encode(texts, show_progress_bar=False, device='cpu')
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter('always')
    gpu = Bg2Vec.from_pretrained(tiny, peft_model_name_or_path=mntp, merge_peft=True, torch_dtype='bfloat16',
                                 attn_implementation='flash_attention_2', pooling_mode='mean', max_length=64,
                                 attention_dropout=0.3).to('cuda')   # SimCSE's noise: without it no replay check can fail
fallback = [str(x.message) for x in w if 'cannot run here' in str(x.message)]
assert flash_attention_available() or len(fallback) == 1, fallback
e_gpu = gpu.encode(texts, show_progress_bar=False, device='cuda')
assert gpu.model.dtype == torch.bfloat16
cos = torch.nn.functional.cosine_similarity(e_gpu, e_cpu)
assert cos.min() > 0.98, cos.min()
print(f'encode on GPU ({gpu.model.config._attn_implementation}, bf16) vs CPU fp32: min cosine {cos.min():.4f}')

gpu.model = initialize_peft(gpu.model, lora_r=8, lora_alpha=16, lora_dropout=0.1, verbose=False)
gpu.train()
feats, _ = SimCSEDefaultCollator(gpu.tokenize)([TrainSample(texts=[t, t], label=1.) for t in texts[:32]])
feats = [{k: v.cuda() for k, v in f.items()} for f in feats]
loss_fn = load_loss('HardNegativeNLLLoss', scale=20.)
plain = loss_fn(*embed_views(gpu, feats)); plain.backward()
cached = cached_step(gpu, feats, loss_fn, 8)
assert torch.isfinite(plain) and torch.isfinite(cached)
print(f'SimCSE step on GPU: plain loss {plain.item():.3f}, cached loss {cached.item():.3f}')
with torch.no_grad():   # a trained-looking adapter
    for n, p in gpu.model.named_parameters():
        if 'lora_B' in n: p.normal_(std=0.02)
f32 = copy.deepcopy(gpu).float()   # the same base and adapter weights, all in float32
cos = torch.nn.functional.cosine_similarity(gpu.encode(texts, show_progress_bar=False, device='cuda'),
                                            f32.encode(texts, show_progress_bar=False, device='cuda'))
assert cos.min() > 0.98, cos.min()
print(f'encode with a float32 adapter on the bf16 model (autocast) vs all float32: min cosine {cos.min():.4f}')
del f32
print(f'compiled decoder layers: {compile_layers(gpu.model)}')

def lora_grads():
    return {n: p.grad.detach().float().clone() for n, p in gpu.model.named_parameters() if p.grad is not None}

# 1. dropout is really on, and a pass with gradients replays the masks of the pass without, from the same random state.
#    In bf16 the two passes are differently fused graphs and differ by rounding (about one bf16 ulp, ~0.03 on values near 4),
#    so the replay is judged against the gap between two *different* seeds, which is what a wrong mask would produce.
gpu.train()
torch.manual_seed(7)
with torch.no_grad(): first = gpu(feats[0]).float()
torch.manual_seed(7); again = gpu(feats[0])
torch.manual_seed(8)
with torch.no_grad(): other = gpu(feats[0]).float()
same_gap, seed_gap = (first - again.detach().float()).abs().max().item(), (first - other).abs().max().item()
assert seed_gap > 0.1, f'dropout draws no noise (two seeds differ by {seed_gap})'
assert same_gap < seed_gap / 5, (same_gap, seed_gap)
again.float().sum().backward(); gpu.zero_grad(set_to_none=True)
print(f'compiled layers, dropout on: same seed with/without gradients differ by {same_gap:.4f}, two seeds by {seed_gap:.4f}')

# 2. the cached loss through compiled layers gives the plain step's LoRA gradients, within bf16 tolerance (dropout off: eval mode)
gpu.eval()
plain = loss_fn(*embed_views(gpu, feats)); plain.backward(); g_plain = lora_grads(); gpu.zero_grad(set_to_none=True)
cached = cached_step(gpu, feats, loss_fn, 8); g_cached = lora_grads(); gpu.zero_grad(set_to_none=True)
worst = max(((g_plain[k] - g_cached[k]).abs().max() / g_plain[k].abs().max().clamp(min=1e-8)).item() for k in g_plain)
assert abs(plain.item() - cached.item()) < 2e-2 * max(1., abs(plain.item())), (plain.item(), cached.item())
assert worst < 5e-2, worst
print(f'compiled layers, cached loss vs plain step: loss {plain.item():.4f} vs {cached.item():.4f}, '
      f'largest relative LoRA gradient difference {worst:.2e}')
# 3. every tiny backbone on the GPU, bf16: Gemma-2 loaded on the eager kernel for its soft-cap, Gemma-3 from its vision-language
#    checkpoint (only the language model kept); each reads both ways and encodes as its fp32 CPU twin does
for mt in TINY_BACKBONES:
    folder = str(save_tiny_backbone(mt))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref = Bg2Vec.from_pretrained(folder, pooling_mode='mean', max_length=64, torch_dtype='float32')
        dev = Bg2Vec.from_pretrained(folder, pooling_mode='mean', max_length=64, torch_dtype='bfloat16',
                                     attn_implementation='sdpa').to('cuda')
    kernel = dev.model.config._attn_implementation
    assert (mt != 'gemma2') or kernel == 'eager', (mt, kernel)
    assert mt != 'gemma3' or type(dev.model).__name__ == 'Gemma3TextModel', type(dev.model).__name__
    assert dev.model.dtype == torch.bfloat16, (mt, dev.model.dtype)
    shift = first_position_shift(dev, texts[0])
    cos = torch.nn.functional.cosine_similarity(dev.encode(texts, show_progress_bar=False, device='cuda'),
                                                ref.encode(texts, show_progress_bar=False, device='cpu'))
    assert shift > 0 and cos.min() > 0.98, (mt, shift, cos.min())
    print(f'{mt} on GPU ({kernel}, bf16): first-token shift {shift:.3f}, min cosine vs CPU fp32 {cos.min():.4f}')
    del ref, dev

# 4. a random batch forwarded in length chunks gives the one-pass embeddings on the GPU too (dropout off)
eager = Bg2Vec.from_pretrained(tiny, peft_model_name_or_path=mntp, merge_peft=True, torch_dtype='bfloat16', pooling_mode='mean',
                               max_length=64).to('cuda').eval()
with torch.no_grad():
    one = torch.cat(embed_views(eager, feats)).float()
    chunked = torch.cat(embed_views(eager, feats, chunk_size=16)).float()
cos = torch.nn.functional.cosine_similarity(one, chunked)
assert cos.min() > 0.998, cos.min()
print(f'length chunks of 16 rows vs one pass (bf16, eval): min cosine {cos.min():.5f}')
print('cuda checks passed')
