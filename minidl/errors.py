"""The error family of minidl: every message names the layer, key or shape at fault."""


class MinidlError(Exception):
    """Base class of every error minidl raises on purpose."""


class ShapeError(MinidlError, ValueError):
    """A tensor reached a module with a shape that module cannot take."""


class StateDictError(MinidlError, KeyError):
    """A state dict does not fit the module or optimizer it is loaded into."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(MinidlError, ValueError):
    """A checkpoint file is missing, corrupt or of the wrong kind."""
