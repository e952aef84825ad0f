"""One sprint looked back on: what got done in it, its milestones, who did the work, and its burn-up.

Every figure comes from a read the rest of the dashboard and the JSON API already use: the sprint's
wins are the feed's sprint filter (``wins.all_wins``, the export's query), its committed and completed
scope are ``sprint_scope.scope_for_sprints`` (``GET /api/v1/teams/<slug>/sprints``), and the burn-up is
the team page's (``sprints.burn_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.dashboard import sprints as sprint_reads
from service.dashboard import wins as win_reads
from service.domain.charts import BurnDay
from service.domain.wins import COUNTED_KINDS, WinStatus
from service.models import Member, Sprint, Team, Win
from service.progress import sprint_scope

DELETED = "deleted"  # a sprint Jira deleted: gone from the API's list, so gone from the pages too
_COUNTED = frozenset(k.value for k in COUNTED_KINDS)


@dataclass(frozen=True)
class Contributor:
    """A person with done work in the sprint: how many wins, and the points of their tickets."""

    member: Member
    wins: int
    points: float


@dataclass(frozen=True)
class SprintRetro:
    figures: sprint_reads.SprintFigures
    done: list[Win]  # the wins people made in the sprint, still active, newest first
    milestones: list[Win]  # the engine's milestones of the sprint, oldest first
    contributors: list[Contributor]  # most wins first
    unattributed: int  # done wins with no person (an unassigned ticket)
    burn: list[BurnDay]

    @property
    def sprint(self) -> Sprint:
        return self.figures.sprint

    @property
    def done_points(self) -> float:
        return sum(w.points or 0.0 for w in self.done)


def team_sprint(session: Session, team_id: int, jira_sprint_id: int) -> Sprint | None:
    """The team's sprint with Jira's id, as the API lists it (a deleted sprint is not found)."""
    sprint = sprint_reads.team_sprint(session, team_id, jira_sprint_id)
    return None if sprint is None or sprint.state == DELETED else sprint


def sprint_retro(session: Session, team: Team, sprint: Sprint, zone: ZoneInfo, today: date) -> SprintRetro:
    """Everything the sprint page shows of ``sprint`` (one of ``team``'s, see ``team_sprint``)."""
    scope = sprint_scope.scope_for_sprints(session, [sprint.id])[sprint.id]
    figures = sprint_reads.SprintFigures(sprint, scope)
    done = [w for w in _sprint_wins(session, team.id, sprint) if _counted(w)]
    ref = sprint_reads.sprint_ref(team.slug, sprint)
    return SprintRetro(
        figures=figures,
        done=done,
        milestones=win_reads.sprint_milestones(session, team.id, ref),
        contributors=contributors(done),
        unattributed=sum(1 for w in done if w.member is None),
        burn=sprint_reads.burn_days(session, figures, zone, today),
    )


def _sprint_wins(session: Session, team_id: int, sprint: Sprint) -> list[Win]:
    if sprint.jira_id is None:  # the feed names sprints by Jira's id; one without it has no wins there
        return []
    return list(win_reads.all_wins(session, team_id, win_reads.FeedFilter(sprint=sprint.jira_id)))


def _counted(win: Win) -> bool:
    return win.status == WinStatus.ACTIVE.value and win.kind in _COUNTED


def contributors(done: list[Win]) -> list[Contributor]:
    """Each person's share of the done list, most wins first (then most points, then oldest member).

    Everyone is listed, people who opted out included: the page shows them as "a teammate", as the
    team page's streaks do, so the count is right without saying whose it is.
    """
    tally: dict[int, tuple[Member, int, float]] = {}
    for win in done:
        if win.member is None:
            continue
        member, wins, points = tally.get(win.member.id, (win.member, 0, 0.0))
        tally[win.member.id] = (member, wins + 1, points + (win.points or 0.0))
    ranked = sorted(tally.values(), key=lambda t: (-t[1], -t[2], t[0].id))
    return [Contributor(member, wins, points) for member, wins, points in ranked]
