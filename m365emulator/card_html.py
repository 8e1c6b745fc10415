"""A plain HTML rendering of an Adaptive Card for the chat page: readable, not Teams' look.

Buttons are numbered in the order they are rendered; `RenderedCard.actions[i]` is the action of
the button whose value is `i`. Inputs are named `input:{id}` so a pressed button can send them.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

INPUT_PREFIX = "input:"
SAFE_URL = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
SUBMIT_ACTIONS = ("Action.Execute", "Action.Submit")


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def markdown_lite(text: object) -> str:
    """Teams' TextBlock markdown, the common part: **bold**, _italic_, [link](url), line breaks."""
    out = esc(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w])_(.+?)_(?![\w])", r"<em>\1</em>", out)
    out = re.sub(r"\[([^\]]+)\]\(((?:https?:|mailto:)[^)\s]+)\)", r'<a href="\2" rel="noopener" target="_blank">\1</a>', out)
    return out.replace("\n", "<br>")


@dataclass
class RenderedCard:
    html: str
    actions: list[dict] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)


class _Renderer:
    def __init__(self) -> None:
        self.actions: list[dict] = []
        self.inputs: list[dict] = []

    # Card and elements -----------------------------------------------------------------
    def card(self, card: dict) -> str:
        parts = [self.elements(card.get("body") or [])]
        if card.get("actions"):
            parts.append(self.action_list(card["actions"]))
        refresh = card.get("refresh")
        if isinstance(refresh, dict) and isinstance(refresh.get("action"), dict):
            users = refresh.get("userIds")
            note = f" (for {len(users)} brugere)" if isinstance(users, list) else ""
            action = dict(refresh["action"], title=f"Hent brugerens visning (refresh{note})", _refresh=True)
            parts.append(f'<div class="refresh">{self.action(action)}</div>')
        return f'<div class="card">{"".join(parts)}</div>'

    def elements(self, items: list) -> str:
        return "".join(self.element(item) for item in items if isinstance(item, dict))

    def element(self, item: dict) -> str:
        if item.get("isVisible") is False:
            return ""
        kind = item.get("type")
        render = getattr(self, "el_" + str(kind).replace(".", "_"), None)
        if render is None:
            return f'<div class="unknown">[{esc(kind)}]</div>'
        return render(item)

    def el_TextBlock(self, item: dict) -> str:
        classes = ["text", f"size-{item.get('size', 'default')}".lower(), f"color-{item.get('color', 'default')}".lower()]
        if str(item.get("weight", "")).lower() == "bolder":
            classes.append("bold")
        if item.get("isSubtle"):
            classes.append("subtle")
        return f'<p class="{" ".join(classes)}">{markdown_lite(item.get("text"))}</p>'

    def el_RichTextBlock(self, item: dict) -> str:
        runs = []
        for inline in item.get("inlines") or []:
            if isinstance(inline, str):
                runs.append(esc(inline))
            elif isinstance(inline, dict):
                text = esc(inline.get("text"))
                if str(inline.get("weight", "")).lower() == "bolder":
                    text = f"<strong>{text}</strong>"
                if inline.get("italic"):
                    text = f"<em>{text}</em>"
                runs.append(f'<span class="color-{esc(str(inline.get("color", "default")).lower())}">{text}</span>')
        return f'<p class="text">{"".join(runs)}</p>'

    def el_Image(self, item: dict) -> str:
        url, alt = item.get("url"), item.get("altText") or "billede"
        if isinstance(url, str) and SAFE_URL.match(url):
            return f'<p class="image">[billede: <a href="{esc(url)}" target="_blank" rel="noopener">{esc(alt)}</a>]</p>'
        return f'<p class="image">[billede: {esc(alt)}]</p>'

    def el_Container(self, item: dict) -> str:
        style = esc(str(item.get("style", "default")).lower())
        return f'<div class="container style-{style}">{self.elements(item.get("items") or [])}</div>'

    def el_ColumnSet(self, item: dict) -> str:
        columns = "".join(
            f'<div class="column">{self.elements(column.get("items") or [])}</div>'
            for column in item.get("columns") or []
            if isinstance(column, dict)
        )
        return f'<div class="columns">{columns}</div>'

    def el_FactSet(self, item: dict) -> str:
        rows = "".join(
            f"<tr><th>{markdown_lite(fact.get('title'))}</th><td>{markdown_lite(fact.get('value'))}</td></tr>"
            for fact in item.get("facts") or []
            if isinstance(fact, dict)
        )
        return f'<table class="facts">{rows}</table>'

    def el_Table(self, item: dict) -> str:
        rows = []
        for row in item.get("rows") or []:
            cells = "".join(
                f"<td>{self.elements(cell.get('items') or [])}</td>"
                for cell in (row.get("cells") or [] if isinstance(row, dict) else [])
                if isinstance(cell, dict)
            )
            rows.append(f"<tr>{cells}</tr>")
        return f'<table class="grid">{"".join(rows)}</table>'

    def el_ActionSet(self, item: dict) -> str:
        return self.action_list(item.get("actions") or [])

    # Inputs ----------------------------------------------------------------------------
    def _input(self, item: dict, control: str) -> str:
        self.inputs.append(item)
        label = f'<span class="label">{esc(item.get("label"))}</span>' if item.get("label") else ""
        return f'<label class="input">{label}{control}</label>'

    def _name(self, item: dict) -> str:
        return esc(INPUT_PREFIX + str(item.get("id", "")))

    def el_Input_Text(self, item: dict) -> str:
        value, placeholder = esc(item.get("value")), esc(item.get("placeholder"))
        if item.get("isMultiline"):
            control = f'<textarea name="{self._name(item)}" placeholder="{placeholder}">{value}</textarea>'
        else:
            control = f'<input type="text" name="{self._name(item)}" value="{value}" placeholder="{placeholder}">'
        return self._input(item, control)

    def _simple_input(self, item: dict, html_type: str) -> str:
        control = f'<input type="{html_type}" name="{self._name(item)}" value="{esc(item.get("value"))}">'
        return self._input(item, control)

    def el_Input_Number(self, item: dict) -> str:
        return self._simple_input(item, "number")

    def el_Input_Date(self, item: dict) -> str:
        return self._simple_input(item, "date")

    def el_Input_Time(self, item: dict) -> str:
        return self._simple_input(item, "time")

    def el_Input_Toggle(self, item: dict) -> str:
        value_on = str(item.get("valueOn", "true"))
        checked = " checked" if str(item.get("value")) == value_on else ""
        control = f'<input type="checkbox" name="{self._name(item)}" value="{esc(value_on)}"{checked}> {esc(item.get("title"))}'
        return self._input(item, control)

    def el_Input_ChoiceSet(self, item: dict) -> str:
        selected = set(str(item.get("value") or "").split(","))
        options = "".join(
            f'<option value="{esc(choice.get("value"))}"{" selected" if str(choice.get("value")) in selected else ""}>'
            f"{esc(choice.get('title'))}</option>"
            for choice in item.get("choices") or []
            if isinstance(choice, dict)
        )
        multiple = " multiple" if item.get("isMultiSelect") else ""
        return self._input(item, f'<select name="{self._name(item)}"{multiple}>{options}</select>')

    # Actions ---------------------------------------------------------------------------
    def action_list(self, actions: list) -> str:
        buttons = "".join(self.action(action) for action in actions if isinstance(action, dict))
        return f'<div class="actions">{buttons}</div>'

    def action(self, action: dict) -> str:
        kind = action.get("type")
        title = esc(action.get("title") or action.get("verb") or kind)
        if kind in SUBMIT_ACTIONS:
            index = len(self.actions)
            self.actions.append(action)
            style = esc(str(action.get("style", "default")).lower())
            return f'<button type="submit" name="action" value="{index}" class="style-{style}">{title}</button>'
        if kind == "Action.OpenUrl":
            url = action.get("url")
            if isinstance(url, str) and SAFE_URL.match(url):
                return f'<a class="button" href="{esc(url)}" target="_blank" rel="noopener">{title}</a>'
            return f'<span class="button disabled">{title}</span>'
        if kind == "Action.ShowCard" and isinstance(action.get("card"), dict):
            return f"<details><summary>{title}</summary>{self.card(action['card'])}</details>"
        return f'<span class="button disabled" title="{esc(kind)}">{title}</span>'


def render_card(card: dict) -> RenderedCard:
    renderer = _Renderer()
    markup = renderer.card(card)
    return RenderedCard(markup, renderer.actions, renderer.inputs)


def input_values(inputs: list[dict], form) -> dict:
    """The values Teams would merge into an action's data, from the posted form (a MultiDict)."""
    values = {}
    for item in inputs:
        input_id = item.get("id")
        if not input_id:
            continue
        name = INPUT_PREFIX + str(input_id)
        if item.get("type") == "Input.Toggle":
            values[input_id] = str(form.get(name) or item.get("valueOff", "false"))
        elif item.get("type") == "Input.ChoiceSet" and item.get("isMultiSelect"):
            values[input_id] = ",".join(str(v) for v in form.getall(name, []))
        else:
            values[input_id] = str(form.get(name, ""))
    return values


def action_data(action: dict, inputs: list[dict], form) -> dict:
    """The action's `data` with the card's inputs merged in (unless `associatedInputs` is none)."""
    data = action.get("data")
    merged = dict(data) if isinstance(data, dict) else ({} if data is None else {"value": data})
    if str(action.get("associatedInputs", "auto")).lower() != "none":
        merged.update(input_values(inputs, form))
    return merged
