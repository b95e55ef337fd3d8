"""The `#| cuda` checks of the lessons as one script, for a machine with a GPU but without the notebook tooling:
the tiny encoder in bf16 on the GPU (flash-attention 2 where installed, else sdpa) agrees with the fp32 CPU encoder, and a
SimCSE step with the cached loss runs on the GPU; encode with a float32 adapter on the bf16 model (autocast) agrees with llm2vec's
encode; compiled decoder layers replay their dropout masks from the same random state, with and without gradients (judged
against the gap between two seeds, since bf16 graphs fused differently round differently), and the cached loss through them
gives the plain step's gradients within bf16 tolerance; the tiny Gemma-2 (eager, for its soft-cap) and Qwen2 read both ways
and encode in bf16 as in fp32 on the CPU; and a batch forwarded in length chunks gives the one-pass embeddings."""
import warnings

import torch

from bg2vec.collator import SimCSEDefaultCollator
from bg2vec.loss import load_loss
from bg2vec.model import Bg2Vec, compile_layers, flash_attention_available, initialize_peft
from bg2vec.tiny import read_corpus, save_tiny_adapter, save_tiny_model
from bg2vec.cached import cached_step, embed_views
from llm2vec import LLM2Vec
from llm2vec.dataset.dataset import TrainSample

assert torch.cuda.is_available(), 'no GPU'
tiny, mntp = save_tiny_model(progress=False), save_tiny_adapter(progress=False)
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
ref = LLM2Vec(model=gpu.model, tokenizer=gpu.tokenizer, pooling_mode='mean', max_length=64)
cos = torch.nn.functional.cosine_similarity(gpu.encode(texts, show_progress_bar=False, device='cuda'),
                                            ref.encode(texts, show_progress_bar=False, device='cuda'))
assert cos.min() > 0.99, cos.min()
print(f'encode with a float32 adapter on the bf16 model (autocast) vs llm2vec encode: min cosine {cos.min():.4f}')
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
# 3. the other backbones on the GPU, bf16: Gemma-2 (loaded on the eager kernel for its soft-cap) and the fixed Qwen2 read both ways
#    and encode as their fp32 CPU twins do
from bg2vec.test_utils import first_position_shift
from bg2vec.tiny import save_tiny_backbone
for mt in ('gemma2', 'qwen2'):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ref = Bg2Vec.from_pretrained(str(save_tiny_backbone(mt)), pooling_mode='mean', max_length=64, torch_dtype='float32')
        dev = Bg2Vec.from_pretrained(str(save_tiny_backbone(mt)), pooling_mode='mean', max_length=64, torch_dtype='bfloat16',
                                     attn_implementation='sdpa').to('cuda')
    assert (mt != 'gemma2') or dev.model.config._attn_implementation == 'eager', dev.model.config._attn_implementation
    shift = first_position_shift(dev, texts[0])
    cos = torch.nn.functional.cosine_similarity(dev.encode(texts, show_progress_bar=False, device='cuda'),
                                                ref.encode(texts, show_progress_bar=False, device='cpu'))
    assert shift > 0 and cos.min() > 0.98, (mt, shift, cos.min())
    print(f'{mt} on GPU ({dev.model.config._attn_implementation}, bf16): first-token shift {shift:.3f}, min cosine vs CPU fp32 {cos.min():.4f}')

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
