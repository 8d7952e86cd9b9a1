"""One measurement in a fresh process: ``python -m bench.worker KIND PARAMS.json RESULT.json``.

The result file gets the measurement's figures plus the process's peak RSS
(``VmHWM``, see :func:`peak_rss_mb`); a fresh process per measurement keeps peak RSS
per measurement and stops one measurement's caches or garbage from helping another.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import warnings


def peak_rss_mb() -> float:
    """This process's peak RSS since its exec (VmHWM).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that over fork and exec, so a small
    worker forked from a big driver would report the driver's size.
    """
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; elsewhere bytes (macOS)


# kind -> (module, function); imported lazily so each worker loads only what its measurement needs
KINDS = {
    "generate": ("bench.common", "generate_source"),
    "pipeline": ("bench.pipeline", "run_jobs"),
    "cli": ("bench.pipeline", "run_cli"),
    "sensor": ("bench.pipeline", "run_sensor"),
    "import_only": ("bench.pipeline", "run_import_only"),
    "asset": ("bench.pipeline", "run_asset"),
    "baseline": ("bench.baseline", "run_baseline"),
    "floor": ("bench.floor", "run_floor"),
}


def main(argv: list[str]) -> int:
    kind, params_path, result_path = argv
    warnings.filterwarnings("ignore")
    with open(params_path) as handle:
        params = json.load(handle)
    module, function = KINDS[kind]
    result = getattr(importlib.import_module(module), function)(params)
    result["rss_mb"] = peak_rss_mb()
    with open(result_path, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
