"""accounting.actions.parse_settings: sacctmgr's settings as it writes them."""

from __future__ import annotations

import pytest

from accounting.actions import AccountingError, parse_settings


@pytest.mark.parametrize(("value", "stored"), [
    ("DenyOnLimit", "DenyOnLimit"), ("denyonlimit,NoReserve", "DenyOnLimit,NoReserve"),
    ("-1", ""), ("", ""),
])
def test_qos_flags_are_spelt_as_slurm_does_and_minus_one_clears_them(value: str,
                                                                    stored: str) -> None:
    assert parse_settings("qos", {"Flags": value}) == {"flags": stored}


def test_an_unknown_qos_flag_is_refused() -> None:
    with pytest.raises(AccountingError) as err:
        parse_settings("qos", {"Flags": "DenyOnLimit,Bogus"})
    assert "Unknown QOS flag: Bogus" in str(err.value)
