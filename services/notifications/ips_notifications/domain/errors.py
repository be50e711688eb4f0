"""Notifications' refusals: each one a kind of `ips_shared.errors` (the HTTP layer gives
the status), with its own code."""

from ips_shared import errors


class UnknownPerson(errors.NotFound):
    """One sentence for every case, so a person asking for another's preferences is told
    exactly what they would be told for an id notifications does not know (a person is
    known once enrollment has sent their contact details)."""

    code = "unknown_person"

    def __init__(self) -> None:
        super().__init__("No person with this id is known to notifications.")
