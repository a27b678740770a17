"""Build the PythonQt test host into a cache outside the repository, once per set of inputs.

    python Testing/pythonqt/buildHost.py [--jobs N]

Progress goes to stderr; the host's path is the one line on stdout, so that
``host=$(python Testing/pythonqt/buildHost.py)`` works (see the Makefile).

What is built: PythonQt 4.1.0 and PythonQt_QtAll (QtCore, QtGui, QtUiTools
wrappers) from ``shared/thirdparty/pythonqt-4.1.0``, CTK's ``qt`` module
template from ``shared/thirdparty/ctk-868d56c7``, and ``AffineInspectorQtHost``
(see ``CMakeLists.txt`` here). Nothing is copied into the repository.

Where: ``${AFFINE_INSPECTOR_CACHE:-~/.cache/affine-inspector}/pythonqt-<key>/``.
The key hashes every file compiled or configured (the PythonQt and CTK parts,
this folder's CMake project and host source), the CMake arguments, the Python
it embeds (version, ABI, libpython, headers), the Debian packages' versions
(Qt, cmake, g++) and the compiler's. Same inputs: the folder exists and this
script only prints its path. A build happens in ``pythonqt-<key>.partial-*`` and is renamed into place
only after it has installed and the host has imported ``qt``, so an
interrupted build is never taken as done; a lock file makes a second
concurrent run wait for the first.

Needs the Debian packages in :data:`DEBIAN_PACKAGES`: as root they are
installed with apt-get; otherwise the script stops and names the command.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from typing import Dict, Iterator, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("AFFINE_INSPECTOR_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
PYTHONQT_SOURCE = os.path.join(SHARED, "thirdparty", "pythonqt-4.1.0")
CTK_SOURCE = os.path.join(SHARED, "thirdparty", "ctk-868d56c7")
HOST_NAME = "AffineInspectorQtHost"

#: Debian packages the build needs: Qt 5 with its private headers (PythonQt includes
#: qmetaobjectbuilder_p.h) and QtUiTools (qttools5-dev), and the tools.
DEBIAN_PACKAGES = ("qtbase5-dev", "qtbase5-private-dev", "qttools5-dev", "cmake", "make", "g++")

#: Every input of the build, relative to its tree; all files below a folder count.
PYTHONQT_INPUTS = (
    "COPYING",
    "src",
    "extensions/PythonQt_QtAll",
    "generated_cpp_515/com_trolltech_qt_core",
    "generated_cpp_515/com_trolltech_qt_core_builtin",
    "generated_cpp_515/com_trolltech_qt_gui",
    "generated_cpp_515/com_trolltech_qt_gui_builtin",
    "generated_cpp_515/com_trolltech_qt_uitools",
)
CTK_INPUTS = ("LICENSE", "Libs/Scripting/Python/Core/Python/qt/__init__.py.in")
HOST_INPUTS = ("CMakeLists.txt", HOST_NAME + ".cpp")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cacheRoot() -> str:
    return os.environ.get("AFFINE_INSPECTOR_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "affine-inspector"
    )


#
# Debian packages
#


def missingPackages() -> List[str]:
    """The packages of :data:`DEBIAN_PACKAGES` that dpkg does not list as installed."""
    if shutil.which("dpkg-query") is None:
        raise SystemExit(
            "buildHost.py: no dpkg-query: this build expects Debian or Ubuntu with " + " ".join(DEBIAN_PACKAGES)
        )
    missing = []
    for package in DEBIAN_PACKAGES:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package], capture_output=True, text=True, check=False
        )
        if not result.stdout.startswith("ii"):
            missing.append(package)
    return missing


def ensurePackages() -> List[str]:
    """Install what is missing when root; otherwise stop with the one command to run. Returns what was installed."""
    missing = missingPackages()
    if not missing:
        return []
    command = "apt-get install -y --no-install-recommends " + " ".join(missing)
    if os.geteuid() != 0:
        raise SystemExit(f"buildHost.py: missing Debian packages; run: sudo apt-get update && sudo {command}")
    log(f"installing {' '.join(missing)} (apt-get update, then {command})")
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=environment, stdout=sys.stderr)
    subprocess.run(command.split(), check=True, env=environment, stdout=sys.stderr)
    stillMissing = missingPackages()
    if stillMissing:
        raise SystemExit(f"buildHost.py: apt-get did not install {' '.join(stillMissing)}")
    return missing


def packageVersions(packages) -> Dict[str, str]:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Version}\\n", *packages], capture_output=True, text=True, check=True
    )
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if line)


#
# Inputs and the cache key
#


def pythonFacts() -> Dict[str, str]:
    """The Python the host embeds: the base interpreter of this (possibly virtual) environment."""
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        raise SystemExit(
            f"buildHost.py: {sys.executable} has no shared libpython; PythonQt embeds Python and needs one "
            "(pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)"
        )
    library = os.path.join(sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY"))
    executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return {
        "version": sys.version,
        "abi": sysconfig.get_config_var("SOABI") or "",
        "executable": executable,
        "library": os.path.realpath(library),
        "include": sysconfig.get_paths()["include"],
    }


def inputFiles() -> Iterator[Tuple[str, str]]:
    """(name, path) of every file the build reads from the shared trees and from this folder, in a fixed order."""
    for label, tree, parts in (
        ("pythonqt", PYTHONQT_SOURCE, PYTHONQT_INPUTS),
        ("ctk", CTK_SOURCE, CTK_INPUTS),
        ("host", HERE, HOST_INPUTS),
    ):
        for part in parts:
            path = os.path.join(tree, part)
            if os.path.isfile(path):
                paths = [path]
            elif os.path.isdir(path):
                paths = sorted(p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(p))
            else:
                raise SystemExit(f"buildHost.py: {path} is missing (set AFFINE_INSPECTOR_SHARED to the shared folder)")
            for each in paths:
                yield label + "/" + os.path.relpath(each, tree), each


def configureArguments(facts: Dict) -> List[str]:
    """The CMake cache arguments, the same for every build of the same inputs (the install prefix is added apart)."""
    return [
        f"-DPYTHONQT_SOURCE_DIR={PYTHONQT_SOURCE}",
        f"-DCTK_SOURCE_DIR={CTK_SOURCE}",
        f"-DPython3_EXECUTABLE={facts['python']['executable']}",
        f"-DPython3_INCLUDE_DIR={facts['python']['include']}",
        f"-DPython3_LIBRARY={facts['python']['library']}",
    ]


def buildKey(facts: Dict) -> str:
    """A digest of every input file's name and content, the facts (Python, Qt, compiler) and the CMake arguments.

    The source folders' locations are left out of it: their files are hashed by content, and where the shared
    folder lies does not change what is built (CI clones into a new folder with its own copy of shared/ each
    run, and would otherwise never find its build in the cache).
    """
    digest = hashlib.sha256()
    for name, path in inputFiles():
        with open(path, "rb") as stream:
            digest.update(name.encode() + b"\0" + hashlib.sha256(stream.read()).digest())
    arguments = [
        argument
        for argument in configureArguments(facts)
        if not argument.startswith(("-DPYTHONQT_SOURCE_DIR=", "-DCTK_SOURCE_DIR="))
    ]
    digest.update(json.dumps([facts, arguments], sort_keys=True).encode())
    return digest.hexdigest()[:16]


#
# The build
#


@contextlib.contextmanager
def locked(path: str):
    with open(path, "w") as stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another build holding {path}")
            fcntl.flock(stream, fcntl.LOCK_EX)
        yield


def run(command: List[str], logPath: str) -> None:
    """Run a build step, its output appended to logPath; on failure show the log's end and stop.

    The step runs in its own process group, which is ended with it when this
    script is interrupted or terminated, so no compiler is left running.
    """
    with open(logPath, "a") as stream:
        stream.write("$ " + " ".join(command) + "\n")
        stream.flush()
        process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = process.wait()
        except BaseException:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            raise
    if returncode != 0:
        with open(logPath) as stream:
            tail = stream.readlines()[-40:]
        sys.stderr.writelines(tail)
        raise SystemExit(f"buildHost.py: '{' '.join(command[:3])} ...' failed; full log: {logPath}")


def smokeCheck(host: str) -> None:
    """The built host must import CTK's qt module with the three kits before the build counts as done."""
    check = "import qt, sys; sys.exit(0 if all(hasattr(qt, n) for n in ('QObject', 'QWidget', 'QUiLoader')) else 3)"
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    environment.pop("VIRTUAL_ENV", None)
    result = subprocess.run([host, "-c", check], env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"buildHost.py: the built host failed its check (exit {result.returncode}): {result.stderr}")


