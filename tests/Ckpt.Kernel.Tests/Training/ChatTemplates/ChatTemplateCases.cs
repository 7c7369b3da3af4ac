namespace Ckpt.Tests.Training.ChatTemplates;

/// <summary>
/// Templates in the styles real chat models use (written for these tests, not copied) and edge cases of jinja2's
/// whitespace control, scoping and undefined values, each rendered by Python's jinja2 and by ckpt's interpreter.
/// </summary>
static class ChatTemplateCases
{
    public sealed record Case(string Name, string Template, string Messages, bool AddGenerationPrompt = false, string Variables = """{"bos_token": "<s>", "eos_token": "</s>"}""");

    const string Basic = """[{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello! How can I help?"}]""";
    const string WithSystem = """
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": " What is 2+2? "},
         {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "6 "}]
        """;
    const string NotAlternating = """[{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]""";
    const string Prompt = """[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Name a colour."}]""";

    const string ChatMl = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
        """;

    const string Llama2 = """
        {% if messages[0]['role'] == 'system' %}
            {% set system_message = messages[0]['content'] %}
            {% set loop_messages = messages[1:] %}
        {% else %}
            {% set system_message = false %}
            {% set loop_messages = messages %}
        {% endif %}
        {% for message in loop_messages %}
            {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
                {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
            {% endif %}
            {% if loop.index0 == 0 and system_message != false %}
                {% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}
            {% else %}
                {% set content = message['content'] %}
            {% endif %}
            {% if message['role'] == 'user' %}
                {{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}
            {% elif message['role'] == 'assistant' %}
                {{ ' ' + content.strip() + ' ' + eos_token }}
            {% endif %}
        {% endfor %}
        """;

    const string Llama3 = """
        {% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}
        """;

    const string Zephyr = """
        {% for message in messages %}
        {% if message['role'] == 'user' %}
        {{ '<|user|>\n' + message['content'] + eos_token }}
        {% elif message['role'] == 'system' %}
        {{ '<|system|>\n' + message['content'] + eos_token }}
        {% elif message['role'] == 'assistant' %}
        {{ '<|assistant|>\n'  + message['content'] + eos_token }}
        {% endif %}
        {% if loop.last and add_generation_prompt %}
        {{ '<|assistant|>' }}
        {% endif %}
        {% endfor %}
        """;

    const string Gemma = """
        {{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}
        """;

    const string Mistral = """
        {{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}
        """;

    const string QwenStyle = """
        {%- if messages[0]['role'] != 'system' %}
        {{- '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}
        {%- endif %}
        {%- for message in messages %}
            {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
        {%- endfor %}
        {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\n' }}
        {%- endif %}
        """;

    public static readonly Case[] All =
    [
        new("chatml", ChatMl, WithSystem),
        new("chatml_generation_prompt", ChatMl, Prompt, AddGenerationPrompt: true),
        new("llama2_system_folded_into_first_turn", Llama2, WithSystem),
        new("llama2_without_system", Llama2, Basic),
        new("llama2_roles_not_alternating_raise", Llama2, NotAlternating),
        new("llama3_headers", Llama3, WithSystem),
        new("llama3_generation_prompt", Llama3, Prompt, AddGenerationPrompt: true),
        new("zephyr_print_lines_keep_their_newlines", Zephyr, WithSystem),
        new("zephyr_generation_prompt", Zephyr, Prompt, AddGenerationPrompt: true),
        new("gemma_ternary_role_mapping", Gemma, Basic, AddGenerationPrompt: true),
        new("gemma_refuses_system", Gemma, WithSystem),
        new("mistral", Mistral, Basic),
        new("mistral_refuses_system", Mistral, Prompt),
        new("qwen_style_default_system_and_dash_tags", QwenStyle, Basic, AddGenerationPrompt: true),
        new("qwen_style_given_system", QwenStyle, WithSystem),
        new("phi3_style_else_eos", """
            {% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}
            """, Basic),
        new("namespace_and_loop_last", """
            {% set ns = namespace(system='', turns=0) %}
            {% for m in messages %}
              {% if m.role == 'system' %}
                {% set ns.system = ns.system ~ m.content %}
              {% else %}
                {% set ns.turns = ns.turns + 1 %}
            {{ m.role | upper }}: {{ m.content }}{% if not loop.last %} | {% endif %}
              {% endif %}
            {% endfor %}
            [{{ ns.turns }} turns; system={{ ns.system | default('none', true) }}]
            """, WithSystem),
        new("slicing_and_tojson", """
            {%- if messages[0].role == 'system' -%}
            System: {{ messages[0].content }}
            {% set rest = messages[1:] %}
            {%- else -%}
            {% set rest = messages %}
            {%- endif %}
            {% for m in rest %}
            {{ m | tojson }}
            {% endfor %}
            {{ rest[::-1] | map(attribute='role') | join(',') }} / {{ messages[-1]['content'][:5] }} / {{ messages[1:-1:2] | length }} / {{ 'abcdef'[-2:] }}{{ 'abcdef'[::2] }}{{ 'abcdef'[4:1:-1] }}
            """, WithSystem),
        new("tojson_indent_and_dict_items", """
            {% set tools_list = [{"name": "get_weather", "parameters": {"city": {"type": "string"}, "days": 3, "units": ["c", "f"], "x": none, "on": true, "e": {}}}] %}
            Tools:
            {% for t in tools_list %}
            {{ t | tojson(indent=2) }}
            {% for k, v in t.parameters.items() %}
            - {{ k }} = {{ v }}
            {% endfor %}
            {{ t | tojson(sort_keys=true) }}
            {% endfor %}
            """, Basic),
        new("lstrip_and_trim_blocks_interplay", """
            <s>
                {% for m in messages %}
                    {{ m.content }}
                {% endfor %}
              {%+ if true %}kept{% endif %}
                {#- a comment -#}
              x {# inline comment #} y
                {# own-line comment #}
            {% if add_generation_prompt -%}
                GEN
            {%- endif %}
            end
            """, Basic, AddGenerationPrompt: true),
        new("dash_tags_strip_across_newlines", "a\n\n   {%- if true %} b {% endif -%}\n\n   c {{- ' d ' -}} e\n  {%- for x in [1, 2] -%}\n   {{ x }}\n  {%- endfor %}\n\n", Basic),
        new("crlf_and_one_trailing_newline", "a\r\n{% if true %}\r\nb\r\n  {% endif %}\r\nc\r\n", Basic),
        new("nested_for_if_else_branches", """
            {% for m in messages %}{% for part in m.content.split(' ') if part %}[{{ loop.index }}/{{ loop.length }}:{{ part }}{{ ',' if not loop.last else '' }}]{% else %}(empty){% endfor %}{% if loop.first %}F{% elif loop.last %}L{% else %}M{% endif %}{{ loop.revindex }}
            {% endfor %}{% for x in [] %}never{% else %} no items{% endfor %}
            """, WithSystem),
        new("undefined_values_print_empty_and_are_false", """
            [{{ missing }}][{{ missing is defined }}][{{ missing | default('dflt') }}][{{ messages[0].nokey }}][{{ messages[0].nokey is undefined }}][{{ missing | length }}][{{ messages[99] is defined }}]{% if missing %}yes{% else %}no{% endif %}[{{ missing ~ 'x' }}][{{ missing == missing }}][{{ missing == none }}][{% for x in missing %}{{ x }}{% endfor %}][{{ 'x' if missing else 'y' }}][{{ 'a' if false }}]
            """, Basic),
        new("attribute_of_undefined_fails", "{{ missing.attr }}", Basic),
        new("arithmetic_and_python_number_text", """
            {{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 10 / 4 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e15 }} {{ 1e16 }} {{ 0.0001 }} {{ 0.00001 }} {{ -2.5e-7 }} {{ 3 * 'ab' }} {{ 'x' * 0 }}|{{ [1, 'a', none, true, 1.0, "it's"] }} {{ {'k': 'v', 'n': [1, 2]} }} {{ (1, 2) }} {{ (1,) }} {{ 'it\'s' }} {{ "say \"hi\"\n" | tojson }} {{ true + 1 }} {{ -(3) }} {{ 2 - -1 }}
            """, Basic),
        new("comparisons_logic_and_in", """
            {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' in 'cat' }} {{ 'x' not in ['a', 'b'] }} {{ 'role' in messages[0] }} {{ not messages }} {{ messages and 'yes' }} {{ none or 'fallback' }} {{ 1 == 1.0 }} {{ 'b' > 'a' }} {{ [1, 2] == [1, 2] }} {{ true == 1 }} {{ 'B' < 'a' }} {{ not 0 }} {{ '' or 0 or [] or 'last' }} {{ 1 != 2 and 2 >= 2 and 2 <= 1 }}
            """, Basic),
        new("is_tests", """
            {% for v in [none, 'str', 3, 2.5, true, [1], {'a': 1}] %}{{ v is none }}{{ v is string }}{{ v is number }}{{ v is mapping }}{{ v is iterable }}{{ v is sequence }}{{ v is not none }}{{ v is integer }}{{ v is boolean }}|{% endfor %}{{ 4 is divisibleby 2 }}{{ 3 is odd }}{{ 4 is even }}{{ 'x' is in ['x'] }}{{ 2 is equalto 2 }}{{ missing is undefined }}{{ missing is not defined }}{{ none is none and tools is none }}
            """, Basic),
        new("string_methods", """
            {% set s = '  Hello World  ' %}[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ s.strip().startswith('Hello') }}][{{ s.strip().endswith(('x', 'ld')) }}][{{ s.split() }}][{{ 'a,b,,c'.split(',') }}][{{ s.upper() }}][{{ s.lower() }}][{{ 'hello wORLD foo-bar x1y'.title() }}][{{ s.replace('l', 'L') }}][{{ 'a-b-c'.split('-', 1) }}][{{ 'xxhixx'.strip('x') }}][{{ 'a b  c'.split(' ') }}][{{ 'hello'.capitalize() }}][{{ 'banana'.count('an') }}][{{ 'banana'.find('n') }}][{{ 'line1\nline2\n'.splitlines() }}][{{ ', '.join(['x', 'y']) }}][{{ 'a  b c'.split(none, 1) }}]
            """, Basic),
        new("filters", """
            [{{ '  x  ' | trim }}][{{ messages | length }}][{{ messages | count }}][{{ 'abc' | upper }}][{{ 'ABC' | lower }}][{{ messages | first | tojson }}][{{ (messages | last).role }}][{{ ['a', 'b'] | join('-') }}][{{ [1, 2] | join }}][{{ none | default('d') }}][{{ '' | default('e', true) }}][{{ '' | default('e') }}][{{ 42 | string ~ '!' }}][{{ '12' | int + 1 }}][{{ '3.9' | int }}][{{ 'x' | int }}][{{ 2.7 | int }}][{{ 'abc' | list }}][{{ [1, 2, 3] | reverse | list }}][{{ 'abc' | reverse }}][{{ 'hello world' | replace('o', '0') }}][{{ 'hELLO wORLD' | capitalize }}][{{ 'hello big-world' | title }}][{{ none | string }}][{{ [3, 1, 3] | unique | list }}][{{ '-3' | int | abs }}][{{ 'xy' | first }}{{ 'xy' | last }}][{{ [1, 2, 3] | sum }}][{{ 'a\nb' | indent(2, true) }}]
            """, Basic),
        new("dict_methods_and_iteration", """
            {% set d = {'b': 1, 'a': 2} %}{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.keys() | list }}{{ d.values() | list }}{{ d.get('a') }}{{ d.get('zz', 'none!') }}{{ d.get('zz') }}{% for k in d %}{{ k }}{% endfor %}{{ d | length }}{{ d['a'] }}{{ d.a }}{{ d | items | list }}{{ d.items() | list }}
            """, Basic),
        new("set_inside_a_loop_is_gone_next_iteration", """
            {% set y = 1 %}{% for x in [1, 2] %}{{ y }}{% if loop.first %}{% set y = 5 %}{% set z = 9 %}{% endif %}{{ y }}{{ z }}|{% endfor %}{{ y }}{{ z }}{% if true %}{% set w = 3 %}{% endif %}{{ w }}{% set a, b = 'p', 'q' %}{{ a }}{{ b }}
            """, Basic),
        new("break_and_continue", """
            {% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}{{ m.role }}{% if loop.index >= 3 %}{% break %}{% endif %},{% endfor %}
            """, WithSystem),
        new("macros", """
            {% macro turn(role, text='') %}<{{ role }}>{{ text | trim }}</{{ role }}>{% endmacro %}
            {% for m in messages %}
            {{ turn(m.role, m.content) }}
            {% endfor %}
            {{ turn('end') }}{{ turn(text='kw', role='r') }}
            """, WithSystem),
        new("block_set_selectattr_and_map", """
            {% set header %}
            Conversation of {{ messages | length }} messages
            {% endset %}
            {{ header | trim }}: {{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(' / ') }}; assistants={{ messages | rejectattr('role', 'ne', 'assistant') | list | length }}; first={{ (messages | selectattr('role', '==', 'system') | first).content }}; {{ [0, 1, '', 'x'] | select | list }}{{ [1, 2, 3, 4] | reject('odd') | list }}{{ ['a', 'b'] | map('upper') | list }}
            """, WithSystem),
        new("strftime_now", """Today: {{ strftime_now("%d %b %Y") }} ({{ strftime_now("%A %B %H:%M:%S %j") }})""", Basic),
        new("unicode_code_points_and_escapes", """
            {{ '\u00e9\t|' ~ messages[0].content }}|{{ messages[0].content | tojson }}|{{ messages[0].content[1:3] }}|{{ messages[0].content | length }}|{{ messages[0].content | reverse }}|{{ '\x41\101' }}|{{ messages[0].content | upper }}
            """, """[{"role": "user", "content": "h\u00e9llo \ud83d\udc4b \"q\" \\ /\u0001"}]"""),
        new("tool_calls_and_none_content", """
            {% for m in messages %}
            {% if m.role == 'assistant' and m.tool_calls is defined %}
            {% for call in m.tool_calls %}<tool_call>{{ {'name': call.function.name, 'arguments': call.function.arguments} | tojson }}</tool_call>{% endfor %}
            {% elif m.content is none %}
            (no content)
            {% else %}
            {{ m.role }}: {{ m.content }} {{ m.score }} {{ m.n / 2 }} {{ m | tojson }}
            {% endif %}
            {% endfor %}
            """, """
            [{"role": "user", "content": "Weather?", "score": 1.0, "n": 3, "big": 1e300, "tiny": 2.5e-8},
             {"role": "assistant", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2}}}]},
             {"role": "tool", "content": null}]
            """),
        new("loop_variables", """
            {% for m in messages %}{{ loop.index0 }}{{ loop.index }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('odd', 'even') }}{% if loop.previtem is defined %}<{{ loop.previtem.role }}{% endif %}{% if loop.nextitem is defined %}>{{ loop.nextitem.role }}{% endif %};{% endfor %}{% for a in [1, 2] %}{% set outer = loop %}{% for b in ['x', 'y'] %}{{ outer.index }}{{ loop.index }}{{ b }}{{ loop.depth }} {% endfor %}{% endfor %}
            """, WithSystem),
        new("adjacent_strings_and_tilde", """{{ 'a' 'b' ~ 1 ~ none ~ 2.0 ~ true }}{{ "x" ~ [1] }}""", Basic),
        new("range_and_namespace_from_loop", """
            {% set ns = namespace(last_user=-1) %}{% for i in range(messages | length) %}{% if messages[i].role == 'user' %}{% set ns.last_user = i %}{% endif %}{% endfor %}{{ ns.last_user }} {{ range(3) | list }} {{ range(5, 0, -2) | list }}
            """, WithSystem),
        new("tool_calling_qwen_style", """
            {%- if tools %}
                {{- '<|im_start|>system\n' }}
                {%- if messages[0].role == 'system' %}
                    {{- messages[0].content + '\n\n' }}
                {%- endif %}
                {{- "# Tools\n<tools>" }}
                {%- for tool in tools %}
                    {{- "\n" }}
                    {{- tool | tojson }}
                {%- endfor %}
                {{- "\n</tools><|im_end|>\n" }}
            {%- elif messages[0].role == 'system' %}
                {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
            {%- endif %}
            {%- for message in messages %}
                {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
                    {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
                {%- elif message.role == "assistant" %}
                    {{- '<|im_start|>' + message.role }}
                    {%- if message.content %}
                        {{- '\n' + message.content }}
                    {%- endif %}
                    {%- for tool_call in message.tool_calls %}
                        {%- if tool_call.function is defined %}
                            {%- set tool_call = tool_call.function %}
                        {%- endif %}
                        {{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
                    {%- endfor %}
                    {{- '<|im_end|>\n' }}
                {%- elif message.role == "tool" %}
                    {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
                        {{- '<|im_start|>user' }}
                    {%- endif %}
                    {{- '\n<tool_response>\n' + message.content + '\n</tool_response>' }}
                    {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
                        {{- '<|im_end|>\n' }}
                    {%- endif %}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\n' }}
            {%- endif %}
            """, """
            [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "Weather in Oslo?"},
             {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "weather", "arguments": {"city": "Oslo"}}}, {"name": "time", "arguments": {}}]},
             {"role": "tool", "content": "4 C"}, {"role": "tool", "content": "09:00"}, {"role": "assistant", "content": "4 C at 09:00."}]
            """, AddGenerationPrompt: true,
            Variables: """{"bos_token": "<s>", "eos_token": "</s>", "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather now", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]}"""),
        new("reasoning_stripped_from_earlier_answers", """
            {% set ns = namespace(is_first=true) %}
            {%- for message in messages -%}
            {%- if message['role'] == 'user' -%}
            {{ '<|User|>' + message['content'] }}
            {%- elif message['role'] == 'assistant' -%}
            {%- set content = message['content'] -%}
            {%- if '</think>' in content and not loop.last -%}
            {%- set content = content.split('</think>')[-1] -%}
            {%- endif -%}
            {{ '<|Assistant|>' + content.lstrip('\n') + '<|end|>' }}
            {%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt %}<|Assistant|><think>
            {% endif %}
            """, """
            [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<think>add</think>\n\n4"},
             {"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "<think>again</think>\n6"}]
            """, AddGenerationPrompt: true),
        new("dated_system_header_with_json_tools", """
            {{- bos_token }}
            {%- if not date_string is defined %}
                {%- set date_string = strftime_now("%d %b %Y") %}
            {%- endif %}
            {%- if messages[0]['role'] == 'system' %}
                {%- set system_message = messages[0]['content']|trim %}
                {%- set messages = messages[1:] %}
            {%- else %}
                {%- set system_message = "" %}
            {%- endif %}
            {{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
            {{- "Today Date: " + date_string + "\n\n" }}
            {%- if tools is not none %}
                {{- "Functions:\n" }}
                {%- for t in tools %}
                    {{- t | tojson(indent=4) }}
                    {{- "\n\n" }}
                {%- endfor %}
            {%- endif %}
            {{- system_message }}
            {{- "<|eot_id|>" }}
            {%- for message in messages %}
                {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
            {%- endif %}
            """, WithSystem, Variables: """{"bos_token": "<|begin_of_text|>", "tools": [{"name": "calc", "parameters": {"x": 1.5, "ok": false, "list": [1, "two", null]}}]}"""),
        new("content_as_a_list_of_parts", """
            {%- for message in messages -%}
            <{{ message.role }}>
            {%- if message.content is string -%}
            {{ message.content }}
            {%- else -%}
            {%- for part in message.content -%}
            {%- if part.type == 'image' -%}[IMG]{%- elif part.type == 'text' -%}{{ part.text | trim }}{%- endif -%}
            {%- endfor -%}
            {%- endif -%}
            </{{ message.role }}>
            {% endfor -%}
            """, """
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is this? "}]}, {"role": "assistant", "content": "A cat."}]
            """),
        new("lstrip_leaves_variable_tags_and_text_alone", "  {{ 'var keeps its indent' }}\n  text {% if true %}inline{% endif %}\n\t {% if true %}\n  body\n\t {% endif %}\n   {# c #}\nend\n", Basic),
        new("precedence_and_nesting", """
            {{ not 'a' in ['b'] }} {{ 2 * 3 ~ 4 * 5 }} {{ 10 - 2 - 3 }} {{ 2 ** 3 ** 2 }} {{ 7 // 2 * 2 }} {{ - 2 ** 2 }} {{ 2 * 3 + 4 * 5 }} {{ messages | length is odd }} {{ 'x' if messages|length > 5 else 'y' if messages else 'z' }} {{ [1, 2, ][-1] }} {{ {'a': 1, }.a }} {{ (messages[0].content ~ '!') | upper }} {{ messages[0]['content'] is string and messages[0].role is not mapping }} {% set n = 1 %}{% for i in [1, 2, 3] %}{% set n = n + i %}{{ n }}{% endfor %}/{{ n }}
            """, Basic),
        new("raw_blocks_keep_tags_as_text", "{% raw %}\n{{ not rendered }} {% if %}\n    {% endraw %}\nafter {%- raw -%}  x {{ y }}  {%- endraw %} {{ messages | length }}", Basic),
        new("adding_a_string_and_an_integer_fails", "{{ messages[0]['content'] + 1 }}", Basic),
        new("changing_a_list_is_refused", "{% set l = [1] %}{{ l.append(2) }}", Basic),
        new("unclosed_if_is_a_syntax_error", "{% for m in messages %}{% if m.role %}x{% endfor %}", Basic),
        new("unknown_filter_is_a_syntax_error", "{{ messages | shuffle }}", Basic),
        new("added_token_style_and_special_tokens", "{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}|{{ pad_token }}", Basic,
            Variables: """{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "pad_token": "<pad>"}"""),
    ];
}
