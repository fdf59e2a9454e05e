#!/usr/bin/env python3
"""Writes the expected chat-template renders that the Swift tests compare against, byte for byte.

  Tests/Fixtures/chat/{qwen3,llama3.2,smollm2}_expected.json
      conversations rendered by transformers' apply_chat_template(..., tokenize=False) with the
      model's own template (tokenizer loaded with AutoTokenizer from a temporary folder of the
      asset files; SmolLM2 from its GGUF via gguf_file=).
  Tests/Fixtures/chat/jinja_cases.json
      small templates rendered by transformers' chat-template jinja2 environment, for the
      interpreter's unit tests.

Needs transformers, jinja2, gguf and the assets (scripts/fetch-assets.sh, then
scripts/fetch_llama_chat_template.py for the Llama 3.2 template). Assets root:
$SLIDEFORMER_ASSETS or .cache/assets.
Usage: python3 scripts/make_chat_reference.py
"""
import json
import os
import pathlib
import shutil
import tempfile

import jinja2
from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import _compile_jinja_template

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSETS = pathlib.Path(os.environ.get("SLIDEFORMER_ASSETS", ROOT / ".cache" / "assets"))
OUT = ROOT / "Tests" / "Fixtures" / "chat"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city — «quoted» & <tagged>",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"},
                           "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}
TOOL_CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}

COMMON = {
    "system_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello! How are you?"},
    ],
    "multi_turn": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6"},
        {"role": "user", "content": "Thanks."},
    ],
    "no_system": [
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road?"},
        {"role": "user", "content": "Why?"},
    ],
    "special_characters": [
        {"role": "system", "content": "  Padded system prompt with {{ braces }} and {% tags %}.  \n"},
        {"role": "user", "content": "Line one\nLine two\n\ttabbed — ünïcödé 日本語 🤖 \"double\" 'single' \\backslash {json: [1, 2]}"},
        {"role": "assistant", "content": "{\"answer\": \"ok\"}\n"},
        {"role": "user", "content": "\n\nleading and trailing newlines\n\n"},
    ],
    "empty_content": [
        {"role": "system", "content": ""},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "x"},
    ],
    "extra_keys": [
        {"role": "user", "content": "hi", "name": "alice", "metadata": None},
    ],
}

QWEN3 = {
    **COMMON,
    "think_in_history": [
        {"role": "user", "content": "Solve 1+1."},
        {"role": "assistant", "content": "<think>\nOne plus one.\n</think>\n\nIt is 2."},
        {"role": "user", "content": "And 2+2?"},
        {"role": "assistant", "content": "<think>Two and two.</think>4"},
    ],
    "reasoning_content_key": [
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "Because.", "reasoning_content": "Thinking it over."},
    ],
    "tools": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL, {"function": {"name": "get_time", "arguments": "{\"tz\": \"CET\"}"}}]},
        {"role": "tool", "content": "{\"temperature\": 21}"},
        {"role": "tool", "content": "12:00"},
        {"role": "assistant", "content": "It is 21 °C at noon."},
    ],
}

LLAMA = {
    **COMMON,
    "tools": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "content": "{\"temperature\": 21}"},
        {"role": "ipython", "content": {"structured": [1, 2]}},
        {"role": "assistant", "content": "It is 21 °C."},
    ],
    "two_tool_calls": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [TOOL_CALL, TOOL_CALL]},
    ],
}


def cases_for(model):
    """(name, messages, extra keyword arguments) for one model."""
    if model == "qwen3":
        for name, messages in QWEN3.items():
            kwargs = {"tools": [WEATHER_TOOL]} if name == "tools" else {}
            yield name, messages, kwargs
            if name in ("system_user", "think_in_history"):
                yield name + "+thinking_off", messages, {"enable_thinking": False}
                yield name + "+thinking_on", messages, {"enable_thinking": True}
    elif model == "llama3.2":
        for name, messages in LLAMA.items():
            kwargs = {"date_string": "07 Mar 2025"}
            if name in ("tools", "two_tool_calls"):
                kwargs["tools"] = [WEATHER_TOOL]
            yield name, messages, kwargs
            if name == "tools":
                yield name + "+in_system", messages, {**kwargs, "tools_in_user_message": False}
    else:
        for name, messages in COMMON.items():
            yield name, messages, {}


