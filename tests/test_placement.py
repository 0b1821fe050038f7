"""Placement in a batch allocation: the defaults, what [launcher.<entity>] overrides, and the
clear refusals (too few nodes, more CPUs than a node has, no allocation, bad keys)."""
import pytest

from eddylearn.config import ConfigError, from_dict
from eddylearn.placement import (Allocation, PlacementError, _expand_slurm_cpus,
                                 current_allocation, plan)


def _alloc(n: int, cpus: int = 4) -> Allocation:
    nodes = [f"n{i + 1}" for i in range(n)]
    return Allocation("slurm", nodes, {x: cpus for x in nodes})


def test_defaults_put_the_shards_on_nodes_of_their_own_and_spread_the_rest():
    cfg = from_dict({"launcher": {"kind": "slurm"}, "database": {"shards": 3},
                     "solver": {"ranks": 4}, "trainer": [{"name": "t", "ranks": 2}]})
    places = plan(cfg, _alloc(5))
    assert places["database"].nodes == ["n1", "n2", "n3"]
    assert places["database"].cpus_per_task == 4          # every CPU of its own nodes
    assert places["solver"].nodes == ["n4", "n5"] and places["solver"].tasks_per_node == 2
    assert places["trainer:t"].nodes == ["n4", "n5"] and places["trainer:t"].tasks_per_node == 1
    assert places["analyser"].nodes == ["n5"]


def test_one_node_shares_it_and_entity_settings_override_the_defaults():
    cfg = from_dict({"launcher": {"kind": "slurm", "solver": {"tasks_per_node": 1},
                                  "trainer": {"t": {"cpus_per_task": 2}}},
                     "trainer": [{"name": "t", "ranks": 1}]})
    places = plan(cfg, _alloc(3, cpus=8))
    assert places["database"].nodes == ["n1"]
    assert places["solver"].nodes == ["n2", "n3"] and places["solver"].tasks_per_node == 1
    assert places["trainer:t"].cpus_per_task == 2
    shared = plan(from_dict({"launcher": {"kind": "slurm"}}), _alloc(1, cpus=8))
    assert shared["database"].nodes == shared["solver"].nodes == ["n1"]
    assert shared["database"].cpus_per_task == 1


def test_a_node_asked_for_more_cpus_than_it_has_is_refused_by_name():
    cfg = from_dict({"launcher": {"kind": "slurm"}, "solver": {"ranks": 4}})
    with pytest.raises(PlacementError, match=r"node n1 would need 8 CPUs \(database 1, "
                                             r"solver 4, trainer trainer 2, analyser 1\) but "
                                             r"the job has 4"):
        plan(cfg, _alloc(1))


def test_more_shards_than_nodes_is_refused():
    cfg = from_dict({"launcher": {"kind": "slurm"}, "database": {"shards": 3}})
    with pytest.raises(PlacementError, match="shards = 3 needs 3 nodes"):
        plan(cfg, _alloc(2))


def test_outside_an_allocation_the_error_names_the_commands(monkeypatch):
    for var in ("SLURM_JOB_ID", "PBS_JOBID", "PBS_NODEFILE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(PlacementError, match="salloc.*sbatch"):
        current_allocation("slurm")
    with pytest.raises(PlacementError, match="qsub"):
        current_allocation("pbs")


def test_a_pbs_allocation_is_read_from_the_nodefile(tmp_path, monkeypatch):
    nodefile = tmp_path / "nodes"
    nodefile.write_text("a\na\nb\nb\nc\nc\n")
    monkeypatch.setenv("PBS_JOBID", "12.server")
    monkeypatch.setenv("PBS_NODEFILE", str(nodefile))
    alloc = current_allocation("pbs")
    assert alloc.nodes == ["a", "b", "c"] and alloc.cpus == {"a": 2, "b": 2, "c": 2}


def test_slurm_cpu_counts_are_expanded():
    assert _expand_slurm_cpus("4(x3),2") == [4, 4, 4, 2]


@pytest.mark.parametrize("data, message", [
    ({"database": {"shards": 2}}, "database.shards must be 1, or 3 or more"),
    ({"launcher": {"trainer": {"nope": {"nodes": 1}}}}, r"\[launcher.trainer.nope\] names no"),
    ({"launcher": {"solver": {"nodes": -1}}}, "launcher.solver.nodes must be >= 0"),
    ({"launcher": {"kind": "slurm"}, "experiment": {"launcher": "pbs"}}, "differ"),
    ({"launcher": {"database": {"nodes": 2}}}, "each shard runs on a node of its own"),
])
def test_bad_launcher_and_shard_settings_are_named(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(data)
