"""The `#| cuda` checks of the lessons as one script, for a machine with a GPU but without the notebook tooling:
the tiny encoder in bf16 on the GPU (flash-attention 2 where installed, else sdpa) agrees with the fp32 CPU encoder, and a
SimCSE step with the cached loss runs on the GPU; encode with a float32 adapter on the bf16 model (autocast) agrees with llm2vec's
encode; compiled decoder layers replay their dropout masks from the same random state, with and without gradients."""
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
                                 attn_implementation='flash_attention_2', pooling_mode='mean', max_length=64).to('cuda')
fallback = [str(x.message) for x in w if 'cannot run here' in str(x.message)]
assert flash_attention_available() or len(fallback) == 1, fallback
e_gpu = gpu.encode(texts, show_progress_bar=False, device='cuda')
assert gpu.model.dtype == torch.bfloat16
cos = torch.nn.functional.cosine_similarity(e_gpu, e_cpu)
assert cos.min() > 0.98, cos.min()
print(f'encode on GPU ({gpu.model.config._attn_implementation}, bf16) vs CPU fp32: min cosine {cos.min():.4f}')

gpu.model = initialize_peft(gpu.model, lora_r=8, lora_alpha=16, verbose=False)
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
gpu.train()
torch.manual_seed(7)
with torch.no_grad(): first = gpu(feats[0])
torch.manual_seed(7); again = gpu(feats[0])
assert torch.equal(first, again.detach()), (first - again).abs().max()
again.float().sum().backward()
print('compiled layers: the pass with gradients reproduces the pass without, dropout on')
print('cuda checks passed')
