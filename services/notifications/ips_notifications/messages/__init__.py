"""The messages peers receive: one Jinja2 template per reason and language
(`templates/<language>/<reason>.j2`), plain text, in plain language.

Each template defines `subject` (the email's subject), `message` (the email's text, set in
the language's `base.j2`: greeting, what to do next, where to get help) and `text` (a text
message: short, with nothing someone else reading the phone should not see). A template
sees only the person's name, the values its rule picked (`domain.rules`), where to sign in
and who to ask for help.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, Template


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    text: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("ips_notifications.messages", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # plain text, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(
    reason: str,
    language: str,
    *,
    name: str,
    details: Mapping[str, str],
    portal_url: str,
    help_contact: str,
    may_opt_out: bool,
) -> Rendered:
    template = environment().get_template(f"{language}/{reason}.j2")
    context = {
        **details,
        "name": name.strip(),
        "portal_url": portal_url,
        "help_contact": help_contact,
        "may_opt_out": may_opt_out,
    }
    return Rendered(
        subject=" ".join(_block(template, "subject", context).split()),
        body=template.render(context).strip() + "\n",
        text=" ".join(_block(template, "text", context).split()),
    )


def _block(template: Template, block: str, context: dict[str, object]) -> str:
    return "".join(template.blocks[block](template.new_context(context)))


def templates() -> list[str]:
    """Every template, as `<language>/<reason>`."""
    return sorted(
        name.removesuffix(".j2")
        for name in environment().list_templates(extensions=["j2"])
        if not name.endswith("base.j2")
    )
