"""The page's small Solara components: controls with exact input, notices and tables.

Each control shows its value beside its name and takes exact input in a box; layout and
state live in :mod:`sim.teach.app`.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import solara

from sim.teach.page_model import BY_KEY, SEED_MAX, check_value, control_parameter, show

STEP = 0.01
"""Slider step; the number box beside it takes any value in range."""


def paragraph(html: str, css_class: str = "") -> None:
    """A paragraph of trusted HTML (solara.Markdown would fetch KaTeX from a CDN)."""
    solara.HTML(tag="p", unsafe_innerHTML=html, classes=[css_class] if css_class else [])


@solara.component
def NumberControl(scenario: str, key: str, value: float,
                  on_value: Callable[[float], None], label: str | None = None) -> None:
    """A slider with the value written beside it in a box that takes exact input.

    Out-of-range input is refused with a message saying what is allowed.
    """
    param = control_parameter(scenario, key)
    error, set_error = solara.use_state("")
    text = label or BY_KEY[key].label

    def accept(new: float | None) -> None:
        problem = check_value(scenario, key, new)
        set_error(problem)
        if not problem and new is not None:
            on_value(float(new))

    with solara.Column(gap="0px", classes=["sim-control"]):
        with solara.Row(gap="8px", justify="space-between", classes=["sim-control-head"]):
            solara.HTML(tag="label", unsafe_innerHTML=f"{escape(text)} <b>{show(key, value)}</b>",
                        classes=["sim-control-label"],
                        attributes={"title": param.description})
            solara.InputFloat(f"{text} value", value=value, on_value=accept, dense=True,
                              hide_details=True, classes=["sim-number"])
        solara.SliderFloat(text, value=value, min=param.low, max=param.high, step=STEP,
                           on_value=accept, thumb_label=False, tick_labels=False)
        with solara.Row(justify="space-between", classes=["sim-control-ends"]):
            solara.Text(show(key, param.low))
            solara.Text(param.description, classes=["sim-control-help"])
            solara.Text(show(key, param.high))
        if error:
            solara.Error(error, dense=True)


@solara.component
def ChoiceControl(scenario: str, key: str, value: str, on_value: Callable[[str], None],
                  label: str | None = None) -> None:
    """A selector over a control's allowed choices."""
    param = control_parameter(scenario, key)
    with solara.Column(gap="0px", classes=["sim-control"]):
        solara.Select(label or BY_KEY[key].label, values=list(param.choices), value=value,
                      on_value=on_value, dense=True)


@solara.component
def SeedControl(value: int, on_value: Callable[[int], None]) -> None:
    """The root seed: any whole number from 0 to 2**63 - 1, typed exactly."""
    error, set_error = solara.use_state("")

    def accept(new: int | None) -> None:
        problem = check_value("", "seed", new)
        set_error(problem)
        if not problem and new is not None:
            on_value(int(new))

    with solara.Column(gap="0px", classes=["sim-control"]):
        solara.InputInt(f"Seed (root, as sim run --seed; 0 to {SEED_MAX})", value=value,
                        on_value=accept, dense=True, classes=["sim-seed"])
        if error:
            solara.Error(error, dense=True)


def notice(lines: list[str], action: str) -> None:
    """A warning listing how the controls differ from what is shown, and what to do."""
    if lines:
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        solara.HTML(tag="div", classes=["sim-notice"], unsafe_innerHTML=(
            f"<b>The controls differ from what is shown:</b><ul>{items}</ul>{escape(action)}"))


def html_table(headers: list[str], rows: list[list[Any]], css_class: str) -> None:
    """A table of trusted cell HTML."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    solara.HTML(tag="table", classes=[css_class],
                unsafe_innerHTML=f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>")
