"""GTO as the oracle: tags written by the real `gto` CLI read the same in `mlops-ci registry`,
and tags written by `mlops-ci` read as we mean them in `gto show`.

GTO stamps tags with the wall clock, so it runs here with its clock pinned
(registry_helpers.Repo.gto); every event gets its own second, because the two tools
break same-second ties differently (docs/registry.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry_helpers import Repo


def assert_same_state(repo: Repo) -> dict[str, Any]:
    gto = repo.gto_show()
    ours = {m["name"]: m for m in repo.cli("registry", "--json").json()["models"]}
    assert set(ours) == set(gto), (ours.keys(), gto.keys())
    for name, theirs in gto.items():
        assert ours[name]["latest"] == theirs["version"], name
        for stage, holder in theirs["stage"].items():
            assert ours[name]["stages"].get(stage) == holder, (name, stage)
        held = {s: v for s, v in ours[name]["stages"].items() if v is not None}
        assert held == {s: v for s, v in theirs["stage"].items() if v is not None}, name
    return ours


def test_tags_written_by_gto(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    c1 = repo.git("rev-parse", "HEAD")
    repo.gto("register", "m", "--version", "v1.0.0", t=10)
    c2 = repo.commit("second", t=15)
    repo.gto("register", "m", "--version", "v1.1.0", t=20)
    repo.commit("third", t=25)
    repo.gto("register", "m", "--version", "v2.0.0-rc.1", t=30)
    repo.gto("assign", "m", "--version", "v1.0.0", "--stage", "prod", t=40)
    repo.gto("assign", "m", "--version", "v1.1.0", "--stage", "prod", t=50)
    repo.gto("assign", "m", "--version", "v2.0.0-rc.1", "--stage", "staging", t=60)
    ours = assert_same_state(repo)
    assert ours["m"]["stages"] == {"staging": "v2.0.0-rc.1", "prod": "v1.1.0"}
    assert ours["m"]["latest"] == "v2.0.0-rc.1"  # pre-releases count, as in GTO

    # Deregister the prod holder: prod falls back to the earlier active holder.
    repo.gto("deprecate", "m", "v1.1.0", t=70)
    # Assign, then unassign, a newer version.
    repo.gto("assign", "m", "--version", "v2.0.0-rc.1", "--stage", "prod", t=80)
    repo.gto("deprecate", "m", "v2.0.0-rc.1", "prod", t=90)
    # A monorepo artifact, and a deprecated one.
    repo.gto("register", "dir/sub:x", "--version", "v0.1.0", c2, t=100)
    repo.gto("assign", "dir/sub:x", "--version", "v0.1.0", "--stage", "staging", t=110)
    repo.gto("register", "old", t=120)
    repo.gto("deprecate", "old", t=130)
    # Tags GTO ignores: lightweight, foreign, not SemVer.
    repo.lightweight("m@v9.0.0")
    repo.tag("release-1", t=140)
    repo.tag("m@v3.0", t=141)
    # A stage tag written with plain git, as mlops-ci writes them.
    repo.tag("m#staging#20", t=150, rev=c1, message="Assigning stage staging to m v1.0.0")
    ours = assert_same_state(repo)
    assert ours["m"]["stages"]["prod"] == "v1.0.0"
    assert ours["m"]["stages"]["staging"] == "v1.0.0"
    assert ours["dir/sub:x"]["stages"]["staging"] == "v0.1.0"
    assert "old" not in ours


def test_tags_written_by_mlops_ci_with_a_gto_stage_list(make_repo: Callable[..., Repo]) -> None:
    repo = make_repo()
    repo.commit("stages", t=5, files={".gto": "stages: [dev, prod]\n"})
    assert repo.cli("register", "n", "--version", "v1.0.0", t=10).code == 0
    refused = repo.cli("promote", "n", "--stage", "staging", t=11)
    assert refused.code == 2  # not in .gto's list
    assert "allowed: dev, prod" in refused.err
    assert repo.cli("promote", "n", "--stage", "dev", t=12).code == 0
    repo.commit("v2", t=20)
    assert repo.cli("register", "n", "--bump", "minor", t=21).code == 0
    assert repo.cli("promote", "n", "--stage", "dev", t=22).code == 0
    assert repo.cli("promote", "n", "--stage", "prod", t=23).code == 0
    assert repo.cli("rollback", "n", "--stage", "dev", t=24).code == 0
    assert repo.cli("register", "gone", "--version", "v0.0.1", t=25).code == 0
    assert repo.cli("deprecate", "gone", t=26).code == 0
    ours = assert_same_state(repo)
    assert ours["n"]["stages"] == {"dev": "v1.0.0", "prod": "v1.1.0"}
    assert ours["n"]["latest"] == "v1.1.0"
    # GTO reads our events as we wrote them, counters and all.
    history = repo.gto("history", "n", "--json")
    assert '"m#' not in history
    for tag in ("n#dev#1", "n#dev#2", "n#prod#3", "n#dev#4"):
        assert tag in history


def test_same_second_ties_are_where_we_differ(make_repo: Callable[..., Repo]) -> None:
    """Documented difference: GTO breaks same-second ties by tag name, we by counter."""
    repo = make_repo()
    repo.tag("m@v1.0.0", t=1)
    repo.commit("second", t=2)
    repo.tag("m@v2.0.0", t=3)
    repo.tag("m#prod#9", t=10, rev="HEAD~1")
    repo.tag("m#prod#10", t=10, rev="HEAD")  # made later: the higher counter
    gto = repo.gto_show()
    ours = repo.cli("registry", "--json").json()["models"][0]
    assert gto["m"]["stage"]["prod"] == "v1.0.0"  # "m#prod#9" sorts after "m#prod#10"
    assert ours["stages"]["prod"] == "v2.0.0"
    assert ours["latest"] == gto["m"]["version"] == "v2.0.0"
