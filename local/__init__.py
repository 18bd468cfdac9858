"""Local runtime: the handler under the real Lambda Runtime Interface Emulator, plus an HTTP front."""
