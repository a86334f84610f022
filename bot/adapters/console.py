"""The terminal surface: Replies -> plain text.  Buttons become numbered lines; forms become prompts.

Pure functions; ``bot.cli.chat`` does the reading and writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.handlers.replies import Choice, Field, Form, Reply

__all__ = ["Rendered", "field_answer", "field_prompt", "form_header", "render_replies"]


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    choices: tuple[Choice, ...]  # choices[n - 1] is what typing "n" picks
    forms: tuple[Form, ...]


def render_replies(replies: Sequence[Reply], *, me: str, names: Mapping[str, str] | None = None) -> Rendered:
    """All replies of one turn as text; the choices of the turn numbered 1, 2, ... in order."""
    names = names or {}
    lines: list[str] = []
    choices: list[Choice] = []
    forms: list[Form] = []
    for reply in replies:
        if reply.to is not None and reply.to != me:
            prefix = f"[to {names.get(reply.to, reply.to)}] "
        elif reply.to == me:
            prefix = "[direct message] "
        else:
            prefix = ""
        text_lines = reply.text.splitlines() or [""]
        lines.append(prefix + text_lines[0])
        lines += [("    " if prefix else "") + line for line in text_lines[1:]]
        lines += [f"    {detail}" for detail in reply.details]
        for choice in reply.choices:
            choices.append(choice)
            lines.append(f"  {len(choices)}. {choice.label}")
        if reply.form is not None:
            forms.append(reply.form)
    return Rendered("\n".join(lines), tuple(choices), tuple(forms))


def form_header(form: Form) -> str:
    return f"== {form.title} == (Enter keeps the value in [brackets]; '-' clears it)"


def field_prompt(field: Field) -> str:
    """``Monday [09:00-17:00]: `` with the field's error or hint on the line before when there is one.  A field with
    options lists them numbered, and the current value is shown as those numbers."""
    before = ""
    if field.error:
        before = f"  ! {field.error}\n"
    elif field.hint:
        before = f"  ({field.hint})\n"
    if not field.options:
        return f"{before}{field.label} [{field.value}]: "
    listed = "".join(f"    {n}. {o.label}\n" for n, o in enumerate(field.options, 1))
    numbers = {o.value: str(n) for n, o in enumerate(field.options, 1)}
    current = ",".join(numbers.get(v, v) for v in field.value.split(",") if v)
    many = " (numbers, comma-separated)" if field.kind == "multiselect" else " (a number)"
    return f"{before}{field.label}{many}\n{listed}[{current}]: "


def field_answer(field: Field, typed: str) -> str:
    """Enter keeps the current value; a lone '-' clears it.  For a field with options, numbers or labels are
    turned into the options' values (anything else is passed on for the handler to refuse)."""
    typed = typed.strip()
    if not typed:
        return field.value
    if typed == "-":
        return ""
    if not field.options:
        return typed
    by_label = {o.label.casefold(): o.value for o in field.options}
    picked: list[str] = []
    for token in (t.strip() for t in typed.split(",")):
        if token.isdigit() and 1 <= int(token) <= len(field.options):
            picked.append(field.options[int(token) - 1].value)
        elif token:
            picked.append(by_label.get(token.casefold(), token))
    return ",".join(picked)
