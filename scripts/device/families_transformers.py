"""Runs on the GPU machine (it has transformers; this machine does not): checks the decoder-family references the test
suite uses against transformers itself.

tests/python/decoder_families_reference.py is a plain-torch forward written from transformers' modeling files; Ckpt's
models are tested against it (DecoderFamilyTests, 1e-4 in fp32). This script closes the loop: for each family it writes
the same seeded tiny model, loads that folder with transformers' AutoModelForCausalLM (fp32, eager attention, so
Gemma 2's soft-capping applies), runs the reference's input_ids and compares the logits. With a Ckpt output folder
(`ckpt forward DIR --input-ids DIR/reference_logits.safetensors --out CKPT/<family>.safetensors`) it also compares
Ckpt's logits with transformers' directly.

usage: python3 families_transformers.py WORK_DIR [CKPT_OUTPUT_DIR]
Prints one JSON line per family: maxAbs of reference - transformers (and of ckpt - transformers), within 1e-4 or not.
WORK_DIR/<family>/ keeps each model and transformers_logits.safetensors, to be committed as transformers-made
references when they agree.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "python"))

import torch  # noqa: E402
import transformers  # noqa: E402
import decoder_families_reference as families  # noqa: E402
from causal_lm_reference import read_safetensors as load_file  # noqa: E402

TOLERANCE = 1e-4


def transformers_logits(folder, ids):
    kwargs = {"attn_implementation": "eager"}
    # transformers 5 names the argument dtype; 4.x torch_dtype.
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    except TypeError:
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, **kwargs)
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def main():
    work = sys.argv[1]
    ckpt_dir = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(4)
    failed = 0
    for family in families.CONFIGS:
        folder = os.path.join(work, family)
        row = {"family": family, "transformers": transformers.__version__, "torch": torch.__version__}
        try:
            families.make(family, folder)
            ref = load_file(os.path.join(folder, "reference_logits.safetensors"))
            got = transformers_logits(folder, ref["input_ids"])
            families.write_safetensors(os.path.join(folder, "transformers_logits.safetensors"),
                                       {"input_ids": ref["input_ids"], "logits": got.contiguous()})
            row["referenceMaxAbs"] = (ref["logits"].float() - got).abs().max().item()
            ok = row["referenceMaxAbs"] <= TOLERANCE
            if ckpt_dir:
                path = os.path.join(ckpt_dir, family + ".safetensors")
                if os.path.exists(path):
                    row["ckptMaxAbs"] = (load_file(path)["logits"].float() - got).abs().max().item()
                    ok = ok and row["ckptMaxAbs"] <= TOLERANCE
                else:
                    row["ckptMaxAbs"] = None
            row["withinTolerance"] = ok
        except Exception as e:  # one family's failure must not hide the others'
            row["error"] = f"{type(e).__name__}: {e}"
            ok = False
        failed += 0 if ok else 1
        print(json.dumps(row), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
