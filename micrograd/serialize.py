"""Saving and loading models: ``micrograd.save`` and ``micrograd.load``.

::

    import micrograd
    micrograd.save(model, "model.json", optimizer=opt)     # after some steps
    ...
    model = MLP(2, [16, 16, 1]); opt = SGD(model.parameters(), lr=0.1)
    micrograd.load("model.json", model, optimizer=opt)     # carry on training

A saved model is a JSON file meant to be read by people as well::

    {
      "format": "micrograd-c model",
      "version": 1,
      "module": {
        "type": "micrograd.nn.MLP",
        "summary": "MLP of [Layer of [ReLUNeuron(2), ...], ...]",
        "n_parameters": 337
      },
      "parameters": {
        "layers.0.neurons.0.w.0": 0.23550571390294128,
        ...
      },
      "optimizer": null
    }

- ``parameters`` is the module's ``state_dict()``: each parameter under its
  attribute path, written with ``repr`` precision, so it reads back bit for
  bit (non-finite numbers as Python's json module writes them: ``NaN``,
  ``Infinity``, ``-Infinity``).
- ``module`` describes the architecture. Loading refuses, with a ValueError
  that says what differs, a file saved from another class, from a module
  whose ``repr`` differs (for ``micrograd.nn`` that is the layer sizes and
  activations; a class without its own ``__repr__`` is compared by its
  parameter names only) or with other parameter names.
- ``optimizer``, when one is saved, holds its ``state_dict()``
  (hyperparameters, momentum buffers or Adam moments, step count) and the
  names of the parameters it updates, in its order: a run resumed from the
  file continues exactly as the uninterrupted run would have.

Saving is atomic: the text goes to a temporary file in the target's
directory, is flushed to disk, then renamed over the target, so a crash
mid-save leaves the previous file (or none), never a truncated one.
Loading checks everything before it changes anything: on an error the
module and the optimizer are as they were.
"""

import errno
import json
import os
import secrets
import stat
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from micrograd.nn import Module
    from micrograd.optim import Optimizer

    _M = TypeVar("_M", bound=Module)

__all__ = ["save", "load", "FORMAT", "VERSION"]

FORMAT = "micrograd-c model"
VERSION = 1


def _module_description(module: "Module") -> dict[str, Any]:
    cls = type(module)
    own_repr = cls.__repr__ is not object.__repr__
    return {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "summary": repr(module) if own_repr else None,
        "n_parameters": len(list(module.named_parameters())),
    }


def _check_module(module: object) -> None:
    from micrograd.nn import Module

    if not isinstance(module, Module):
        raise TypeError(f"module must be a micrograd.nn.Module, not "
                        f"{type(module).__name__!r}")


def _check_optimizer(optimizer: object) -> None:
    for name in ("params", "state_dict", "load_state_dict"):
        if not hasattr(optimizer, name):
            raise TypeError(f"optimizer must be a micrograd.optim optimizer "
                            f"(with params, state_dict and load_state_dict), "
                            f"not {type(optimizer).__name__!r}")


def _optimizer_names(module: "Module", optimizer: "Optimizer") -> list[str]:
    """The module's names of the optimizer's parameters, in its order."""
    names = {id(p): name for name, p in module.named_parameters()}
    out = []
    for k, p in enumerate(optimizer.params):
        if id(p) not in names:
            raise ValueError(f"the optimizer's parameter {k} is not a parameter "
                             f"of the module")
        out.append(names[id(p)])
    return out


def save(module: "Module", path: "str | os.PathLike[str]",
         optimizer: "Optimizer | None" = None) -> None:
    """Write ``module``'s parameters (and ``optimizer``'s state, if given)
    to the JSON file ``path``, atomically (see the module documentation).

    ``optimizer`` must update parameters of ``module``. Returns nothing.
    A symbolic link is followed (its target is replaced); a path that is
    not a regular file (a directory, a FIFO, a device) raises OSError.

    >>> import os, tempfile
    >>> from micrograd.nn import MLP
    >>> model = MLP(2, [4, 1])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> save(model, path)
    >>> load(path, MLP(2, [4, 1])).state_dict() == model.state_dict()
    True
    """
    _check_module(module)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "module": _module_description(module),
        "parameters": module.state_dict(),
        "optimizer": None,
    }
    if optimizer is not None:
        _check_optimizer(optimizer)
        doc["optimizer"] = {
            "type": type(optimizer).__name__,
            "parameters": _optimizer_names(module, optimizer),
            "state": optimizer.state_dict(),
        }
    _write_atomically(path, json.dumps(doc, indent=2) + "\n")


