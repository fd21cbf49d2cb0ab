"""Fairshare over the association tree: Fair Tree (Slurm's default) and the classic formula.

Sources: Slurm's *Fair Tree Fairshare Algorithm* page (``fair_tree.html``),
``src/plugins/priority/multifactor/fair_tree.c``, and the "Fairshare Factor"
section of ``priority_multifactor.html`` (classic, PriorityFlags=NO_FAIR_TREE).

The tree is root -> accounts -> (sub-accounts and) users. Every node has raw
shares; users have (decayed) raw usage and an account's usage is the sum of
its subtree's.

Fair Tree. For every node, relative to its siblings::

    S = shares / sum of the siblings' shares         (NormShares)
    U = usage / the parent's usage                    (EffectvUsage)
    Level FS = S / U    (0 if S == 0; infinity if U == 0 and S > 0)

Then, from the root, siblings are sorted by Level FS (highest first; a user
before an account on a tie) and visited depth first; each user met gets the
rank ``rank`` counting down from the number of users, and fairshare factor
``rank / number of users``. Ties: sibling users with equal Level FS share a
rank; sibling accounts with equal Level FS have their children merged and
sorted together; a user tied with a sibling account shares the rank of that
account's best user.

Classic (NO_FAIR_TREE)::

    S  = product down the tree of (shares / sum of siblings' shares)   (NormShares)
    UA = usage / root usage                                            (NormUsage)
    UE = UA + (UE_parent - UA) * shares / sum of siblings' shares       (EffectvUsage,
         UE_root = 1)
    F  = 2 ** (-UE / S)     (0 if S == 0)

Pure and deterministic: ties in sorting are broken by name. The arithmetic
is numpy over all nodes at once; the Fair Tree ranking is one depth-first pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ROOT = "root"
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    parent: str = ""  # "" = a child of the root (the root account itself is named "root")
    shares: int = 1


@dataclass(frozen=True, slots=True)
class User:
    """A user's association with an account: its shares and decayed raw usage."""

    account: str
    user: str
    shares: int = 1
    usage: float = 0.0


@dataclass(frozen=True, slots=True)
class Share:
    """One row of ``sshare``: an account (``user == ""``) or a user association."""

    account: str
    user: str
    parent: str
    depth: int  # root 0
    raw_shares: int
    norm_shares: float
    raw_usage: float
    norm_usage: float
    effective_usage: float
    level_fs: float  # nan for the root
    fairshare: float  # nan for accounts


@dataclass(slots=True)
class _Tree:
    names: list[tuple[str, str]]  # (account, user)
    parent: npt.NDArray[np.int64]  # root: -1
    depth: npt.NDArray[np.int64]
    is_user: npt.NDArray[np.bool_]
    shares: F64
    usage: F64  # aggregated
    children: list[list[int]]  # in sshare order: users by name, then accounts by name


def _build(accounts: Iterable[Account], users: Iterable[User]) -> _Tree:
    accts = {a.name: a for a in accounts}
    accts.setdefault(ROOT, Account(ROOT, "", 1))
    kids_acct: dict[str, list[str]] = {name: [] for name in accts}
    for a in accts.values():
        if a.name == ROOT:
            continue
        parent = a.parent if a.parent in accts and a.parent != a.name else ROOT
        kids_acct[parent].append(a.name)
    kids_user: dict[str, dict[str, User]] = {name: {} for name in accts}
    for u in users:
        if u.account not in accts:
            continue
        seen = kids_user[u.account].get(u.user)
        if seen is not None:  # per-partition rows of one user: merge
            u = User(u.account, u.user, max(seen.shares, u.shares), seen.usage + u.usage)
        kids_user[u.account][u.user] = u
    names: list[tuple[str, str]] = []
    parents: list[int] = []
    depth: list[int] = []
    is_user: list[bool] = []
    shares: list[float] = []
    usage: list[float] = []
    children: list[list[int]] = []
    visiting: set[str] = set()

    def add(key: tuple[str, str], par: int, d: int, user: bool, sh: int, us: float) -> int:
        names.append(key)
        parents.append(par)
        depth.append(d)
        is_user.append(user)
        shares.append(float(sh))
        usage.append(us)
        children.append([])
        if par >= 0:
            children[par].append(len(names) - 1)
        return len(names) - 1

    def walk(acct: str, par: int, d: int) -> None:
        if acct in visiting:  # a cycle in the parent links: cut it
            return
        visiting.add(acct)
        idx = add((acct, ""), par, d, False, accts[acct].shares, 0.0)
        for name in sorted(kids_user[acct]):
            u = kids_user[acct][name]
            add((acct, name), idx, d + 1, True, u.shares, max(u.usage, 0.0))
        for child in sorted(kids_acct[acct]):
            walk(child, idx, d + 1)

    walk(ROOT, -1, 0)
    par_a = np.asarray(parents, dtype=np.int64)
    dep_a = np.asarray(depth, dtype=np.int64)
    use_a = np.asarray(usage, dtype=np.float64)
    # Accounts' usage is their subtree's: add each level into the one above, deepest first.
    for d in range(int(dep_a.max(initial=0)), 0, -1):
        at = np.nonzero(dep_a == d)[0]
        np.add.at(use_a, par_a[at], use_a[at])
    return _Tree(names, par_a, dep_a, np.asarray(is_user, dtype=np.bool_),
                 np.asarray(shares, dtype=np.float64), use_a, children)


