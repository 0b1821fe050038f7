"""SmartSim with eddylearn's database: the set-up that puts eddylearn's redis-server and module
where SmartSim looks for them (``eddylearn smartsim setup``, the counterpart of ``smart
build``), its check, and where SmartSim's own log lines go during an experiment.

SmartSim 0.8.0 finds its database in its dependency folder, ``SMARTSIM_DEP_INSTALL_PATH`` or
by default the ``_core`` folder of the installed ``smartsim`` package:

* ``bin/*-server``: the server it launches (the path resolved, so a real file: Debian's
  ``/usr/bin/redis-server`` is a symlink to ``redis-check-rdb``, which picks its mode from the
  name it is run by and would start the RDB checker);
* ``bin/redis-cli``: the client it uses to form clusters; the launch manifest looks for it
  in the package's own ``_core/bin`` (whatever ``SMARTSIM_DEP_INSTALL_PATH`` says) and
  reports its name's first part (``redis``) as the database type;
* ``lib/redisai.so``: the module it loads with ``--loadmodule`` (``RAI_PATH`` overrides it);
* ``lib/backends/redisai_<name>/redisai_<name>.so``: the files whose presence ``smart info`` and
  ``smart validate`` take for an installed backend. eddylearn's module runs TorchScript
  itself, with no backend library to load; the Torch entry is a link to the module.

    eddylearn smartsim setup           # puts them there (needs write access to the folder)
    eddylearn smartsim check           # says what is missing, exit status 1 if anything
"""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

from . import database

log = logging.getLogger(__name__)

#: SmartSim's logger (every SmartSim module logs to it unless SMARTSIM_LOG_LEVEL=developer)
SMARTSIM_LOGGER = "SmartSim"
#: the backend files SmartSim's tools look for, below lib/backends
TORCH_BACKEND = Path("redisai_torch") / "redisai_torch.so"


class SetupError(database.DatabaseError):
    """SmartSim is not set up for eddylearn's database and cannot be set up from here."""


def core_folder() -> Path:
    """The installed smartsim package's _core folder (found without importing SmartSim)."""
    spec = importlib.util.find_spec("smartsim")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("SmartSim is not installed in this Python (pip install smartsim==0.8.0)")
    return Path(spec.submodule_search_locations[0]).resolve() / "_core"


def dependency_folder() -> Path:
    """The folder SmartSim 0.8.0 takes its database from: $SMARTSIM_DEP_INSTALL_PATH, else
    the installed smartsim package's _core folder."""
    env = os.environ.get("SMARTSIM_DEP_INSTALL_PATH")
    return Path(env).expanduser().resolve() if env else core_folder()


def problems(folder: Path | None = None) -> list[str]:
    """What keeps SmartSim from launching eddylearn's database from folder (default: the one
    SmartSim uses), one line each; empty when the set-up is complete."""
    folder = Path(folder) if folder else dependency_folder()
    found = []
    real = database.redis_server_path().resolve()
    servers = sorted((folder / "bin").glob("*-server"))
    server = folder / "bin" / "redis-server"
    if not server.is_file() or server.is_symlink():
        found.append(f"{server} is missing or a link (SmartSim needs a real copy of {real})")
    elif server.stat().st_size != real.stat().st_size:
        found.append(f"{server} is not a copy of {real} (sizes differ)")
    others = [s.name for s in servers if s != server]
    if others:
        found.append(f"{folder / 'bin'} also holds {', '.join(others)}; SmartSim takes the first "
                     f"*-server it lists")
    # the launch manifest looks for redis-cli in the package's own _core/bin, whatever
    # SMARTSIM_DEP_INSTALL_PATH says
    for cli in dict.fromkeys([folder / "bin" / "redis-cli", core_folder() / "bin" / "redis-cli"]):
        if not cli.is_file():
            found.append(f"{cli} is missing")
    module = database.module_path()
    for path in (folder / "lib" / "redisai.so", folder / "lib" / "backends" / TORCH_BACKEND):
        if not path.exists():
            found.append(f"{path} is missing")
        elif path.resolve() != module:
            found.append(f"{path} is not eddylearn's module {module}")
    rai = os.environ.get("RAI_PATH")
    if rai and Path(rai).expanduser().resolve() != module:
        found.append(f"RAI_PATH={rai} names another module than eddylearn's {module}; unset it")
    return found


