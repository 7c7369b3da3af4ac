"""Writes pre-tokenized SFT and DPO JSONL for the fine-tuning device check (TRL column names, ids < vocab).
Usage: finetune_data.py OUT_DIR VOCAB PROMPT_LEN COMPLETION_LEN COUNT"""
import json, random, sys
out, vocab, plen, clen, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = random.Random(0)
ids = lambda n: [r.randrange(3, vocab) for _ in range(n)]
with open(f"{out}/sft.jsonl", "w") as f:
    for _ in range(count):
        f.write(json.dumps({"prompt_input_ids": [1] + ids(plen - 1), "completion_input_ids": ids(clen - 1) + [2]}) + "\n")
with open(f"{out}/dpo.jsonl", "w") as f:
    for _ in range(count):
        f.write(json.dumps({"prompt_input_ids": [1] + ids(plen - 1), "chosen_input_ids": ids(clen - 1) + [2],
                            "rejected_input_ids": ids(clen - 1) + [2]}) + "\n")
