"""What the detector and camera subentry flows share: adding one, or changing one."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentryFlow,
    SubentryFlowResult,
)


class AddOrChangeSubentryFlow(ConfigSubentryFlow):
    """A subentry flow that adds a subentry or reconfigures the one it was opened on."""

    def _changed_id(self) -> str | None:
        """Return the id of the subentry being reconfigured (None when adding one)."""
        if self.source != SOURCE_RECONFIGURE:
            return None
        return self._get_reconfigure_subentry().subentry_id

    def _changed_data(self) -> dict[str, Any]:
        """Return the reconfigured subentry's data (nothing for a new one)."""
        if self.source != SOURCE_RECONFIGURE:
            return {}
        return dict(self._get_reconfigure_subentry().data)

    def _taken(self, unique_id: str, subentry_type: str | None = None) -> bool:
        """Whether another subentry of the entry (of ``subentry_type``) has ``unique_id``."""
        own = self._changed_id()
        return any(
            sub.unique_id == unique_id
            and (subentry_type is None or sub.subentry_type == subentry_type)
            for sub in self._get_entry().subentries.values()
            if sub.subentry_id != own
        )

    def _saved(
        self, title: str, data: dict[str, Any], unique_id: str
    ) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured."""
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
                unique_id=unique_id,
            )
        return self.async_create_entry(title=title, data=data, unique_id=unique_id)
