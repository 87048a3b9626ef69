"""The first code of the local engine's worker process: packages without their ``__init__``.

``worker.FaceWorker`` runs this file with ``runpy.run_path`` as its process pool's
initializer, with ``PACKAGES`` in its globals: the names and folders of the packages above
the protocol layer (``custom_components``, ``custom_components.double_take``), outermost
first. Each is registered as a package module whose ``__init__`` is not executed, so that
importing ``….api.local.worker`` in the worker process runs only the protocol layer
(Pillow, numpy, dlib), not the integration's ``__init__``: that one imports Home Assistant,
which would cost every worker process about 2 s and 100 MB, and log Home Assistant's
start-up warnings again.

Standard library only: it runs before anything else in the worker process.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from importlib.machinery import ModuleSpec, SourceFileLoader
import importlib.util
from pathlib import Path
import sys
from types import ModuleType


def register_packages(
    packages: Sequence[tuple[str, str]],
    modules: MutableMapping[str, ModuleType] = sys.modules,
) -> None:
    """Register each ``(name, folder)`` package in ``modules`` without running it.

    A package already imported is left alone.
    """
    for name, folder in packages:
        if name in modules:
            continue
        init = str(Path(folder) / "__init__.py")
        # What importlib.util.spec_from_file_location builds for a package folder.
        spec = ModuleSpec(name, SourceFileLoader(name, init), origin=init)
        spec.submodule_search_locations = [folder]
        spec.has_location = True
        module = importlib.util.module_from_spec(spec)
        modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent in modules:
            setattr(modules[parent], child, module)


if __name__ == "<run_path>":  # run by runpy.run_path in the worker process
    register_packages(globals()["PACKAGES"])
