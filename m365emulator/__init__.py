"""A local Microsoft 365 emulator: Entra ID tokens, Graph mail, the Teams Bot Connector, with Microsoft's limits."""

from .app import create_emulator_app, start_emulator
from .config import EmulatorConfig
from .state import Emulator

__all__ = ["Emulator", "EmulatorConfig", "create_emulator_app", "start_emulator"]
