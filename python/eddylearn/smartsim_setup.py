"""SmartSim with eddylearn's database: the set-up that puts eddylearn's redis-server and module
where SmartSim looks for them (``eddylearn smartsim setup``, the counterpart of ``smart
build``), its check, and where SmartSim's own log lines go during an experiment."""
from __future__ import annotations

import logging
import os
from pathlib import Path

#: SmartSim's logger (every SmartSim module logs to it unless SMARTSIM_LOG_LEVEL=developer)
SMARTSIM_LOGGER = "SmartSim"


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
