"""The directory's refusals: each one a kind of `ips_shared.errors` (the HTTP layer gives
the status), with its own code. None repeats what was sent."""

from ips_shared import errors


class UnknownCertificate(errors.NotFound):
    code = "unknown_certificate"

    def __init__(self) -> None:
        super().__init__("No certificate with this number is known to the directory.")


class UnknownCenter(errors.NotFound):
    code = "unknown_center"

    def __init__(self) -> None:
        super().__init__("No peer support center with this id.")


class UnknownGroup(errors.NotFound):
    code = "unknown_group"

    def __init__(self) -> None:
        super().__init__("No group with this id.")


class UnknownGroupType(errors.Invalid):
    code = "unknown_group_type"

    def __init__(self) -> None:
        super().__init__("The group type is not one of the directory's group types.")


class GroupTypeNotFound(errors.NotFound):
    code = "unknown_group_type"

    def __init__(self) -> None:
        super().__init__("No group type with this code.")


class GroupTypeInUse(errors.Conflict):
    code = "group_type_in_use"

    def __init__(self) -> None:
        super().__init__("Groups of this type exist: change or delete them first.")


class BuiltInGroupType(errors.Conflict):
    code = "built_in_group_type"

    def __init__(self) -> None:
        super().__init__("The program's own group types cannot be deleted.")


class ShownFieldEmpty(errors.Invalid):
    code = "shown_field_empty"

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"A field chosen to be shown has no value: {', '.join(fields)}.")


class InvalidSchedule(errors.Invalid):
    code = "invalid_schedule"


class NotOwnProfile(errors.NotFound):
    """A person's token asking for another's profile: one sentence, whatever it holds."""

    code = "unknown_person"

    def __init__(self) -> None:
        super().__init__("No profile of this person is open to this token.")
