"""Declarative base, UTC clock and the shared get_or_raise/create helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Session

from annotation_tool.errors import NotFoundError

# Named constraints so Alembic migrations can alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC: SQLite stores no zone, so every timestamp is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class CRUDMixin:
    """Shared loading and creation, so contexts never repeat the not-found check."""

    @classmethod
    def get_or_raise(cls, db: Session, id_: int) -> Self:
        entity = db.get(cls, id_)
        if entity is None:
            raise NotFoundError(f"{cls.__name__} {id_} not found", id=id_)
        return entity

    @classmethod
    def create(cls, db: Session, **values: Any) -> Self:
        entity = cls(**values)
        db.add(entity)
        db.flush()
        return entity