def build(target: str, facts: Dict, jobs: int) -> None:
    partial = tempfile.mkdtemp(prefix=os.path.basename(target) + ".partial-", dir=os.path.dirname(target))
    buildDir = os.path.join(partial, ".build")
    logPath = os.path.join(os.path.dirname(target), os.path.basename(partial) + ".log")
    log(f"building PythonQt and {HOST_NAME} in {partial} ({jobs} jobs; log: {logPath})")
    run(["cmake", "-S", HERE, "-B", buildDir, *configureArguments(facts), f"-DCMAKE_INSTALL_PREFIX={partial}"], logPath)
    run(["cmake", "--build", buildDir, "--parallel", str(jobs)], logPath)
    run(["cmake", "--install", buildDir], logPath)
    shutil.rmtree(buildDir)
    host = os.path.join(partial, "bin", HOST_NAME)
    smokeCheck(host)
    with open(os.path.join(partial, "build-info.json"), "w") as stream:
        json.dump(facts, stream, indent=2, sort_keys=True)
    os.chmod(partial, 0o755)  # mkdtemp made it private
    os.rename(partial, target)
    os.remove(logPath)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1), help="parallel compile jobs (default 2)"
    )
    args = parser.parse_args(argv)
    # SIGTERM (kill, CI timeouts) unwinds like Ctrl-C: the build step's process group is ended in run().
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    started = time.monotonic()
    installed = ensurePackages()
    facts = {
        "python": pythonFacts(),
        "packages": packageVersions(DEBIAN_PACKAGES),
        "compiler": subprocess.run(
            ["g++", "-dumpfullversion"], capture_output=True, text=True, check=True
        ).stdout.strip(),
    }
    key = buildKey(facts)
    cache = cacheRoot()
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, f"pythonqt-{key}")
    host = os.path.join(target, "bin", HOST_NAME)
    with locked(target + ".lock"):
        if os.path.isdir(target):
            log(f"PythonQt host up to date ({time.monotonic() - started:.1f} s)")
        else:
            # Left by an interrupted build of the same key: this process holds the key's lock.
            for stale in glob.glob(target + ".partial-*"):
                if os.path.isdir(stale):
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    os.remove(stale)
            build(target, dict(facts, installedPackages=installed), args.jobs)
            log(f"PythonQt host built in {time.monotonic() - started:.0f} s")
    print(host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
