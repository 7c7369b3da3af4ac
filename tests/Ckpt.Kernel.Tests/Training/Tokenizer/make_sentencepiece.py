# Writes the SentencePiece fixture for TextTokenizerTests: a LLaMA-style BPE model (byte fallback, BOS 1, EOS 2,
# UNK 0, dummy prefix, identity normalization, whitespace kept, as LLaMA's) trained on a few synthetic instructions, and the ids Python's sentencepiece gives for
# sample strings. Run with Debian's python3-sentencepiece: /usr/bin/python3 make_sentencepiece.py
import json, random, sentencepiece as spm
random.seed(0)
ops = ["Add", "Subtract", "Reverse", "Repeat", "Sort"]
lines = []
for i in range(400):
    a, b = random.randint(0, 99), random.randint(0, 99)
    op = random.choice(ops)
    lines.append(f"Below is an instruction that describes a task. Write a response that appropriately completes the request.")
    lines.append(f"### Instruction:\n{op} the numbers {a} and {b}.\n\n### Response:\nThe answer is {a + b}.")
open("corpus.txt", "w").write("\n".join(lines))
spm.SentencePieceTrainer.train(input="corpus.txt", model_prefix="tokenizer", vocab_size=400, model_type="bpe",
    byte_fallback=True, bos_id=1, eos_id=2, unk_id=0, pad_id=-1, character_coverage=1.0, add_dummy_prefix=True,
    split_digits=True, num_threads=1, normalization_rule_name="identity", remove_extra_whitespaces=False)
sp = spm.SentencePieceProcessor(model_file="tokenizer.model")
samples = ["Add the numbers 12 and 7.", "### Response:\nThe answer is 19.", "  two  spaces", "Ünïcödé ✓ bytes", "Reverse", ""]
json.dump({"samples": [{"text": s, "ids": sp.encode(s)} for s in samples],
           "bos": sp.bos_id(), "eos": sp.eos_id(), "vocab": sp.get_piece_size()}, open("sentencepiece_reference.json", "w"), indent=1)
import os; os.remove("corpus.txt"); os.remove("tokenizer.vocab")
