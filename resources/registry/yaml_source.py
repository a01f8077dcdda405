"""Reading a registry YAML file strictly: a key written twice in one mapping is an error.

PyYAML's SafeLoader keeps the last of two equal keys, so a dataset pasted twice under the same id
silently replaced the first one. This loader refuses it and says on which lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DuplicateKey(ValueError):
    """A key written twice in one mapping; ``str()`` is the French sentence, without the file name."""

    def __init__(self, key: Any, line: int, first: int, path: list[str]) -> None:
        where = " › ".join([*path, str(key)])
        super().__init__(
            f"ligne {line} : la clé « {where} » est écrite deux fois (déjà ligne {first}) ; "
            "n'en garder qu'une, ou donner un autre nom à la seconde"
        )
        self.key = key


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKey(key, line, seen[key], _path_to(loader, node))
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


def _path_to(loader: _UniqueKeyLoader, target: yaml.Node) -> list[str]:
    """The keys leading to ``target`` from the document's root, for the message."""

    def walk(node: yaml.Node, trail: list[str]) -> list[str] | None:
        if node is target:
            return trail
        if isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                found = walk(value, [*trail, str(key_node.value)])
                if found is not None:
                    return found
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                found = walk(value, [*trail, f"[{index + 1}]"])
                if found is not None:
                    return found
        return None

    root = getattr(loader, "_root", None)
    return (walk(root, []) if root is not None else None) or []


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Any:
    """The document of ``path``; raises ``DuplicateKey`` or ``yaml.YAMLError``."""
    loader = _UniqueKeyLoader(path.read_text(encoding="utf-8"))
    try:
        root = loader.get_single_node()
        loader._root = root  # type: ignore[attr-defined]
        return loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
