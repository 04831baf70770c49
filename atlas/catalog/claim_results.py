"""The runs of a claim's experiment: each is a row (verdict, numbers, what reproduces it,
its plot), the claim's status follows the latest one, and none is ever rewritten.

The ``experiment`` job writes here in the transaction that completes it, so a run that
crashes or is superseded leaves nothing behind (its plot blob, content-addressed, may
stay in the store unreferenced).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.bounds import check_id
from atlas.catalog import circuits
from atlas.catalog.records import ClaimResultInfo
from atlas.db.models import Circuit, CircuitClaim, ClaimResult, User
from atlas.errors import InvalidInput, NotFound
from atlas.vocabulary import VERDICTS


def get_claim(session: Session, claim_id: int) -> CircuitClaim:
    claim = session.get(CircuitClaim, check_id(claim_id, "claim id"))
    if claim is None:
        raise NotFound(f"unknown claim {claim_id}")
    return claim


def claims_to_run(session: Session, circuit: Circuit, claim_id: int | None) -> list[CircuitClaim]:
    """The claims of ``circuit`` an experiment run covers: ``claim_id`` (which must have an
    experiment), or every claim that has one."""
    if claim_id is not None:
        claim = get_claim(session, claim_id)
        if claim.circuit_id != circuit.id:
            raise NotFound(f"claim {claim_id} is not a claim of circuit {circuit.name!r}")
        if claim.experiment is None:
            raise InvalidInput(f"claim {claim_id} has no experiment to run: only a reviewer can judge it")
        return [claim]
    claims = list(session.scalars(select(CircuitClaim).where(
        CircuitClaim.circuit_id == circuit.id, CircuitClaim.experiment.is_not(None)).order_by(CircuitClaim.id)))
    claims = [c for c in claims if c.experiment is not None]  # a JSON null is not SQL NULL everywhere
    if not claims:
        raise InvalidInput(f"circuit {circuit.name!r} has no claim with an experiment to run")
    return claims


def record(session: Session, claim_id: int, verdict: str, result: dict, blobs: list[str],
           job_id: int | None, author: User) -> ClaimResult:
    """Add one run's result and set the claim's status to its verdict (audited)."""
    if verdict not in VERDICTS:
        raise InvalidInput(f"unknown verdict {verdict!r} (one of {', '.join(VERDICTS)})")
    get_claim(session, claim_id)
    row = ClaimResult(claim_id=claim_id, verdict=verdict, result=result, blobs=blobs, job_id=job_id,
                      author_id=author.id)
    session.add(row)
    circuits.set_claim_status(session, claim_id, verdict, str(result.get("summary", ""))[:2000] or None, author)
    session.flush()
    return row


def history(session: Session, claim_id: int) -> list[ClaimResultInfo]:
    """Every run of the claim, newest first."""
    get_claim(session, claim_id)
    rows = session.execute(
        select(ClaimResult, User.name).join(User, User.id == ClaimResult.author_id)
        .where(ClaimResult.claim_id == claim_id).order_by(ClaimResult.id.desc())
    )
    return [ClaimResultInfo(r.id, r.claim_id, r.verdict, r.result, list(r.blobs), r.job_id, name, r.created_at)
            for r, name in rows]
