"""The slurmrestd plugin versions we serve and what changes between them.

| version | Slurm  | what changes                                                        |
|---------|--------|---------------------------------------------------------------------|
| v0.0.38 | 22.05  | plain integers; ``environment`` object and top-level ``script`` in   |
|         |        | submissions; ``job_state`` a string; ``exit_code`` an int            |
| v0.0.39 | 23.02  | no_val structs ``{"set", "infinite", "number"}``; ``job.script``;     |
|         |        | ``environment`` a ``["K=V"]`` list; ``meta.client``, ``warnings``     |
| v0.0.40 | 23.11  | ``job_state`` (and node ``state``) a list of flags                   |
| v0.0.41 | 24.05  | ``result{}`` in the submit answer; ``meta.Slurm.cluster``            |
"""

from __future__ import annotations

from dataclasses import dataclass

from drover.cli.slurmargs import SLURM_VERSION


@dataclass(frozen=True)
class Version:
    name: str  # "v0.0.38"
    minor: int  # 38

    @property
    def no_val(self) -> bool:
        """Numbers that may be unset or infinite are ``{"set", "infinite", "number"}``."""
        return self.minor >= 39

    @property
    def state_list(self) -> bool:
        return self.minor >= 40

    @property
    def submit_result(self) -> bool:
        return self.minor >= 41

    @property
    def plugin_type(self) -> str:
        return f"openapi/{self.name}"


VERSIONS: dict[str, Version] = {f"v0.0.{m}": Version(f"v0.0.{m}", m) for m in (38, 39, 40, 41)}
VERSION_PATTERN = r"(?P<plugin>v0\.0\.(?:38|39|40|41))"


def release() -> tuple[int, int, int]:
    major, minor, micro = (int(p) for p in SLURM_VERSION.split("."))
    return major, minor, micro
