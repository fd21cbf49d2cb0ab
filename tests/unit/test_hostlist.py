"""drover.hostlist: Slurm hostlist expressions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drover import hostlist


@pytest.mark.parametrize(("expr", "names"), [
    ("node[01-03]", ["node01", "node02", "node03"]),
    ("lx[0003-0005]", ["lx0003", "lx0004", "lx0005"]),
    ("worker-[1-3]", ["worker-1", "worker-2", "worker-3"]),
    ("n[1-2,5]", ["n1", "n2", "n5"]),
    ("a[1-2]b[3-4]", ["a1b3", "a1b4", "a2b3", "a2b4"]),
    ("n1,gpu[01-02],login", ["n1", "gpu01", "gpu02", "login"]),
    ("localhost", ["localhost"]),
    ("", []),
])
def test_expand_follows_slurm_syntax(expr: str, names: list[str]) -> None:
    assert hostlist.expand(expr) == names


def test_expand_handles_a_large_zero_padded_range() -> None:
    names = hostlist.expand("lx[0003-8000]")
    assert len(names) == 7998 and names[0] == "lx0003" and names[-1] == "lx8000"


@pytest.mark.parametrize("bad", ["n[1-", "n[a-b]", "n[3-1]", "n]1[", "a b"])
def test_a_bad_expression_raises_an_error_naming_it(bad: str) -> None:
    with pytest.raises(hostlist.HostlistError, match="invalid") as exc:
        hostlist.expand(bad)
    assert isinstance(exc.value, ValueError)
    assert bad in str(exc.value)


@pytest.mark.parametrize(("names", "expr"), [
    (["n3", "n1", "n4"], "n[1,3-4]"),
    (["n1", "n2", "n3", "n4"], "n[1-4]"),
    (["n10", "n9", "n2"], "n[2,9-10]"),
    (["node01", "node02"], "node[01-02]"),
    (["login"], "login"),
    ([], ""),
    (["n1", "n1"], "n1"),
])
def test_compress_sorts_as_slurm_does(names: list[str], expr: str) -> None:
    assert hostlist.compress(names) == expr


_prefix = st.sampled_from(["n", "node", "gpu", "worker-", "lx"])
_names = st.lists(st.tuples(_prefix, st.integers(0, 300), st.sampled_from([0, 2, 4])).map(
    lambda t: f"{t[0]}{t[1]:0{t[2]}d}" if t[2] else f"{t[0]}{t[1]}"), min_size=1, max_size=40)


@given(_names)
def test_compress_then_expand_gives_back_the_same_hosts(names: list[str]) -> None:
    assert sorted(hostlist.expand(hostlist.compress(names))) == sorted(set(names))


@given(_names)
def test_compress_of_expand_is_a_fixed_point(names: list[str]) -> None:
    expr = hostlist.compress(names)
    assert hostlist.compress(hostlist.expand(expr)) == expr
