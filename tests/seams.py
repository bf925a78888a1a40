"""What the tests plug into ipcbench: the installed mechanisms plus the deterministic mock."""

from __future__ import annotations

from ipcbench.transports import REGISTRY
from ipcbench.transports.mock import MockTransport

MOCK_REGISTRY = REGISTRY.including(MockTransport)