def _sibling_share(tree: _Tree) -> F64:
    """shares / sum of siblings' shares (1 for the root)."""
    n = len(tree.names)
    par = np.where(tree.parent < 0, 0, tree.parent)
    level = np.bincount(par[1:], weights=tree.shares[1:], minlength=n)[par]
    out = np.divide(tree.shares, level, out=np.zeros(n), where=level > 0)
    out[0] = 1.0
    return out


def fair_tree(accounts: Iterable[Account], users: Iterable[User]) -> list[Share]:
    """Fair Tree over the tree: one :class:`Share` per node, in ``sshare`` order."""
    tree = _build(accounts, users)
    n = len(tree.names)
    s = _sibling_share(tree)
    par = np.where(tree.parent < 0, 0, tree.parent)
    parent_usage = tree.usage[par]
    u = np.divide(tree.usage, parent_usage, out=np.zeros(n), where=parent_usage > 0)
    u[0] = 1.0
    with np.errstate(divide="ignore", over="ignore"):  # tiny usage: S/U is +inf
        lfs = np.where(s == 0, 0.0, np.where(u == 0, np.inf, s / np.where(u == 0, 1.0, u)))
    lfs[0] = np.nan
    fs = _rank(tree, lfs)
    total = tree.usage[0]
    norm_usage = tree.usage / total if total > 0 else np.zeros(n)
    return _rows(tree, s, norm_usage, u, lfs, fs)


def _rank(tree: _Tree, lfs: F64) -> F64:
    users = int(tree.is_user.sum())
    fs = np.full(len(tree.names), np.nan)
    if not users:
        return fs
    state = {"rank": users, "rnt": users}
    level = lfs.tolist()
    is_user = tree.is_user.tolist()

    def visit(siblings: list[int], account_tied: bool) -> None:
        order = sorted(siblings, key=lambda i: (-level[i], not is_user[i], tree.names[i]))
        prev: float | None = None
        i = 0
        while i < len(order):
            a = order[i]
            tied = account_tied if i == 0 else prev == level[a]
            if is_user[a]:
                if not tied:
                    state["rank"] = state["rnt"]
                fs[a] = state["rank"] / users
                state["rnt"] -= 1
            else:
                j = i
                while (j + 1 < len(order) and not is_user[order[j + 1]]
                       and level[order[j + 1]] == level[a]):
                    j += 1
                visit([c for k in range(i, j + 1) for c in tree.children[order[k]]], tied)
                i = j
            prev = level[a]
            i += 1

    visit(tree.children[0], False)
    return fs


def classic(accounts: Iterable[Account], users: Iterable[User]) -> list[Share]:
    """The classic fairshare formula (PriorityFlags=NO_FAIR_TREE), in ``sshare`` order."""
    tree = _build(accounts, users)
    n = len(tree.names)
    sib = _sibling_share(tree)
    total = tree.usage[0]
    ua = tree.usage / total if total > 0 else np.zeros(n)
    norm_shares = sib.copy()
    ue = np.zeros(n)
    ue[0] = 1.0
    # Parents come before children in the build order, so one pass per depth suffices.
    for d in range(1, int(tree.depth.max(initial=0)) + 1):
        at = np.nonzero(tree.depth == d)[0]
        norm_shares[at] = sib[at] * norm_shares[tree.parent[at]]
        ue[at] = ua[at] + (ue[tree.parent[at]] - ua[at]) * sib[at]
    with np.errstate(divide="ignore", over="ignore"):
        f = np.where(norm_shares > 0,
                     np.power(2.0, -ue / np.where(norm_shares > 0, norm_shares, 1.0)), 0.0)
    f = np.where(tree.is_user, f, np.nan)
    lfs = np.full(n, np.nan)
    return _rows(tree, norm_shares, ua, ue, lfs, f)


def _rows(tree: _Tree, norm_shares: F64, norm_usage: F64, eff: F64, lfs: F64,
          fs: F64) -> list[Share]:
    out = []
    for i, (acct, user) in enumerate(tree.names):
        p = int(tree.parent[i])
        out.append(Share(
            account=acct, user=user, parent=tree.names[p][0] if p >= 0 else "",
            depth=int(tree.depth[i]), raw_shares=int(tree.shares[i]),
            norm_shares=float(norm_shares[i]), raw_usage=float(tree.usage[i]),
            norm_usage=float(norm_usage[i]), effective_usage=float(eff[i]),
            level_fs=float(lfs[i]), fairshare=float(fs[i])))
    return out


def compute(accounts: Iterable[Account], users: Iterable[User],
            fair_tree_algo: bool = True) -> list[Share]:
    """Fair Tree, or classic when ``fair_tree_algo`` is False (PriorityFlags=NO_FAIR_TREE)."""
    return fair_tree(accounts, users) if fair_tree_algo else classic(accounts, users)


def user_factors(shares: Sequence[Share]) -> dict[tuple[str, str], float]:
    """``{(account, user): fairshare factor}`` for the user rows."""
    return {(s.account, s.user): s.fairshare for s in shares
            if s.user and not math.isnan(s.fairshare)}


def job_factor(factors: Mapping[tuple[str, str], float], account: str, user: str) -> float:
    """A job's fairshare factor: its association's, else 0 (no association)."""
    return factors.get((account, user), 0.0)
