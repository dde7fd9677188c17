"""Saving and loading models: ``micrograd.save`` and ``micrograd.load``.

::

    import micrograd
    micrograd.save(model, "ckpt.json", optimizer=opt, metadata={"step": 120})
    ...
    model = MLP(2, [16, 16, 1]); opt = SGD(model.parameters(), lr=0.1)
    model, meta = micrograd.load(model, "ckpt.json", optimizer=opt,
                                 return_metadata=True)       # carry on at meta["step"]

The module comes first in both calls. ``load(file, module)``, the order of
earlier versions, still works: the argument that is a ``micrograd.nn.Module``
is the module. The file is a path (``str``, ``os.PathLike``) or an open
file object, binary or text (``io.BytesIO()``, ``open(p, "w")``).

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
      "optimizer": null,
      "metadata": {"step": 120}
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
- ``metadata`` is the caller's own JSON data (a step count, a schedule's
  state, the seed, a note): a dict with string keys whose values are
  None, bools, ints, floats, strings, lists, tuples (read back as lists)
  and dicts with string keys, nested at most ``MAX_METADATA_DEPTH`` deep.
  Anything else is refused by ``save`` with a TypeError naming where it
  is. Files written before metadata existed read back with ``{}``.

Saving to a path is atomic: the text goes to a temporary file in the
target's directory, is flushed to disk, then renamed over the target, so a
crash mid-save leaves the previous file (or none), never a truncated one. A
file object gets the whole text in one ``write()`` (bytes for a binary
file, str for a text file) at its current position, after every check has
passed; it is neither flushed nor closed (it is the caller's). Loading
reads a file object from its current position to its end, and checks
everything before it changes anything: on an error the module and the
optimizer are as they were.
"""

import errno
import io
import json
import os
import secrets
import stat
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, TypeVar, Union, cast, overload

if TYPE_CHECKING:
    from micrograd.nn import Module
    from micrograd.optim import Optimizer

    _M = TypeVar("_M", bound=Module)


class _Reader(Protocol):
    def read(self) -> "str | bytes": ...


class _TextWriter(Protocol):
    def write(self, s: str, /) -> object: ...


class _BinaryWriter(Protocol):
    def write(self, s: bytes, /) -> object: ...


_Path = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_Source = Union[_Path, _Reader, IO[str], IO[bytes]]
_Target = Union[_Path, _TextWriter, _BinaryWriter, IO[str], IO[bytes]]

__all__ = ["save", "load", "FORMAT", "VERSION", "MAX_METADATA_DEPTH"]

FORMAT = "micrograd-c model"
VERSION = 1     # metadata is an optional key: files without it are still version 1

# json's encoder and decoder recurse; far below Python's recursion limit.
MAX_METADATA_DEPTH = 100


def _module_description(module: "Module") -> dict[str, Any]:
    cls = type(module)
    own_repr = cls.__repr__ is not object.__repr__
    return {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "summary": repr(module) if own_repr else None,
        "n_parameters": len(list(module.named_parameters())),
    }


def _is_module(obj: object) -> bool:
    from micrograd.nn import Module

    return isinstance(obj, Module)


def _check_module(module: object) -> None:
    if not _is_module(module):
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


def _is_file_object(obj: object, method: str) -> bool:
    return not isinstance(obj, (str, bytes, os.PathLike)) and callable(getattr(obj, method, None))


def _check_file(file: object, method: str) -> None:
    """Refuse what is neither a path nor a file object with ``method``."""
    if isinstance(file, (str, bytes, os.PathLike)) or _is_file_object(file, method):
        return
    raise TypeError(f"file must be a path (str or os.PathLike) or a file object with "
                    f"{method}(), not {type(file).__name__!r}")


def _where(file: Any) -> str:
    """How error messages name the file: its path, or the file object."""
    if _is_file_object(file, "read") or _is_file_object(file, "write"):
        name = getattr(file, "name", None)
        if isinstance(name, str):
            return name
        return f"<{type(file).__name__}>"
    return os.fsdecode(os.fspath(file)) if isinstance(file, bytes) else os.fspath(file)


