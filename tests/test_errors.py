"""The exception tree: every public exception the bot defines is a BotError, as errors.py draws it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import bot
from bot.errors import AddressRefused, BotError, FeedError, OpmlError, RequestRefused, TooManyRedirects


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(bot.__path__, prefix="bot."):
        if module_info.name == "bot.__main__":
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_public_exception_the_bot_defines_is_a_bot_error() -> None:
    classes = _exception_classes()
    assert "bot.errors.FeedError" in classes and "bot.errors.OpmlError" in classes  # the walk sees them
    outside = [name for name, cls in classes.items() if not name.rsplit(".", 1)[1].startswith("_")
               and not issubclass(cls, BotError)]  # fmt: skip
    assert outside == []


def test_every_class_in_the_tree_is_drawn_in_its_docstring() -> None:
    import bot.errors

    drawn = {
        line.split("── ")[-1].split()[0] for line in (bot.errors.__doc__ or "").splitlines() if "── " in line
    }
    defined = {cls.__name__ for name, cls in _exception_classes().items() if name.startswith("bot.errors.")}
    assert defined - {"BotError"} == drawn


def test_the_guards_refusals_carry_their_feed_error_kind() -> None:
    assert (RequestRefused("no").kind, TooManyRedirects(5).kind) == ("refused", "redirects")
    assert issubclass(RequestRefused, FeedError) and isinstance(AddressRefused("x"), OSError)
    assert issubclass(OpmlError, BotError)
