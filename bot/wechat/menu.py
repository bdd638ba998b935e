"""The custom menu: a versioned YAML file, its WeChat payload and CLICK-key intents.

WeChat shows one label per button, so the menu is published in one language (the
hospital's, ``MEDBOT_DEFAULT_LANGUAGE``, unless ``medbot wechat menu --language``
says otherwise). A ``language_switch`` leaf makes the other language reachable from
it: it is published with the other language's own name ("English" on the Chinese
menu, "中文" on the English one) and the key ``MENU_LANG_<LANG>``, and its click is
the existing ``switch_language`` intent with the language as an entity, which sets
and locks the conversation's language (``actions.language``).
"""

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
SWITCH_INTENT = "switch_language"


def language_key(lang: str) -> str:
    """The CLICK key of the button that switches the chat to ``lang``."""
    return f"MENU_LANG_{lang.upper()}"


def other_language(lang: str) -> str:
    return next(other for other in SUPPORTED_LANGUAGES if other != lang)


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
            if leaf.get("language_switch"):
                if "key" in leaf or "url" in leaf or keys & set(self._language_keys()):
                    raise KnowledgeBaseError("one language_switch button, without key or url")
                keys.update(self._language_keys())
            elif "key" in leaf:
                if not leaf.get("intent") or leaf["key"] in keys:
                    raise KnowledgeBaseError(f"menu key {leaf['key']!r}: no intent or duplicate")
                keys.add(leaf["key"])
            elif "url" not in leaf:
                raise KnowledgeBaseError(f"menu button {leaf['name']} needs key+intent or url")

    @staticmethod
    def _language_keys() -> list[str]:
        return [language_key(lang) for lang in SUPPORTED_LANGUAGES]

    def intents(self) -> dict[str, str]:
        """CLICK EventKey -> intent name."""
        out = {leaf["key"]: leaf["intent"] for leaf in self._leaves() if "key" in leaf}
        if any(leaf.get("language_switch") for leaf in self._leaves()):
            out.update({key: SWITCH_INTENT for key in self._language_keys()})
        return out

    def texts(self) -> dict[str, str]:
        """CLICK EventKey -> the message the bot gets (``/intent``, with the language
        as an entity for a language switch)."""
        out = {key: "/" + intent for key, intent in self.intents().items()}
        for lang in SUPPORTED_LANGUAGES:
            if language_key(lang) in out:
                out[language_key(lang)] = f'/{SWITCH_INTENT}{{"language": "{lang}"}}'
        return out

    def payload(self, lang: str = "zh") -> dict[str, Any]:
        """The body of ``menu/create``, in ``lang``."""
        if lang not in SUPPORTED_LANGUAGES:
            raise KnowledgeBaseError(f"menu language must be one of {SUPPORTED_LANGUAGES}, "
                                     f"got {lang!r}")

        def one(button: dict[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {"name": button["name"][lang]}
            if button.get("sub_buttons"):
                out["sub_button"] = [one(b) for b in button["sub_buttons"]]
            elif button.get("language_switch"):
                out.update(type="click", key=language_key(other_language(lang)))
            elif "key" in button:
                out.update(type="click", key=button["key"])
            else:
                out.update(type="view", url=button["url"])
            return out
        return {"button": [one(b) for b in self.buttons]}