def _check_metadata(metadata: object) -> dict[str, Any]:
    """A JSON-ready copy of ``metadata`` (plain dicts, lists and scalars),
    or a TypeError (ValueError for nesting too deep, or a cycle) saying
    where it is not JSON data. Iterative: any nesting is checked without
    recursion."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict with str keys, not "
                        f"{type(metadata).__name__!r}")
    root: dict[str, Any] = {}
    todo: list[tuple[str, Any, Any, int]] = [("metadata", metadata, root, 1)]     # (where, source, its copy, depth)
    while todo:                                  # depth first: a cycle soon gets too deep
        where, src, dst, depth = todo.pop()
        if depth > MAX_METADATA_DEPTH:
            raise ValueError(f"{where[:40]}...: metadata nested more than "
                             f"MAX_METADATA_DEPTH={MAX_METADATA_DEPTH} deep "
                             f"(or refers to itself)")
        items: "list[tuple[str | int, Any]]" = []
        if isinstance(src, Mapping):
            for key in src:
                if not isinstance(key, str):
                    raise TypeError(f"{where}: metadata keys must be str, not "
                                    f"{type(key).__name__!r} ({key!r})")
                items.append((key, src[key]))
        else:
            items = list(enumerate(src))
        for key, value in items:
            here = f"{where}[{key!r}]"
            if value is None or type(value) in (bool, int, float, str):
                item = value
            elif isinstance(value, (bool, int, float, str)):      # subclasses: IntEnum, ...
                item = next(t for t in (bool, int, float, str) if isinstance(value, t))(value)
            elif isinstance(value, (Mapping, list, tuple)):
                item = {} if isinstance(value, Mapping) else []
                todo.append((here, value, item, depth + 1))
            else:
                raise TypeError(f"{here}: {type(value).__name__!r} is not JSON data "
                                f"(use None, bool, int, float, str, list, tuple, or a "
                                f"dict with str keys)")
            if isinstance(dst, dict):
                dst[key] = item
            else:
                dst.append(item)
    return root


def save(module: "Module", file: _Target, optimizer: "Optimizer | None" = None,
         metadata: "Mapping[str, Any] | None" = None) -> None:
    """Write ``module``'s parameters (and ``optimizer``'s state, and your
    ``metadata``, if given) as JSON to ``file``: a path, written atomically,
    or an open file object, binary or text (see the module documentation).

    ``optimizer`` must update parameters of ``module``. ``metadata``: a dict
    of JSON data (str keys; None, bool, int, float, str, list, tuple, dict
    values), returned by ``load(..., return_metadata=True)``; anything else
    raises TypeError. Every check comes before the first byte is written.
    Returns nothing. A symbolic link is followed (its target is replaced); a
    path that is not a regular file (a directory, a FIFO, a device) raises
    OSError.

    >>> import io
    >>> from micrograd.nn import MLP
    >>> model = MLP(2, [4, 1])
    >>> buf = io.BytesIO()
    >>> save(model, buf, metadata={"step": 3})
    >>> _ = buf.seek(0)
    >>> other, meta = load(MLP(2, [4, 1]), buf, return_metadata=True)
    >>> other.state_dict() == model.state_dict(), meta
    (True, {'step': 3})
    """
    if not _is_module(module) and _is_module(file):
        raise TypeError("save(module, file): the module comes first (save(file, module) "
                        "is not an order save takes)")
    _check_module(module)
    _check_file(file, "write")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "module": _module_description(module),
        "parameters": module.state_dict(),
        "optimizer": None,
        "metadata": _check_metadata(metadata),
    }
    if optimizer is not None:
        _check_optimizer(optimizer)
        doc["optimizer"] = {
            "type": type(optimizer).__name__,
            "parameters": _optimizer_names(module, optimizer),
            "state": optimizer.state_dict(),
        }
    text = json.dumps(doc, indent=2) + "\n"
    if _is_file_object(file, "write"):
        _write_to_file_object(file, text)
    else:
        _write_atomically(cast(_Path, file), text)


@overload
def load(module: "_M", file: _Source, optimizer: "Optimizer | None" = None, *,
         return_metadata: Literal[False] = False) -> "_M": ...
@overload
def load(module: _Source, file: "_M", optimizer: "Optimizer | None" = None, *,
         return_metadata: Literal[False] = False) -> "_M": ...
@overload
def load(module: "_M", file: _Source, optimizer: "Optimizer | None" = None, *,
         return_metadata: Literal[True]) -> "tuple[_M, dict[str, Any]]": ...
@overload
def load(module: _Source, file: "_M", optimizer: "Optimizer | None" = None, *,
         return_metadata: Literal[True]) -> "tuple[_M, dict[str, Any]]": ...


def load(module: Any, file: Any, optimizer: "Optimizer | None" = None, *,
         return_metadata: bool = False) -> Any:
    """Load ``file`` (written by ``save``: a path, or a file object open for
    reading, binary or text) into ``module`` and, if given, ``optimizer``.

    Returns ``module``; with ``return_metadata=True``, the pair ``(module,
    metadata)``, ``metadata`` being the dict given to ``save`` (``{}`` if
    none was). ``load(file, module)``, the order of earlier versions, works
    too: whichever argument is a ``micrograd.nn.Module`` is the module (two
    Modules, or none, raise TypeError).

    Raises ValueError, saying what differs, for a file that is not a saved
    model, is of a newer format version, or was saved from another
    architecture, and when ``optimizer`` is given but the file holds no
    optimizer state or the state of another kind of optimizer or of other
    parameters. Nothing is changed when it raises.
    """
    first, second = module, file
    if _is_module(first) and _is_module(second):
        raise TypeError("load(module, file): both arguments are Modules; pass the module "
                        "and a path or file object")
    if _is_module(second):
        module, file = second, first             # load(file, module), as earlier versions
    elif not _is_module(first):
        raise TypeError(f"load(module, file) needs a micrograd.nn.Module, got "
                        f"{type(first).__name__!r} and {type(second).__name__!r}")
    if optimizer is not None:
        _check_optimizer(optimizer)
    _check_file(file, "read")
    where = _where(file)
    if _is_file_object(file, "read"):
        data = file.read()
        if not isinstance(data, (bytes, bytearray, str)):
            raise TypeError(f"{where}: read() returned {type(data).__name__!r}, not "
                            f"bytes or str")
    else:
        with open(os.fspath(file), "rb") as f:
            data = f.read()
    try:
        doc = json.loads(data if isinstance(data, str) else bytes(data).decode("utf-8"))
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
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{where}: 'metadata' must be an object, not "
                         f"{type(metadata).__name__}")
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
    return (module, metadata) if return_metadata else module


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


def _write_to_file_object(f: Any, text: str) -> None:
    """All of ``text`` into an open file: str for a text file, UTF-8 bytes
    for a binary one (an object that is neither io kind is tried with bytes
    first: a text file refuses them before writing anything)."""
    if isinstance(f, io.TextIOBase):
        f.write(text)
        return
    data = text.encode("utf-8")
    if not isinstance(f, (io.RawIOBase, io.BufferedIOBase)):
        try:
            f.write(data)
        except TypeError:
            f.write(text)
        return
    view = memoryview(data)
    while view:                         # a raw (unbuffered) file may write less
        n = f.write(view)
        if n is None:                   # non-blocking and not ready: refuse, as a partial write
            raise BlockingIOError(errno.EAGAIN, "the file object would block")
        view = view[n:]


def _write_atomically(path: _Path, text: str) -> None:
    """Write text (UTF-8) to path through a temporary file and a rename.

    A symbolic link is followed (the file it points to is replaced, the link
    stays); a path that exists but is not a regular file (a directory, a
    FIFO, a device) is refused with an OSError, and left alone."""
    path = os.path.realpath(os.fsdecode(path))     # bytes paths too
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
