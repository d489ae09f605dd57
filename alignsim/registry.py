"""A small registry shared by envs, scenarios and policies.

Entries are registered in code (alignsim's own) or through a Python entry-point group
(third-party packages). Entry points are loaded lazily, the first time a name is looked
up that is not registered yet or the full listing is asked for, so importing alignsim
never imports a plug-in.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Generic, TypeVar

from alignsim.errors import AlignsimError, UnknownIdError

T = TypeVar("T")


def load_object(path: str) -> object:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise AlignsimError(f"entry point {path!r} must look like 'package.module:attribute'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise AlignsimError(f"entry point {path!r}: module has no attribute {attr!r}") from exc


class Registry(Generic[T]):
    """Name -> entry mapping with lazy loading of an entry-point group.

    Args:
        kind: what the entries are, for error messages ("env", "policy", ...).
        entry_point_group: the ``importlib.metadata`` group third parties add to.
        on_load: called with each entry point's loaded object; it must register it.
    """

    def __init__(
        self,
        kind: str,
        entry_point_group: str,
        on_load: Callable[[str, object], None],
    ) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._on_load = on_load
        self._entries: dict[str, T] = {}
        self._plugins_loaded = False

    def add(self, name: str, entry: T, *, replace: bool = False) -> None:
        """Register ``entry`` under ``name``.

        Registering a name twice warns (the later entry wins) unless ``replace`` is set.
        """
        if name in self._entries and not replace:
            warnings.warn(
                f"{self.kind} {name!r} is registered twice; the later one wins",
                RuntimeWarning,
                stacklevel=3,
            )
        self._entries[name] = entry

    def get(self, name: str) -> T:
        """The entry called ``name``, loading the entry-point plug-ins first if it is not registered yet.

        Raises:
            UnknownIdError: no entry of that name, with the registered names and a close match.
        """
        if name not in self._entries:
            self.load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownIdError(self.kind, name, self.names()) from None

    def names(self) -> list[str]:
        """Every registered name, plug-ins included, sorted."""
        self.load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is registered, plug-ins included (loads the entry points once)."""
        self.load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        """The registered names, plug-ins included, sorted."""
        return iter(self.names())

    def load_plugins(self, *, force: bool = False) -> None:
        """Load every entry point of the group (once, unless ``force``)."""
        if self._plugins_loaded and not force:
            return
        self._plugins_loaded = True
        for entry_point in metadata.entry_points(group=self.entry_point_group):
            if entry_point.name in self._entries and not force:
                continue
            try:
                loaded = entry_point.load()
            except Exception as exc:
                raise AlignsimError(
                    f"{self.kind} plug-in {entry_point.name!r} ({entry_point.value}) failed to import: {exc}"
                ) from exc
            self._on_load(entry_point.name, loaded)


class SpecRegistry(Registry[T]):
    """A registry of spec objects keyed by their ``id``.

    A plug-in entry point loads either a spec (registered under its id) or a function
    that registers any number of specs itself.

    Args:
        kind: what the specs are, for error messages.
        entry_point_group: the ``importlib.metadata`` group third parties add to.
        spec_type: the spec class; an entry point loading an instance of it is registered.
    """

    def __init__(self, kind: str, entry_point_group: str, spec_type: type[T]) -> None:
        super().__init__(kind, entry_point_group, self._adopt)
        self._spec_type = spec_type

    def _adopt(self, name: str, loaded: object) -> None:
        if isinstance(loaded, self._spec_type):
            self.add(loaded.id, loaded)  # type: ignore[attr-defined]
        elif callable(loaded):
            loaded()
        else:
            raise AlignsimError(
                f"{self.kind} plug-in {name!r} must load a {self._spec_type.__name__} or a function, got {loaded!r}"
            )