def load(path: "str | os.PathLike[str]", module: "_M",
         optimizer: "Optimizer | None" = None) -> "_M":
    """Load the file ``path`` (written by ``save``) into ``module`` and, if
    given, ``optimizer``; return ``module``.

    Raises ValueError, saying what differs, for a file that is not a saved
    model, is of a newer format version, or was saved from another
    architecture, and when ``optimizer`` is given but the file holds no
    optimizer state or the state of another kind of optimizer or of other
    parameters. Nothing is changed when it raises.
    """
    _check_module(module)
    if optimizer is not None:
        _check_optimizer(optimizer)
    where = os.fspath(path)
    with open(where, "rb") as f:
        data = f.read()
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not a saved micrograd-c model (not UTF-8 "
                         f"text: {exc})") from None
    except ValueError as exc:
        raise ValueError(f"{where}: not a saved micrograd-c model (invalid "
                         f"JSON: {exc})") from None
    except RecursionError:
        raise ValueError(f"{where}: not a saved micrograd-c model (JSON nested "
                         f"too deeply)") from None
    _check_header(doc, where)
    _check_architecture(doc, where, module)
    params = doc.get("parameters")
    if not isinstance(params, dict):
        raise ValueError(f"{where}: 'parameters' must be an object of names "
                         f"to numbers")
    saved_opt = doc.get("optimizer")
    if optimizer is not None:
        if saved_opt is None:
            raise ValueError(f"{where} holds no optimizer state (it was saved "
                             f"without an optimizer)")
        if not isinstance(saved_opt, dict) or "state" not in saved_opt:
            raise ValueError(f"{where}: malformed optimizer state")
        kind = type(optimizer).__name__
        if saved_opt.get("type") != kind:
            raise ValueError(f"{where} holds the state of a "
                             f"{saved_opt.get('type')} optimizer, not of a {kind}")
        names = _optimizer_names(module, optimizer)
        if saved_opt.get("parameters") != names:
            raise ValueError(f"{where}: the saved optimizer updated other "
                             f"parameters, or in another order, than this one "
                             f"({len(saved_opt.get('parameters') or [])} saved, "
                             f"{len(names)} here)")

    # Apply, undoing everything if a later part fails.
    before = module.state_dict()
    opt_before = optimizer.state_dict() if optimizer is not None else None
    try:
        try:
            module.load_state_dict(params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} does not fit this model: {exc}") from None
        if optimizer is not None:
            try:
                optimizer.load_state_dict(saved_opt["state"])
            except (TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"{where}: cannot load the optimizer state "
                                 f"into this {type(optimizer).__name__}: "
                                 f"{exc}") from None
    except BaseException:
        module.load_state_dict(before)
        if optimizer is not None:
            optimizer.load_state_dict(opt_before)
        raise
    return module


def _check_header(doc: object, where: str) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{where}: not a saved micrograd-c model (no "
                         f"\"format\": {FORMAT!r})")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{where}: bad format version {version!r}")
    if version > VERSION:
        raise ValueError(f"{where} has format version {version}, newer than "
                         f"this micrograd-c reads ({VERSION}): upgrade micrograd-c")


def _check_architecture(doc: dict[str, Any], where: str, module: "Module") -> None:
    saved = doc.get("module")
    if not isinstance(saved, dict):
        raise ValueError(f"{where}: no module description")
    here = _module_description(module)
    if saved.get("type") != here["type"]:
        raise ValueError(f"{where} holds a {saved.get('type')}, not a "
                         f"{here['type']}")
    if saved.get("summary") is not None and here["summary"] is not None \
            and saved["summary"] != here["summary"]:
        raise ValueError(f"{where} holds another architecture:\n"
                         f"  saved: {saved['summary']}\n"
                         f"  here:  {here['summary']}")


def _write_atomically(path: "str | os.PathLike[str]", text: str) -> None:
    """Write text (UTF-8) to path through a temporary file and a rename.

    A symbolic link is followed (the file it points to is replaced, the link
    stays); a path that exists but is not a regular file (a directory, a
    FIFO, a device) is refused with an OSError, and left alone."""
    path = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EEXIST if not stat.S_ISDIR(st.st_mode) else errno.EISDIR,
                          "not a regular file: micrograd.save will not replace it", path)
    directory = os.path.dirname(path)
    data = text.encode("utf-8")
    while True:
        tmp = os.path.join(directory, f".{os.path.basename(path)}."
                                      f"{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 and the umask, as for a file opened the ordinary way.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except OSError:
                pass                    # a new file: keep the umask's mode
            else:
                os.chmod(tmp, mode)     # replacing a file: keep its mode
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where unsupported)."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        fd = os.open(directory, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
