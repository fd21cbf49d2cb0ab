"""Fair Tree and classic fairshare on small trees (fair_tree.html, classic_fair_share.html).

Trees are written as tiny builders: ``acct("A", shares)``, ``user("A", "u1", usage=30)``.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounting.core import fairshare as fs
from accounting.core.fairshare import Account, User


def acct(name: str, shares: int = 1, parent: str = "") -> Account:
    return Account(name, parent, shares)


def user(account: str, name: str, usage: float = 0.0, shares: int = 1) -> User:
    return User(account, name, shares, usage)


def factors(accounts: list[Account], users: list[User], tree: bool = True) -> dict[str, float]:
    rows = fs.compute(accounts, users, tree)
    return {f"{s.account}/{s.user}": round(s.fairshare, 4) for s in rows if s.user}


# A and B under root; A has u1 (30) and u2 (10), B has u3 (60): A is under-served.
AB = ([acct("A"), acct("B")], [user("A", "u1", 30), user("A", "u2", 10), user("B", "u3", 60)])


@pytest.mark.parametrize(("accounts", "users", "expected"), [
    # Every Level FS: A = .5/.4 = 1.25 > B = .5/.6; in A, u2 = .5/.25 = 2 > u1 = .5/.75.
    (*AB, {"A/u2": 1.0, "A/u1": round(2 / 3, 4), "B/u3": round(1 / 3, 4)}),
    # Tied accounts (both 50) merge their children: a2 (2.5) > b1 = b2 (1, one rank) > a1.
    ([acct("A"), acct("B")], [user("A", "a1", 40), user("A", "a2", 10), user("B", "b1", 25),
                              user("B", "b2", 25)],
     {"A/a2": 1.0, "B/b1": 0.75, "B/b2": 0.75, "A/a1": 0.25}),
    # A user tied with a sibling account shares the rank of the account's best user.
    ([acct("A")], [user("root", "r", 50), user("A", "a1", 50), user("A", "a2", 0,
                                                                        shares=0)],
     {"root/r": 1.0, "A/a1": 1.0, "A/a2": round(1 / 3, 4)}),
    # No usage anywhere: every Level FS is infinite, everyone ties at 1.0 (068_sshare.txt).
    ([acct("science"), acct("physics", parent="science")],
     [user("root", "root"), user("science", "root"), user("physics", "root")],
     {"root/root": 1.0, "science/root": 1.0, "physics/root": 1.0}),
    # Zero shares: Level FS 0, last.
    ([acct("A")], [user("A", "x", 0, shares=0), user("A", "y", 100)],
     {"A/y": 1.0, "A/x": 0.5}),
])
def test_fair_tree_ranks(accounts: list[Account], users: list[User],
                         expected: dict[str, float]) -> None:
    assert factors(accounts, users) == expected


def test_fair_tree_columns() -> None:
    rows = {f"{s.account}/{s.user}": s for s in fs.fair_tree(*AB)}
    assert [(s.account, s.user, s.depth) for s in fs.fair_tree(*AB)] == [
        ("root", "", 0), ("A", "", 1), ("A", "u1", 2), ("A", "u2", 2), ("B", "", 1),
        ("B", "u3", 2)]
    assert rows["A/"].raw_usage == 40 and rows["root/"].raw_usage == 100
    assert rows["A/"].level_fs == pytest.approx(1.25)
    assert rows["A/u1"].effective_usage == pytest.approx(0.75)
    assert rows["A/u1"].norm_usage == pytest.approx(0.3)
    assert rows["A/u1"].norm_shares == 0.5
    assert math.isnan(rows["root/"].level_fs) and math.isnan(rows["A/"].fairshare)


def test_classic_formula_values() -> None:
    # S(u1) = .5 * .5; UE(A) = .4 + (1 - .4) * .5 = .7; UE(u1) = .3 + (.7 - .3) * .5 = .5
    # F = 2^(-UE/S): u1 = 2^-2, u2 = 2^(-.4/.25), u3 = 2^(-.8/.5).
    got = factors(*AB, tree=False)
    assert got == {"A/u1": 0.25, "A/u2": round(2 ** -1.6, 4), "B/u3": round(2 ** -1.6, 4)}
    rows = {f"{s.account}/{s.user}": s for s in fs.classic(*AB)}
    assert rows["A/u1"].norm_shares == 0.25
    assert rows["A/u1"].effective_usage == pytest.approx(0.5)
    assert rows["B/"].effective_usage == pytest.approx(0.8)


def test_a_job_without_association_gets_zero() -> None:
    f = fs.user_factors(fs.fair_tree(*AB))
    assert fs.job_factor(f, "A", "u2") == 1.0
    assert fs.job_factor(f, "A", "nobody") == 0.0


def test_unknown_parent_and_missing_account_are_tolerated() -> None:
    rows = fs.fair_tree([acct("A", parent="nosuch")], [user("ghost", "g", 5), user("A", "a")])
    assert [(s.account, s.user, s.parent) for s in rows] == [
        ("root", "", ""), ("A", "", "root"), ("A", "a", "A")]


TREES = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "root"]), st.integers(0, 5),
              st.floats(0, 1e6, allow_nan=False)), min_size=1, max_size=12)


def _build(spec: list[tuple[str, int, float]]) -> tuple[list[Account], list[User]]:
    accounts = [acct("A"), acct("B", 2), acct("C", 1, parent="A")]
    users = [user(a, f"u{i}", usage, shares) for i, (a, shares, usage) in enumerate(spec)]
    return accounts, users


@settings(max_examples=200, deadline=None)
@given(TREES, st.booleans())
def test_factors_are_in_unit_interval(spec: list[tuple[str, int, float]], tree: bool) -> None:
    for value in factors(*_build(spec), tree=tree).values():
        assert 0.0 <= value <= 1.0


@settings(max_examples=200, deadline=None)
@given(TREES, st.sampled_from(["A", "B", "C", "root"]), st.integers(1, 5),
       st.floats(1e-3, 1e6, allow_nan=False), st.booleans())
def test_zero_usage_ranks_at_least_as_high_as_a_busier_sibling(
        spec: list[tuple[str, int, float]], account: str, shares: int, usage: float,
        tree: bool) -> None:
    accounts, users = _build(spec)
    users += [user(account, "idle", 0.0, shares), user(account, "busy", usage, shares)]
    got = factors(accounts, users, tree=tree)
    assert got[f"{account}/idle"] >= got[f"{account}/busy"]
