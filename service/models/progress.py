"""What the progress engine keeps between recomputes: streak stats, freezes, challenges, holidays.

The engine's wins themselves (streaks, badges, milestones, challenges) live in ``wins`` with
source ``engine``; these tables hold the inputs a team sets and the figures the API shows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, JSONType, UTCDateTime, utcnow

# Whose streak stat or challenge a row is (its ``scope`` column): one person's, or the team's.
OWNER_MEMBER = "member"
OWNER_TEAM = "team"


class StreakStat(Base):
    """Current and best streak of a person in a team, or of the team (``member_id`` NULL)."""

    __tablename__ = "streak_stats"
    __table_args__ = (
        UniqueConstraint("team_id", "scope", "member_id"),
        CheckConstraint("scope IN ('member', 'team')", name="scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column("scope", String(16))  # OWNER_MEMBER or OWNER_TEAM
    # Cascade: a forgotten person's streak goes with them (the team streak is kept).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    current: Mapped[int] = mapped_column(default=0)
    best: Mapped[int] = mapped_column(default=0)
    current_start: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StreakFreezeDay(Base):
    """A working day a person protected: it neither breaks nor extends their streak in that team."""

    __tablename__ = "streak_freezes"
    __table_args__ = (UniqueConstraint("member_id", "team_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChallengeRow(Base):
    """A micro-challenge (``service.domain.challenges.Challenge``), for the team or one person.

    ``completed_at`` and ``progress`` are written by the recompute; the rest is what was asked.
    """

    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint("scope IN ('member', 'team')", name="scope"),
        CheckConstraint("(scope = 'team') = (member_id IS NULL)", name="member_matches_scope"),
        Index("ix_challenges_team_ends", "team_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column("scope", String(16))  # OWNER_MEMBER or OWNER_TEAM
    # A personal challenge is personal data: it goes when the person is forgotten.
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(String(32))
    target: Mapped[float]
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    spec: Mapped[str] = mapped_column(Text, default="")  # the words it was set with
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress: Mapped[float] = mapped_column(default=0.0)


class TeamHoliday(Base):
    """A day off for the whole team: it does not break anyone's streak."""

    __tablename__ = "team_holidays"
    __table_args__ = (UniqueConstraint("team_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200), default="")


class SprintTallyRow(Base):
    """A sprint's ``SprintTally`` as of the last recompute, and the fingerprint of the issues it came from.

    A recompute derives the tally again only for the sprints whose fingerprint changed (on Postgres),
    so a team with years of closed sprints does not re-read every issue of every one each time.
    ``first_win_at`` is when the earliest win among the sprint's tickets came.
    """

    __tablename__ = "sprint_tallies"

    sprint_id: Mapped[int] = mapped_column(ForeignKey("sprints.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(100))
    tally: Mapped[dict[str, Any]] = mapped_column(JSONType)
    first_win_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
