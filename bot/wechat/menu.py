"""The custom menu: a versioned YAML file, its WeChat payload and CLICK-key intents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KnowledgeBaseError
from bot.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

MENU_FILE = Path("channels/wechat/menu.yml")  # under the project root
DEFAULT_MENU = PROJECT_ROOT / MENU_FILE
_MAX_TOP, _MAX_SUB = 3, 5


@dataclass(frozen=True)
class Menu:
    version: str
    buttons: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls, path: Path = DEFAULT_MENU) -> Menu:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeBaseError(f"cannot read menu {path}: {exc}") from exc
        if not data.get("version"):
            raise KnowledgeBaseError(f"{path}: missing version")
        menu = cls(str(data["version"]), tuple(data.get("buttons") or ()))
        menu.validate()
        return menu

    def _leaves(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for button in self.buttons:
            out.extend(button.get("sub_buttons") or [button])
        return out

    def validate(self) -> None:
        if not 1 <= len(self.buttons) <= _MAX_TOP:
            raise KnowledgeBaseError(f"a menu has 1-{_MAX_TOP} top-level buttons")
        keys: set[str] = set()
        for button in self.buttons:
            if len(button.get("sub_buttons") or []) > _MAX_SUB:
                raise KnowledgeBaseError(f"at most {_MAX_SUB} sub-buttons per button")
        for button in [*self.buttons, *self._leaves()]:
            missing = set(SUPPORTED_LANGUAGES) - set(button.get("name") or {})
            if missing:
                raise KnowledgeBaseError(f"menu button {button} lacks names in {sorted(missing)}")
        for leaf in self._leaves():
            if "key" in leaf:
                if not leaf.get("intent") or leaf["key"] in keys:
                    raise KnowledgeBaseError(f"menu key {leaf['key']!r}: no intent or duplicate")
                keys.add(leaf["key"])
            elif "url" not in leaf:
                raise KnowledgeBaseError(f"menu button {leaf['name']} needs key+intent or url")

    def intents(self) -> dict[str, str]:
        """CLICK EventKey -> intent name."""
        return {leaf["key"]: leaf["intent"] for leaf in self._leaves() if "key" in leaf}

    def payload(self, lang: str = "zh") -> dict[str, Any]:
        """The body of ``menu/create``."""
        def one(button: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"name": button["name"][lang]}
            if button.get("sub_buttons"):
                out["sub_button"] = [one(b) for b in button["sub_buttons"]]
            elif "key" in button:
                out.update(type="click", key=button["key"])
            else:
                out.update(type="view", url=button["url"])
            return out
        return {"button": [one(b) for b in self.buttons]}
