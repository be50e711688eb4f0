"""People and Peer Support 101: registering people, sessions, registrations and
completions (the prerequisite for applying to the training)."""

from __future__ import annotations

from ips_shared.contracts import events
from ips_shared.messaging.unit_of_work import UnitOfWork

from ..commands import (
    ChangeContact,
    CompletePs101,
    CreatePs101Session,
    EraseContact,
    GetPerson,
    RegisterForSession,
    RegisterPerson,
)
from ..db import repository
from ..db.tables import Person, Ps101Registration, Ps101Session
from ..domain.errors import DuplicatePerson, NotFound, SessionFull
from ..domain.people import e164_or_none
from . import Clock


def announce_contact(uow: UnitOfWork, person: Person) -> None:
    """Publish the person's current contact details on their own subject in CONTACTS (the
    stream keeps the latest only). No other event carries them."""
    uow.emit(
        events.PersonContactChanged(
            person_id=person.id,
            name=person.name,
            email=person.email,
            phone=e164_or_none(person.phone),
            preferred_channel=person.preferred_channel,
            sms_consent=person.sms_consent,
            language=person.language,
        ),
        partition_key=person.id,
    )


def register_person(message: RegisterPerson, uow: UnitOfWork, *, clock: Clock) -> Person:
    wanted = message.person_id
    if wanted and repository.find_person(uow.session, wanted) is not None:
        raise DuplicatePerson("A person with this id exists already.")
    person = repository.add_person(
        uow.session,
        person_id=message.person_id,
        name=message.name,
        region=message.region,
        email=message.email,
        phone=message.phone,
        preferred_channel=message.preferred_channel,
        sms_consent=message.sms_consent,
        language=message.language,
        created_at=clock(),
    )
    announce_contact(uow, person)
    return person


def get_person(message: GetPerson, uow: UnitOfWork) -> Person:
    return repository.person(uow.session, message.person_id)


def change_contact(message: ChangeContact, uow: UnitOfWork) -> Person:
    """Change the details named; published only if something did change."""
    person = repository.person(uow.session, message.person_id)
    current = repository.contact_of(person)
    updated = current.changed(message.changes)
    if updated != current:
        repository.set_contact(person, updated)
        announce_contact(uow, person)
    return person


def erase_contact(message: EraseContact, uow: UnitOfWork) -> Person:
    """The details erased here and in the outbox first (deleted before the erasure's own
    event is queued), then the erasure published on the person's subject, where the stream
    keeps it alone."""
    person = repository.person(uow.session, message.person_id)
    repository.set_contact(person, repository.contact_of(person).erased())
    repository.forget_contact_events(uow.session, person.id)
    uow.emit(
        events.PersonContactChanged(person_id=person.id, language=person.language, erased=True),
        partition_key=person.id,
    )
    return person


def create_ps101_session(message: CreatePs101Session, uow: UnitOfWork) -> Ps101Session:
    return repository.add_ps101_session(
        uow.session,
        starts_at=message.starts_at,
        place=message.place,
        online=message.online,
        capacity=message.capacity,
    )


def register_for_session(
    message: RegisterForSession, uow: UnitOfWork, *, clock: Clock
) -> Ps101Registration:
    repository.person(uow.session, message.person_id)
    ps101 = repository.ps101_session(uow.session, message.session_id)
    existing = repository.registration(uow.session, message.session_id, message.person_id)
    if existing is not None:
        return existing
    if repository.registrations_to(uow.session, message.session_id) >= ps101.capacity:
        raise SessionFull(f"The session is full ({ps101.capacity} places).")
    return repository.add_registration(
        uow.session, message.session_id, message.person_id, registered_at=clock()
    )


def complete_ps101(message: CompletePs101, uow: UnitOfWork) -> Ps101Registration:
    repository.person(uow.session, message.person_id)
    registration = repository.registration(uow.session, message.session_id, message.person_id)
    if registration is None:
        raise NotFound("This person is not registered for that session.")
    if registration.completed_on is not None:
        return registration  # recorded already: no second event
    registration.completed_on = message.completed_on
    uow.emit(
        events.PeerSupport101Completed(
            person_id=message.person_id,
            session_id=message.session_id,
            completed_on=message.completed_on,
        ),
        partition_key=message.person_id,
    )
    return registration
