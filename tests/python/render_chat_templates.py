# Renders chat-template cases with jinja2 exactly as transformers' apply_chat_template sets it up
# (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson as json.dumps,
# strftime_now), for ChatTemplateParityTests. Reads a JSON list of cases from the file named by argv[1], writes
# {name: {"output": ...} | {"error": type, "message": ...}} as JSON to stdout.
import datetime, json, sys
import jinja2.ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime.datetime(2024, 7, 23, 9, 5, 7)

def raise_exception(message):
    raise TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(format):
    return FIXED_NOW.strftime(format)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

with open(sys.argv[1], encoding="utf-8") as f:
    cases = json.load(f)
results = {}
for case in cases:
    try:
        template = env.from_string(case["template"])
        variables = dict(messages=case["messages"], tools=None, documents=None,
                         add_generation_prompt=case["add_generation_prompt"])
        variables.update(case.get("variables") or {})
        results[case["name"]] = {"output": template.render(**variables)}
    except Exception as e:
        results[case["name"]] = {"error": type(e).__name__, "message": str(e)}
sys.stdout.write(json.dumps(results))
