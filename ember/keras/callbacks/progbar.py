"""``keras.utils.Progbar``: the progress bar ``fit`` prints, in Keras 3's format.

On a terminal the line is redrawn in place (``\\r``); on any other stream (a file, a
pipe, a notebook capture) only finished lines are written, so logs stay readable.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

__all__ = ["Progbar"]

_BAR = "\u2501"       # the heavy horizontal line Keras 3 draws its bar with


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


def _format_per_unit(seconds: float, unit_name: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar for ``target`` steps (None: unknown until the end).

    ``update(current, values, finalize=None)`` shows ``current`` steps done and the
    given ``(name, value)`` pairs, as they are: the trainer passes running means, so
    every value behaves like one of Keras's ``stateful_metrics`` (the argument is
    accepted for compatibility).
    ``verbose=1`` draws the bar, ``verbose=2`` writes one line when finished, ``0``
    nothing.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(2, verbose=2, stream=out)
    >>> bar.update(2, [("loss", 0.25)])
    >>> out.getvalue().startswith("2/2 - ") and out.getvalue().endswith("- loss: 0.2500\\n")
    True
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Any = None,
                 unit_name: str = "step", stream: TextIO | None = None) -> None:
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stream = stream
        self._values: dict[str, Any] = {}
        self._start = time.time()
        self._last_update = 0.0
        self._prev_width = 0
        self._seen = 0

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _interactive(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:      # a closed stream
            return False

    def update(self, current: int, values: Any = None, finalize: bool | None = None) -> None:
        """Record progress ``current`` (steps done) and the latest ``values``."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            self._values[name] = value
        self._seen = current
        if self.verbose == 0:
            return
        now = time.time()
        per_unit = (now - self._start) / current if current else 0.0
        if self.verbose == 2:
            if finalize:
                self._write(self._summary_line(current, now, per_unit) + "\n")
            return
        interactive = self._interactive()
        if not finalize and (not interactive or now - self._last_update < self.interval):
            return
        self._last_update = now
        line = self._bar_line(current, now, per_unit, finalize, interactive)
        if interactive:
            pad = max(self._prev_width - len(line), 0)
            self._prev_width = len(line)
            line = "\r" + line + " " * pad
        self._write(line + ("\n" if finalize else ""))

    def add(self, n: int, values: Any = None) -> None:
        """Advance by ``n`` steps."""
        self.update(self._seen + n, values)

    def _metrics_text(self) -> str:
        return "".join(f" - {name}: {_format_value(value)}"
                       for name, value in self._values.items())

    def _bar_line(self, current: int, now: float, per_unit: float, finalize: bool,
                  interactive: bool) -> str:
        target = self.target if self.target is not None else (current if finalize else None)
        line = f"{current:7d}/Unknown" if target is None else \
            f"{current:{int(math.log10(max(target, 1))) + 1}d}/{target}"
        if target:
            done = min(int(self.width * current / target), self.width)
            bold, dim, reset = ("\x1b[1m", "\x1b[2m", "\x1b[0m") if interactive else ("",) * 3
            line += " " + (bold + _BAR * done + reset if done else "") + \
                (dim + _BAR * (self.width - done) + reset if done < self.width else "")
        if target is not None and current < target:
            line += f" {_format_eta(per_unit * (target - current))}"
        else:
            line += f" {now - self._start:.0f}s {_format_per_unit(per_unit, self.unit_name)}"
        return line + self._metrics_text()

    def _summary_line(self, current: int, now: float, per_unit: float) -> str:
        target = self.target if self.target is not None else current
        digits = int(math.log10(max(target, 1))) + 1
        return (f"{current:{digits}d}/{target} - {now - self._start:.0f}s - "
                f"{_format_per_unit(per_unit, self.unit_name)}{self._metrics_text()}")

    def _write(self, text: str) -> None:
        out = self._out()
        out.write(text)
        out.flush()