def setup(folder: Path | None = None) -> Path:
    """Puts eddylearn's redis-server (a real copy), redis-cli, module and the Torch backend
    entry into folder (default: the one SmartSim uses). Idempotent. Returns the folder."""
    folder = Path(folder) if folder else dependency_folder()
    try:
        database.prepare_dep_folder(folder)
        cli = core_folder() / "bin" / "redis-cli"
        if not cli.is_file():
            cli.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(database.redis_cli_path().resolve(), cli)
        entry = folder / "lib" / "backends" / TORCH_BACKEND
        entry.parent.mkdir(parents=True, exist_ok=True)
        module = database.module_path()
        if entry.is_symlink() or entry.exists():
            if entry.resolve() == module:
                return folder
            entry.unlink()
        entry.symlink_to(module)
    except PermissionError as exc:
        raise SetupError(f"cannot write SmartSim's dependency folder {folder} ({exc.strerror}); "
                         f"run `eddylearn smartsim setup` as a user who may, or point "
                         f"SMARTSIM_DEP_INSTALL_PATH at a folder of your own first") from None
    return folder


def ensure() -> Path:
    """Checks the set-up SmartSim will use and completes it when something is missing (the
    driver's and `eddylearn db start`'s check). Raises SetupError, saying how to fix it, when it
    cannot. Returns the dependency folder."""
    folder = dependency_folder()
    missing = problems(folder)
    if not missing:
        return folder
    log.info("setting SmartSim up for eddylearn's database in %s: %s", folder, "; ".join(missing))
    setup(folder)
    left = problems(folder)
    if left:
        raise SetupError("SmartSim is not set up for eddylearn's database:\n  " + "\n  ".join(left)
                         + "\nrun `eddylearn smartsim setup` (see docs/smartsim.md)")
    return folder


def launch_env(base: dict | None = None) -> dict:
    """Environment for a process that launches the database through SmartSim: the server's
    allocator and OpenMP settings (database.server_env) and no telemetry monitor."""
    env = database.server_env(base)
    env["SMARTSIM_FLAG_TELEMETRY"] = "0"
    return env


def _cli(args) -> int:
    folder = Path(args.folder).resolve() if args.folder else dependency_folder()
    if args.action == "setup":
        setup(folder)
    missing = problems(folder)
    for line in missing:
        print(f"missing: {line}")
    if missing:
        if args.action == "check":
            print("run `eddylearn smartsim setup` (see docs/smartsim.md)")
        return 1
    print(f"SmartSim {'is set up' if args.action == 'setup' else 'is ready'} to launch "
          f"eddylearn's database from {folder}:")
    print(f"  server  {folder / 'bin' / 'redis-server'} (a copy of the program of "
          f"{database.redis_server_path()})")
    print(f"  module  {folder / 'lib' / 'redisai.so'} -> {database.module_path()} "
          f"(Torch backend built in)")
    return 0


def register_cli(subparsers):
    """Adds ``smartsim setup|check`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "smartsim", help="set SmartSim up to launch eddylearn's database (as `smart build`)",
        description="setup: put eddylearn's redis-server (a real copy), redis-cli and module, "
                    "with the Torch backend entry, into the folder SmartSim takes its database "
                    "from ($SMARTSIM_DEP_INSTALL_PATH, else the smartsim package's _core), so "
                    "that any SmartSim script (exp.create_database()) and `smart validate` run "
                    "on it. check: say what is missing (exit status 1 if anything).")
    p.add_argument("action", choices=["setup", "check"])
    p.add_argument("--folder", help="another dependency folder (default: the one SmartSim uses)")
    p.set_defaults(func=_cli)
    return p


def route_smartsim_log(path: str | Path) -> Path:
    """Send SmartSim's own log lines to the file path (at SMARTSIM_LOG_LEVEL, default info)
    and keep only its warnings and errors on the console, so that a batch job's log has
    eddylearn's lines alone. Returns the log file's path."""
    from smartsim.log import _translate_log_level, get_logger
    path = Path(path)
    level = _translate_log_level(os.environ.get("SMARTSIM_LOG_LEVEL", "info")).upper()
    # SmartSim installs its console handler again whenever one of its modules is imported,
    # at the level SMARTSIM_LOG_LEVEL names: "quiet" (warnings and errors) for every later one
    os.environ["SMARTSIM_LOG_LEVEL"] = "quiet"
    logger = get_logger(SMARTSIM_LOGGER)
    if logger.getEffectiveLevel() > logging.getLevelName(level):
        logger.setLevel(level)
    for h in list(logger.handlers):
        if isinstance(h, logging.FileHandler) and getattr(h, "_eddylearn", False):
            logger.removeHandler(h)
            h.close()
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler._eddylearn = True
    logger.addHandler(handler)
    return path
