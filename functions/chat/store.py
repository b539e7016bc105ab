"""The conversation store seam: DynamoDB in Lambda (`ConversationTable`), memory or a JSON file locally."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

from functions.shared.adapters.conversations import ConversationConflictError
from functions.shared.chat_models import AlertContext, Conversation


class ConversationStore(Protocol):
    def latest(self, conversation_id: str) -> Conversation | None: ...

    def save(self, conversation: Conversation) -> Conversation: ...

    def claim(self, key: str) -> bool: ...

    def release(self, key: str) -> None: ...

    def alert_context(self, dedup_key: str) -> AlertContext | None: ...


class InMemoryConversationStore:
    """Same semantics as `ConversationTable` (latest by sort key, optimistic `version`, claims), in a dict."""

    def __init__(self) -> None:
        self.conversations: dict[str, dict[str, Conversation]] = {}
        self.claims: set[str] = set()
        self.alert_contexts: dict[str, AlertContext] = {}
        self._lock = threading.Lock()

    def latest(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            by_sort_key = self.conversations.get(conversation_id, {})
            return by_sort_key[max(by_sort_key)].model_copy(deep=True) if by_sort_key else None

    def save(self, conversation: Conversation) -> Conversation:
        with self._lock:
            by_sort_key = self.conversations.setdefault(conversation.conversation_id, {})
            stored = by_sort_key.get(conversation.timestamp)
            if (stored.version if stored else 0) != conversation.version:
                raise ConversationConflictError(f"conversation {conversation.conversation_id} changed")
            saved = conversation.model_copy(update={"version": conversation.version + 1}, deep=True)
            by_sort_key[conversation.timestamp] = saved
            return saved.model_copy(deep=True)

    def claim(self, key: str) -> bool:
        with self._lock:
            if key in self.claims:
                return False
            self.claims.add(key)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self.claims.discard(key)

    def alert_context(self, dedup_key: str) -> AlertContext | None:
        return self.alert_contexts.get(dedup_key)


class JsonFileConversationStore(InMemoryConversationStore):
    """An in-memory store persisted to one JSON file, so `alert-intel chat --thread ID` can follow up."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8") or "{}")
            for item in raw.get("conversations", []):
                conversation = Conversation.model_validate(item)
                self.conversations.setdefault(conversation.conversation_id, {})[conversation.timestamp] = conversation

    def save(self, conversation: Conversation) -> Conversation:
        saved = super().save(conversation)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        items = [c.model_dump(mode="json") for by_key in self.conversations.values() for c in by_key.values()]
        self.path.write_text(json.dumps({"conversations": items}, indent=1), encoding="utf-8")
        return saved
