"""RESTOR measures on fixed answer lists, computed independently of Ckpt's C# (src/Kernel/Forensics/Restor).

Writes tests/fixtures/restor/scoring_reference.json, which RestorReferenceTests compares with RestorScoring exactly.
Pure Python (no torch). Usage: python3 tests/python/restor_metrics_reference.py

Answer rule (docs/restor.md): cut at the first newline; normalise (lower case, every character that is not a letter
or digit becomes a space, the words a/an/the dropped, whitespace collapsed); accepted when the output equals an answer
or starts with it followed by a space. Recovery = (u - c) / (k - c) on clean-answer hits, forgetting = (c - u) / (c - k)
on corrupted-answer hits, None when the denominator is 0.
"""
import json
import os
import random

def normalize(text):
    spaced = "".join(ch if ch.isalnum() else " " for ch in text.lower())
    return " ".join(w for w in spaced.split() if w not in ("a", "an", "the"))

def matches(output, answers):
    out = normalize(output.split("\n", 1)[0])
    if not out:
        return False
    for a in answers:
        a = normalize(a)
        if a and (out == a or out.startswith(a + " ")):
            return True
    return False

def ratio(num, den):
    return None if den == 0 else num / den

def score(facts, models):
    clean_hits = [sum(matches(m["outputs"][i], f["answers"]) for i, f in enumerate(facts)) for m in models]
    corrupt_hits = [sum(matches(m["outputs"][i], f["corruptedAnswers"]) for i, f in enumerate(facts)) for m in models]
    unlearned = []
    for j in range(2, len(models)):
        outcomes = []
        for i, f in enumerate(facts):
            before = matches(models[1]["outputs"][i], f["answers"])
            after = matches(models[j]["outputs"][i], f["answers"])
            outcomes.append({(False, True): "recovered", (False, False): "notRecovered", (True, True): "kept", (True, False): "lost"}[(before, after)])
        unlearned.append({
            "label": models[j]["label"],
            "recovery": ratio(clean_hits[j] - clean_hits[1], clean_hits[0] - clean_hits[1]),
            "forgetting": ratio(corrupt_hits[1] - corrupt_hits[j], corrupt_hits[1] - corrupt_hits[0]),
            "outcomes": outcomes,
        })
    return {
        "accuracy": [h / len(facts) for h in clean_hits],
        "corruptedAccuracy": [h / len(facts) for h in corrupt_hits],
        "unlearned": unlearned,
    }

def random_case(rng, n_facts, n_unlearned):
    values = ["paris", "rome", "oslo", "lima", "blue", "green", "chess", "go", "The Hague", "new-york", "new york city"]
    facts = []
    for i in range(n_facts):
        a, b = rng.sample(values, 2)
        if normalize(a) == normalize(b):
            b = "zz" + str(i)
        facts.append({"id": f"f{i}", "prompt": f"fact {i} is", "answers": [a], "corruptedAnswers": [b]})
    def answer(f):
        pick = rng.random()
        if pick < 0.35: return rng.choice(["", " ", "the "]) + f["answers"][0] + rng.choice(["", ".", " and more", "\nx"])
        if pick < 0.7: return rng.choice(["", "a "]) + f["corruptedAnswers"][0] + rng.choice(["", ",", "ian"])
        return rng.choice(["", "\n" + f["answers"][0], "something else", "the the the"])
    roles = ["clean", "corrupted"] + ["unlearned"] * n_unlearned
    labels = ["clean", "corrupted"] + [f"u{j}" for j in range(n_unlearned)]
    models = [{"label": l, "role": r, "outputs": [answer(f) for f in facts]} for l, r in zip(labels, roles)]
    return {"facts": facts, "models": models}

if __name__ == "__main__":
    rng = random.Random(19)
    cases = [random_case(rng, n, u) for n, u in [(5, 1), (12, 3), (40, 2), (3, 2)]]
    # An edge case: the corrupted model answers as the clean one, so both measures are undefined.
    same = random_case(rng, 6, 1)
    same["models"][1]["outputs"] = list(same["models"][0]["outputs"])
    cases.append(same)
    for c in cases:
        c["expected"] = score(c["facts"], c["models"])
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "restor", "scoring_reference.json")
    with open(out, "w") as fh:
        json.dump({"source": "tests/python/restor_metrics_reference.py", "cases": cases}, fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(out)}")
