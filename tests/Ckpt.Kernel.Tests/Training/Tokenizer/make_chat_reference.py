# Writes chat_reference.json for ChatTokenizationParityTests: conversations rendered with a LLaMA-2 style chat template
# (the template writes bos_token and eos_token) by jinja2 set up as transformers' apply_chat_template sets it up, then
# tokenized with tokenizer.model as transformers' slow LlamaTokenizer does with add_special_tokens=False (what TRL
# uses after templating):
#   - PreTrainedTokenizer.tokenize splits the text on the added tokens (for LlamaTokenizer: its bos, eos and unk
#     tokens; longest match first); each becomes its id. LlamaTokenizer declares them AddedToken(lstrip=False,
#     rstrip=False), so no whitespace around them is stripped; empty pieces between them are skipped.
#   - every other piece is sp_model.encode(piece) on its own. This is the `legacy` behaviour, which LlamaTokenizer uses
#     when tokenizer_config.json does not say "legacy": false (transformers warns and sets legacy=True), so the model's
#     dummy prefix (add_dummy_prefix, on in LLaMA's tokenizer.model and in this fixture) applies to every piece: the
#     text after <s> starts with "▁[", as in Meta's own llama chat_completion, which encodes each turn on its own.
# Run with Debian's python3-jinja2 and python3-sentencepiece (0.1.97): /usr/bin/python3 make_chat_reference.py
import json, re
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
import sentencepiece as spm

TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}"
    "{% set system = '<<SYS>>\\n' + messages[0]['content'] | trim + '\\n<</SYS>>\\n\\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}"
    "{% for message in turns %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate user, assistant, user, ...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + (system if loop.first else '') + message['content'] | trim + ' [/INST]' }}"
    "{% else %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}"
    "{% endfor %}")

CONVERSATIONS = [
    [{"role": "user", "content": "Add the numbers 12 and 7."},
     {"role": "assistant", "content": "The answer is 19."}],
    [{"role": "system", "content": "Answer with the number only."},
     {"role": "user", "content": "Add the numbers 2 and 3."},
     {"role": "assistant", "content": "5"},
     {"role": "user", "content": "Reverse 12"},
     {"role": "assistant", "content": "21"}],
    # Outer whitespace goes (trim), inner runs of spaces and newlines stay; accents and ✓ fall back to bytes.
    [{"role": "user", "content": "  Sort   the numbers\n\n9, 4 and 7 \u2713  "},
     {"role": "assistant", "content": "\u00dcn\u00efc\u00f6d\u00e9:  4, 7, 9."}],
    # Special-token text inside a message is that token (split_special_tokens=False); an empty answer leaves a
    # whitespace-only piece before </s>.
    [{"role": "user", "content": "What does </s> mean?"},
     {"role": "assistant", "content": "It ends a sequence."},
     {"role": "user", "content": "And <unk>?"},
     {"role": "assistant", "content": ""}],
]

def raise_exception(message):
    raise TemplateError(message)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.globals["raise_exception"] = raise_exception
template = env.from_string(TEMPLATE)

sp = spm.SentencePieceProcessor(model_file="tokenizer.model")
special = {sp.id_to_piece(i): i for i in (sp.bos_id(), sp.eos_id(), sp.unk_id())}
bos_token, eos_token = sp.id_to_piece(sp.bos_id()), sp.id_to_piece(sp.eos_id())
splitter = re.compile("(" + "|".join(re.escape(t) for t in sorted(special, key=len, reverse=True)) + ")")

def encode_rendered(text):
    ids = []
    for piece in splitter.split(text):
        if piece in special:
            ids.append(special[piece])
        elif piece:
            ids.extend(sp.encode(piece))
    return ids

def render(messages, add_generation_prompt):
    return template.render(messages=messages, add_generation_prompt=add_generation_prompt, bos_token=bos_token, eos_token=eos_token)

conversations = []
for messages in CONVERSATIONS:
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    prompt_text, text = render(messages[:last], True), render(messages, False)
    prompt_ids, ids = encode_rendered(prompt_text), encode_rendered(text)
    assert text.startswith(prompt_text) and ids[:len(prompt_ids)] == prompt_ids
    conversations.append({"messages": messages, "prompt_text": prompt_text, "prompt_ids": prompt_ids, "text": text, "ids": ids})

with open("chat_reference.json", "w", encoding="utf-8") as f:
    json.dump({"chat_template": TEMPLATE, "bos_token": bos_token, "eos_token": eos_token,
               "conversations": conversations}, f, ensure_ascii=False, indent=1)
