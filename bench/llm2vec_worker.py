"""llm2vec's code path, timed in the legacy environment (transformers 4.44.2 + llm2vec 0.2.3, `make test-llm2vec` builds it).

`bench/cpu.py` starts this script with that environment's Python and talks to it over stdin/stdout, one JSON object a line:
it sends an operation and its texts, the worker runs it once with llm2vec's own classes and answers the seconds it took,
measured here, so the pipe is not counted. The two processes never compute at the same time: the main process waits for each
answer, and runs its own path between them.

The reference is llm2vec's own SimCSE path: `LLM2Vec.tokenize`, `LLM2Vec.encode`, `llm2vec.loss.HardNegativeNLLLoss`, and the
`DefaultCollator` and `SimCSETrainer.compute_loss` of llm2vec's `experiments/run_simcse.py` (not part of the pip package; its two
small pieces are restated in `common.py`, behaviour for behaviour)."""
import json, sys, time
from pathlib import Path

import torch
from llm2vec import LLM2Vec
from llm2vec.dataset.dataset import TrainSample
from llm2vec.loss.utils import load_loss

sys.path.insert(0, str(Path(__file__).parent))
from common import ReferenceCollator, reference_loss  # noqa: E402


def pairs(texts): return [TrainSample(texts=[t, t], label=1.0) for t in texts]


def load(folder, max_length, dropout=0.0, lora=False):
    torch.manual_seed(0)
    m = LLM2Vec.from_pretrained(folder, enable_bidirectional=True, pooling_mode='mean', max_length=max_length,
                                attention_dropout=dropout)
    if lora:
        from peft import LoraConfig, get_peft_model
        m.model = get_peft_model(m.model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, bias='none', task_type=None,
                                                     target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj',
                                                                     'up_proj', 'down_proj']))
        m.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={'use_reentrant': False})
    return m


def legacy_folder(folder) -> str:
    "A copy of `folder` with the tokenizer rebuilt here: tokenizers 0.19 cannot read tokenizer.json written by 0.23"
    import shutil, tempfile
    from pathlib import Path
    from bg2vec.tiny import TINY_RECIPE, train_tokenizer
    from bg2vec.assets import read_corpus
    out = tempfile.mkdtemp(prefix='bg2vec-legacy-')
    for p in Path(folder).iterdir():
        if p.is_file() and not p.name.startswith(('tokenizer', 'special_tokens')): shutil.copy(p, out)
    train_tokenizer(read_corpus(), TINY_RECIPE['vocab_size']).save_pretrained(out)   # deterministic: the same ids
    return out


def main():
    folder, max_length = legacy_folder(sys.argv[1]), int(sys.argv[2])
    plain, train = load(folder, max_length), load(folder, max_length, dropout=0.1, lora=True)
    train.train()
    opt = torch.optim.AdamW([p for p in train.parameters() if p.requires_grad], lr=1e-4)
    loss_fn = load_loss('HardNegativeNLLLoss', scale=20.)
    collate, train_collate = ReferenceCollator(plain), ReferenceCollator(train)

    def step(texts):
        feats, _ = train_collate(pairs(texts))
        loss = reference_loss(train, feats, loss_fn); loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    ops = {'collate': lambda m: [collate(pairs(m['texts'])) for _ in range(m.get('n', 1))],
           'encode': lambda m: plain.encode(m['texts'], batch_size=m['batch_size'], show_progress_bar=False),
           'step': lambda m: step(m['texts'])}
    print(json.dumps({'ready': True, 'torch_threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        msg = json.loads(line)
        t0 = time.perf_counter(); out = ops[msg['op']](msg); dt = time.perf_counter() - t0
        reply = {'seconds': dt}
        if msg['op'] == 'encode' and msg.get('return'): reply['embeddings'] = out.tolist()
        print(json.dumps(reply), flush=True)


if __name__ == '__main__':
    main()
