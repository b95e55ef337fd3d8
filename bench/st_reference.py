"""The reference a user would reach for today: sentence-transformers' own `SentenceTransformerTrainer` with
`MultipleNegativesRankingLoss` (and `CachedMultipleNegativesRankingLoss` for the cached loss), on the same bidirectional
model, the same attention dropout, the same LoRA and the same batches as bg2vec's `SimCSETrainer`.

Both trainers run whole `train()` calls of a few steps, alternately; a callback times each optimiser step (collation, forward,
backward and update: all that differs between them) and the medians of the steps after the first of each call are compared.

    python bench/st_reference.py [--repeats N] [--steps K] [--batch B] [--mini M]        # or through bench/cpu.py"""
import argparse, json, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import TrainerCallback

sys.path.insert(0, str(Path(__file__).parent))
from common import sentences  # noqa: E402


class StepTimes(TrainerCallback):
    "Seconds of each optimiser step of a `train()` call"
    def __init__(self): self.times, self._t = [], None
    def on_step_begin(self, args, state, control, **kw): self._t = time.perf_counter()
    def on_step_end(self, args, state, control, **kw): self.times.append(time.perf_counter() - self._t)


def encoder_folder(dropout=0.1, max_length=64) -> str:
    "The embedded default (tiny model, MNTP merged) saved as a sentence-transformers folder with SimCSE's attention dropout"
    from bg2vec.export import export_sentence_transformers
    from bg2vec.model import Bg2Vec
    from bg2vec.tiny import tiny_adapter, save_tiny_model
    out = tempfile.mkdtemp(prefix='bg2vec-bench-')
    enc = Bg2Vec.from_pretrained(str(save_tiny_model(progress=False)), peft_model_name_or_path=str(tiny_adapter()),
                                 merge_peft=True, pooling_mode='mean', max_length=max_length, attention_dropout=dropout)
    enc.save(out)
    export_sentence_transformers(out)
    return out


def _args(out, batch, steps, **kw):
    from transformers import TrainingArguments
    return dict(output_dir=out, per_device_train_batch_size=batch, max_steps=steps, learning_rate=1e-4, lr_scheduler_type='constant',
                logging_strategy='no', save_strategy='no', report_to='none', disable_tqdm=True, dataloader_drop_last=True,
                gradient_checkpointing=True, gradient_checkpointing_kwargs={'use_reentrant': False}, seed=0,
                remove_unused_columns=False, use_cpu=not torch.cuda.is_available(), **kw)


def ours_trainer(folder, texts, batch, steps, mini=None, lora_r=8):
    "bg2vec's `SimCSETrainer` on `folder` with a fresh LoRA adapter"
    from transformers import TrainingArguments
    from bg2vec.collator import SimCSEDefaultCollator
    from bg2vec.data import PairedDataset
    from bg2vec.loss import load_loss
    from bg2vec.model import Bg2Vec, initialize_peft
    from bg2vec.training import SimCSETrainer
    torch.manual_seed(0)
    enc = Bg2Vec.from_pretrained(folder)
    enc.model = initialize_peft(enc.model, lora_r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.05, verbose=False)
    times = StepTimes()
    tr = SimCSETrainer(model=enc, args=TrainingArguments(**_args(tempfile.mkdtemp(), batch, steps)),
                       train_dataset=PairedDataset(Dataset.from_dict({'text': texts})), data_collator=SimCSEDefaultCollator(enc.tokenize),
                       loss_function=load_loss('HardNegativeNLLLoss', scale=20.), cached_mini_batch_size=mini, callbacks=[times])
    return tr, times


def st_trainer(folder, texts, batch, steps, mini=None, lora_r=8):
    "sentence-transformers' `SentenceTransformerTrainer` with (Cached)MultipleNegativesRankingLoss on `folder`, same LoRA"
    from peft import LoraConfig
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss
    from bg2vec.model import LORA_MODULES
    torch.manual_seed(0)
    model = SentenceTransformer(folder, device='cpu' if not torch.cuda.is_available() else None)
    model.add_adapter(LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.05, target_modules=LORA_MODULES, bias='none'))
    loss = CachedMultipleNegativesRankingLoss(model, scale=20., mini_batch_size=mini) if mini else MultipleNegativesRankingLoss(model, scale=20.)
    times = StepTimes()
    tr = SentenceTransformerTrainer(model=model, args=SentenceTransformerTrainingArguments(**_args(tempfile.mkdtemp(), batch, steps)),
                                    train_dataset=Dataset.from_dict({'anchor': texts, 'positive': texts}), loss=loss, callbacks=[times])
    return tr, times


def compare(repeats=5, steps=4, batch=32, mini=None):
    "Median step seconds of (ours, sentence-transformers'), from `repeats` alternating `train()` calls of `steps` steps"
    folder = encoder_folder()
    texts = sentences(batch * steps, offset=600)
    (ours, t_ours), (ref, t_ref) = ours_trainer(folder, texts, batch, steps, mini), st_trainer(folder, texts, batch, steps, mini)
    o, r = [], []
    for i in range(repeats + 1):                          # the first call of each warms up
        for tr, times, acc in ((ref, t_ref, r), (ours, t_ours, o)):
            times.times = []; tr.train()
            if i: acc += times.times[1:]
    return statistics.median(o), statistics.median(r)


def memory_probe(kind, batch=128, mini=16):
    "In a fresh process: peak resident memory one cached step adds (MB), ours or sentence-transformers'"
    from bg2vec.cached import PeakMemory
    torch.set_num_threads(1)
    folder = encoder_folder()
    texts = sentences(batch * 2, offset=900)
    tr, _ = (ours_trainer if kind == 'ours' else st_trainer)(folder, texts, batch, 2, mini)
    tr.args.max_steps = 1
    small = sentences(4, offset=900)                      # lazy initialisation first, on a tiny batch
    with PeakMemory('cpu') as peak: tr.train()
    print(json.dumps({'kind': kind, 'peak_mb': peak.metrics['train_peak_cpu_memory_added_mb']}))


def memory(mini=16):
    "Peak resident memory added by one batch-128 cached step: ours and sentence-transformers', each in a fresh process"
    res = {}
    for kind in ('ours', 'st'):
        out = subprocess.run([sys.executable, __file__, '--memory-probe', kind, '--mini', str(mini)], capture_output=True, text=True,
                             check=True)
        res[kind] = json.loads(out.stdout.strip().splitlines()[-1])['peak_mb']
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--steps', type=int, default=4)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--mini', type=int, default=8)
    p.add_argument('--memory-probe', choices=['ours', 'st'])
    a = p.parse_args()
    if a.memory_probe: return memory_probe(a.memory_probe, mini=a.mini)
    from common import row
    o, r = compare(a.repeats, a.steps, a.batch)
    print(row(f'SimCSE step vs SentenceTransformerTrainer + MNRL, batch {a.batch}', o, r, '>= 1.0x'), flush=True)
    o, r = compare(a.repeats, a.steps, a.batch, mini=a.mini)
    print(row(f'cached step (mini {a.mini}) vs CachedMNRL', o, r, '>= 1.0x'), flush=True)
    m = memory()
    print(f"{'peak RSS added, batch-128 cached step (mini 16)':<58} ref {m['st']:7.1f}MB  ours {m['ours']:7.1f}MB  "
          f"ours/ref {m['ours'] / m['st']:.2f}  (goal <= 1.0)", flush=True)


if __name__ == '__main__':
    main()