def load_tokenizer(model):
    folder = ASSETS / model
    if model == "smollm2":
        return AutoTokenizer.from_pretrained(str(folder), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
            if (folder / name).exists():
                shutil.copy(folder / name, tmp)
        tokenizer = AutoTokenizer.from_pretrained(tmp)
    if not tokenizer.chat_template:
        raise SystemExit(f"{folder} has no chat template (for llama3.2: run scripts/fetch_llama_chat_template.py)")
    return tokenizer


def render_model(model):
    tokenizer = load_tokenizer(model)
    cases = []
    for name, messages, kwargs in cases_for(model):
        for add_generation_prompt in (False, True):
            case = {"name": name, "messages": messages, "add_generation_prompt": add_generation_prompt,
                    "extra_context": kwargs}
            try:
                case["expected"] = tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=add_generation_prompt, **kwargs)
            except jinja2.exceptions.TemplateError as e:
                case["error"] = str(e)
            cases.append(case)
    return {"model": model, "bos_token": tokenizer.bos_token, "eos_token": tokenizer.eos_token, "cases": cases}


# Small templates for the interpreter's unit tests: (name, template, extra context).
JINJA_CASES = [
    ("whitespace_control", "a  {{- ' b ' -}}  c\n  {%- if true %} d {% endif -%}\n  e", {}),
    ("trim_blocks_lstrip_blocks", "x\n    {% if true %}\n    y\n    {% endif %}\nz\n", {}),
    ("lstrip_after_variable", "{{ 1 }}  {% if true %}a{% endif %}\n  {# comment #}\nb", {}),
    ("plus_disables_lstrip", "  {%+ if true %}a{% endif %}", {}),
    ("comments", "a{# one #}b\n{#- two -#}\nc", {}),
    ("trailing_newline_dropped", "a\n", {}),
    ("crlf_newlines", "a\r\nb\rc", {}),
    ("loop_variables", "{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.length }}"
     "/{{ loop.first }}/{{ loop.last }};{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("loop_prev_next", "{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_filter_else", "{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|"
     "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_break_continue", "{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}"
     "{{ x }}{% endfor %}", {"xs": [1, 2, 3, 4, 5]}),
    ("loop_scope", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(n=0, found=false) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}"
     "{% endfor %}{{ ns.n }} {{ ns.found }}", {}),
    ("unpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% set a, b = [1, 2] %}{{ a + b }}",
     {"d": {"z": 1, "a": [1, 2]}}),
    ("if_elif_else", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
    ("ternary", "{{ 'yes' if flag else 'no' }} {{ 'a' if false }}|", {"flag": True}),
    ("arithmetic", "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }}"
     " {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 3 * 'ab' }} {{ [1] + [2] }} {{ true + 1 }} {{ 1e3 }} {{ 10 - 2.5 }}", {}),
    ("concat_and_printing", "{{ 'a' ~ 1 ~ none ~ true ~ 1.0 }} {{ none }} {{ [1, 'a', none, true, 1.5, {'k': 'v'}] }}"
     " {{ ('x',) }} {{ (1, 2) }} {{ \"it's\" }} {{ [\"it's\", 'a\"b', 'x\\'y\"z', 'tab\\there'] }} {{ undefined_name }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 != 2 }} {{ 'b' in d }}"
     " {{ 'ab' in 'cabd' }} {{ 2 in [1, 2] }} {{ 'q' not in d }} {{ not 0 }} {{ 0 or 'x' }} {{ 1 and 'y' }}",
     {"d": {"b": 1}}),
    ("string_literals", "{{ 'a\\nb\\t\\u00e9\\x41\\\\' }}|{{ \"q\\\"q\" }}|{{ 'a' 'b' }}", {}),
    ("slicing", "{{ 'abcdef'[1:3] }} {{ 'abcdef'[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ xs[-1] }}"
     " {{ 'héllo'[1] }} {{ xs[10] }}|{{ xs[-2::-1] }}", {"xs": [1, 2, 3, 4]}),
    ("string_methods", "{{ '  ab  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\na\\n'.lstrip('\\n') }}|"
     "{{ 'a\\n\\n'.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|"
     "{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'aBc'.upper() }}|{{ 'aBc'.lower() }}|"
     "{{ 'hello world'.title() }}|{{ 'hello'.capitalize() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'abc'.find('c') }}|"
     "{{ '-'.join(['a', 'b']) }}", {}),
    ("dict_methods", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d.keys() | list }} {{ d.values() | list }}"
     " {{ d['zz'] }}|{{ d.zz is defined }} {{ d.a is defined }} {{ d['a'] }} {{ d.a }}", {"d": {"a": 1, "b": [2]}}),
    ("filters_text", "{{ '  x  ' | trim }}|{{ 'abc' | length }}|{{ xs | length }}|{{ 5 | string }}|{{ 'Ab' | lower }}"
     "|{{ 'Ab' | upper }}|{{ 'ab cd' | title }}|{{ 'ab' | capitalize }}|{{ 'aXbX' | replace('X', '-') }}"
     "|{{ xs | join(', ') }}|{{ xs | first }}|{{ xs | last }}|{{ 'abc' | first }}|{{ xs | reverse | list }}"
     "|{{ 'abc' | reverse }}|{{ [3, 1, 2] | sort }}|{{ ['b', 'A', 'c'] | sort }}|{{ [3, 1] | sort(reverse=true) }}",
     {"xs": [1, 2, 3]}),
    ("filters_default", "{{ missing | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}"
     "|{{ none | default('d') }}|{{ missing | d('x') }}|{{ missing | length }}", {}),
    ("filters_collections", "{{ d | items | list }}|{{ users | selectattr('active') | map(attribute='name') | join(',') }}"
     "|{{ users | rejectattr('active') | map(attribute='name') | list }}|{{ users | selectattr('name', 'equalto', 'b')"
     " | list | length }}|{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3] | reject('even') | list }}"
     "|{{ ['a', 'b'] | map('upper') | list }}|{{ [1, 2, 3] | sum }}|{{ [3, 1, 2] | max }}|{{ [3, 1, 2] | min }}"
     "|{{ [1, 2, 2, 1] | unique | list }}|{{ -3 | abs }}|{{ '42' | int }}|{{ 'x' | int }}|{{ '2.5' | float }}"
     "|{{ 2.5 | round }}|{{ 2.4 | round(method='ceil') }}",
     {"d": {"b": 2, "a": 1}, "users": [{"name": "a", "active": True}, {"name": "b", "active": False}]}),
    ("filters_tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ d | tojson(sort_keys=true) }}"
     "|{{ d | tojson(separators=(',', ':')) }}|{{ 'é\"<>&' | tojson }}|{{ 'é' | tojson(ensure_ascii=true) }}"
     "|{{ [1.0, 2.5e-7, none, true] | tojson }}|{{ {} | tojson(indent=4) }}",
     {"d": {"b": [1, {"x": None}], "a": "ünï"}}),
    ("filters_indent", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", {}),
    ("tests", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }}"
     " {{ 1 is number }} {{ true is number }} {{ 1.5 is float }} {{ 1 is integer }} {{ true is integer }}"
     " {{ d is mapping }} {{ xs is mapping }} {{ xs is iterable }} {{ 'a' is iterable }} {{ d is sequence }}"
     " {{ 1 is iterable }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ true is boolean }}"
     " {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is equalto 'a' }} {{ 2 is eq 3 }}"
     " {{ 2 is not none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 2 is in [1, 2] }} {{ 3 is gt 2 }}"
     " {{ raise_exception is callable }} {{ y is sequence }} {{ y is iterable }}",
     {"x": 1, "d": {}, "xs": [1]}),
    ("macros", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} {{ greet('b', '?') }}"
     " {{ greet(name='c', punct='.') }}", {}),
    ("set_block", "{% set block %}x{{ 1 + 1 }}y{% endset %}[{{ block }}]", {}),
    ("generation_tag", "a{% generation %}b{{ 1 }}{% endgeneration %}c", {}),
    ("range_and_dict", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1, b='x') }}", {}),
    ("loop_cycle_dict_iteration", "{% for k in d %}{{ loop.cycle('o', 'e') }}{{ k }}{% endfor %}"
     "{% for c in 'héé' %}[{{ c }}]{% endfor %}", {"d": {"x": 1, "y": 2, "z": 3}}),
    ("special_tokens", "{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}|{{ messages[0].role }}", {}),
    # Errors: the expected output is absent and `error` holds jinja2's message.
    ("error_raise_exception", "{{ raise_exception('Only user and assistant roles are supported!') }}", {}),
    ("error_undefined_attribute", "{{ missing.attr }}", {}),
    ("error_type", "{{ 'a' + 1 }}", {}),
    ("error_none_iteration", "{% for x in none %}{% endfor %}", {}),
]


def jinja_cases():
    messages = [{"role": "user", "content": "hi"}]
    out = []
    for name, template, context in JINJA_CASES:
        case = {"name": name, "template": template, "context": context}
        compiled = _compile_jinja_template(template)
        try:
            # What render_jinja_template passes, plus the special tokens a tokenizer adds.
            case["expected"] = compiled.render(messages=messages, tools=None, documents=None, add_generation_prompt=True,
                                               bos_token="<s>", eos_token="</s>", **context)
        except (jinja2.exceptions.TemplateError, TypeError) as e:
            case["error"] = str(e)
        out.append(case)
    return out


def write(name, data):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    for model in ("qwen3", "llama3.2", "smollm2"):
        write(f"{model}_expected.json", render_model(model))
    write("jinja_cases.json", {"messages": [{"role": "user", "content": "hi"}], "bos_token": "<s>", "eos_token": "</s>",
                               "add_generation_prompt": True, "cases": jinja_cases()})
